//! Test harness: the real `switchyard` binary on port 0, driven over loopback.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod config;
pub mod gov;
pub mod http;
pub mod relay;

pub const MASTER_KEY: &str = "sk-test-master-key-0123456789";

/// A running gateway process with its config file and log.
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
    /// Lines the process wrote to stdout (the JSON access log).
    out: Receiver<String>,
}

impl Gateway {
    pub fn start(yaml: &str) -> Gateway {
        Self::start_with(yaml, &[])
    }

    pub fn start_with(yaml: &str, args: &[&str]) -> Gateway {
        Self::spawn(tempfile::tempdir().unwrap(), yaml, args, &[])
    }

    /// Start on an existing directory (a restart keeps its `switchyard.db`), rewriting its config.
    pub fn start_in(dir: tempfile::TempDir, yaml: &str) -> Gateway {
        Self::spawn(dir, yaml, &[], &[])
    }

    /// Start with extra environment variables (`REDIS_URL`, ...).
    pub fn start_env(yaml: &str, envs: &[(&str, &str)]) -> Gateway {
        Self::spawn(tempfile::tempdir().unwrap(), yaml, &[], envs)
    }

    /// The process runs in `dir` (so the default SQLite file lands there), with `DATABASE_URL`
    /// and `REDIS_URL` cleared unless `envs` sets them.
    fn spawn(dir: tempfile::TempDir, yaml: &str, args: &[&str], envs: &[(&str, &str)]) -> Gateway {
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, yaml).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .current_dir(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["--host", "127.0.0.1", "--port", "0", "--num-workers", "2"])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (out_tx, out) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut gw = Gateway {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            dir,
            config,
            log,
            lines,
            out,
        };
        let listening = gw.wait_for("listening on http://");
        gw.addr = listening
            .rsplit("http://")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        gw.wait_for("ready: SIGHUP");
        gw
    }

    /// Block until a log line containing `needle` appears (the process's own signal).
    pub fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!(
                    "gateway never logged {needle:?} ({e}); log:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// The next line the process writes to stdout (within 30 s).
    pub fn next_stdout(&self) -> String {
        self.out
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no stdout line ({e}); log:\n{}", self.log()))
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// Write a new config and SIGHUP; returns the reload's log line (ok or rejected).
    pub fn reload(&self, yaml: &str) -> String {
        std::fs::write(&self.config, yaml).unwrap();
        self.signal(nix::sys::signal::Signal::SIGHUP);
        loop {
            let line = self.wait_for("config reload");
            if line.contains("config reloaded") || line.contains("config reload rejected") {
                return line;
            }
        }
    }

    /// Wait for the process to exit (after a signal), returning its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// Stop the process (if still running) and hand back its directory for [`Gateway::start_in`].
    pub fn into_dir(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, placeholder)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reqwest client with the master key.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(8)
        .build()
        .unwrap()
}

pub fn chat_body(model: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

/// A TCP port that refuses connections for as long as the value lives.
pub struct RefusedPort(tokio::net::TcpSocket, pub SocketAddr);

pub fn refused_port() -> RefusedPort {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = s.local_addr().unwrap();
    RefusedPort(s, addr)
}

/// Collect an SSE response into its `data:` payloads.
pub async fn sse_payloads(resp: reqwest::Response) -> (Vec<String>, bool) {
    let text = resp.text().await;
    let (text, clean) = match text {
        Ok(t) => (t, true),
        Err(_) => (String::new(), false),
    };
    let payloads = text
        .split("\n\n")
        .filter_map(|e| {
            e.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_string)
        })
        .collect();
    (payloads, clean)
}

/// POST a chat body to the gateway with the master key and extra headers.
pub async fn send_chat(
    gw: &Gateway,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// The Prometheus text of `/metrics` (public by default).
pub async fn metrics_text(gw: &Gateway) -> String {
    client()
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// GET a JSON route with the master key.
pub async fn get_json(gw: &Gateway, path: &str) -> serde_json::Value {
    client()
        .get(gw.url(path))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A chat as `key`; the status and the call id the gateway answered with.
pub async fn chat_as(gw: &Gateway, key: &str, model: &str) -> (u16, String) {
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&chat_body(model))
        .send()
        .await
        .unwrap();
    let id = r
        .headers()
        .get("x-litellm-call-id")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), id)
}
