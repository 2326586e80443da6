//! Command-line flags, named as LiteLLM's proxy names them where it has them.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "switchyard",
    version,
    about = "LLM gateway on Pingora: serves LiteLLM's config.yaml and API"
)]
pub struct Cli {
    /// LiteLLM-compatible config file.
    #[arg(long, short = 'c', env = "CONFIG_FILE_PATH")]
    pub config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", env = "HOST")]
    pub host: String,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 4000, env = "PORT")]
    pub port: u16,
    /// Worker threads (default: the number of cores).
    #[arg(long, env = "NUM_WORKERS")]
    pub num_workers: Option<usize>,
    /// Check the config file and exit: 0 when valid, 1 with key-path errors otherwise.
    #[arg(long)]
    pub validate: bool,
    /// Allow a well-known default master key such as sk-1234 (local testing only).
    #[arg(long)]
    pub allow_insecure_master_key: bool,
    /// Seconds SIGTERM waits for in-flight requests and streams before stopping.
    #[arg(long, default_value_t = 10.0)]
    pub shutdown_grace_seconds: f64,
    /// Log format: `text`, or `json` (one JSON object per line, and a JSON access line per
    /// request on stdout; as `litellm_settings.json_logs` or `JSON_LOGS=true`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}
