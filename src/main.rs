//! `switchyard`: parse flags, validate or serve.

use std::time::Duration;

use clap::Parser;
use switchyard::cli::{Cli, LogFormat};
use switchyard::config::{self, BuildOptions};
use switchyard::server::{self, ServeOptions};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = Cli::parse();
    let json_logs = cli.log_format == LogFormat::Json;
    switchyard::observe::jsonlog::set_json(
        json_logs || switchyard::observe::jsonlog::json_from_env(),
    );
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(switchyard::observe::jsonlog::format)
        .init();
    if cli.validate {
        let opts = BuildOptions {
            allow_insecure_master_key: cli.allow_insecure_master_key,
            ..Default::default()
        };
        match config::load(&cli.config, &opts) {
            Ok(rt) => {
                for n in &rt.notes {
                    println!("warning: {n}");
                }
                for w in &rt.warnings {
                    println!("warning: not implemented yet, ignored: {w}");
                }
                println!(
                    "{}: ok ({} model groups, {} deployments)",
                    cli.config.display(),
                    rt.router.group_count(),
                    rt.router.deployment_count()
                );
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("{}: {e}", cli.config.display());
                std::process::exit(1);
            }
        }
    }
    let workers = cli
        .num_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let grace =
        Duration::try_from_secs_f64(cli.shutdown_grace_seconds).unwrap_or(Duration::from_secs(10));
    std::process::exit(server::run(ServeOptions {
        config: cli.config,
        host: cli.host,
        port: cli.port,
        workers,
        allow_insecure_master_key: cli.allow_insecure_master_key,
        grace,
        json_logs,
    }));
}
