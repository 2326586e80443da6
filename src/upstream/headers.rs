//! The `x-litellm-*` response headers and the upstream headers passed through to clients.

use std::time::Instant;

use pingora_http::ResponseHeader;

use super::Record;

/// Per-request facts that go into response headers.
pub struct ResponseMeta {
    pub call_id: String,
    pub group: String,
    pub started: Instant,
    pub attempted_retries: u32,
    pub attempted_fallbacks: u32,
    pub max_fallbacks: Option<usize>,
    pub status: u16,
    /// Upstream `x-ratelimit-*` headers of the committed attempt.
    pub passthrough: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Governance headers (`x-litellm-key-spend`, the key's `x-ratelimit-*`).
    pub governance: Vec<(&'static str, String)>,
}

impl ResponseMeta {
    pub fn new(call_id: String, started: Instant) -> Self {
        ResponseMeta {
            call_id,
            group: String::new(),
            started,
            attempted_retries: 0,
            attempted_fallbacks: 0,
            max_fallbacks: None,
            status: 0,
            passthrough: Vec::new(),
            governance: Vec::new(),
        }
    }

    /// Add LiteLLM's headers (and passed-through upstream ones) to a response header.
    pub fn apply(&self, h: &mut ResponseHeader, record: &Record) {
        let total = self.started.elapsed();
        let total_ms = total.as_secs_f64() * 1000.0;
        let overhead_ms = (total.saturating_sub(record.upstream_wait)).as_secs_f64() * 1000.0;
        let mut put = |k: &'static str, v: String| {
            if let Err(e) = h.insert_header(k, v) {
                log::debug!("header {k}: {e}");
            }
        };
        put("x-litellm-call-id", self.call_id.clone());
        if let Some(d) = &record.deployment {
            put("x-litellm-model-id", d.id.to_string());
        }
        if !self.group.is_empty() {
            put("x-litellm-model-group", self.group.clone());
        }
        put(
            "x-litellm-attempted-retries",
            self.attempted_retries.to_string(),
        );
        if let Some(max) = self.max_fallbacks {
            put(
                "x-litellm-attempted-fallbacks",
                self.attempted_fallbacks.to_string(),
            );
            put("x-litellm-max-fallbacks", max.to_string());
        }
        put("x-litellm-response-duration-ms", format!("{total_ms:.3}"));
        put(
            "x-litellm-overhead-duration-ms",
            format!("{:.4}", overhead_ms),
        );
        if let (Some(d), Some(u)) = (&record.deployment, &record.usage) {
            let cost = crate::governance::entities::from_nano(d.price.cost(u));
            put("x-litellm-response-cost", cost.to_string());
        }
        for (k, v) in &self.governance {
            put(k, v.clone());
        }
        for (k, v) in &self.passthrough {
            if self.governance.iter().any(|(g, _)| *g == k.as_str()) {
                continue;
            }
            if let Err(e) = h.insert_header(k.clone(), v.clone()) {
                log::debug!("header {k}: {e}");
            }
        }
    }

    /// Keep the upstream's rate-limit headers for the client.
    pub fn capture(&mut self, upstream: &ResponseHeader) {
        self.passthrough.clear();
        for (k, v) in upstream.headers.iter() {
            let n = k.as_str();
            if n.starts_with("x-ratelimit-") || n == "retry-after-ms" {
                self.passthrough.push((k.clone(), v.clone()));
            }
        }
    }
}
