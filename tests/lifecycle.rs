//! The process lifecycle as operators drive it: SIGHUP reloads (also under load), a broken
//! file kept out, SIGTERM draining a live stream, client disconnects cancelling upstreams.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::config::{Config, Model};
use common::{
    chat_body, client, get_json, metrics_text, send_chat, sse_payloads, Gateway, MASTER_KEY,
};
use futures::StreamExt;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn model(group: &str, base: &str) -> Model {
    Model::new(group, &format!("openai/up-{group}"))
        .api_base(base)
        .api_key("k")
}

async fn model_ids(gw: &Gateway) -> Vec<String> {
    let v: Value = get_json(gw, "/v1/models").await;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sighup_adds_a_model_and_a_broken_file_keeps_the_old_config() {
    let up = MockUpstream::start(Script::named("up")).await.unwrap();
    let gw = Gateway::start(&Config::with([model("a", &up.base_url())]).yaml());
    assert_eq!(model_ids(&gw).await, vec!["a"]);

    let line =
        gw.reload(&Config::with([model("a", &up.base_url()), model("b", &up.base_url())]).yaml());
    assert!(line.contains("config reloaded"), "{line}");
    assert_eq!(model_ids(&gw).await, vec!["a", "b"]);
    let r = send_chat(&gw, &chat_body("b"), &[]).await;
    assert_eq!(r.status(), 200);

    let broken = Config::with([model("a", &up.base_url())])
        .yaml()
        .replace("openai/up-a", "opnai/up-a");
    let line = gw.reload(&broken);
    assert!(
        line.contains("rejected")
            && line.contains("model_list[0].litellm_params.model: unknown provider \"opnai\""),
        "{line}"
    );
    assert_eq!(model_ids(&gw).await, vec!["a", "b"]);
    let r = send_chat(&gw, &chat_body("b"), &[]).await;
    assert_eq!(r.status(), 200);
    let metrics = metrics_text(&gw).await;
    assert!(
        metrics.contains("switchyard_config_reloads_total{result=\"error\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_during_a_load_test_fails_nothing() {
    let up = MockUpstream::start(Script {
        chunks: 4,
        ..Script::named("up")
    })
    .await
    .unwrap();
    up.set_recording(false);
    let yaml = |n: usize| {
        let mut models = vec![model("g", &up.base_url())];
        for i in 0..n {
            models.push(model(&format!("extra{i}"), &up.base_url()));
        }
        Config::with(models).yaml()
    };
    let gw = Gateway::start(&yaml(0));
    let url = Arc::new(gw.url("/v1/chat/completions"));
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let progress = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (url, stop, ok, failed, progress) = (
            url.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                let mut body = chat_body("g");
                body["stream"] = json!(i % 2 == 0);
                let r = c
                    .post(url.as_str())
                    .bearer_auth(MASTER_KEY)
                    .json(&body)
                    .send()
                    .await;
                let good = match r {
                    Ok(r) if r.status() == 200 => {
                        let text = r.text().await.unwrap_or_default();
                        !text.contains("\"error\"")
                            && (i % 2 == 1 || text.ends_with("data: [DONE]\n\n"))
                    }
                    _ => false,
                };
                if good {
                    ok.fetch_add(1, Ordering::Relaxed)
                } else {
                    failed.fetch_add(1, Ordering::Relaxed)
                };
                progress.notify_one();
            }
        }));
    }
    for n in 1..=6 {
        // Reload only while requests are flowing: wait for a few more to complete first.
        let target = ok.load(Ordering::Relaxed) + 5;
        while ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < target {
            progress.notified().await;
        }
        let line = gw.reload(&yaml(n % 3));
        assert!(line.contains("config reloaded"), "{line}");
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during reloads"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 20,
        "load did not run: {}",
        ok.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn sigterm_drains_a_running_stream_then_exits() {
    let up = MockUpstream::start(Script {
        chunks: 10,
        chunk_delay: Duration::from_millis(30),
        ..Script::named("up")
    })
    .await
    .unwrap();
    let mut gw = Gateway::start(&Config::with([model("g", &up.base_url())]).yaml());
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    gw.signal(Signal::SIGTERM);
    let mut rest = first.to_vec();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(rest).unwrap();
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "stream cut by shutdown: {text}"
    );
    let status = tokio::task::spawn_blocking(move || gw.wait_exit())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// Where a complete HTTP/1.1 message in `seen` ends: the head's end and the body's length (by
/// `content-length`), once both have arrived.
fn message_end(seen: &[u8]) -> Option<(usize, usize)> {
    let text = String::from_utf8_lossy(seen);
    let end = text.find("\r\n\r\n")?;
    let len: usize = text[..end]
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    (seen.len() >= end + 4 + len).then_some((end, len))
}

/// One GET on an open HTTP/1.1 connection: the status and body.
async fn get_on(conn: &mut tokio::net::TcpStream, path: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nhost: gateway\r\n\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before an answer to {path}");
        seen.extend_from_slice(&buf[..n]);
        if let Some((end, len)) = message_end(&seen) {
            let text = String::from_utf8_lossy(&seen);
            let status = text[9..12].parse().unwrap();
            return (status, text[end + 4..end + 4 + len].to_string());
        }
    }
}

/// While a stream keeps the gateway draining, readiness on a connection opened before the
/// SIGTERM answers 503 `shutting_down`, so a load balancer stops sending new work.
#[tokio::test]
async fn readiness_is_503_while_draining() {
    let (addr, _cancelled) = slow_stream_upstream().await;
    let gw = Gateway::start(&Config::with([model("g", &format!("http://{addr}/v1"))]).yaml());
    let mut conn = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(get_on(&mut conn, "/health/readiness").await.0, 200);
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    let mut stream = r.bytes_stream();
    assert!(stream.next().await.unwrap().is_ok());
    gw.signal(Signal::SIGTERM);
    gw.wait_for("draining: new connections refused");
    let answer = get_on(&mut conn, "/health/readiness").await;
    assert_eq!(answer.0, 503, "{}", answer.1);
    let v: Value = serde_json::from_str(&answer.1).unwrap();
    assert_eq!(v, json!({"status": "shutting_down"}));
}

/// A hand-written upstream that streams one event and then reports when its client hangs up.
async fn slow_stream_upstream() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut seen = Vec::new();
        while message_end(&seen).is_none() {
            let n = s.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        let event = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n", event.len());
        s.write_all(head.as_bytes()).await.unwrap();
        // Never finish: wait for the gateway to close the connection.
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await;
        if matches!(n, Ok(Ok(0)) | Ok(Err(_))) {
            let _ = tx.send(());
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn client_disconnect_mid_stream_cancels_the_upstream() {
    let (addr, cancelled) = slow_stream_upstream().await;
    let gw = Gateway::start(&Config::with([model("g", &format!("http://{addr}/v1"))]).yaml());
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    let mut stream = r.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("hi"));
    drop(stream);
    tokio::time::timeout(Duration::from_secs(10), cancelled)
        .await
        .expect("upstream still open 10 s after the client left")
        .unwrap();
}

#[tokio::test]
async fn mock_stream_through_sse_helper() {
    let gw = Gateway::start(
        &Config::with([Model::new("m", "openai/m").mock_response("abcdefgh")]).yaml(),
    );
    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    let (payloads, _) = sse_payloads(r).await;
    let text: String = payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "abcdefgh");
    assert_eq!(payloads.last().unwrap(), "[DONE]");
}
