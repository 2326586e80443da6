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
use super::sse::{Oversized, MAX_EVENT_BYTES};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};

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
mod tests {
    use super::*;
    use crate::router::fallback::{classify, ErrorClass};

    const TEXT: &[u8] = include_bytes!("../../tests/fixtures/ollama/text.json");
    const CALLS: &[u8] = include_bytes!("../../tests/fixtures/ollama/tool_calls.json");
    const STREAM_TEXT: &[u8] = include_bytes!("../../tests/fixtures/ollama/stream_text.ndjson");
    const STREAM_TOOLS: &[u8] =
        include_bytes!("../../tests/fixtures/ollama/stream_tool_calls.ndjson");
    const STREAM_ERROR: &[u8] = include_bytes!("../../tests/fixtures/ollama/stream_error.ndjson");
    const ERROR_404: &[u8] = include_bytes!("../../tests/fixtures/ollama/error_404.json");

    /// Generated ids are random: `chatcmpl-<uuid>` becomes `chatcmpl-*` and `call_` + 24 hex
    /// digits `call_*`.
    fn normalize(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        loop {
            let next = [("chatcmpl-", 36), ("call_", 24)]
                .into_iter()
                .filter_map(|(prefix, len)| rest.find(prefix).map(|at| (at, prefix, len)))
                .min_by_key(|(at, _, _)| *at);
            let Some((at, prefix, len)) = next else {
                break;
            };
            out.push_str(&rest[..at + prefix.len()]);
            rest = &rest[at + prefix.len()..];
            let generated = rest
                .bytes()
                .take(len)
                .filter(|b| b.is_ascii_hexdigit() || *b == b'-')
                .count()
                == len;
            if generated {
                out.push('*');
                rest = &rest[len..];
            }
        }
        out.push_str(rest);
        out
    }

    fn is_generated_call_id(id: &str) -> bool {
        let hex = id.strip_prefix("call_").unwrap_or_default();
        hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// Feed `chunks` in order, then close; every event as its normalized Debug text.
    fn run(chunks: &[&[u8]]) -> Vec<String> {
        let mut decoder = OllamaChat.stream_decoder().unwrap();
        let mut events = Vec::new();
        let mut emit = |e: Event<'_>| events.push(normalize(&format!("{e:?}")));
        for c in chunks {
            decoder.feed(c, &mut emit);
        }
        decoder.finish(&mut emit);
        events
    }

    fn every_split_is_the_same(body: &[u8]) -> Vec<String> {
        let whole = run(&[body]);
        for i in 1..body.len() {
            assert_eq!(run(&[&body[..i], &body[i..]]), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "byte by byte");
        whole
    }

    fn crlf(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 16);
        for &b in body {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    #[test]
    fn paths_and_auth() {
        let chat = |base: &str| OllamaChat.path(base, Endpoint::ChatCompletions, "llama3", None);
        assert_eq!(chat(""), "/api/chat");
        assert_eq!(chat("/v1"), "/api/chat");
        assert_eq!(chat("/ollama/v1"), "/ollama/api/chat");
        assert_eq!(chat("/api"), "/api/chat");
        assert_eq!(chat("/proxy/api/chat"), "/proxy/api/chat");
        assert_eq!(
            OllamaChat.path("", Endpoint::Embeddings, "m", None),
            "/api/embed"
        );
        assert!(OllamaChat.stream_path("", "llama3", None).is_none());
        assert!(OllamaChat.supports(Endpoint::ChatCompletions));
        assert!(OllamaChat.supports(Endpoint::Embeddings));
        assert!(!OllamaChat.supports(Endpoint::Completions));
        let (name, value) = OllamaChat.auth_header("ollama-key").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer ollama-key")
        );
        assert!(value.is_sensitive());
        assert_eq!(DEFAULTS.api_base, Some("http://localhost:11434"));
    }

    #[test]
    fn decodes_text_reasoning_and_usage() {
        let c = OllamaChat.decode_completion(TEXT).unwrap().unwrap();
        assert_eq!(normalize(&c.id), "chatcmpl-*");
        assert_eq!(c.model, "qwen3:8b");
        assert_eq!(
            c.text.as_deref(),
            Some("The capital of France is **Paris**.\nIt sits on the Seine & is home to the Louvre.")
        );
        assert_eq!(
            c.reasoning.as_deref(),
            Some("The user asks for the capital of France. That is Paris.")
        );
        assert!(c.tool_calls.is_empty());
        assert_eq!(c.finish, Finish::Stop);
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt: 18,
                completion: 41,
                ..TokenUsage::default()
            }
        );
    }

    #[test]
    fn decodes_two_tool_calls() {
        let c = OllamaChat.decode_completion(CALLS).unwrap().unwrap();
        assert_eq!(c.finish, Finish::ToolCalls);
        assert_eq!((c.text, c.reasoning), (None, None));
        assert_eq!(c.tool_calls.len(), 2);
        let (first, second) = (&c.tool_calls[0], &c.tool_calls[1]);
        assert!(is_generated_call_id(&first.id), "{}", first.id);
        assert!(is_generated_call_id(&second.id), "{}", second.id);
        assert_ne!(first.id, second.id);
        assert_eq!(
            (first.name.as_str(), first.arguments.as_str()),
            ("get_weather", r#"{"city":"Paris","unit":"celsius"}"#)
        );
        assert_eq!(
            (second.name.as_str(), second.arguments.as_str()),
            (
                "get_time",
                r#"{"timezone":"Europe/Paris","options":{"format":"24h"}}"#
            )
        );
        assert_eq!((c.usage.prompt, c.usage.completion), (212, 48));
    }

    #[test]
    fn finish_reasons_ids_and_odd_bodies() {
        let body = |reason: &str, calls: &str| {
            format!(
                r#"{{"model":"m","message":{{"role":"assistant","content":"x"{calls}}},"done":true,"done_reason":"{reason}"}}"#
            )
        };
        let finish =
            |reason: &str, calls: &str| decode_completion(body(reason, calls).as_bytes()).unwrap();
        assert_eq!(finish("length", "").finish, Finish::Length);
        assert_eq!(finish("stop", "").finish, Finish::Stop);
        assert_eq!(finish("unload", "").finish, Finish::Stop);
        let with_id = finish(
            "stop",
            r#","tool_calls":[{"id":"call_ab12cd34","function":{"index":0,"name":"f","arguments":"{\"a\":1}"}}]"#,
        );
        assert_eq!(with_id.finish, Finish::ToolCalls);
        assert_eq!(
            with_id.tool_calls,
            [ToolCall {
                id: "call_ab12cd34".into(),
                name: "f".into(),
                arguments: r#"{"a":1}"#.into()
            }]
        );
        assert_eq!(
            finish("length", r#","tool_calls":[{"function":{"name":"f"}}]"#).finish,
            Finish::Length
        );
        // No counts (a prompt served from cache omits prompt_eval_count): zero.
        let c = decode_completion(
            br#"{"model":"m","message":{"role":"assistant","content":"hi"},"done":true}"#,
        )
        .unwrap();
        assert_eq!((c.usage.prompt, c.usage.completion), (0, 0));
        let e = decode_completion(br#"{"error":"model 'nope' not found"}"#).unwrap_err();
        assert_eq!((e.status, e.kind), (404, ErrorKind::NotFound));
        assert_eq!(decode_completion(b"<html>").unwrap_err().status, 502);
    }

    #[test]
    fn stream_text_at_every_split() {
        let expected = [
            r#"Start { id: "chatcmpl-*", model: "qwen3:8b" }"#,
            r#"Reasoning("Greeting")"#,
            r#"Reasoning(" the user.")"#,
            r#"Text("Hello")"#,
            r#"Text("! Use <b> for bold. é\n")"#,
            "Finish(Stop)",
            "Usage(TokenUsage { prompt: 11, completion: 17, cache_read: 0, cache_write: 0, reasoning: 0 })",
            "Done",
        ];
        assert_eq!(every_split_is_the_same(STREAM_TEXT), expected);
        assert_eq!(every_split_is_the_same(&crlf(STREAM_TEXT)), expected);
    }

    #[test]
    fn stream_tool_calls_at_every_split() {
        assert_eq!(
            every_split_is_the_same(STREAM_TOOLS),
            [
                r#"Start { id: "chatcmpl-*", model: "llama3.1:8b" }"#,
                r#"ToolStart { index: 0, id: "call_k3v9x0qa", name: "get_weather" }"#,
                r#"ToolArgs { index: 0, args: "{\"city\":\"Paris\"}" }"#,
                r#"ToolStart { index: 1, id: "call_7fj2m1zp", name: "get_time" }"#,
                r#"ToolArgs { index: 1, args: "{\"timezone\":\"Europe/Paris\"}" }"#,
                "Finish(ToolCalls)",
                "Usage(TokenUsage { prompt: 198, completion: 39, cache_read: 0, cache_write: 0, reasoning: 0 })",
                "Done",
            ]
        );
        // Older servers send no ids: one is made up per call.
        let events = run(&[
            br#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},"done":false}
"#,
        ]);
        assert_eq!(
            events[1],
            r#"ToolStart { index: 0, id: "call_*", name: "f" }"#
        );
    }

    #[test]
    fn stream_error_line_mid_stream() {
        let events = every_split_is_the_same(STREAM_ERROR);
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[1], r#"Text("Once")"#);
        assert_eq!(events[2], r#"Text(" upon")"#);
        assert!(
            events[3].starts_with("Error(ApiError { status: 500, kind: ApiError, message: \"an error was encountered while running the model: unexpected EOF\""),
            "{}",
            events[3]
        );
        let events =
            run(&[b"{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}\n"]);
        assert!(
            events[0].starts_with("Error(ApiError { status: 404, kind: NotFound"),
            "{events:?}"
        );
        let events = run(&[b"not json\n"]);
        assert!(
            events[0].starts_with("Error(ApiError { status: 502"),
            "{events:?}"
        );
    }

    #[test]
    fn stream_without_done_line_is_incomplete() {
        // Cut after the fourth line: no done line, so no Finish/Usage/Done.
        let cut = STREAM_TEXT
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(3)
            .map(|(i, _)| i + 1)
            .unwrap();
        let events = run(&[&STREAM_TEXT[..cut]]);
        assert_eq!(events.len(), 5, "{events:?}");
        assert!(events
            .iter()
            .all(|e| !e.starts_with("Finish") && e != "Done"));
        // A cut-off last line is dropped; a whole one without its newline still counts.
        assert_eq!(run(&[&STREAM_TEXT[..cut + 20]]), events);
        let unterminated = STREAM_TEXT.strip_suffix(b"\n").unwrap();
        assert_eq!(run(&[unterminated]), run(&[STREAM_TEXT]));
        // Anything after the done line is ignored.
        let mut twice = STREAM_TEXT.to_vec();
        twice.extend_from_slice(STREAM_TEXT);
        assert_eq!(run(&[&twice]), run(&[STREAM_TEXT]));
    }

    #[test]
    fn decodes_error_bodies() {
        let e = OllamaChat.decode_error(404, &http::HeaderMap::new(), ERROR_404);
        assert_eq!(
            (e.status, e.kind, e.message.as_str()),
            (404, ErrorKind::NotFound, "model 'llama9' not found")
        );
        assert_eq!(
            e.body(),
            Bytes::from_static(
                br#"{"error":{"message":"model 'llama9' not found","type":"not_found_error","param":null,"code":"404"}}"#
            )
        );
        let e = decode_error(
            400,
            br#"{"error":"invalid format: expected \"json\" or a valid JSON schema"}"#,
        );
        assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
        let e = decode_error(
            401,
            br#"{"error":"unauthorized","signin_url":"https://ollama.com/connect"}"#,
        );
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Auth, "unauthorized")
        );
        let e = decode_error(
            500,
            br#"{"error":"the input length exceeds the context length"}"#,
        );
        assert_eq!(classify(&e), ErrorClass::ContextWindow);
        let e = decode_error(503, br#"{"error":{"message":"server busy"}}"#);
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::ServiceUnavailable, "server busy")
        );
        let e = decode_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(
            (e.status, e.message.as_str()),
            (502, "<html>Bad Gateway</html>")
        );
        assert_eq!(decode_error(500, b"").message, "upstream returned HTTP 500");
    }
}
