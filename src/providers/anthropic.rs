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
use super::sse::{self, SseFramer};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};

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

/// Collect a stream's events as text (tests and benches).
pub fn events_of(decoder: &mut dyn StreamDecoder, chunks: &[&[u8]]) -> Vec<String> {
    let mut out = Vec::new();
    for c in chunks {
        decoder.feed(c, &mut |e| out.push(format!("{e:?}")));
    }
    decoder.finish(&mut |e| out.push(format!("{e:?}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/anthropic");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
    }

    fn encode(body: Value) -> Result<Value, ApiError> {
        let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
        let out = Anthropic.encode(
            &call,
            &EncodeTarget {
                model_json: b"\"claude\"",
                model: "claude-sonnet-4-5",
                defaults: &[],
                drop_params: false,
                additional_drop_params: &[],
            },
        )?;
        Ok(serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn request_moves_system_merges_turns_and_maps_tools() {
        let v = encode(json!({
            "model": "claude", "temperature": 0.2, "stop": ["END", " "], "user": "u-1",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
                {"role": "assistant", "content": "checking", "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "noon"},
                {"role": "user", "content": "thanks"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "get_time"}}],
            "tool_choice": "required", "parallel_tool_calls": false, "top_k": 5
        }))
        .unwrap();
        assert_eq!(v["model"], "claude-sonnet-4-5");
        assert_eq!(v["max_tokens"], 4096);
        assert_eq!(v["system"], json!([{"type": "text", "text": "be brief"}]));
        assert_eq!(v["stop_sequences"], json!(["END"]));
        assert_eq!(v["metadata"], json!({"user_id": "u-1"}));
        assert_eq!(v["top_k"], 5);
        let msgs = v["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[0]["content"][1],
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}})
        );
        assert_eq!(
            msgs[1]["content"][1],
            json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}})
        );
        assert_eq!(msgs[1]["content"][2]["input"], json!({}));
        assert_eq!(msgs[2]["role"], "user");
        assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
        assert_eq!(msgs[2]["content"][1]["tool_use_id"], "toolu_2");
        assert_eq!(
            msgs[2]["content"][2],
            json!({"type": "text", "text": "thanks"})
        );
        assert_eq!(
            v["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(
            v["tools"][1]["input_schema"],
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn json_mode_forces_the_json_tool() {
        let v = encode(json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}))
        .unwrap();
        assert_eq!(v["tools"][0]["name"], JSON_TOOL);
        assert_eq!(v["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
        let c = decode_message(&fixture("json_mode.json")).unwrap();
        assert_eq!(c.text.as_deref(), Some(r#"{"a":"b"}"#));
        assert!(c.tool_calls.is_empty());
        assert_eq!(c.finish, Finish::Stop);
    }

    #[test]
    fn unsupported_params_fail_unless_dropped() {
        let e = encode(
            json!({"model": "m", "seed": 1, "messages": [{"role": "user", "content": "x"}]}),
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e
            .message
            .contains("anthropic does not support parameters: ['seed']"));
        let e =
            encode(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}))
                .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("n"));
        let v = encode(
            json!({"model": "m", "seed": 1, "drop_params": true, "messages": [{"role": "user", "content": "x"}]}),
        );
        // Per-request drop_params is applied by the exchange (EncodeTarget); here it is off.
        assert!(v.is_err());
        let e = encode(json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]}))
            .unwrap_err();
        assert!(e.message.contains("input_audio"), "{}", e.message);
    }

    #[test]
    fn thinking_is_left_off_in_a_tool_loop() {
        let v = encode(json!({"model": "m", "reasoning_effort": "low", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "ok"}]}))
        .unwrap();
        assert!(v.get("thinking").is_none(), "{v}");
    }

    #[test]
    fn reasoning_effort_enables_thinking() {
        let v = encode(json!({"model": "m", "reasoning_effort": "low", "messages": [{"role": "user", "content": "x"}]}))
            .unwrap();
        assert_eq!(
            v["thinking"],
            json!({"type": "enabled", "budget_tokens": 1024})
        );
        assert!(v["max_tokens"].as_u64().unwrap() > 1024);
    }

    #[test]
    fn decodes_text_tools_and_usage() {
        let c = decode_message(&fixture("tool_use.json")).unwrap();
        assert_eq!(c.text.as_deref(), Some("Let me check."));
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].name, "get_weather");
        assert_eq!(c.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(c.finish, Finish::ToolCalls);
        assert_eq!(c.usage.prompt, 472 + 100 + 20);
        assert_eq!(c.usage.cache_read, 100);
        assert_eq!(c.usage.completion, 89);
        for (stop, want) in [
            ("end_turn", Finish::Stop),
            ("stop_sequence", Finish::Stop),
            ("max_tokens", Finish::Length),
            ("tool_use", Finish::ToolCalls),
            ("refusal", Finish::ContentFilter),
            ("pause_turn", Finish::Stop),
        ] {
            assert_eq!(finish_reason(stop), want, "{stop}");
        }
    }

    #[test]
    fn errors_keep_status_and_type() {
        let e = decode_error(529, &fixture("error_overloaded.json"));
        assert_eq!(e.status, 529);
        assert_eq!(e.code.as_deref(), Some("overloaded_error"));
        assert!(super::super::is_retryable_status(e.status));
        let e = decode_error(400, br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#);
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("prompt is too long"));
    }

    #[test]
    fn stream_is_the_same_at_every_split() {
        let body = fixture("stream_tool_use.sse");
        let whole = events_of(&mut AnthropicStream::default(), &[&body]);
        assert!(whole.iter().any(|e| e.contains("ToolStart")), "{whole:?}");
        assert!(whole.last().unwrap().contains("Done"));
        for cut in 1..body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(
                events_of(&mut AnthropicStream::default(), &[a, b]),
                whole,
                "split at {cut}"
            );
        }
    }

    #[test]
    fn stream_events_map_to_neutral_events() {
        let body = fixture("stream_tool_use.sse");
        let ev = events_of(&mut AnthropicStream::default(), &[&body]);
        let want = [
            r#"Start { id: "msg_014p7gG3wDgGV9EUtLvnow3U", model: "claude-sonnet-4-5" }"#,
            r#"Text("Let me check")"#,
            r#"ToolStart { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather" }"#,
            r#"ToolArgs { index: 0, args: "{\"city\": " }"#,
            r#"ToolArgs { index: 0, args: "\"Paris\"}" }"#,
            "Finish(ToolCalls)",
            "Usage(TokenUsage { prompt: 472, completion: 89, cache_read: 0, cache_write: 0, reasoning: 0 })",
            "Done",
        ];
        assert_eq!(ev, want);
        let err = fixture("stream_error.sse");
        let ev = events_of(&mut AnthropicStream::default(), &[&err]);
        assert!(ev.last().unwrap().contains("status: 529"), "{ev:?}");
    }
}
