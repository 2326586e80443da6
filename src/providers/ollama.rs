//! Ollama's native API (LiteLLM's `ollama_chat/`): chat requests become `/api/chat` bodies;
//! responses, NDJSON streams and `{"error": "..."}` bodies are decoded back into the neutral
//! chat types.

mod embed;
mod encode;

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
use crate::wire::sse::{Oversized, MAX_EVENT_BYTES};

/// `ollama_chat/`: `POST {api_base}/api/chat`.
pub struct OllamaChat;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("http://localhost:11434"),
    key_env: &["OLLAMA_API_KEY"],
    base_env: &["OLLAMA_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// The native route for an endpoint.
fn route(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Embeddings => "/api/embed",
        _ => "/api/chat",
    }
}

impl Provider for OllamaChat {
    /// The native route under the base URL. A base that already names the route is kept; a
    /// base ending in `/v1` (Ollama's OpenAI-compatible prefix) or `/api` has it stripped.
    fn path(&self, base_path: &str, endpoint: Endpoint, _model: &str, _v: Option<&str>) -> String {
        let route = route(endpoint);
        if base_path.ends_with(route) {
            return base_path.to_string();
        }
        let base = base_path
            .strip_suffix("/v1")
            .or_else(|| base_path.strip_suffix("/api"))
            .unwrap_or(base_path);
        format!("{base}{route}")
    }

    /// `Authorization: Bearer`: a local server ignores it, hosted Ollama (ollama.com) and
    /// authenticating proxies read it.
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
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
        Some(embed::decode(body, &call.model))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_completion(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(OllamaStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }
}

// ---- Response decoding ----------------------------------------------------------------

/// A `ChatResponse`: a whole response, or one NDJSON stream line; a stream line may be
/// `{"error": "..."}` instead. Unknown fields (durations, `created_at`, logprobs) are ignored.
#[derive(Deserialize)]
struct ChatResponse<'a> {
    #[serde(borrow, default)]
    model: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Option<MessageIn<'a>>,
    #[serde(default)]
    done: bool,
    #[serde(borrow, default)]
    done_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<CallIn<'a>>>,
}

#[derive(Deserialize)]
struct CallIn<'a> {
    /// Sent by current servers (`call_` + 8 characters); older ones send none.
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    function: FunctionIn<'a>,
}

#[derive(Deserialize)]
struct FunctionIn<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

impl ChatResponse<'_> {
    fn usage(&self) -> TokenUsage {
        TokenUsage {
            prompt: self.prompt_eval_count.unwrap_or_default(),
            completion: self.eval_count.unwrap_or_default(),
            ..TokenUsage::default()
        }
    }
}

/// `done_reason` in OpenAI's terms: `length` is a cut; anything else (`stop`, and the
/// `load`/`unload` of model management) is a stop, or `tool_calls` when the turn called
/// tools.
fn finish_for(done_reason: Option<&str>, has_tools: bool) -> Finish {
    match done_reason {
        Some("length") => Finish::Length,
        _ if has_tools => Finish::ToolCalls,
        _ => Finish::Stop,
    }
}

fn invalid_response(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("Ollama returned a response that is not a ChatResponse: {e}"),
    )
}

/// A new OpenAI-style tool call id: `call_` and 24 hex digits.
fn new_call_id() -> String {
    format!("call_{:024x}", rand::random::<u128>() >> 32)
}

fn call_id(id: Option<&str>) -> String {
    match id.filter(|i| !i.is_empty()) {
        Some(i) => i.to_string(),
        None => new_call_id(),
    }
}

fn new_response_id() -> String {
    format!("chatcmpl-{}", crate::core::ids::new_uuid())
}

/// Tool call `arguments` (an object at Ollama) as OpenAI's JSON string, compact; a string
/// (some proxies send OpenAI's shape) is taken as the JSON text it holds.
fn arguments(args: Option<&RawValue>) -> String {
    let Some(raw) = args else {
        return "{}".to_string();
    };
    match serde_json::from_str::<serde_json::Value>(raw.get()) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "{}".to_string(),
        Ok(v) => v.to_string(),
        Err(_) => raw.get().to_string(),
    }
}

/// Translate a 2xx non-stream `/api/chat` body.
fn decode_completion(body: &[u8]) -> Result<Completion, ApiError> {
    let r: ChatResponse = serde_json::from_slice(body).map_err(|e| invalid_response(&e))?;
    if let Some(raw) = r.error {
        return Err(stream_error(&error_text(raw)));
    }
    let usage = r.usage();
    let mut out = Completion {
        id: new_response_id(),
        model: r.model.into_owned(),
        usage,
        ..Completion::default()
    };
    if let Some(m) = r.message {
        out.text = m.content.filter(|t| !t.is_empty()).map(Cow::into_owned);
        out.reasoning = m.thinking.filter(|t| !t.is_empty()).map(Cow::into_owned);
        out.tool_calls = m
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| ToolCall {
                id: call_id(c.id.as_deref()),
                name: c.function.name.into_owned(),
                arguments: arguments(c.function.arguments),
            })
            .collect();
    }
    out.finish = finish_for(r.done_reason.as_deref(), !out.tool_calls.is_empty());
    Ok(out)
}

// ---- Stream decoding ------------------------------------------------------------------

/// Decodes the NDJSON stream (`application/x-ndjson`): one `ChatResponse` per line, lines
/// ending in `\n` or `\r\n`, cut anywhere by the transport. Tool calls arrive whole. The
/// `done: true` line ends the stream with its finish reason and counts; a body that ends
/// without it is incomplete, and [`StreamDecoder::finish`] says nothing more.
#[derive(Default)]
pub struct OllamaStream {
    /// Bytes of the line not yet ended.
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no newline.
    scanned: usize,
    state: StreamState,
}

/// Where a stream is: before its first line, open, or past its `done` line.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Waiting,
    Open,
    Ended,
}

#[derive(Default)]
struct StreamState {
    phase: Phase,
    /// Tool calls opened so far (the next call's OpenAI `index`).
    tools: u32,
}

impl StreamState {
    fn line(&mut self, line: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let line = line.trim_ascii();
        if line.is_empty() || self.phase == Phase::Ended {
            return;
        }
        let r: ChatResponse = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => return emit(Event::Error(invalid_response(&e))),
        };
        if let Some(raw) = r.error {
            return emit(Event::Error(stream_error(&error_text(raw))));
        }
        if self.phase == Phase::Waiting {
            self.phase = Phase::Open;
            let id = new_response_id();
            emit(Event::Start {
                id: &id,
                model: &r.model,
            });
        }
        let usage = r.usage();
        if let Some(m) = r.message {
            if let Some(t) = m.thinking.filter(|t| !t.is_empty()) {
                emit(Event::Reasoning(t));
            }
            if let Some(t) = m.content.filter(|t| !t.is_empty()) {
                emit(Event::Text(t));
            }
            for call in m.tool_calls.unwrap_or_default() {
                let index = self.tools;
                self.tools += 1;
                emit(Event::ToolStart {
                    index,
                    id: Cow::Owned(call_id(call.id.as_deref())),
                    name: call.function.name,
                });
                emit(Event::ToolArgs {
                    index,
                    args: Cow::Owned(arguments(call.function.arguments)),
                });
            }
        }
        if r.done {
            self.phase = Phase::Ended;
            emit(Event::Finish(finish_for(
                r.done_reason.as_deref(),
                self.tools > 0,
            )));
            emit(Event::Usage(usage));
            emit(Event::Done);
        }
    }
}

impl OllamaStream {
    /// A line over [`MAX_EVENT_BYTES`]: the stream ends here with an error.
    fn oversized(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        self.state.phase = Phase::Ended;
        self.buf = Vec::new();
        self.scanned = 0;
        emit(Event::Error(
            Oversized {
                limit: MAX_EVENT_BYTES,
            }
            .to_error("an NDJSON line"),
        ));
    }
}

impl StreamDecoder for OllamaStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        if self.state.phase == Phase::Ended {
            // Past the `done` line (or a failure) nothing counts: hold nothing either.
            self.buf = Vec::new();
            return;
        }
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(n) = memchr::memchr(b'\n', &self.buf[self.scanned..]) {
            let end = self.scanned + n;
            if end - start > MAX_EVENT_BYTES {
                return self.oversized(emit);
            }
            self.state.line(&self.buf[start..end], emit);
            if self.state.phase == Phase::Ended {
                self.buf = Vec::new();
                self.scanned = 0;
                return;
            }
            start = end + 1;
            self.scanned = start;
        }
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_EVENT_BYTES {
            self.oversized(emit);
        }
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        // A last line the connection closed before its newline still counts when it is
        // complete JSON (a cut-off one is ignored).
        let tail = std::mem::take(&mut self.buf);
        self.scanned = 0;
        if serde_json::from_slice::<serde::de::IgnoredAny>(&tail).is_ok() {
            self.state.line(&tail, emit);
        }
    }
}

// ---- Errors ---------------------------------------------------------------------------

/// The text of an `error` member: a string as Ollama sends it, `message` of an object (some
/// proxies), else the JSON as it is.
fn error_text(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape<'a> {
        Text(#[serde(borrow)] Cow<'a, str>),
        Object {
            #[serde(borrow)]
            message: Cow<'a, str>,
        },
    }
    match serde_json::from_str::<Shape>(raw.get()) {
        Ok(Shape::Text(t) | Shape::Object { message: t }) => t.into_owned(),
        Err(_) => raw.get().to_string(),
    }
}

/// An error reported inside a 200 body: Ollama sends no status there, so a missing model is
/// a 404 and anything else a 500.
fn stream_error(message: &str) -> ApiError {
    let status = if message.to_ascii_lowercase().contains("not found") {
        404
    } else {
        500
    };
    error_at(status, message)
}

fn error_at(status: u16, message: &str) -> ApiError {
    let message = match message.trim() {
        "" => format!("upstream returned HTTP {status}"),
        m => m.to_string(),
    };
    ApiError::new(status, kind_for(status), message)
}

/// An upstream error response in OpenAI's shape: the upstream status and Ollama's message
/// (`{"error": "model 'x' not found"}`); a body that is not that shape is the message.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: &'a RawValue,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => error_at(status, &error_text(e.error)),
        Err(_) => error_at(
            status,
            &String::from_utf8_lossy(&body[..body.len().min(2048)]),
        ),
    }
}

#[cfg(test)]
mod tests;
