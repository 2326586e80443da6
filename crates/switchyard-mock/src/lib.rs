//! A fast, scriptable mock of an OpenAI-compatible upstream (chat, completions, embeddings,
//! models), and of Anthropic's Messages API and Gemini's generateContent, for tests and load tests.

mod answers;
mod anthropic;
mod body;
mod gemini;
mod responses;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use self::answers::{content_piece, json_str, openai_error, respond};
use self::body::MockBody;

/// What the mock does with one request.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// A normal OpenAI answer for the route (a stream if the body has `"stream":true`).
    Ok,
    /// Any status with this body (`content-type: application/json`) and these extra headers.
    Status {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// 200 with the stream's headers, then the connection is aborted before any event.
    CutBeforeFirstEvent,
    /// 200, the role chunk (chat only) and this many content events, then the connection is aborted (no `[DONE]`).
    CutAfterEvents(usize),
    /// 200, the role chunk (chat only) and this many content events, then silence: the
    /// stream stays open, sending nothing, until the client goes away.
    StallAfterEvents(usize),
    /// 200 `text/event-stream`, one OpenAI-style `data: {"error":..}` event, then a clean end without `[DONE]`.
    ErrorEvent,
    /// Read the request and never answer, until the client goes away.
    Hang,
    /// Exactly these bytes with this status and content type (a recorded provider payload).
    Raw {
        status: u16,
        content_type: String,
        body: Bytes,
    },
    /// 200 with this content type, each piece written separately with `delay` between them
    /// (a recorded stream as the provider paces it).
    RawEvents {
        content_type: String,
        events: Vec<Bytes>,
        delay: Duration,
    },
}

/// A 429 exactly as OpenAI sends it for a request-rate limit, with `retry-after: 1`.
pub fn rate_limited() -> Behavior {
    Behavior::Status {
        status: 429,
        body: openai_error(
            "Rate limit reached for mock-model in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        headers: vec![("retry-after".into(), "1".into())],
    }
}

/// An OpenAI error answer with a realistic body for `status` (500 and 503 read as OpenAI's server errors).
pub fn server_error(status: u16) -> Behavior {
    let (message, kind, code) = match status {
        400 => ("Invalid request (mock upstream).", "invalid_request_error", None),
        401 => ("Incorrect API key provided: sk-mock***. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", Some("invalid_api_key")),
        403 => ("Country, region, or territory not supported", "request_forbidden", Some("unsupported_country_region_territory")),
        404 => ("The model `mock-model` does not exist or you do not have access to it.", "invalid_request_error", Some("model_not_found")),
        429 => return rate_limited(),
        503 => ("The engine is currently overloaded, please try again later.", "server_error", None),
        _ => ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    };
    Behavior::Status {
        status,
        body: openai_error(message, kind, code),
        headers: Vec::new(),
    }
}

/// The text a streamed answer carries once its `chunks` content deltas are joined.
pub fn stream_text(name: &str, chunks: usize) -> String {
    (0..chunks).map(|i| content_piece(name, i)).collect()
}

/// How a mock upstream answers; every field has a default.
#[derive(Clone, Debug)]
pub struct Script {
    /// Stamped into answers (`Hello from {name}`) and the `x-mock-name` header. Default `"mock"`.
    pub name: String,
    /// What a request gets when nothing is queued. Default [`Behavior::Ok`].
    pub default: Behavior,
    /// Delay before the response header. Default zero.
    pub latency: Duration,
    /// Content events per stream (also `completion_tokens`). Default 8.
    pub chunks: usize,
    /// Pause between stream events. Default zero.
    pub chunk_delay: Duration,
    /// Probability that a request getting the default [`Behavior::Ok`] gets a 500 instead. Default 0.0.
    pub failure_rate: f64,
    /// The model Azure-style answers (`/openai/deployments/{name}/...`) name: Azure names the
    /// deployment's base model (`gpt-35-turbo`), not the deployment. Default: the request's.
    pub azure_model: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            name: "mock".to_owned(),
            default: Behavior::Ok,
            latency: Duration::ZERO,
            chunks: 8,
            chunk_delay: Duration::ZERO,
            failure_rate: 0.0,
            azure_model: None,
        }
    }
}

impl Script {
    /// The default script under another name.
    pub fn named(name: &str) -> Script {
        Script {
            name: name.to_owned(),
            ..Script::default()
        }
    }
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    /// Header names are lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Recorded {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A running mock upstream; its server task (and every connection) is aborted on drop.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl MockUpstream {
    /// Starts a mock on `127.0.0.1` with a free port.
    pub async fn start(script: Script) -> std::io::Result<MockUpstream> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), script).await
    }

    /// Starts a mock on `addr` (port 0 picks a free port).
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(script));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockUpstream { addr, shared, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`, the `api_base` a client should use.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues a behaviour: each request pops the next one; when none is queued, the script's default applies.
    pub fn push(&self, b: Behavior) {
        lock(&self.shared.queue).push_back(b);
    }

    /// Replaces the behaviour used when nothing is queued.
    pub fn set_default(&self, b: Behavior) {
        *lock(&self.shared.default) = b;
    }

    /// Turns request recording on or off (on by default; the load-test binary turns it off to keep memory flat).
    pub fn set_recording(&self, on: bool) {
        self.shared.recording.store(on, Ordering::Relaxed);
    }

    /// Every request received while recording was on, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).clone()
    }

    /// How many requests arrived (counted even when recording is off).
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// State shared by the accept loop and every request.
struct Shared {
    script: Script,
    name_header: HeaderValue,
    /// `"Hello from {name}"` as a JSON string literal.
    message_json: String,
    /// One chat `choices[]` element per content event.
    chat_deltas: Vec<String>,
    /// One text-completion `choices[]` element per content event.
    text_deltas: Vec<String>,
    default: Mutex<Behavior>,
    queue: Mutex<VecDeque<Behavior>>,
    recorded: Mutex<Vec<Recorded>>,
    recording: AtomicBool,
    requests: AtomicUsize,
    connections: AtomicUsize,
    next_id: AtomicU64,
}

impl Shared {
    fn new(script: Script) -> Shared {
        let pieces: Vec<String> = (0..script.chunks)
            .map(|i| json_str(&content_piece(&script.name, i)))
            .collect();
        Shared {
            name_header: HeaderValue::from_str(&script.name).unwrap_or(HeaderValue::from_static("mock")),
            message_json: json_str(&format!("Hello from {}", script.name)),
            chat_deltas: pieces
                .iter()
                .map(|p| format!(r#"{{"index":0,"delta":{{"content":{p}}},"logprobs":null,"finish_reason":null}}"#))
                .collect(),
            text_deltas: pieces
                .iter()
                .map(|p| format!(r#"{{"text":{p},"index":0,"logprobs":null,"finish_reason":null}}"#))
                .collect(),
            default: Mutex::new(script.default.clone()),
            queue: Mutex::new(VecDeque::new()),
            recorded: Mutex::new(Vec::new()),
            recording: AtomicBool::new(true),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            script,
        }
    }

    /// The queued behaviour, else the default (which `failure_rate` may turn into a 500).
    fn next_behavior(&self) -> Behavior {
        if let Some(b) = lock(&self.queue).pop_front() {
            return b;
        }
        let b = lock(&self.default).clone();
        let rate = self.script.failure_rate;
        if matches!(b, Behavior::Ok) && rate > 0.0 && rand::random::<f64>() < rate {
            return server_error(500);
        }
        b
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections until aborted; dropping it drops (and aborts) every connection task.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        log::debug!("mock upstream: TCP_NODELAY failed: {e}");
                    }
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    let shared = Arc::clone(&shared);
                    let builder = Arc::clone(&builder);
                    conns.spawn(async move {
                        let svc = service_fn(move |req| handle(Arc::clone(&shared), req));
                        if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
                            log::debug!("mock upstream: connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    log::warn!("mock upstream: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        log::error!("mock upstream: connection task panicked: {e}");
                    }
                }
            }
        }
    }
}

/// Records the request, then answers it with the next behaviour.
async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            log::debug!("mock upstream: reading the request body failed: {e}");
            Bytes::new()
        }
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    if shared.recording.load(Ordering::Relaxed) {
        let recorded = Recorded {
            method: parts.method.to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
        };
        lock(&shared.recorded).push(recorded);
    }
    let behavior = shared.next_behavior();
    if let Behavior::Hang = behavior {
        let never: Infallible = std::future::pending().await;
        match never {}
    }
    if !shared.script.latency.is_zero() {
        tokio::time::sleep(shared.script.latency).await;
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let mut response = respond(&shared, &parts, &body, behavior, id);
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-mock-name"),
        shared.name_header.clone(),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("req_mock{id}")) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(response)
}
