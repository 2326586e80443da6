//! Governance helpers: the management API with the master key, chats with virtual keys, costs
//! from `usage`, and bounded polls for state the gateway updates after a response.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::config::{openai, Model};
use super::{Gateway, MASTER_KEY};

/// USD per prompt token of every priced test model.
pub const IN_COST: f64 = 0.001;
/// USD per completion token of every priced test model.
pub const OUT_COST: f64 = 0.002;
/// A budget smaller than any request's cost (but not zero).
pub const TINY: f64 = 0.000_001;

/// A model_list entry: `name` at `base_url`, priced at [`IN_COST`] and [`OUT_COST`] per token.
pub fn priced(name: &str, base_url: &str) -> Model {
    openai(name, base_url)
        .input_cost_per_token(IN_COST)
        .output_cost_per_token(OUT_COST)
}

/// The cost of a response's `usage` object at the test prices.
pub fn cost_of(usage: &Value) -> f64 {
    let prompt = usage["prompt_tokens"]
        .as_f64()
        .expect("usage.prompt_tokens");
    let completion = usage["completion_tokens"]
        .as_f64()
        .expect("usage.completion_tokens");
    prompt * IN_COST + completion * OUT_COST
}

/// Equal up to float noise (relative 1e-6, absolute 1e-9).
pub fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 + 1e-6 * a.abs().max(b.abs())
}

/// `sha256(key)` in lowercase hex: the `token` LiteLLM stores instead of the key.
pub fn token_of(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Assert an OpenAI-style error body of this `type`.
pub fn assert_error(v: &Value, kind: &str) {
    let e = &v["error"];
    assert_eq!(e["type"], kind, "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e.get("param").is_some() && e.get("code").is_some(), "{v}");
}

/// Assert a `budget_exceeded` refusal.
pub fn assert_budget_exceeded(r: &Reply) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_error(&r.body, "budget_exceeded");
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Budget has been exceeded!"), "{msg}");
}

/// Assert a `rate_limit_error` refusal with a sane `retry-after`.
pub fn assert_rate_limited(r: &Reply) {
    assert_eq!(r.status, 429, "{}", r.body);
    assert_error(&r.body, "rate_limit_error");
    let after: f64 = r
        .header("retry-after")
        .expect("429 without retry-after")
        .parse()
        .expect("retry-after is a number of seconds");
    assert!((1.0..=60.0).contains(&after), "retry-after {after}");
}

/// Poll `f` every 50 ms until it yields `Some`, failing after `limit`.
pub async fn poll<T>(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// If fewer than 5 s remain in the current wall-clock minute, wait (polling the clock) for the
/// next one, so a per-minute limit's window cannot roll over mid-test.
/// (The gateway binary runs on the system clock; these tests check HTTP shape, while windows
/// themselves are tested on a manual clock in `governance::clock_tests`.)
pub async fn minute_headroom() {
    let secs = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            % 60
    };
    if secs() >= 55 {
        poll("the next minute", Duration::from_secs(10), async || {
            (secs() < 55).then_some(())
        })
        .await;
    }
}

/// A chat body with a customer id in the OpenAI `user` field.
pub fn chat_for(model: &str, user: Option<&str>, stream: bool) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if let Some(u) = user {
        body["user"] = json!(u);
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// One answer: status, headers and the body as JSON (a non-JSON body becomes a JSON string).
/// For a stream, `body` is the usage-bearing chunk (or null) and `events` every payload.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub events: Vec<String>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-litellm-call-id`, the `litellm_call_id` of the spend log row.
    pub fn call_id(&self) -> String {
        self.header("x-litellm-call-id")
            .expect("x-litellm-call-id")
            .to_string()
    }

    /// The cost of this answer's `usage` (non-streaming body or the stream's usage chunk).
    pub fn cost(&self) -> f64 {
        assert_eq!(self.status, 200, "{}", self.body);
        cost_of(&self.body["usage"])
    }
}

/// The management and data planes of one gateway through one pooled client (requests in
/// sequence reuse one HTTP/1 connection, so the previous request's logging phase is done).
pub struct Api<'a> {
    pub gw: &'a Gateway,
    pub http: reqwest::Client,
}

impl<'a> Api<'a> {
    pub fn new(gw: &'a Gateway) -> Api<'a> {
        Api {
            gw,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(8)
                .build()
                .unwrap(),
        }
    }

    async fn read(resp: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }

    /// POST JSON as `key`.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.gw.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        let (s, _, v) = Self::read(resp).await;
        (s, v)
    }

    /// POST JSON with the master key.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(MASTER_KEY, path, body).await
    }

    /// POST JSON with the master key, asserting 200.
    pub async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, 200, "POST {path} {body}: {v}");
        v
    }

    /// `method` (`PATCH`, `DELETE`, ...) with a JSON body as `key`.
    pub async fn send_as(&self, key: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .request(method.parse().unwrap(), self.gw.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        let (s, _, v) = Self::read(resp).await;
        (s, v)
    }

    /// `method` with a JSON body and the master key, asserting 200.
    pub async fn send_ok(&self, method: &str, path: &str, body: &Value) -> Value {
        let (s, v) = self.send_as(MASTER_KEY, method, path, body).await;
        assert_eq!(s, 200, "{method} {path} {body}: {v}");
        v
    }

    /// GET as `key`.
    pub async fn get_as(&self, key: &str, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.gw.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        let (s, _, v) = Self::read(resp).await;
        (s, v)
    }

    /// GET with the master key.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(MASTER_KEY, path).await
    }

    /// GET with the master key, asserting 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (s, v) = self.get(path).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// `/key/generate` with the master key; returns the raw `sk-` key.
    pub async fn new_key(&self, body: Value) -> String {
        let v = self.post_ok("/key/generate", &body).await;
        let key = v["key"]
            .as_str()
            .expect("key/generate returns key")
            .to_string();
        assert!(key.starts_with("sk-"), "{key}");
        key
    }

    /// `info` of `/key/info?key=`.
    pub async fn key_info(&self, key: &str) -> Value {
        let v = self.get_ok(&format!("/key/info?key={key}")).await;
        v["info"].clone()
    }

    /// `info.spend` of a key.
    pub async fn key_spend(&self, key: &str) -> f64 {
        let info = self.key_info(key).await;
        info["spend"].as_f64().expect("info.spend is a number")
    }

    /// Poll (≤ 2 s) until the key's spend is `expected`.
    pub async fn await_key_spend(&self, key: &str, expected: f64) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let spend = self.key_spend(key).await;
            if approx(spend, expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "key spend {spend}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A chat request as `key` with extra headers; a stream is read to its end.
    pub async fn chat_with(&self, key: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(self.gw.url("/v1/chat/completions"))
            .bearer_auth(key)
            .json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let streamed = body["stream"] == json!(true) && resp.status() == 200;
        if !streamed {
            let (status, headers, body) = Self::read(resp).await;
            return Reply {
                status,
                headers,
                body,
                events: Vec::new(),
            };
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let (events, clean) = super::sse_payloads(resp).await;
        assert!(clean, "stream cut: {events:?}");
        let body = events
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .find(|v| v["usage"].is_object())
            .unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            events,
        }
    }

    /// A plain chat request for `model` as `key`.
    pub async fn chat(&self, key: &str, model: &str) -> Reply {
        self.chat_with(key, &chat_for(model, None, false), &[])
            .await
    }

    /// Rows of `/spend/logs` with this query string.
    pub async fn spend_logs(&self, query: &str) -> Vec<Value> {
        let v = self.get_ok(&format!("/spend/logs{query}")).await;
        v.as_array().expect("/spend/logs is a list").clone()
    }

    /// Poll (≤ 3 s) until `/spend/logs` holds a row for every call id; returns those rows in
    /// order.
    pub async fn await_spend_rows(&self, ids: &[String]) -> Vec<Value> {
        poll("spend log rows", Duration::from_secs(3), async || {
            let rows = self.spend_logs("").await;
            ids.iter()
                .map(|id| {
                    rows.iter()
                        .find(|r| r["litellm_call_id"] == json!(id))
                        .cloned()
                })
                .collect::<Option<Vec<Value>>>()
        })
        .await
    }
}
