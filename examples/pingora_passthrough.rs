//! The floor for any Pingora-based gateway: Pingora's stock `ProxyHttp` path forwarding every
//! request, unchanged, to one HTTP/1.1 upstream over a keep-alive pool. The load-test harness
//! (`loadtest/harness.py`) runs it beside Switchyard so both are measured on the same machine.
//!
//! ```sh
//! cargo run --release --example pingora_passthrough -- --listen 127.0.0.1:6190 --upstream 127.0.0.1:8080
//! ```

use std::net::SocketAddr;

use async_trait::async_trait;
use clap::Parser;
use pingora_core::server::Server;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::Result;
use pingora_proxy::{ProxyHttp, Session};

/// A bare Pingora reverse proxy in front of one upstream.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6190")]
    listen: SocketAddr,
    /// The upstream's address (plain HTTP/1.1).
    #[arg(long)]
    upstream: SocketAddr,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
}

struct Passthrough {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Passthrough {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // The same server settings as Switchyard's own (workers, upstream pool size).
    let conf = switchyard::server::server_conf(threads);
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora_proxy::http_proxy_service(
        &server.configuration,
        Passthrough {
            upstream: args.upstream,
        },
    );
    proxy.add_tcp(&args.listen.to_string());
    server.add_service(proxy);
    eprintln!("pingora passthrough listening on http://{}", args.listen);
    server.run_forever();
}
