//! Retry budgets per error class (`retry_policy`) and the waits between attempts.

use std::time::Duration;

use super::cooldown::FailureClass;

/// LiteLLM's `retry_policy` / `model_group_retry_policy`: retries allowed after an error of
/// each class; `None` falls back to `num_retries`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryPolicy {
    pub bad_request: Option<u32>,
    pub auth: Option<u32>,
    pub timeout: Option<u32>,
    pub rate_limit: Option<u32>,
    pub content_policy: Option<u32>,
    pub server: Option<u32>,
}

impl RetryPolicy {
    /// Retries allowed after a failure of `class` (by status when it has no class).
    pub fn for_status(&self, status: u16, code: Option<&str>) -> Option<u32> {
        match FailureClass::of(status, code) {
            Some(FailureClass::RateLimit) => self.rate_limit,
            Some(FailureClass::Timeout) => self.timeout,
            Some(FailureClass::Auth) => self.auth,
            Some(FailureClass::ContentPolicy) => self.content_policy,
            Some(FailureClass::Server) => self.server,
            Some(FailureClass::BadRequest | FailureClass::NotFound) => self.bad_request,
            None if (400..500).contains(&status) => self.bad_request,
            None => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == RetryPolicy::default()
    }
}

/// Exponential backoff: 0.5 s doubling to 8 s, with jitter (between half and all of it).
pub fn backoff(step: u32) -> Duration {
    let base = Duration::from_millis(500) * 2u32.saturating_pow(step.min(4));
    base.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// The wait an upstream asks for, as a `Retry-After` value in seconds: `retry-after`, else
/// `retry-after-ms`, else the larger of `x-ratelimit-reset-requests` / `-tokens` (Go-style
/// durations such as `6s`, `1m30s`, `12ms`) on a 429.
pub fn retry_after_header(h: &http::HeaderMap) -> Option<String> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = get("retry-after") {
        return Some(v.to_string());
    }
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        // Whole seconds, rounded up: the value is also the client's `retry-after`.
        return Some(format!("{}", (ms / 1000.0).max(0.0).ceil()));
    }
    let reset = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .into_iter()
        .filter_map(|n| get(n).and_then(go_duration))
        .max()?;
    Some(format!("{}", reset.as_secs_f64().ceil()))
}

/// Parse a Go duration (`1m30s`, `6s`, `12ms`, `0.5s`, `2h`).
pub fn go_duration(s: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// An upstream's `Retry-After` in seconds, if it is at most 60 s (longer waits are not worth
/// holding a request for; the deployment cools down instead).
pub fn retry_after_hint(v: Option<&str>) -> Option<Duration> {
    let d = Duration::try_from_secs_f64(v?.trim().parse::<f64>().ok()?).ok()?;
    (d <= Duration::from_secs(60)).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_eight_seconds_with_jitter() {
        for (step, max) in [
            (0, 500),
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (4, 8000),
            (9, 8000),
        ] {
            let d = backoff(step).as_millis() as u64;
            assert!(d >= max / 2 && d <= max, "step {step}: {d} ms");
        }
    }

    #[test]
    fn retry_after_is_bounded() {
        assert_eq!(retry_after_hint(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after_hint(Some("0.25")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after_hint(Some("61")), None);
        assert_eq!(
            retry_after_hint(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn retry_after_from_any_header() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-reset-requests", "1m30s".parse().unwrap());
        h.insert("x-ratelimit-reset-tokens", "6s".parse().unwrap());
        assert_eq!(retry_after_header(&h).as_deref(), Some("90"));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after_header(&h).as_deref(), Some("1"));
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after_header(&h).as_deref(), Some("3"));
        assert_eq!(go_duration("12ms"), Some(Duration::from_millis(12)));
        assert_eq!(go_duration("soon"), None);
    }

    #[test]
    fn policy_by_class() {
        let p = RetryPolicy {
            rate_limit: Some(5),
            bad_request: Some(0),
            ..Default::default()
        };
        assert_eq!(p.for_status(429, None), Some(5));
        assert_eq!(p.for_status(422, None), Some(0));
        assert_eq!(p.for_status(500, None), None);
    }
}
