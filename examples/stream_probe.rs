//! Many concurrent chat streams, timed event by event: time to first event, the gap between
//! events, stalls and streams that end without `data: [DONE]`. oha times whole responses only;
//! the load-test harness (`loadtest/harness.py`) uses this to compare stream pacing through each
//! target. Prints one JSON object.
//!
//! ```sh
//! cargo run --release --example stream_probe -- --url http://127.0.0.1:4000/v1/chat/completions \
//!     --key sk-... --model bench-stream64 --concurrency 1000 --duration-secs 10
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
struct Args {
    /// The chat completions URL.
    #[arg(long)]
    url: String,
    /// Bearer key (none when empty).
    #[arg(long, default_value = "")]
    key: String,
    /// The model to ask for.
    #[arg(long, default_value = "loadtest")]
    model: String,
    /// A chat request body to send (its `model` and `stream` are overwritten).
    #[arg(long)]
    body: Option<std::path::PathBuf>,
    /// Streams open at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Keep starting streams for this long; streams open at the end run to completion.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// A gap between two events longer than this counts as a stall.
    #[arg(long, default_value_t = 250)]
    stall_ms: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

#[derive(Default)]
struct Tally {
    streams: u64,
    errors: u64,
    incomplete: u64,
    stalls: u64,
    events: u64,
    ttft_us: Vec<u32>,
    gap_us: Vec<u32>,
    first_error: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stream_probe: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(summary) => {
            println!("{summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stream_probe: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<Value, String> {
    let mut body: Value = match &args.body {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => json!({"messages": [{"role": "user", "content": "Say hello."}]}),
    };
    body["model"] = json!(args.model);
    body["stream"] = json!(true);
    let body = bytes::Bytes::from(serde_json::to_vec(&body).map_err(|e| e.to_string())?);
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    let stall = Duration::from_millis(args.stall_ms);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, body, tally) = (client.clone(), body.clone(), tally.clone());
        let (url, key) = (args.url.clone(), args.key.clone());
        workers.spawn(async move {
            while Instant::now() < deadline {
                let one = one_stream(&client, &url, &key, body.clone(), stall).await;
                let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
                t.streams += 1;
                match one {
                    Ok(s) => {
                        t.events += s.events;
                        t.stalls += s.stalls;
                        t.incomplete += u64::from(!s.done);
                        t.ttft_us.extend(s.ttft_us);
                        t.gap_us.extend_from_slice(&s.gap_us);
                    }
                    Err(e) => {
                        t.errors += 1;
                        t.first_error.get_or_insert(e);
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(json!({
        "streams": t.streams,
        "errors": t.errors,
        "incomplete": t.incomplete,
        "stalls": t.stalls,
        "events": t.events,
        "ttft_ms": percentiles(&mut t.ttft_us),
        "gap_ms": percentiles(&mut t.gap_us),
        "first_error": t.first_error,
    }))
}

struct OneStream {
    events: u64,
    stalls: u64,
    done: bool,
    ttft_us: Option<u32>,
    gap_us: Vec<u32>,
}

async fn one_stream(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: bytes::Bytes,
    stall: Duration,
) -> Result<OneStream, String> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if !key.is_empty() {
        req = req.bearer_auth(key);
    }
    let started = Instant::now();
    let mut resp = req.send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(format!(
            "{status}: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    let mut s = OneStream {
        events: 0,
        stalls: 0,
        done: false,
        ttft_us: None,
        gap_us: Vec::with_capacity(128),
    };
    let mut last: Option<Instant> = None;
    // The tail of the previous read that may hold the start of an event separator.
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        let now = Instant::now();
        carry.extend_from_slice(&chunk);
        let mut consumed = 0;
        while let Some(end) = memchr::memmem::find(&carry[consumed..], b"\n\n") {
            let event = &carry[consumed..consumed + end];
            consumed += end + 2;
            s.events += 1;
            if event.starts_with(b"data: [DONE]") {
                s.done = true;
            }
            match last {
                None => s.ttft_us = Some(micros(now - started)),
                Some(prev) => {
                    let gap = now - prev;
                    if gap > stall {
                        s.stalls += 1;
                    }
                    s.gap_us.push(micros(gap));
                }
            }
            last = Some(now);
        }
        carry.drain(..consumed);
    }
    Ok(s)
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// p50, p90, p99, p99.9 and max of microsecond samples, in milliseconds.
fn percentiles(samples: &mut [u32]) -> Value {
    if samples.is_empty() {
        return Value::Null;
    }
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        f64::from(samples[i.min(samples.len() - 1)]) / 1000.0
    };
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": at(1.0), "n": samples.len()})
}
