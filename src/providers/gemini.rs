//! Google Gemini (AI Studio, `generativelanguage` v1beta): chat requests become
//! `generateContent` bodies; responses, `alt=sse` streams and `google.rpc.Status` errors are
//! decoded back into the neutral chat types.

mod contents;
mod embed;
mod encode;

pub(crate) use encode::encode as encode_chat;

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::chat::{Completion, Event, Finish, StreamDecoder, TokenUsage, ToolCall};
use super::openai::kind_for;
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::wire::sse::{data, SseFramer};

pub struct Gemini;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://generativelanguage.googleapis.com/v1beta"),
    key_env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    base_env: &["GEMINI_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// LiteLLM's separator for a thought signature carried inside an OpenAI tool call id
/// (`call_<hex>__thought__<signature>`), so OpenAI clients send it back unchanged.
const SIGNATURE_SEPARATOR: &str = "__thought__";

/// The `models/{model}` resource name; names that already are resources are kept.
fn resource(model: &str) -> Cow<'_, str> {
    if model.starts_with("models/") || model.starts_with("tunedModels/") {
        Cow::Borrowed(model)
    } else {
        Cow::Owned(format!("models/{model}"))
    }
}

impl Provider for Gemini {
    fn path(&self, base_path: &str, endpoint: Endpoint, model: &str, _v: Option<&str>) -> String {
        match endpoint {
            Endpoint::Embeddings => format!("{base_path}/{}:batchEmbedContents", resource(model)),
            _ => format!("{base_path}/{}:generateContent", resource(model)),
        }
    }

    fn stream_path(&self, base_path: &str, model: &str, _v: Option<&str>) -> Option<String> {
        Some(format!(
            "{base_path}/{}:streamGenerateContent?alt=sse",
            resource(model)
        ))
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        HeaderValue::from_str(api_key).ok().map(|mut v| {
            v.set_sensitive(true);
            (HeaderName::from_static("x-goog-api-key"), v)
        })
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletions | Endpoint::Embeddings)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        match call.endpoint {
            Endpoint::Embeddings => embed::encode(call, target),
            _ => encode::encode(call, target),
        }
    }

    fn decode_embeddings(&self, body: &[u8], call: &ModelCall) -> Option<Result<Bytes, ApiError>> {
        Some(embed::decode(body, &call.model, call.input_json().len()))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_completion(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(GeminiStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    fn retry_after_in_body(&self, body: &[u8]) -> Option<u64> {
        retry_after_secs(body)
    }
}

// ---- Response decoding ----------------------------------------------------------------

/// A `GenerateContentResponse` (a whole response, or one stream chunk); unknown fields are
/// ignored. A stream may carry `{"error": ...}` in place of one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(borrow, default)]
    candidates: Vec<Candidate<'a>>,
    #[serde(borrow, default)]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
    #[serde(borrow, default)]
    model_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error: Option<Status<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow, default)]
    content: Option<CandidateContent<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CandidateContent<'a> {
    #[serde(borrow, default)]
    parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartIn<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: bool,
    #[serde(borrow, default)]
    function_call: Option<CallIn<'a>>,
    #[serde(borrow, default)]
    thought_signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CallIn<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow, default)]
    block_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    block_reason_message: Option<Cow<'a, str>>,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    thoughts_token_count: u64,
    cached_content_token_count: u64,
}

impl From<UsageMetadata> for TokenUsage {
    fn from(u: UsageMetadata) -> TokenUsage {
        TokenUsage {
            prompt: u.prompt_token_count,
            completion: u
                .candidates_token_count
                .saturating_add(u.thoughts_token_count),
            cache_read: u.cached_content_token_count,
            cache_write: 0,
            reasoning: u.thoughts_token_count,
        }
    }
}

/// Gemini's `finishReason` in OpenAI's terms (LiteLLM's `_FINISH_REASON_MAP`).
fn finish_for(reason: &str) -> Finish {
    match reason {
        "MAX_TOKENS" => Finish::Length,
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "OTHER"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "IMAGE_OTHER"
        | "NO_IMAGE" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

/// Gemini reports `STOP` when the turn ends in function calls; OpenAI says `tool_calls`.
fn finish_with_tools(finish: Finish, has_tools: bool) -> Finish {
    match finish {
        Finish::Stop if has_tools => Finish::ToolCalls,
        f => f,
    }
}

/// The error for a prompt Gemini refused (HTTP 200, no candidates, `blockReason` set):
/// classified as a content-policy failure by the router (400 + `content_policy_violation`).
fn blocked(r: &Response<'_>) -> Option<ApiError> {
    if !r.candidates.is_empty() {
        return None;
    }
    let feedback = r.prompt_feedback.as_ref()?;
    let reason = feedback.block_reason.as_deref()?;
    let mut message = format!("The response was blocked by Gemini: {reason}");
    if let Some(detail) = feedback.block_reason_message.as_deref() {
        message.push_str(". ");
        message.push_str(detail);
    }
    Some(
        ApiError::new(400, ErrorKind::InvalidRequest, message)
            .with_code("content_policy_violation"),
    )
}

fn invalid_response(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("Gemini returned a response that is not a GenerateContentResponse: {e}"),
    )
}

/// A new OpenAI-style tool call id: `call_` and 24 hex digits.
fn new_call_id() -> String {
    format!("call_{:024x}", rand::random::<u128>() >> 32)
}

/// The OpenAI id for a function call: Gemini's id if it sent one, else a new one, with the
/// part's thought signature appended (Gemini 3 rejects history without it).
fn call_id(id: Option<&str>, signature: Option<&str>) -> String {
    let mut out = match id.filter(|i| !i.is_empty()) {
        Some(i) => i.to_string(),
        None => new_call_id(),
    };
    if let Some(sig) = signature.filter(|s| !s.is_empty()) {
        out.push_str(SIGNATURE_SEPARATOR);
        out.push_str(sig);
    }
    out
}

/// Function call `args` as an OpenAI `arguments` string (compact JSON).
fn arguments(args: Option<&RawValue>) -> String {
    match args {
        None => "{}".to_string(),
        Some(raw) => serde_json::from_str::<serde_json::Value>(raw.get())
            .map_or_else(|_| raw.get().to_string(), |v| v.to_string()),
    }
}

fn response_id(r: &Response<'_>) -> String {
    match r.response_id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("chatcmpl-{}", crate::core::ids::new_uuid()),
    }
}

/// Translate a 2xx `generateContent` body (the first candidate; `n` is not offered).
pub(crate) fn decode_completion(body: &[u8]) -> Result<Completion, ApiError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| invalid_response(&e))?;
    if let Some(status) = &r.error {
        return Err(status.to_error(500));
    }
    if let Some(err) = blocked(&r) {
        return Err(err);
    }
    let mut out = Completion {
        id: response_id(&r),
        model: r.model_version.as_deref().unwrap_or_default().to_string(),
        usage: r.usage_metadata.map(TokenUsage::from).unwrap_or_default(),
        ..Completion::default()
    };
    let (mut text, mut reasoning) = (String::new(), String::new());
    let mut finish = Finish::Stop;
    if let Some(candidate) = r.candidates.into_iter().next() {
        finish = candidate
            .finish_reason
            .as_deref()
            .map_or(Finish::Stop, finish_for);
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                out.tool_calls.push(ToolCall {
                    id: call_id(call.id.as_deref(), part.thought_signature.as_deref()),
                    name: call.name.into_owned(),
                    arguments: arguments(call.args),
                });
            } else if let Some(t) = part.text {
                if part.thought {
                    reasoning.push_str(&t);
                } else {
                    text.push_str(&t);
                }
            }
        }
    }
    out.finish = finish_with_tools(finish, !out.tool_calls.is_empty());
    out.text = (!text.is_empty()).then_some(text);
    out.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    Ok(out)
}

// ---- Stream decoding ------------------------------------------------------------------

/// Decodes `:streamGenerateContent?alt=sse`: every `data:` event is a whole
/// `GenerateContentResponse` with incremental parts; there is no end marker, so the finish,
/// usage and `Done` events come from [`StreamDecoder::finish`] once a `finishReason` was seen.
#[derive(Default)]
pub struct GeminiStream {
    framer: SseFramer,
    state: StreamState,
}

#[derive(Default)]
struct StreamState {
    started: bool,
    /// Tool calls opened so far (the next call's OpenAI `index`).
    tools: u32,
    finish: Option<Finish>,
    /// From the last chunk with `usageMetadata` (the final chunk has the full counts).
    usage: Option<TokenUsage>,
    ended: bool,
}

impl StreamState {
    fn chunk(&mut self, payload: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let r: Response = match serde_json::from_slice(payload) {
            Ok(r) => r,
            Err(e) => return emit(Event::Error(invalid_response(&e))),
        };
        if let Some(status) = &r.error {
            return emit(Event::Error(status.to_error(500)));
        }
        if let Some(err) = blocked(&r) {
            return emit(Event::Error(err));
        }
        if !self.started {
            self.started = true;
            let id = response_id(&r);
            let model = r.model_version.as_deref().unwrap_or_default();
            emit(Event::Start { id: &id, model });
        }
        if let Some(u) = r.usage_metadata {
            self.usage = Some(u.into());
        }
        let Some(candidate) = r.candidates.into_iter().next() else {
            return;
        };
        if let Some(reason) = candidate.finish_reason.as_deref() {
            self.finish = Some(finish_for(reason));
        }
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                let index = self.tools;
                self.tools += 1;
                let id = call_id(call.id.as_deref(), part.thought_signature.as_deref());
                emit(Event::ToolStart {
                    index,
                    id: Cow::Owned(id),
                    name: call.name,
                });
                emit(Event::ToolArgs {
                    index,
                    args: Cow::Owned(arguments(call.args)),
                });
            } else if let Some(t) = part.text.filter(|t| !t.is_empty()) {
                emit(if part.thought {
                    Event::Reasoning(t)
                } else {
                    Event::Text(t)
                });
            }
        }
    }

    fn end(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.ended {
            return;
        }
        self.ended = true;
        // A stream cut before any finishReason is incomplete: say nothing, the gateway
        // reports it as such.
        let Some(finish) = self.finish else {
            return;
        };
        emit(Event::Finish(finish_with_tools(finish, self.tools > 0)));
        if let Some(u) = self.usage {
            emit(Event::Usage(u));
        }
        emit(Event::Done);
    }
}

impl StreamDecoder for GeminiStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let state = &mut self.state;
        let fed = self.framer.feed(chunk, |event| {
            if let Some(payload) = data(&event) {
                state.chunk(&payload, emit);
            }
        });
        if let Err(e) = fed {
            // Nothing after the cut can be trusted: no finish, usage or Done at the close.
            self.state.ended = true;
            emit(Event::Error(e.to_error("an SSE event")));
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        // A last event the connection closed before its blank line still counts when it is
        // complete JSON (a cut-off one is ignored).
        if !self.state.ended && !self.framer.pending().is_empty() {
            let tail = Bytes::copy_from_slice(self.framer.pending());
            if let Some(payload) = data(&tail) {
                if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_ok() {
                    self.state.chunk(&payload, emit);
                }
            }
        }
        self.state.end(emit);
    }

    fn buffered(&self) -> usize {
        self.framer.pending().len()
    }
}

// ---- Errors ---------------------------------------------------------------------------

/// `google.rpc.Status`, the body of every Gemini error.
#[derive(Deserialize)]
struct Status<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    details: Vec<Detail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    #[serde(rename = "@type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    /// `RetryInfo.retryDelay`, a protobuf duration such as `"41.5s"`.
    #[serde(borrow, default)]
    retry_delay: Option<Cow<'a, str>>,
    /// `ErrorInfo.reason`, e.g. `API_KEY_INVALID`.
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    error: Status<'a>,
}

impl Status<'_> {
    /// The client's error for a status inside a 2xx body: its own `code` as the HTTP status
    /// (`fallback` when that is missing or not an error status).
    fn to_error(&self, fallback: u16) -> ApiError {
        let code = self.code.and_then(|c| u16::try_from(c).ok());
        self.error_at(code.filter(|c| (400..=599).contains(c)).unwrap_or(fallback))
    }

    /// The client's error at HTTP status `http`.
    fn error_at(&self, http: u16) -> ApiError {
        let message = match self.message.as_deref() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => format!("upstream returned HTTP {http}"),
        };
        // A bad key is a 400 INVALID_ARGUMENT at Google; clients (and cooldowns) expect 401.
        let key_invalid = self
            .details
            .iter()
            .any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"))
            || message.contains("API key not valid");
        let http = if key_invalid { 401 } else { http };
        let context = http == 400 && message.contains("exceeds the maximum number of tokens");
        let mut err = ApiError::new(http, kind_for(http), message);
        if context {
            err.code = Some("context_length_exceeded".to_string());
        } else if let Some(s) = self.status.as_deref().filter(|s| !s.is_empty()) {
            err.code = Some(s.to_string());
        }
        err
    }

    /// `RetryInfo.retryDelay` rounded up to whole seconds.
    fn retry_after(&self) -> Option<u64> {
        let delay = self.details.iter().find_map(|d| {
            d.kind
                .as_deref()
                .is_some_and(|k| k.ends_with("google.rpc.RetryInfo"))
                .then_some(d.retry_delay.as_deref())
                .flatten()
        })?;
        let secs: f64 = delay.strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u64)
    }
}

/// The `google.rpc.Status` of an error body: `{"error": {...}}`, or the first element of
/// `[{"error": {...}}]` (the JSON-array stream mode and some wrappers).
fn parse_status(body: &[u8]) -> Option<Status<'_>> {
    if body.trim_ascii_start().starts_with(b"[") {
        let all: Vec<Envelope> = serde_json::from_slice(body).ok()?;
        return all.into_iter().next().map(|e| e.error);
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error)
}

/// An upstream error response in OpenAI's shape: the upstream status (401 for a bad key),
/// Google's message, and its `status` string (`RESOURCE_EXHAUSTED`, ...) as the code.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    if let Some(s) = parse_status(body) {
        return s.error_at(status);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let message = match text.trim() {
        "" => format!("upstream returned HTTP {status}"),
        t => t.to_string(),
    };
    ApiError::new(status, kind_for(status), message)
}

/// Seconds to wait before retrying, from an error body's `RetryInfo` (for `retry-after`).
pub fn retry_after_secs(body: &[u8]) -> Option<u64> {
    parse_status(body)?.retry_after()
}

#[cfg(test)]
mod tests;
