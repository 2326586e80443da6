//! Parse a model request body once: validate the JSON, index its top-level fields, splice it.
//!
//! The body is never turned into a tree. One serde pass validates the whole document and
//! records each top-level value as a borrowed `RawValue`; the few fields the gateway reads are
//! decoded from those slices, and the upstream body is the client's bytes with `model`
//! replaced, gateway-only fields cut out and `stream_options.include_usage` injected.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::limits;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;

mod fallback;
mod fields;
mod mock;
mod rewrites;
pub use fallback::Fallback;
pub use mock::MockSpec;
use rewrites::force_usage;
pub use rewrites::{json_string, Rewrites};

/// Body fields that steer the gateway and are never sent upstream (LiteLLM's names).
const GATEWAY_FIELDS: &[&str] = &[
    "num_retries",
    "mock_response",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "disable_fallbacks",
    "max_fallbacks",
    "metadata",
    "litellm_metadata",
    "caching",
    "cache",
    "timeout",
    "stream_timeout",
    "mock_testing_fallbacks",
    "mock_testing_rate_limit_error",
    "mock_timeout",
    "drop_params",
    // Routing and credentials are the gateway's: a client's own are never used or forwarded
    // (LiteLLM's SSRF class, CVE-2024-6587).
    "api_base",
    "base_url",
    "api_key",
    "api_version",
    "extra_headers",
    "user_config",
];

/// What the gateway needs from a model request, with byte ranges into the client's body.
#[derive(Debug, Clone)]
pub struct ModelCall {
    pub body: Bytes,
    /// The API the body is for (chat, completions, embeddings).
    pub endpoint: Endpoint,
    pub model: String,
    model_span: Range<usize>,
    pub stream: bool,
    /// The client asked for the trailing usage chunk.
    pub include_usage: bool,
    stream_options_span: Option<Range<usize>>,
    /// Whether any gateway-only field is present.
    has_gateway_fields: bool,
    /// Ranges of every top-level key name (without quotes).
    keys: Vec<Range<usize>>,
    /// Ranges of the value of each key in `keys`, same order.
    values: Vec<Range<usize>>,
    /// Whether each member is a gateway-only field.
    gateway: Vec<bool>,
    open_brace: usize,
    /// Per-request `num_retries` (body, or the `x-litellm-num-retries` header), 0 to 100.
    pub num_retries: Option<u32>,
    /// Per-request `mock_response`, as LiteLLM allows.
    pub mock_response: Option<String>,
    /// `max_tokens`, `max_completion_tokens` or `max_output_tokens`: 1 to `u32::MAX`.
    pub max_tokens: Option<u64>,
    /// Choices asked for (`n`) and generated server-side (`best_of`): 1 to 128 each.
    pub n: Option<u32>,
    pub best_of: Option<u32>,
    /// Per-request `timeout` (seconds, at most a day), as LiteLLM allows.
    pub timeout: Option<f64>,
    /// Per-request `fallbacks`: model group names or deployment ids, each optionally with
    /// request fields of its own.
    pub fallbacks: Option<Vec<Fallback>>,
    pub disable_fallbacks: bool,
    /// Per-request `stream_timeout` (seconds to the first event, at most a day).
    pub stream_timeout: Option<f64>,
    /// LiteLLM's test switches: fail the first group as if it errored (500), or its first
    /// attempt with a simulated 429 that the group then retries.
    pub mock_testing_fallbacks: bool,
    pub mock_testing_rate_limit_error: bool,
    /// LiteLLM's `mock_timeout`: every attempt waits out its timeout, then fails with a 408.
    pub mock_timeout: bool,
    /// Per-request `drop_params`, as LiteLLM allows.
    pub drop_params: bool,
    /// The API the client speaks (set by the ingress route).
    pub client: crate::core::chat::ClientWire,
    /// A `/v1/messages` client's own body, indexed the same way: sent as it is (model
    /// replaced) to Anthropic deployments.
    pub native: Option<Box<ModelCall>>,
    /// The client's `anthropic-beta` header, forwarded to Anthropic deployments.
    pub anthropic_beta: Option<http::HeaderValue>,
    /// `messages`, `prompt` or `input`: what pre-call checks count tokens of.
    input_span: Range<usize>,
}

struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(16);
                while let Some(Key(key)) = map.next_key()? {
                    let value: &'de RawValue = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// An object key, borrowed from the body unless it has escapes (serde's own `Cow<str>` always
/// copies: one allocation per top-level field of every request).
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

fn span_of(body: &[u8], raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.get().len()
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// From a value's start, walk back over `"key" :` and return the key's range (inside quotes)
/// and the position of the opening quote.
fn key_before(body: &[u8], value_start: usize) -> Option<(Range<usize>, usize)> {
    let mut i = value_start;
    while i > 0 && is_ws(body[i - 1]) {
        i -= 1;
    }
    if i == 0 || body[i - 1] != b':' {
        return None;
    }
    i -= 1;
    while i > 0 && is_ws(body[i - 1]) {
        i -= 1;
    }
    if i == 0 || body[i - 1] != b'"' {
        return None;
    }
    let key_end = i - 1;
    let mut j = key_end;
    loop {
        if j == 0 {
            return None;
        }
        j -= 1;
        if body[j] == b'"' {
            let slashes = body[..j].iter().rev().take_while(|&&b| b == b'\\').count();
            if slashes % 2 == 0 {
                return Some((j + 1..key_end, j));
            }
        }
    }
}

/// The first top-level member named twice (escapes decoded, so `"m\u006fdel"` is `model`).
fn duplicate<'a>(fields: &'a [(Cow<'_, str>, &RawValue)]) -> Option<&'a str> {
    if fields.len() <= 32 {
        return fields.iter().enumerate().find_map(|(i, (k, _))| {
            fields[..i]
                .iter()
                .any(|(seen, _)| seen == k)
                .then_some(k.as_ref())
        });
    }
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
    names.sort_unstable();
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

fn json_error(e: serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("Invalid JSON in request body: {e}")).with_code("invalid_json")
}

fn field<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue, name: &str) -> Result<T, ApiError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        ApiError::bad_request(format!("Invalid value for '{name}': {e}")).with_param(name)
    })
}

impl ModelCall {
    /// Parse a model request body for `endpoint`.
    pub fn parse(endpoint: Endpoint, body: Bytes) -> Result<ModelCall, ApiError> {
        let Fields(fields) = serde_json::from_slice::<Fields>(&body).map_err(json_error)?;
        let bytes: &[u8] = &body;
        if limits::nested_deeper_than(bytes, limits::MAX_JSON_DEPTH) {
            return Err(limits::too_deep());
        }
        if let Some(name) = duplicate(&fields) {
            return Err(limits::duplicate_key(name));
        }
        let open_brace = bytes.iter().position(|&b| b == b'{').unwrap_or(0);
        let mut call = ModelCall::empty(endpoint, open_brace, fields.len());
        let mut model = None;
        let mut required_seen = false;
        let required = match endpoint {
            Endpoint::ChatCompletions | Endpoint::Messages => "messages",
            Endpoint::Completions => "prompt",
            _ => "input",
        };
        for (key, raw) in &fields {
            let span = span_of(bytes, raw);
            if let Some((key_span, _quote)) = key_before(bytes, span.start) {
                call.keys.push(key_span);
                call.values.push(span.clone());
                // Anthropic's and the Responses API's own `metadata` is theirs, not LiteLLM's.
                let gateway = GATEWAY_FIELDS.contains(&key.as_ref())
                    && !(key == "metadata"
                        && matches!(endpoint, Endpoint::Messages | Endpoint::Responses));
                call.gateway.push(gateway);
                call.has_gateway_fields |= gateway;
            }
            let seen = (&mut model, &mut required_seen);
            call.read_field(key, raw, span, required, seen)?;
        }
        if !required_seen {
            return Err(ApiError::bad_request(format!(
                "{}: Missing required parameter: '{required}'.",
                endpoint.as_str()
            ))
            .with_param(required));
        }
        let Some(model) = model else {
            return Err(ApiError::bad_request(format!(
                "{}: Missing required parameter: 'model'.",
                endpoint.as_str()
            ))
            .with_param("model"));
        };
        call.model = model;
        drop(fields);
        call.body = body;
        Ok(call)
    }

    /// A call with nothing read yet, with room for `fields` top-level fields.
    fn empty(endpoint: Endpoint, open_brace: usize, fields: usize) -> ModelCall {
        ModelCall {
            body: Bytes::new(),
            endpoint,
            model: String::new(),
            model_span: 0..0,
            stream: false,
            include_usage: false,
            stream_options_span: None,
            has_gateway_fields: false,
            keys: Vec::with_capacity(fields),
            values: Vec::with_capacity(fields),
            gateway: Vec::with_capacity(fields),
            open_brace,
            num_retries: None,
            mock_response: None,
            max_tokens: None,
            n: None,
            best_of: None,
            timeout: None,
            fallbacks: None,
            disable_fallbacks: false,
            stream_timeout: None,
            mock_testing_fallbacks: false,
            mock_testing_rate_limit_error: false,
            mock_timeout: false,
            drop_params: false,
            client: Default::default(),
            native: None,
            anthropic_beta: None,
            input_span: 0..0,
        }
    }

    /// Take LiteLLM's mock switches from the client's own body of a bridged call
    /// (`/v1/messages`, `/v1/responses`), which the translation to chat leaves out.
    pub fn inherit_mocks(&mut self, native: &ModelCall) {
        if self.mock_response.is_none() {
            self.mock_response.clone_from(&native.mock_response);
        }
        self.mock_timeout |= native.mock_timeout;
        self.mock_testing_fallbacks |= native.mock_testing_fallbacks;
        self.mock_testing_rate_limit_error |= native.mock_testing_rate_limit_error;
    }

    /// Apply LiteLLM's per-request control headers (`x-litellm-timeout`,
    /// `x-litellm-stream-timeout`, `x-litellm-num-retries`): range-checked like the body
    /// fields they override, a bad value is a 400 naming the header.
    pub fn apply_headers(&mut self, headers: &http::HeaderMap) -> Result<(), ApiError> {
        if let Some(t) = limits::seconds_header(headers, "x-litellm-timeout")? {
            self.timeout = Some(t);
        }
        if let Some(t) = limits::seconds_header(headers, "x-litellm-stream-timeout")? {
            self.stream_timeout = Some(t);
        }
        let retries =
            limits::integer_header(headers, "x-litellm-num-retries", &limits::NUM_RETRIES)?;
        if retries.is_some() {
            self.num_retries = retries;
        }
        Ok(())
    }

    /// The raw JSON of `messages` (chat), `prompt` (completions) or `input` (embeddings).
    pub fn input_json(&self) -> &[u8] {
        &self.body[self.input_span.clone()]
    }

    /// [`ModelCall::input_json`] as a slice of the body (no copy).
    pub fn input_bytes(&self) -> Bytes {
        self.body.slice(self.input_span.clone())
    }

    /// The top-level members sent upstream (gateway-only fields left out), as key and raw
    /// JSON text of the value, borrowed from the body (validated by the parse).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys
            .iter()
            .zip(&self.values)
            .zip(&self.gateway)
            .filter(|(_, gateway)| !**gateway)
            .filter_map(|((k, v), _)| {
                let key = std::str::from_utf8(&self.body[k.clone()]).ok()?;
                let value = std::str::from_utf8(&self.body[v.clone()]).ok()?;
                Some((key, value))
            })
    }

    /// Deletions for gateway-only members and those named in `drop`: each removed member
    /// takes its leading separator; if the first member goes, so does the leading separator
    /// of the first member kept. The ranges are disjoint, so the result stays valid JSON.
    fn removals<'s>(&self, drop: &[String], edits: &mut Vec<(Range<usize>, Cow<'s, [u8]>)>) {
        let mut leading_removed = false;
        for (i, (key, value)) in self.keys.iter().zip(&self.values).enumerate() {
            let remove = self.gateway.get(i).copied().unwrap_or(false)
                || drop.iter().any(|d| d.as_bytes() == &self.body[key.clone()]);
            let prev_end = match i {
                0 => self.open_brace + 1,
                _ => self.values[i - 1].end,
            };
            if remove {
                edits.push((prev_end..value.end, Cow::Borrowed(&[])));
                leading_removed |= i == 0;
            } else if leading_removed {
                // The first kept member: drop the comma before it.
                let quote = key.start.saturating_sub(1);
                edits.push((prev_end..quote, Cow::Borrowed(&[])));
                leading_removed = false;
            }
        }
    }

    /// Whether a top-level member is present.
    pub fn has_field(&self, name: &str) -> bool {
        self.has_key(name)
    }

    /// The raw JSON of a top-level member, if present.
    pub fn raw_field(&self, name: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .position(|r| &self.body[r.clone()] == name.as_bytes())
            .and_then(|i| self.values.get(i))
            .map(|v| &self.body[v.clone()])
    }

    /// How many answers the request asks for (`n`, `best_of`; at least 1, at most 128):
    /// the budget reservation multiplies the output by it.
    pub fn choices(&self) -> u64 {
        let n = self.n.unwrap_or(1).max(self.best_of.unwrap_or(1));
        u64::from(n.clamp(1, 128))
    }

    fn has_key(&self, name: &str) -> bool {
        self.keys
            .iter()
            .any(|r| &self.body[r.clone()] == name.as_bytes())
    }

    /// The upstream body for an OpenAI-compatible deployment: the client's bytes with `model`
    /// replaced by `model_json` (an already-encoded JSON string), gateway fields removed,
    /// deployment defaults added where the client did not set them, and
    /// `stream_options.include_usage` forced on for streams; members named in `drop` are
    /// removed too (`additional_drop_params`).
    pub fn splice(
        &self,
        model_json: Option<&[u8]>,
        defaults: &[(String, Box<RawValue>)],
        drop: &[String],
    ) -> Bytes {
        self.splice_with(model_json, defaults, drop, &Rewrites::NONE)
    }

    /// [`ModelCall::splice`] plus a provider's renames and value rewrites.
    pub fn splice_with(
        &self,
        model_json: Option<&[u8]>,
        defaults: &[(String, Box<RawValue>)],
        drop: &[String],
        rewrites: &Rewrites,
    ) -> Bytes {
        let body: &[u8] = &self.body;
        let mut edits: Vec<(Range<usize>, Cow<[u8]>)> = Vec::with_capacity(6);
        if let Some(m) = model_json {
            edits.push((self.model_span.clone(), Cow::Borrowed(m)));
        }
        if self.has_gateway_fields || !drop.is_empty() {
            self.removals(drop, &mut edits);
        }
        if !rewrites.is_empty() {
            for (i, (key, value)) in self.keys.iter().zip(&self.values).enumerate() {
                let name = &body[key.clone()];
                let dropped = self.gateway.get(i).copied().unwrap_or(false)
                    || drop.iter().any(|d| d.as_bytes() == name);
                if dropped {
                    continue;
                }
                if let Some((_, to)) = rewrites
                    .rename
                    .iter()
                    .find(|(from, _)| from.as_bytes() == name)
                {
                    edits.push((key.clone(), Cow::Borrowed(to.as_bytes())));
                }
                let raw = &body[value.clone()];
                if let Some((_, _, to)) = rewrites
                    .values
                    .iter()
                    .find(|(k, from, _)| k.as_bytes() == name && from.as_bytes() == raw)
                {
                    edits.push((value.clone(), Cow::Borrowed(to.as_bytes())));
                }
            }
        }
        let mut insert = Vec::new();
        for (k, v) in defaults {
            if !self.has_key(k) {
                insert.extend_from_slice(b"\"");
                insert.extend_from_slice(k.as_bytes());
                insert.extend_from_slice(b"\":");
                insert.extend_from_slice(v.get().as_bytes());
                insert.push(b',');
            }
        }
        // Only chat has `stream_options.include_usage`; Anthropic and the Responses API report
        // usage in their own end events.
        if self.stream
            && !self.include_usage
            && !matches!(self.endpoint, Endpoint::Messages | Endpoint::Responses)
        {
            match &self.stream_options_span {
                Some(span) => {
                    edits.push((span.clone(), Cow::Owned(force_usage(&body[span.clone()]))))
                }
                None => insert.extend_from_slice(br#""stream_options":{"include_usage":true},"#),
            }
        }
        if !insert.is_empty() {
            let at = self.open_brace + 1;
            edits.push((at..at, Cow::Owned(insert)));
        }
        if edits.is_empty() {
            return self.body.clone();
        }
        edits.sort_by_key(|(r, _)| (r.start, r.end));
        let extra: usize = edits.iter().map(|(_, b)| b.len()).sum();
        let mut out = Vec::with_capacity(body.len() + extra);
        let mut at = 0;
        for (range, bytes) in &edits {
            if range.start < at {
                continue; // overlapping edit (cannot happen for distinct members)
            }
            out.extend_from_slice(&body[at..range.start]);
            out.extend_from_slice(bytes);
            at = range.end;
        }
        out.extend_from_slice(&body[at..]);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests;
