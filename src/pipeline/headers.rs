//! The `x-litellm-*` response headers and the upstream headers passed through to clients.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};
use pingora_http::ResponseHeader;

use super::Record;
use crate::core::headers::{self, names, put};
use crate::governance::admission::KeyHeaders;
use crate::governance::entities::from_nano;

/// Per-request facts that go into response headers.
pub struct ResponseMeta {
    pub call_id: String,
    pub group: String,
    pub started: Instant,
    pub attempted_retries: u32,
    pub attempted_fallbacks: u32,
    pub max_fallbacks: Option<usize>,
    /// The retries the group allowed, once one was made (`x-litellm-max-retries`).
    pub max_retries: Option<u32>,
    /// Seconds the last attempt was given (`x-litellm-timeout`).
    pub timeout: Option<HeaderValue>,
    pub status: u16,
    /// Upstream `x-ratelimit-*` headers of the committed attempt.
    pub passthrough: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Governance headers (`x-litellm-key-spend`, the key's `x-ratelimit-*`).
    pub governance: Vec<(HeaderName, HeaderValue)>,
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
            max_retries: None,
            timeout: None,
            status: 0,
            passthrough: Vec::new(),
            governance: Vec::new(),
        }
    }

    /// Add LiteLLM's headers (and passed-through upstream ones) to a response head.
    pub fn apply(&self, h: &mut HeaderMap, record: &Record) {
        let total = self.started.elapsed();
        let overhead = total.saturating_sub(record.upstream_wait);
        put(h, names::CALL_ID, self.call_id.as_str());
        if let Some(d) = &record.deployment {
            put(h, names::MODEL_ID, &*d.id);
        }
        if !self.group.is_empty() {
            put(h, names::MODEL_GROUP, self.group.as_str());
        }
        h.insert(names::ATTEMPTED_RETRIES, self.attempted_retries.into());
        if let Some(max) = self.max_retries {
            h.insert(names::MAX_RETRIES, max.into());
        }
        if let Some(t) = &self.timeout {
            h.insert(names::TIMEOUT, t.clone());
        }
        if let Some(max) = self.max_fallbacks {
            h.insert(names::ATTEMPTED_FALLBACKS, self.attempted_fallbacks.into());
            h.insert(names::MAX_FALLBACKS, max.into());
        }
        put(h, names::RESPONSE_DURATION_MS, fixed_ms(total, 3));
        put(h, names::OVERHEAD_DURATION_MS, fixed_ms(overhead, 4));
        if let (Some(d), Some(u)) = (&record.deployment, &record.usage) {
            let price = record.price.unwrap_or(d.price);
            let cost = from_nano(price.cost_over(u, total));
            put(h, names::RESPONSE_COST, cost.to_string());
        }
        for (k, v) in &self.governance {
            h.insert(k, v.clone());
        }
        for (k, v) in &self.passthrough {
            if !self.governance.iter().any(|(g, _)| g == k) {
                h.insert(k, v.clone());
            }
        }
    }

    /// LiteLLM's governance headers for the response: the key's spend so far and, when the
    /// key has rpm/tpm limits, what is left of them this minute.
    pub fn key(&mut self, k: &KeyHeaders<'_>) {
        let out = &mut self.governance;
        let mut text = |name: HeaderName, v: String| {
            if let Some(v) = headers::value(&name, v) {
                out.push((name, v));
            }
        };
        if let Some(spend) = k.spent_nano {
            text(names::KEY_SPEND, from_nano(spend).to_string());
        }
        if let Some(max) = k.max_budget_nano {
            text(names::KEY_MAX_BUDGET, from_nano(max).to_string());
        }
        if let Some(r) = k.model_region {
            text(names::MODEL_REGION, r.to_string());
        }
        if let Some(secs) = k.reset_after_secs {
            text(names::RESET_REQUESTS, format!("{secs}s"));
        }
        for (name, value) in [
            (
                names::LIMIT_REQUESTS,
                k.limit_requests.map(HeaderValue::from),
            ),
            (names::LIMIT_TOKENS, k.limit_tokens.map(HeaderValue::from)),
            (
                names::REMAINING_REQUESTS,
                k.remaining_requests.map(HeaderValue::from),
            ),
            (
                names::REMAINING_TOKENS,
                k.remaining_tokens.map(HeaderValue::from),
            ),
        ] {
            if let Some(v) = value {
                out.push((name, v));
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

/// `d` in milliseconds with `decimals` (3 or 4) digits after the point, by integer arithmetic
/// (fixed-precision float formatting takes the slow exact path).
fn fixed_ms(d: Duration, decimals: u32) -> String {
    let unit = 10u128.pow(6 - decimals); // nanoseconds per last digit
    let ticks = d.as_nanos() / unit;
    let per_ms = 10u128.pow(decimals);
    format!(
        "{}.{:0width$}",
        ticks / per_ms,
        ticks % per_ms,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_headers_render_as_litellm_names_them() {
        let mut meta = ResponseMeta::new("id".into(), Instant::now());
        meta.key(&KeyHeaders {
            spent_nano: Some(1_500_000_000),
            max_budget_nano: Some(10_000_000_000),
            model_region: Some("eu"),
            reset_after_secs: Some(42),
            limit_requests: Some(3),
            limit_tokens: None,
            remaining_requests: Some(0),
            remaining_tokens: Some(7),
        });
        let got: Vec<(&str, &str)> = meta
            .governance
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("x-litellm-key-spend", "1.5"),
                ("x-litellm-key-max-budget", "10"),
                ("x-litellm-model-region", "eu"),
                ("x-ratelimit-reset-requests", "42s"),
                ("x-ratelimit-limit-requests", "3"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-remaining-tokens", "7"),
            ]
        );
        let mut none = ResponseMeta::new("id".into(), Instant::now());
        none.key(&KeyHeaders::default());
        assert!(none.governance.is_empty());
    }
}
