//! `switchyard-mock`: a standalone, scriptable mock OpenAI-compatible upstream for load tests and manual checks.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchyard_mock::{MockUpstream, Script};

/// Serves OpenAI-shaped chat, completions, embeddings and models answers on HTTP/1.1 and h2c.
#[derive(Debug, Parser)]
#[command(name = "switchyard-mock", version, about)]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to bind (0 picks a free one; the printed URL tells which).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Delay before each response header, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Content events per streamed answer (also the reported completion_tokens).
    #[arg(long, default_value_t = 8)]
    chunks: usize,
    /// Pause between stream events, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Probability (0.0 to 1.0) that a request gets a 500 server_error instead.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    failure_rate: f64,
    /// Name stamped into answers ("Hello from NAME") and the x-mock-name header.
    #[arg(long, default_value = "mock")]
    name: String,
    /// The model answers to Azure deployment paths name, as Azure names the deployment's base
    /// model (default: the model the request names).
    #[arg(long)]
    azure_model: Option<String>,
    /// Tokio worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Keep every request in memory (off by default so long load tests stay flat).
    #[arg(long)]
    record: bool,
}

fn parse_probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("not a number: {e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not between 0.0 and 1.0"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let result = match builder.build() {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let script = Script {
        name: args.name,
        latency: Duration::from_millis(args.latency_ms),
        chunks: args.chunks,
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        failure_rate: args.failure_rate,
        azure_model: args.azure_model,
        ..Script::default()
    };
    let mock = MockUpstream::start_on(SocketAddr::new(args.host, args.port), script).await?;
    mock.set_recording(args.record);
    println!("mock listening on {}", mock.base_url());
    shutdown_signal().await?;
    eprintln!(
        "switchyard-mock: shutting down after {} requests on {} connections",
        mock.request_count(),
        mock.connections()
    );
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted,
        _ = term.recv() => Ok(()),
    }
}
