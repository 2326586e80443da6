//! AWS Bedrock's Converse API: OpenAI chat requests encoded as `/model/{id}/converse` bodies,
//! Converse responses and ConverseStream event streams decoded into the neutral
//! [`Completion`] and [`Event`]s, and `x-amzn-ErrorType` errors in OpenAI's shape.
//!
//! Credentials: a Bedrock API key goes in `Authorization: Bearer` ([`Provider::auth_header`]);
//! IAM credentials sign each request with [`sigv4::sign`] (service `bedrock`) over the final
//! path and body. As LiteLLM: `response_format` becomes a forced `json_tool_call` tool whose
//! input comes back as the message content.

mod embed;
mod encode;
pub mod eventstream;
pub mod sigv4;

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::chat::{ChatRequest, Completion, Event, Finish, StreamDecoder, TokenUsage, ToolCall};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use eventstream::{Frame, MessageType};

pub struct Bedrock;

/// No fixed base: the gateway derives `https://bedrock-runtime.{region}.amazonaws.com` from
/// `aws_region_name` / `AWS_REGION`.
pub static DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &["AWS_BEARER_TOKEN_BEDROCK"],
    base_env: &[],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// The SigV4 signing name of the Bedrock runtime.
pub const SIGNING_SERVICE: &str = "bedrock";
/// The tool LiteLLM forces for `response_format` (JSON mode).
pub const JSON_TOOL: &str = "json_tool_call";
/// OpenAI parameters Converse has no equivalent for.
const UNSUPPORTED: &[&str] = &["seed"];

/// The Bedrock model id of an upstream model name (LiteLLM's `converse/` route prefix off).
pub fn model_id(upstream_model: &str) -> &str {
    upstream_model
        .strip_prefix("converse/")
        .unwrap_or(upstream_model)
}

impl Provider for Bedrock {
    fn path(&self, base_path: &str, e: Endpoint, model: &str, _v: Option<&str>) -> String {
        let route = if e == Endpoint::Embeddings {
            "invoke"
        } else {
            "converse"
        };
        format!(
            "{base_path}/model/{}/{route}",
            sigv4::uri_encode(model_id(model).as_bytes())
        )
    }

    fn stream_path(&self, base_path: &str, model: &str, _v: Option<&str>) -> Option<String> {
        Some(format!(
            "{base_path}/model/{}/converse-stream",
            sigv4::uri_encode(model_id(model).as_bytes())
        ))
    }

    /// A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`); IAM credentials sign instead.
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        endpoint != Endpoint::Completions
    }

    fn decode_embeddings(&self, body: &[u8], call: &ModelCall) -> Option<Result<Bytes, ApiError>> {
        Some(embed::decode(body, call))
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        if call.endpoint == Endpoint::Embeddings {
            return embed::encode(call, target, model_id(target.model));
        }
        let req = ChatRequest::parse(call)?;
        req.check_supported("bedrock", target.model, UNSUPPORTED, target.drop_params)?;
        encode::encode_request(&req, target, model_id(target.model))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_converse(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(ConverseStream::new()))
    }

    fn decode_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, headers, body)
    }
}

// ---- response ------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct UsageIn {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
}

impl From<UsageIn> for TokenUsage {
    /// Bedrock's `inputTokens` leaves cached tokens out; OpenAI's `prompt_tokens` has them.
    fn from(u: UsageIn) -> TokenUsage {
        let cache_read = u.cache_read_input_tokens.unwrap_or(0);
        let cache_write = u.cache_write_input_tokens.unwrap_or(0);
        TokenUsage {
            prompt: u
                .input_tokens
                .unwrap_or(0)
                .saturating_add(cache_read)
                .saturating_add(cache_write),
            completion: u.output_tokens.unwrap_or(0),
            cache_read,
            cache_write,
            reasoning: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseOut<'a> {
    #[serde(borrow, default)]
    output: Option<OutputIn<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: UsageIn,
}

#[derive(Deserialize)]
struct OutputIn<'a> {
    #[serde(borrow, default)]
    message: Option<MessageIn<'a>>,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow, default)]
    content: Vec<BlockIn<'a>>,
}

/// A response content block: a union of which one member is set.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockIn<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolUseIn<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<ReasoningIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseIn<'a> {
    #[serde(borrow, default)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningIn<'a> {
    #[serde(borrow, default)]
    reasoning_text: Option<ReasoningText<'a>>,
}

#[derive(Deserialize)]
struct ReasoningText<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// Converse's `stopReason` in OpenAI's terms (LiteLLM's map).
pub fn finish_reason(stop: &str) -> Finish {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "guardrail_intervened" | "content_filtered" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

fn new_id() -> String {
    format!("chatcmpl-{}", crate::core::ids::new_uuid())
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("bedrock returned {what}: {e}"),
    )
}

/// A Converse response as a [`Completion`]; `model` is left empty for the caller to fill.
fn decode_converse(body: &[u8]) -> Result<Completion, ApiError> {
    let r: ConverseOut = serde_json::from_slice(body)
        .map_err(|e| unreadable("a response that is not a ConverseResponse", e))?;
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    let content = r.output.and_then(|o| o.message).map(|m| m.content);
    for b in content.iter().flatten() {
        if let Some(t) = &b.text {
            text.push_str(t);
        }
        if let Some(t) = b
            .reasoning_content
            .as_ref()
            .and_then(|r| r.reasoning_text.as_ref())
            .and_then(|r| r.text.as_deref())
        {
            reasoning.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(call) = &b.tool_use {
            tool_calls.push(ToolCall {
                id: call.tool_use_id.to_string(),
                name: call.name.to_string(),
                arguments: call
                    .input
                    .map_or_else(|| "{}".to_string(), |r| r.get().to_string()),
            });
        }
    }
    let mut finish = finish_reason(r.stop_reason.as_deref().unwrap_or("end_turn"));
    // JSON mode: the forced tool's input is the answer.
    if let [only] = tool_calls.as_slice() {
        if only.name == JSON_TOOL {
            text = only.arguments.clone();
            tool_calls.clear();
            finish = Finish::Stop;
        }
    }
    Ok(Completion {
        id: new_id(),
        model: String::new(),
        text: (!text.is_empty()).then_some(text),
        reasoning,
        tool_calls,
        finish,
        usage: r.usage.into(),
    })
}

// ---- stream --------------------------------------------------------------------------

/// One ConverseStream event payload; which members are set depends on `:event-type`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamPayload<'a> {
    #[serde(default)]
    content_block_index: Option<u32>,
    #[serde(borrow, default)]
    start: Option<BlockStart<'a>>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<UsageIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart<'a> {
    #[serde(borrow, default)]
    tool_use: Option<ToolStartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStartIn<'a> {
    #[serde(borrow, default)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolDelta<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<ReasoningDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolDelta<'a> {
    #[serde(borrow, default)]
    input: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReasoningDelta<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ExceptionPayload {
    #[serde(default, alias = "Message")]
    message: Option<String>,
}

/// What a started content block is, by its Converse block index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A tool call with its OpenAI index.
    Tool(u32),
    /// The JSON-mode tool: its input deltas are the answer text.
    JsonTool,
}

/// Where a ConverseStream is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Streaming,
    /// `messageStop` seen: only `metadata` (usage) is still to come.
    Stopped,
    /// `Done` or an error was emitted; later frames are ignored.
    Ended,
}

/// The ConverseStream state machine (messageStart … metadata) over event-stream frames.
pub struct ConverseStream {
    frames: eventstream::Decoder,
    id: String,
    blocks: Vec<(u32, Open)>,
    tools: u32,
    json_mode: bool,
    phase: Phase,
}

impl Default for ConverseStream {
    fn default() -> Self {
        ConverseStream::new()
    }
}

impl ConverseStream {
    pub fn new() -> ConverseStream {
        ConverseStream::with_id(new_id())
    }

    /// A decoder whose `Start` carries this id (Bedrock sends none).
    pub fn with_id(id: String) -> ConverseStream {
        ConverseStream {
            frames: eventstream::Decoder::default(),
            id,
            blocks: Vec::new(),
            tools: 0,
            json_mode: false,
            phase: Phase::Streaming,
        }
    }

    fn open(&self, index: Option<u32>) -> Option<Open> {
        let index = index?;
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, o)| *o)
    }

    fn fail(&mut self, err: ApiError, emit: &mut dyn FnMut(Event<'_>)) {
        self.phase = Phase::Ended;
        emit(Event::Error(err));
    }

    fn on_frame(&mut self, frame: &Frame, emit: &mut dyn FnMut(Event<'_>)) {
        match &frame.message_type {
            MessageType::Event => {}
            MessageType::Exception => {
                let kind = frame
                    .exception_type
                    .as_deref()
                    .unwrap_or("internalServerException");
                let message = serde_json::from_slice::<ExceptionPayload>(&frame.payload)
                    .ok()
                    .and_then(|p| p.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&frame.payload).into_owned());
                return self.fail(
                    error_for(type_status(kind, 500), Some(kind), &message),
                    emit,
                );
            }
            MessageType::Error => {
                let code = frame.error_code.as_deref();
                let message = frame
                    .error_message
                    .as_deref()
                    .unwrap_or("event stream error");
                return self.fail(error_for(500, code, message), emit);
            }
            MessageType::Other(_) => return,
        }
        let Some(kind) = frame.event_type.as_deref() else {
            return;
        };
        let p: StreamPayload = match serde_json::from_slice(&frame.payload) {
            Ok(p) => p,
            Err(e) => return self.fail(unreadable("an unreadable stream event", e), emit),
        };
        match kind {
            "messageStart" => emit(Event::Start {
                id: &self.id,
                model: "",
            }),
            "contentBlockStart" => {
                let (Some(index), Some(tool)) =
                    (p.content_block_index, p.start.and_then(|s| s.tool_use))
                else {
                    return;
                };
                let open = if tool.name == JSON_TOOL {
                    self.json_mode = true;
                    Open::JsonTool
                } else {
                    let n = self.tools;
                    self.tools += 1;
                    emit(Event::ToolStart {
                        index: n,
                        id: tool.tool_use_id,
                        name: tool.name,
                    });
                    Open::Tool(n)
                };
                self.blocks.push((index, open));
            }
            "contentBlockDelta" => {
                let Some(d) = p.delta else {
                    return;
                };
                if let Some(t) = d.text.filter(|t| !t.is_empty()) {
                    emit(Event::Text(t));
                }
                if let Some(t) = d.reasoning_content.and_then(|r| r.text) {
                    emit(Event::Reasoning(t));
                }
                if let Some(args) = d.tool_use.and_then(|t| t.input).filter(|a| !a.is_empty()) {
                    match self.open(p.content_block_index) {
                        Some(Open::Tool(index)) => emit(Event::ToolArgs { index, args }),
                        Some(Open::JsonTool) => emit(Event::Text(args)),
                        None => {}
                    }
                }
            }
            "messageStop" => {
                let f = match finish_reason(p.stop_reason.as_deref().unwrap_or("end_turn")) {
                    Finish::ToolCalls if self.json_mode && self.tools == 0 => Finish::Stop,
                    f => f,
                };
                self.phase = Phase::Stopped;
                emit(Event::Finish(f));
            }
            "metadata" => {
                if let Some(u) = p.usage {
                    emit(Event::Usage(u.into()));
                }
                self.phase = Phase::Ended;
                emit(Event::Done);
            }
            _ => {} // contentBlockStop and anything newer
        }
    }
}

impl StreamDecoder for ConverseStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        if self.phase == Phase::Ended {
            return;
        }
        self.frames.feed(chunk);
        while self.phase != Phase::Ended {
            match self.frames.next_frame() {
                Ok(Some(frame)) => self.on_frame(&frame, emit),
                Ok(None) => break,
                Err(e) => self.fail(unreadable("a corrupt event stream", e), emit),
            }
        }
    }

    /// A stream that ends after `messageStop` without `metadata` is still complete; one cut
    /// before `messageStop` is incomplete, which the gateway reports (nothing is emitted).
    fn finish(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.phase == Phase::Stopped {
            self.phase = Phase::Ended;
            emit(Event::Done);
        }
    }

    fn buffered(&self) -> usize {
        self.frames.pending()
    }
}

// ---- errors --------------------------------------------------------------------------

/// Statuses for Bedrock error types (HTTP `x-amzn-ErrorType` names and the camel-case
/// stream exception names alike; compared case-insensitively).
const ERROR_STATUS: &[(&str, u16)] = &[
    ("ValidationException", 400),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ThrottlingException", 429),
    ("ServiceQuotaExceededException", 429),
    ("InternalServerException", 500),
    ("ModelErrorException", 502),
    ("ModelStreamErrorException", 502),
    ("ServiceUnavailableException", 503),
    ("ModelNotReadyException", 503),
];

fn type_status(kind: &str, default: u16) -> u16 {
    ERROR_STATUS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(kind))
        .map_or(default, |(_, s)| *s)
}

fn kind_for(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    }
}

fn error_for(status: u16, kind: Option<&str>, message: &str) -> ApiError {
    let mut e = ApiError::new(
        status,
        kind_for(status),
        format!("litellm.BedrockException - {message}"),
    );
    if let Some(kind) = kind {
        e.code = Some(kind.to_string());
    }
    e
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(rename = "__type", default)]
    kind: Option<String>,
}

/// A Bedrock error response as an OpenAI error: the message from the body (`message` or
/// `Message`), the type from `x-amzn-ErrorType` (or the body's `__type`) as `code`, the
/// upstream status kept except that throttling is always 429.
pub fn decode_error(status: u16, headers: &http::HeaderMap, body: &[u8]) -> ApiError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let header_kind = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).trim().to_string());
    let body_kind = parsed.as_ref().and_then(|p| p.kind.as_deref()).map(|k| {
        // `com.amazon.coral.validate#ValidationException:http://...`
        let k = k.rsplit('#').next().unwrap_or(k);
        k.split(':').next().unwrap_or(k).to_string()
    });
    let kind = header_kind.or(body_kind).filter(|k| !k.is_empty());
    let message = match parsed.and_then(|p| p.message) {
        Some(m) => m,
        None => {
            let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
            if text.trim().is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text.into_owned()
            }
        }
    };
    let status = match kind.as_deref().map(|k| type_status(k, status)) {
        Some(429) => 429,
        _ => status,
    };
    error_for(status, kind.as_deref(), &message)
}

#[cfg(test)]
mod tests;
