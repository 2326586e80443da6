//! Process lifecycle: build the Pingora server, listen, reload on SIGHUP, drain on SIGTERM.

mod health_loop;
mod listener;
mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora_core::connectors::http::Connector;
use pingora_core::connectors::ConnectorOptions;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{RunArgs, Server};

use crate::config::{self, BuildOptions, Runtime};
use crate::core::lifecycle::Lifecycle;
use crate::proxy::Gateway;

/// The Pingora server settings Switchyard runs with: `threads` workers, an upstream pool of
/// 1024 idle connections, no grace period (the drain is ours). `examples/pingora_passthrough.rs`
/// uses them too, so the load tests compare like with like.
pub fn server_conf(threads: usize) -> ServerConf {
    ServerConf {
        threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        upstream_keepalive_pool_size: 1024,
        ..ServerConf::default()
    }
}

/// What `switchyard` was asked to do.
pub struct ServeOptions {
    pub config: PathBuf,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub allow_insecure_master_key: bool,
    pub grace: Duration,
    /// `--log-format json`: JSON logs and the access log, whatever the config says.
    pub json_logs: bool,
}

/// Log a loaded snapshot's warnings the way operators read them: once, all together.
pub fn log_runtime(rt: &Runtime) {
    if !rt.warnings.is_empty() {
        log::warn!(
            "config keys LiteLLM supports that Switchyard does not implement yet (ignored): {}",
            rt.warnings.join(", ")
        );
    }
    for note in &rt.notes {
        log::warn!("config: {note}");
    }
    if rt.master_key.is_none() {
        log::warn!("!!! no master key is set (general_settings.master_key or LITELLM_MASTER_KEY): every request is accepted without authentication. Never run this outside local development. !!!");
    }
}

/// Load the config, bind, and serve until a shutdown signal. Returns the exit code.
#[expect(clippy::too_many_lines, reason = "startup, not the request path")]
pub fn run(opts: ServeOptions) -> i32 {
    let build = BuildOptions {
        resolve_dns: true,
        allow_insecure_master_key: opts.allow_insecure_master_key,
        previous: None,
    };
    let rt = match config::load(&opts.config, &build) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    log_runtime(&rt);
    if rt.router.groups().any(|g| g.pre_call_checks) {
        // Load the tokenizers now rather than on the first request that needs them.
        std::thread::spawn(|| {
            tiktoken_rs::o200k_base_singleton();
            tiktoken_rs::cl100k_base_singleton();
        });
    }
    // Governance (virtual keys, budgets, spend) needs a master key, as in LiteLLM. It gets
    // its own small runtime: store connections and background loops live there.
    let gov_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("governance")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the governance runtime: {e}");
            return 1;
        }
    };
    let gov = match &rt.master_key {
        None => None,
        Some(_) => {
            let s = &rt.settings;
            let opened = gov_rt.block_on(crate::governance::Governance::open(
                s.database_url.as_deref(),
                s.redis_url.as_deref(),
                s.governance.clone(),
                crate::core::clock::WallClock::system(),
                gov_rt.handle().clone(),
            ));
            match opened {
                Ok(g) => {
                    log::info!(
                        "governance: {} store, {} counters",
                        g.store().backend(),
                        g.counters().backend()
                    );
                    Some(g)
                }
                Err(e) if s.governance.allow_requests_on_db_unavailable => {
                    log::error!("governance unavailable, serving with the master key only: {e}");
                    None
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return 1;
                }
            }
        }
    };
    let mut observe_settings = rt.settings.observe.clone();
    observe_settings.json_logs |= opts.json_logs;
    crate::observe::jsonlog::set_json(observe_settings.json_logs);
    let observe = crate::observe::Hub::start(&observe_settings, gov_rt.handle(), gov.is_some());
    let runtime = Arc::new(ArcSwap::from_pointee(rt));

    let addr = format!("{}:{}", opts.host, opts.port);
    let std_listener = match std::net::TcpListener::bind(&addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return 1;
        }
    };
    if let Err(e) = std_listener.set_nonblocking(true) {
        eprintln!("error: {e}");
        return 1;
    }
    let local: Option<SocketAddr> = std_listener.local_addr().ok();

    let mut server = Server::new_with_opt_and_conf(None, server_conf(opts.workers));
    server.bootstrap();
    let conf = server.configuration.clone();
    let connector = Arc::new(Connector::new(Some(ConnectorOptions::from_server_conf(
        &conf,
    ))));
    let health = health_loop::HealthLoop {
        runtime: runtime.clone(),
        connector: connector.clone(),
    };
    let mut health =
        pingora_core::services::background::background_service("health checks", health);
    health.threads = Some(1);
    server.add_service(health);
    let lifecycle = Lifecycle::default();
    let gateway = Gateway {
        lifecycle: lifecycle.clone(),
        runtime: runtime.clone(),
        connector: connector.clone(),
        gov: gov.clone(),
        health: Default::default(),
        self_addr: local.map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            a
        }),
        observe: observe.clone(),
    };
    let proxy = pingora_proxy::http_proxy(&conf, gateway);
    server.add_service(listener::GatewayService::new(
        std_listener,
        proxy,
        opts.workers,
        runtime.clone(),
        lifecycle.clone(),
    ));
    if let Some(a) = local {
        // A stable line that scripts and tests wait for (the port is real even for --port 0).
        eprintln!(
            "switchyard {} listening on http://{a}",
            env!("CARGO_PKG_VERSION")
        );
    }
    let signals = signals::Signals {
        runtime,
        path: opts.config,
        allow_insecure_master_key: opts.allow_insecure_master_key,
        grace: opts.grace,
        gov,
        lifecycle,
        observe,
    };
    server.run(RunArgs {
        shutdown_signal: Box::new(signals),
    });
    gov_rt.shutdown_timeout(Duration::from_secs(1));
    0
}
