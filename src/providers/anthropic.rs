//! Anthropic's Messages API: OpenAI chat requests encoded as `/v1/messages` bodies, and
//! responses and event streams decoded back into the neutral [`Completion`] and [`Event`]s.
//!
//! As LiteLLM: system messages move to `system`, same-side turns merge (tool results are user
//! turns), `response_format` becomes a forced `json_tool_call` tool whose arguments come back
//! as the message content, `max_tokens` defaults to 4096, 529 is retryable.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::chat::{
    data_url, ChatRequest, ClientWire, Completion, Content, Event, Finish, Message, Part,
    ResponseFormat, Role, StreamDecoder, TokenUsage, ToolCall, ToolChoice,
};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::wire::sse::{self, SseFramer};

mod encode;
use encode::encode_request;

pub struct Anthropic;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://api.anthropic.com"),
    key_env: &["ANTHROPIC_API_KEY"],
    base_env: &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// The tool LiteLLM forces for `response_format` (JSON mode).
pub const JSON_TOOL: &str = "json_tool_call";
/// OpenAI parameters Anthropic has no equivalent for.
const UNSUPPORTED: &[&str] = &["seed"];

impl Provider for Anthropic {
    fn path(&self, base_path: &str, _e: Endpoint, _model: &str, _v: Option<&str>) -> String {
        if base_path.ends_with("/v1/messages") {
            return base_path.to_string();
        }
        match base_path.strip_suffix("/v1") {
            Some(b) => format!("{b}/v1/messages"),
            None => format!("{base_path}/v1/messages"),
        }
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        HeaderValue::from_str(api_key).ok().map(|mut v| {
            v.set_sensitive(true);
            (HeaderName::from_static("x-api-key"), v)
        })
    }

    fn static_headers(&self) -> &'static [(HeaderName, HeaderValue)] {
        static VERSION: [(HeaderName, HeaderValue); 1] = [(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        )];
        &VERSION
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        !matches!(endpoint, Endpoint::Embeddings | Endpoint::Completions)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        if let (Some(native), ClientWire::Anthropic) = (&call.native, call.client) {
            // A `/v1/messages` client: its own body goes out, only the model replaced, so
            // `cache_control`, thinking signatures and beta fields survive.
            return Ok(native.splice(
                Some(target.model_json),
                target.defaults,
                target.additional_drop_params,
            ));
        }
        let req = ChatRequest::parse(call)?;
        req.check_supported("anthropic", target.model, UNSUPPORTED, target.drop_params)?;
        encode_request(&req, target)
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_message(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(AnthropicStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }

    /// Beta features are asked for by header (Claude Code sends several).
    fn client_header(&self, call: &ModelCall) -> Option<(HeaderName, HeaderValue)> {
        let v = call.anthropic_beta.as_ref()?;
        Some((HeaderName::from_static("anthropic-beta"), v.clone()))
    }
}

// ---- response ------------------------------------------------------------------------

/// A content block of a response (flat, so borrowed strings and raw inputs survive).
#[derive(Deserialize)]
struct BlockIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct UsageIn {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl UsageIn {
    /// Fold these counts into `u` (stream deltas carry only some of them).
    fn merge_into(self, u: &mut TokenUsage, input: &mut u64) {
        if let Some(i) = self.input_tokens {
            *input = i;
        }
        if let Some(c) = self.cache_read_input_tokens {
            u.cache_read = c;
        }
        if let Some(c) = self.cache_creation_input_tokens {
            u.cache_write = c;
        }
        if let Some(o) = self.output_tokens {
            u.completion = o;
        }
        // Anthropic's input_tokens excludes cached tokens; OpenAI's prompt_tokens has them.
        u.prompt = input
            .saturating_add(u.cache_read)
            .saturating_add(u.cache_write);
    }
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    model: Cow<'a, str>,
    #[serde(borrow, default)]
    content: Vec<BlockIn<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: UsageIn,
}

/// Anthropic's `stop_reason` in OpenAI's terms (LiteLLM's map).
pub fn finish_reason(stop: &str) -> Finish {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "refusal" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

/// Token counts of a Messages response body (for a body passed through as it is).
pub fn usage_of(body: &[u8]) -> Option<TokenUsage> {
    #[derive(Deserialize)]
    struct WithUsage {
        #[serde(default)]
        usage: Option<UsageIn>,
    }
    let u = serde_json::from_slice::<WithUsage>(body).ok()?.usage?;
    let mut out = TokenUsage::default();
    u.merge_into(&mut out, &mut 0);
    Some(out)
}

fn decode_message(body: &[u8]) -> Result<Completion, ApiError> {
    let m: MessageIn = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("anthropic returned an unreadable message: {e}"),
        )
    })?;
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for b in &m.content {
        match b.kind.as_ref() {
            "text" => text.push_str(b.text.as_deref().unwrap_or_default()),
            "thinking" => reasoning
                .get_or_insert_with(String::new)
                .push_str(b.thinking.as_deref().unwrap_or_default()),
            "tool_use" => tool_calls.push(ToolCall {
                id: b.id.as_deref().unwrap_or_default().to_string(),
                name: b.name.as_deref().unwrap_or_default().to_string(),
                arguments: b
                    .input
                    .map_or_else(|| "{}".to_string(), |r| r.get().to_string()),
            }),
            _ => {}
        }
    }
    let mut finish = finish_reason(m.stop_reason.as_deref().unwrap_or("end_turn"));
    // JSON mode: the forced tool's input is the answer.
    if let [only] = tool_calls.as_slice() {
        if only.name == JSON_TOOL {
            text = only.arguments.clone();
            tool_calls.clear();
            finish = Finish::Stop;
        }
    }
    let mut usage = TokenUsage::default();
    let mut input = 0;
    m.usage.merge_into(&mut usage, &mut input);
    Ok(Completion {
        id: m.id.into_owned(),
        model: m.model.into_owned(),
        text: (!text.is_empty()).then_some(text),
        reasoning,
        tool_calls,
        finish,
        usage,
    })
}

// ---- stream --------------------------------------------------------------------------

/// What an open content block is, by Anthropic block index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call with its OpenAI index.
    Tool(u32),
    /// The JSON-mode tool: its argument deltas are the answer text.
    JsonTool,
    Other,
}

/// The Messages stream state machine (message_start … message_stop) to [`Event`]s.
#[derive(Default)]
pub struct AnthropicStream {
    framer: SseFramer,
    blocks: Vec<(u32, Open)>,
    tools: u32,
    usage: TokenUsage,
    input: u64,
    json_mode: bool,
}

#[derive(Deserialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Option<MessageIn<'a>>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    content_block: Option<BlockIn<'a>>,
    #[serde(borrow, default)]
    delta: Option<DeltaIn<'a>>,
    #[serde(default)]
    usage: Option<UsageIn>,
    #[serde(borrow, default)]
    error: Option<ErrorIn<'a>>,
}

#[derive(Deserialize)]
struct DeltaIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

impl AnthropicStream {
    fn open(&self, index: u32) -> Open {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map_or(Open::Other, |(_, o)| *o)
    }

    /// One event's `data` (already framed).
    pub fn on_event(&mut self, payload: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let ev: StreamEvent = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(e) => {
                emit(Event::Error(ApiError::new(
                    502,
                    ErrorKind::ApiError,
                    format!("anthropic sent an unreadable stream event: {e}"),
                )));
                return;
            }
        };
        match ev.kind.as_ref() {
            "message_start" => {
                if let Some(m) = &ev.message {
                    m.usage.merge_into(&mut self.usage, &mut self.input);
                    emit(Event::Start {
                        id: &m.id,
                        model: &m.model,
                    });
                }
            }
            "content_block_start" => {
                let (Some(index), Some(block)) = (ev.index, &ev.content_block) else {
                    return;
                };
                let open = match block.kind.as_ref() {
                    "text" => Open::Text,
                    "thinking" => Open::Thinking,
                    "tool_use" if block.name.as_deref() == Some(JSON_TOOL) => {
                        self.json_mode = true;
                        Open::JsonTool
                    }
                    "tool_use" => {
                        let n = self.tools;
                        self.tools += 1;
                        emit(Event::ToolStart {
                            index: n,
                            id: Cow::Borrowed(block.id.as_deref().unwrap_or_default()),
                            name: Cow::Borrowed(block.name.as_deref().unwrap_or_default()),
                        });
                        Open::Tool(n)
                    }
                    _ => Open::Other,
                };
                if let Some(t) = block.text.as_deref().filter(|t| !t.is_empty()) {
                    emit(Event::Text(Cow::Borrowed(t)));
                }
                self.blocks.push((index, open));
            }
            "content_block_delta" => {
                let (Some(index), Some(d)) = (ev.index, ev.delta) else {
                    return;
                };
                match (self.open(index), d.kind.as_deref()) {
                    (_, Some("text_delta")) => {
                        if let Some(t) = d.text {
                            emit(Event::Text(t));
                        }
                    }
                    (_, Some("thinking_delta")) => {
                        if let Some(t) = d.thinking {
                            emit(Event::Reasoning(t));
                        }
                    }
                    (Open::Tool(n), Some("input_json_delta")) => {
                        if let Some(args) = d.partial_json.filter(|a| !a.is_empty()) {
                            emit(Event::ToolArgs { index: n, args });
                        }
                    }
                    (Open::JsonTool, Some("input_json_delta")) => {
                        if let Some(args) = d.partial_json.filter(|a| !a.is_empty()) {
                            emit(Event::Text(args));
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(u) = ev.usage {
                    u.merge_into(&mut self.usage, &mut self.input);
                }
                if let Some(stop) = ev.delta.and_then(|d| d.stop_reason) {
                    let f = match finish_reason(&stop) {
                        Finish::ToolCalls if self.json_mode && self.tools == 0 => Finish::Stop,
                        f => f,
                    };
                    emit(Event::Finish(f));
                }
            }
            "message_stop" => {
                emit(Event::Usage(self.usage));
                emit(Event::Done);
            }
            "error" => {
                let (kind, message) = ev
                    .error
                    .map(|e| (e.kind, e.message))
                    .unwrap_or((None, None));
                let status = error_status(kind.as_deref().unwrap_or("api_error"));
                emit(Event::Error(error_for(
                    status,
                    kind.as_deref(),
                    message.as_deref().unwrap_or("anthropic stream error"),
                )));
            }
            _ => {} // ping, content_block_stop and anything newer
        }
    }
}

impl StreamDecoder for AnthropicStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        // The framer is moved out for the call so events are handled as they are framed.
        let mut framer = std::mem::take(&mut self.framer);
        let fed = framer.feed(chunk, |e| {
            if let Some(payload) = sse::data(&e) {
                self.on_event(&payload, emit);
            }
        });
        self.framer = framer;
        if let Err(e) = fed {
            emit(Event::Error(e.to_error("an SSE event")));
        }
    }

    fn buffered(&self) -> usize {
        self.framer.pending().len()
    }
}

// ---- errors --------------------------------------------------------------------------

/// The HTTP status for an Anthropic `error.type` seen inside a stream.
fn error_status(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

fn error_for(status: u16, kind: Option<&str>, message: &str) -> ApiError {
    let k = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 | 529 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    };
    let mut e = ApiError::new(status, k, format!("litellm.AnthropicException - {message}"));
    if let Some(kind) = kind {
        e.code = Some(kind.to_string());
    }
    e
}

/// `{"type":"error","error":{"type","message"}}` to an OpenAI error with the same status.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: ErrorIn<'a>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => error_for(
            status,
            error.kind.as_deref(),
            error.message.as_deref().unwrap_or("upstream error"),
        ),
        Err(_) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
            let text = if text.trim().is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text.into_owned()
            };
            error_for(status, None, &text)
        }
    }
}

#[cfg(test)]
mod tests;
