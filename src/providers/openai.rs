//! OpenAI and every OpenAI-compatible server: same wire format, so requests are spliced.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use std::borrow::Cow;

use serde::Deserialize;

use super::chat::{Completion, Event, Finish, StreamDecoder, TokenUsage, ToolCall};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::{ModelCall, Rewrites};
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::{Failure, FallbackClass};
use crate::wire::sse::{self, ChunkKind, SseFramer};

pub struct OpenAi;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://api.openai.com/v1"),
    key_env: &["OPENAI_API_KEY"],
    base_env: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

pub static VLLM_DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &["HOSTED_VLLM_API_KEY"],
    base_env: &["HOSTED_VLLM_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: Some("fake-api-key"),
};

/// The route suffix OpenAI's SDK appends to `base_url`.
pub fn route_suffix(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Completions => "/completions",
        Endpoint::Embeddings => "/embeddings",
        _ => "/chat/completions",
    }
}

impl Provider for OpenAi {
    fn path(&self, base_path: &str, endpoint: Endpoint, _model: &str, _v: Option<&str>) -> String {
        // As the OpenAI SDK (and so LiteLLM) does: base URL + route, no `/v1` added; a base
        // that already names the route is used as it is.
        let suffix = route_suffix(endpoint);
        if base_path.ends_with(suffix) {
            return base_path.to_string();
        }
        format!("{base_path}{suffix}")
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        // OpenAI's reasoning models refuse `max_tokens` (LiteLLM renames it for them), which
        // is what `/v1/messages` and older clients send.
        let rewrites =
            if is_reasoning_model(target.model) && !call.has_field("max_completion_tokens") {
                &REASONING
            } else {
                &Rewrites::NONE
            };
        Ok(call.splice_with(
            Some(target.model_json),
            target.defaults,
            target.additional_drop_params,
            rewrites,
        ))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_openai_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        failure_from_text(err)
    }
}

const REASONING: Rewrites = Rewrites {
    rename: &[("max_tokens", "max_completion_tokens")],
    values: &[],
};

/// OpenAI's o-series and GPT-5 family, which take `max_completion_tokens` only.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| {
        m.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    })
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorFields>,
    // vLLM (older) and Mistral put the fields at the top level.
    message: Option<String>,
    param: Option<serde_json::Value>,
    code: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorFields {
    Object {
        message: Option<String>,
        param: Option<serde_json::Value>,
        code: Option<serde_json::Value>,
    },
    Text(String),
}

pub(crate) fn kind_for(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 | 529 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    }
}

fn scalar(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Normalise any OpenAI-family error body (nested, top-level, plain text) to OpenAI's shape,
/// keeping the upstream status, message, param and code.
/// The failure an OpenAI-compatible server's error makes. Its code decides first; vLLM,
/// Ollama and older Azure messages report context overflow and content filtering only in
/// prose (LiteLLM's exception mapping reads the same phrases), so this is the one place that
/// reads an error's text to class it.
pub fn failure_from_text(err: ApiError) -> Failure {
    let class = match FallbackClass::of(&err) {
        FallbackClass::Other | FallbackClass::Request => text_class(&err.message),
        known => Some(known),
    };
    let failure = Failure::new(err);
    match class {
        Some(c) => failure.with_class(c),
        None => failure,
    }
}

/// Context-window or content-policy, as a message says it.
fn text_class(message: &str) -> Option<FallbackClass> {
    let msg = message.to_ascii_lowercase();
    let has = |phrases: &[&str]| phrases.iter().any(|p| msg.contains(p));
    if has(&[
        "context length",
        "context window",
        "maximum context",
        "too many tokens",
    ]) {
        return Some(FallbackClass::ContextWindow);
    }
    if has(&["content management policy", "content policy"]) {
        return Some(FallbackClass::ContentPolicy);
    }
    None
}

pub fn decode_openai_error(status: u16, body: &[u8]) -> ApiError {
    let mut err = ApiError::new(status, kind_for(status), String::new());
    err.code = Some(status.to_string());
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope {
            error:
                Some(ErrorFields::Object {
                    message,
                    param,
                    code,
                }),
            ..
        }) => {
            err.message = message.unwrap_or_default();
            err.param = scalar(param);
            err.code = scalar(code).or(err.code);
        }
        Ok(Envelope {
            error: Some(ErrorFields::Text(message)),
            ..
        }) => err.message = message,
        Ok(Envelope {
            message: Some(message),
            param,
            code,
            ..
        }) => {
            err.message = message;
            err.param = scalar(param);
            err.code = scalar(code).or(err.code);
        }
        _ => err.message = String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned(),
    }
    if err.message.is_empty() {
        err.message = format!("upstream returned HTTP {status}");
    }
    err
}

// ---- OpenAI bodies into the neutral types (for clients that speak another API) ----------

#[derive(Deserialize)]
struct ChunkIn<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Vec<ChoiceIn<'a>>,
    #[serde(default)]
    usage: Option<UsageIn>,
}

#[derive(Deserialize)]
struct ChoiceIn<'a> {
    #[serde(borrow, default, alias = "message")]
    delta: Option<DeltaIn<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaIn<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default, alias = "reasoning")]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolDeltaIn<'a>>>,
}

#[derive(Deserialize)]
struct ToolDeltaIn<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<FunctionDeltaIn<'a>>,
}

#[derive(Deserialize)]
struct FunctionDeltaIn<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Copy)]
struct UsageIn {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Clone, Copy)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl UsageIn {
    fn neutral(self) -> TokenUsage {
        TokenUsage {
            prompt: self.prompt_tokens,
            completion: self.completion_tokens,
            cache_read: self
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: 0,
            reasoning: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// A `chat.completion` body as a [`Completion`].
pub fn decode_completion_body(body: &[u8]) -> Result<Completion, ApiError> {
    let c: ChunkIn = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("upstream returned an unreadable chat completion: {e}"),
        )
    })?;
    let mut out = Completion {
        id: c.id.unwrap_or_default().into_owned(),
        model: c.model.unwrap_or_default().into_owned(),
        usage: c.usage.map(UsageIn::neutral).unwrap_or_default(),
        ..Completion::default()
    };
    if let Some(choice) = c.choices.into_iter().next() {
        out.finish = Finish::from_openai(choice.finish_reason.as_deref().unwrap_or("stop"));
        if let Some(m) = choice.delta {
            out.text = m.content.map(Cow::into_owned);
            out.reasoning = m.reasoning_content.map(Cow::into_owned);
            for t in m.tool_calls.into_iter().flatten() {
                let f = t.function;
                out.tool_calls.push(ToolCall {
                    id: t.id.unwrap_or_default().into_owned(),
                    name: f
                        .as_ref()
                        .and_then(|f| f.name.as_deref())
                        .unwrap_or_default()
                        .to_string(),
                    arguments: f
                        .as_ref()
                        .and_then(|f| f.arguments.as_deref())
                        .unwrap_or("{}")
                        .to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// An OpenAI chat/completions SSE stream as [`Event`]s.
#[derive(Default)]
pub struct OpenAiStream {
    framer: SseFramer,
    started: bool,
    tools_started: Vec<u32>,
}

impl OpenAiStream {
    fn on_payload(&mut self, payload: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        match sse::classify(payload) {
            ChunkKind::Done => {
                emit(Event::Done);
                return;
            }
            ChunkKind::Error => {
                emit(Event::Error(decode_openai_error(502, payload)));
                return;
            }
            _ => {}
        }
        let Ok(c) = serde_json::from_slice::<ChunkIn>(payload) else {
            return;
        };
        if !self.started {
            self.started = true;
            emit(Event::Start {
                id: c.id.as_deref().unwrap_or_default(),
                model: c.model.as_deref().unwrap_or_default(),
            });
        }
        for choice in c.choices {
            if let Some(d) = choice.delta {
                if let Some(r) = d.reasoning_content {
                    emit(Event::Reasoning(r));
                }
                if let Some(t) = d.content {
                    emit(Event::Text(t));
                }
                for t in d.tool_calls.into_iter().flatten() {
                    let index = t.index.unwrap_or(0);
                    let (name, args) = match t.function {
                        Some(f) => (f.name, f.arguments),
                        None => (None, None),
                    };
                    if !self.tools_started.contains(&index) {
                        self.tools_started.push(index);
                        emit(Event::ToolStart {
                            index,
                            id: t.id.unwrap_or_default(),
                            name: name.unwrap_or_default(),
                        });
                    }
                    if let Some(args) = args.filter(|a| !a.is_empty()) {
                        emit(Event::ToolArgs { index, args });
                    }
                }
            }
            if let Some(f) = choice.finish_reason {
                emit(Event::Finish(Finish::from_openai(&f)));
            }
        }
        if let Some(u) = c.usage {
            emit(Event::Usage(u.neutral()));
        }
    }
}

impl StreamDecoder for OpenAiStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let mut framer = std::mem::take(&mut self.framer);
        let fed = framer.feed(chunk, |e| {
            if let Some(payload) = sse::data(&e) {
                self.on_payload(&payload, emit);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_that_say_it_in_prose_are_classed_by_their_text() {
        let class = |status, msg: &str, code: Option<&str>| {
            let e = ApiError::new(status, ErrorKind::InvalidRequest, msg);
            let e = match code {
                Some(c) => e.with_code(c),
                None => e,
            };
            OpenAi.failure(e).fallback
        };
        // vLLM: no code, only the sentence.
        let vllm = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens";
        assert_eq!(class(400, vllm, None), FallbackClass::ContextWindow);
        assert_eq!(
            class(400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", None),
            FallbackClass::ContentPolicy
        );
        assert_eq!(
            class(400, "filtered", Some("content_filter")),
            FallbackClass::ContentPolicy
        );
        assert_eq!(class(400, "bad temperature", None), FallbackClass::Request);
        assert_eq!(class(429, "slow down", None), FallbackClass::Other);
        // The text keeps its meaning whatever the status.
        assert_eq!(
            class(500, "too many tokens", None),
            FallbackClass::ContextWindow
        );
        // The message is not altered, only classed.
        let e = ApiError::new(400, ErrorKind::InvalidRequest, vllm);
        assert_eq!(OpenAi.failure(e.clone()).error, e);
    }

    #[test]
    fn joins_like_the_openai_sdk() {
        assert_eq!(
            OpenAi.path("/v1", Endpoint::ChatCompletions, "m", None),
            "/v1/chat/completions"
        );
        assert_eq!(
            OpenAi.path("", Endpoint::Embeddings, "m", None),
            "/embeddings"
        );
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens() {
        let call = ModelCall::parse(
            Endpoint::ChatCompletions,
            Bytes::from_static(br#"{"model":"m","max_tokens":64,"messages":[]}"#),
        )
        .unwrap();
        let encode = |model: &str| {
            let out = OpenAi
                .encode(
                    &call,
                    &EncodeTarget {
                        model_json: &crate::core::call::json_string(model),
                        model,
                        defaults: &[],
                        drop_params: false,
                        additional_drop_params: &[],
                    },
                )
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        assert_eq!(encode("o3-mini")["max_completion_tokens"], 64);
        assert_eq!(encode("gpt-5")["max_completion_tokens"], 64);
        assert!(encode("o3-mini").get("max_tokens").is_none());
        assert_eq!(encode("gpt-4o")["max_tokens"], 64);
        assert_eq!(encode("o1x")["max_tokens"], 64);
    }

    #[test]
    fn decodes_error_shapes() {
        let e = decode_openai_error(429, br#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#);
        assert_eq!(
            (e.status, e.message.as_str(), e.code.as_deref()),
            (429, "slow down", Some("rate_limit_exceeded"))
        );
        assert_eq!(e.kind, ErrorKind::RateLimit);
        let e = decode_openai_error(400, br#"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#);
        assert_eq!(
            (e.message.as_str(), e.code.as_deref()),
            ("bad", Some("400"))
        );
        let e = decode_openai_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = decode_openai_error(404, br#"{"error":"model 'x' not found"}"#);
        assert_eq!(e.message, "model 'x' not found");
    }
}
