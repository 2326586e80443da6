//! The headers Switchyard adds (LiteLLM's `x-litellm-*` and `x-ratelimit-*` names, parsed
//! once) and the one way a value is made a header value.

use http::{HeaderMap, HeaderName, HeaderValue};

/// The names of the headers Switchyard adds, parsed once.
pub mod names {
    use http::HeaderName;

    pub const CALL_ID: HeaderName = HeaderName::from_static("x-litellm-call-id");
    pub const MODEL_ID: HeaderName = HeaderName::from_static("x-litellm-model-id");
    pub const MODEL_GROUP: HeaderName = HeaderName::from_static("x-litellm-model-group");
    pub const ATTEMPTED_RETRIES: HeaderName =
        HeaderName::from_static("x-litellm-attempted-retries");
    pub const ATTEMPTED_FALLBACKS: HeaderName =
        HeaderName::from_static("x-litellm-attempted-fallbacks");
    pub const MAX_FALLBACKS: HeaderName = HeaderName::from_static("x-litellm-max-fallbacks");
    pub const MAX_RETRIES: HeaderName = HeaderName::from_static("x-litellm-max-retries");
    pub const TIMEOUT: HeaderName = HeaderName::from_static("x-litellm-timeout");
    pub const RESPONSE_DURATION_MS: HeaderName =
        HeaderName::from_static("x-litellm-response-duration-ms");
    pub const OVERHEAD_DURATION_MS: HeaderName =
        HeaderName::from_static("x-litellm-overhead-duration-ms");
    pub const RESPONSE_COST: HeaderName = HeaderName::from_static("x-litellm-response-cost");
    pub const MODEL_REGION: HeaderName = HeaderName::from_static("x-litellm-model-region");
    pub const KEY_SPEND: HeaderName = HeaderName::from_static("x-litellm-key-spend");
    pub const KEY_MAX_BUDGET: HeaderName = HeaderName::from_static("x-litellm-key-max-budget");
    pub const LIMIT_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-limit-requests");
    pub const LIMIT_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-limit-tokens");
    pub const REMAINING_REQUESTS: HeaderName =
        HeaderName::from_static("x-ratelimit-remaining-requests");
    pub const REMAINING_TOKENS: HeaderName =
        HeaderName::from_static("x-ratelimit-remaining-tokens");
    pub const RESET_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
}

/// `value` as the value of header `name` (a `String` is taken without a copy), or `None` when
/// it is not a valid header value (a model name with a control character in it, say).
pub fn value<V>(name: &HeaderName, value: V) -> Option<HeaderValue>
where
    HeaderValue: TryFrom<V>,
    <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
{
    HeaderValue::try_from(value)
        .map_err(|e| log::debug!("header {name}: {e}"))
        .ok()
}

/// Sets `name` to `v`, or leaves it out when [`value`] refuses it.
pub fn put<V>(h: &mut HeaderMap, name: HeaderName, v: V)
where
    HeaderValue: TryFrom<V>,
    <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
{
    if let Some(v) = value(&name, v) {
        h.insert(name, v);
    }
}
