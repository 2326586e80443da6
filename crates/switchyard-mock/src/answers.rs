//! Answers in OpenAI's wire shape (chat, text completions, embeddings, models, errors) for each scripted behaviour.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde::Deserialize;

use super::body::{Ending, MockBody};
use super::{Behavior, Shared};

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";
const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";
const ERROR_EVENT: &[u8] = b"data: {\"error\":{\"message\":\"mock upstream error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
const CHAT_ROLE_CHOICE: &str = r#"{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}"#;
const CHAT_FINISH_CHOICE: &str = r#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}"#;
const TEXT_FINISH_CHOICE: &str = r#"{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}"#;
/// The eight values every mock embedding is built from (shifted by the input's index).
const EMBEDDING_BASE: [f32; 8] = [
    0.0023, -0.0093, 0.0152, -0.0281, 0.0417, -0.0055, 0.0368, -0.0129,
];

/// The routes the mock serves, matched on the path suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Chat,
    Completions,
    Embeddings,
    Models,
    /// Anthropic's `/v1/messages`.
    Messages,
    /// Gemini's `:generateContent` / `:streamGenerateContent`.
    Gemini {
        stream: bool,
    },
    /// OpenAI's Responses API.
    Responses,
}

impl Route {
    fn of(method: &Method, path: &str) -> Option<Route> {
        let path = path.trim_end_matches('/');
        match *method {
            Method::POST if path.ends_with("/chat/completions") => Some(Route::Chat),
            Method::POST if path.ends_with("/v1/messages") => Some(Route::Messages),
            Method::POST if path.ends_with("/responses") => Some(Route::Responses),
            Method::POST if path.ends_with(":generateContent") => {
                Some(Route::Gemini { stream: false })
            }
            Method::POST if path.ends_with(":streamGenerateContent") => {
                Some(Route::Gemini { stream: true })
            }
            Method::POST if path.ends_with("/completions") => Some(Route::Completions),
            Method::POST if path.ends_with("/embeddings") => Some(Route::Embeddings),
            Method::GET if path.ends_with("/models") => Some(Route::Models),
            _ => None,
        }
    }

    fn streams(self) -> bool {
        matches!(self, Route::Chat | Route::Completions)
    }
}

/// The few request fields the mock looks at; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
struct RequestFields {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    input: Option<serde_json::Value>,
    #[serde(default)]
    encoding_format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl RequestFields {
    fn parse(route: Option<Route>, body: &[u8]) -> Result<RequestFields, serde_json::Error> {
        match route {
            Some(Route::Models | Route::Messages | Route::Gemini { .. } | Route::Responses)
            | None => Ok(RequestFields::default()),
            Some(_) => serde_json::from_slice(body),
        }
    }

    fn wants_stream(&self) -> bool {
        self.stream == Some(true)
    }

    fn include_usage(&self) -> bool {
        self.stream_options.as_ref().and_then(|o| o.include_usage) == Some(true)
    }
}

/// Builds the response for one behaviour.
#[expect(
    clippy::too_many_lines,
    reason = "the mock's whole script table in one match, test scaffolding"
)]
pub(super) fn respond(
    shared: &Shared,
    parts: &Parts,
    body: &Bytes,
    behavior: Behavior,
    id: u64,
) -> Response<MockBody> {
    let route = Route::of(&parts.method, parts.uri.path());
    let needs_fields = matches!(
        behavior,
        Behavior::Ok
            | Behavior::CutBeforeFirstEvent
            | Behavior::CutAfterEvents(_)
            | Behavior::StallAfterEvents(_)
    );
    let parsed = if needs_fields {
        RequestFields::parse(route, body)
    } else {
        Ok(RequestFields::default())
    };
    let fields = match (&behavior, parsed) {
        (Behavior::Ok, Err(e)) => {
            log::debug!("mock upstream: request body is not JSON: {e}");
            return full(StatusCode::BAD_REQUEST, invalid_json_body());
        }
        (_, parsed) => parsed.unwrap_or_default(),
    };
    match behavior {
        Behavior::Status {
            status,
            body,
            headers,
        } => status_response(status, body, &headers),
        // `handle` never gets here with a hang; answer something sane all the same.
        Behavior::Raw {
            status,
            content_type,
            body,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = Response::new(MockBody::full(body));
            *response.status_mut() = code;
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(CONTENT_TYPE, v);
            }
            response
        }
        Behavior::RawEvents {
            content_type,
            events: pieces,
            delay,
        } => {
            let mut response = events(pieces, delay, Ending::Clean);
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(CONTENT_TYPE, v);
            }
            response
        }
        Behavior::Hang => full(
            StatusCode::INTERNAL_SERVER_ERROR,
            openai_error("hang", "server_error", None),
        ),
        Behavior::ErrorEvent => events(
            vec![Bytes::from_static(ERROR_EVENT)],
            Duration::ZERO,
            Ending::Clean,
        ),
        Behavior::CutBeforeFirstEvent => cut(route, &fields, Vec::new(), shared.script.chunk_delay),
        Behavior::CutAfterEvents(n) => {
            let Some(r) = route.filter(|r| r.streams() && fields.wants_stream()) else {
                return cut(route, &fields, Vec::new(), shared.script.chunk_delay);
            };
            let stream = StreamAnswer::new(shared, r, parts, &fields, body.len(), id);
            cut(
                route,
                &fields,
                stream.events(Some(n)),
                shared.script.chunk_delay,
            )
        }
        Behavior::StallAfterEvents(n) => {
            let Some(r) = route.filter(|r| r.streams() && fields.wants_stream()) else {
                return cut(route, &fields, Vec::new(), shared.script.chunk_delay);
            };
            let stream = StreamAnswer::new(shared, r, parts, &fields, body.len(), id);
            events(
                stream.events(Some(n)),
                shared.script.chunk_delay,
                Ending::Stall,
            )
        }
        Behavior::Ok => match route {
            None => full(StatusCode::NOT_FOUND, unknown_url(parts)),
            Some(Route::Models) => full(StatusCode::OK, models_body(&shared.script.name)),
            Some(Route::Responses) => {
                let ask = match super::responses::parse(body) {
                    Ok(a) => a,
                    Err(_) => return full(StatusCode::BAD_REQUEST, invalid_json_body()),
                };
                let (name, chunks) = (&shared.script.name, shared.script.chunks);
                let input = prompt_tokens(body.len());
                if ask.stream {
                    events(
                        super::responses::events(&ask, name, chunks, id, input),
                        shared.script.chunk_delay,
                        Ending::Clean,
                    )
                } else {
                    let mut response = Response::new(MockBody::full(super::responses::answer(
                        &ask, name, chunks, id, input,
                    )));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
                    response
                }
            }
            Some(Route::Gemini { stream }) => {
                let tool = match super::gemini::parse(body) {
                    Ok(t) => t,
                    Err(_) => return full(StatusCode::BAD_REQUEST, invalid_json_body()),
                };
                let (name, chunks) = (&shared.script.name, shared.script.chunks);
                let (path, input) = (parts.uri.path(), prompt_tokens(body.len()));
                if stream {
                    events(
                        super::gemini::events(tool.as_deref(), name, chunks, path, id, input),
                        shared.script.chunk_delay,
                        Ending::Clean,
                    )
                } else {
                    full(
                        StatusCode::OK,
                        super::gemini::answer(tool.as_deref(), name, chunks, path, id, input),
                    )
                }
            }
            Some(Route::Messages) => {
                let ask = match super::anthropic::parse(body) {
                    Ok(a) => a,
                    Err(_) => return full(StatusCode::BAD_REQUEST, invalid_json_body()),
                };
                let (name, chunks) = (&shared.script.name, shared.script.chunks);
                let input = prompt_tokens(body.len());
                if ask.stream {
                    events(
                        super::anthropic::events(&ask, name, chunks, id, input),
                        shared.script.chunk_delay,
                        Ending::Clean,
                    )
                } else {
                    full(
                        StatusCode::OK,
                        super::anthropic::message(&ask, name, chunks, id, input),
                    )
                }
            }
            Some(Route::Embeddings) => {
                full(StatusCode::OK, embeddings_body(parts, &fields, body.len()))
            }
            Some(r) if fields.wants_stream() => {
                let stream = StreamAnswer::new(shared, r, parts, &fields, body.len(), id);
                events(
                    stream.events(None),
                    shared.script.chunk_delay,
                    Ending::Clean,
                )
            }
            Some(r) => full(
                StatusCode::OK,
                completion_body(shared, r, parts, &fields, body.len(), id),
            ),
        },
    }
}

fn status_response(status: u16, body: String, headers: &[(String, String)]) -> Response<MockBody> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = full(code, body);
    for (k, v) in headers {
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            (Ok(k), Ok(v)) => {
                response.headers_mut().append(k, v);
            }
            _ => log::warn!("mock upstream: skipping invalid scripted header {k:?}"),
        }
    }
    response
}

/// 200 with stream (or JSON) headers, the given events, then an aborted connection.
fn cut(
    route: Option<Route>,
    fields: &RequestFields,
    events: Vec<Bytes>,
    delay: Duration,
) -> Response<MockBody> {
    let streaming = route.is_some_and(Route::streams) && fields.wants_stream();
    let mut response = self::events(events, delay, Ending::Abort);
    if !streaming {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        response.headers_mut().remove(CACHE_CONTROL);
    }
    response
}

fn full(status: StatusCode, body: String) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn events(events: Vec<Bytes>, delay: Duration, ending: Ending) -> Response<MockBody> {
    let mut response = Response::new(MockBody::events(events, delay, ending));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The model to name: on an Azure deployment path `azure_model` if set (the script's, for
/// chat and completions); else the body's `model`, else the deployment name from the path.
fn model_of(azure_model: Option<&str>, parts: &Parts, fields: &RequestFields) -> String {
    let deployment = parts
        .uri
        .path()
        .split("/deployments/")
        .nth(1)
        .and_then(|rest| rest.split('/').next());
    if let (Some(_), Some(base)) = (deployment, azure_model) {
        return json_str(base);
    }
    if let Some(model) = &fields.model {
        return json_str(model);
    }
    json_str(deployment.unwrap_or("mock-model"))
}

fn usage_json(prompt: usize, completion: usize) -> String {
    format!(
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
        prompt + completion
    )
}

fn prompt_tokens(body_len: usize) -> usize {
    (body_len / 4).max(1)
}

pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn completion_body(
    shared: &Shared,
    route: Route,
    parts: &Parts,
    fields: &RequestFields,
    body_len: usize,
    id: u64,
) -> String {
    let model = model_of(shared.script.azure_model.as_deref(), parts, fields);
    let created = now_secs();
    let usage = usage_json(prompt_tokens(body_len), shared.script.chunks);
    let message = &shared.message_json;
    if route == Route::Chat {
        format!(
            r#"{{"id":"chatcmpl-mock{id}","object":"chat.completion","created":{created},"model":{model},"choices":[{{"index":0,"message":{{"role":"assistant","content":{message},"refusal":null,"annotations":[]}},"logprobs":null,"finish_reason":"stop"}}],"usage":{usage},"service_tier":"default","system_fingerprint":"fp_mock"}}"#
        )
    } else {
        format!(
            r#"{{"id":"cmpl-mock{id}","object":"text_completion","created":{created},"model":{model},"choices":[{{"text":{message},"index":0,"logprobs":null,"finish_reason":"stop"}}],"usage":{usage},"system_fingerprint":"fp_mock"}}"#
        )
    }
}

fn embeddings_body(parts: &Parts, fields: &RequestFields, body_len: usize) -> String {
    let inputs = match &fields.input {
        Some(serde_json::Value::Array(items)) if items.first().is_some_and(|v| !v.is_number()) => {
            items.len()
        }
        _ => 1,
    };
    let base64 = fields.encoding_format.as_deref() == Some("base64");
    let mut data = String::with_capacity(inputs * 128);
    for i in 0..inputs {
        let values = EMBEDDING_BASE
            .iter()
            .enumerate()
            .map(|(j, v)| v + (i as f32) * 0.001 * (j as f32 + 1.0));
        let embedding = if base64 {
            let bytes: Vec<u8> = values.flat_map(f32::to_le_bytes).collect();
            format!("\"{}\"", base64_encode(&bytes))
        } else {
            let parts: Vec<String> = values.map(|v| v.to_string()).collect();
            format!("[{}]", parts.join(","))
        };
        if i > 0 {
            data.push(',');
        }
        data.push_str(&format!(
            r#"{{"object":"embedding","index":{i},"embedding":{embedding}}}"#
        ));
    }
    let prompt = prompt_tokens(body_len);
    format!(
        r#"{{"object":"list","data":[{data}],"model":{},"usage":{{"prompt_tokens":{prompt},"total_tokens":{prompt}}}}}"#,
        model_of(None, parts, fields)
    )
}

fn models_body(name: &str) -> String {
    let ids = [name, "mock-model", "gpt-4o-mini", "text-embedding-3-small"];
    let data: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":{},"object":"model","created":1715367049,"owned_by":"switchyard-mock"}}"#,
                json_str(id)
            )
        })
        .collect();
    format!(r#"{{"object":"list","data":[{}]}}"#, data.join(","))
}

/// The pieces of one streamed answer (chat or text completion).
struct StreamAnswer<'a> {
    shared: &'a Shared,
    route: Route,
    /// `data: {..."choices":[` shared by every chunk.
    prefix: String,
    /// `]}` plus, with `include_usage`, `"usage":null`.
    suffix: &'static str,
    usage: Option<String>,
}

impl<'a> StreamAnswer<'a> {
    fn new(
        shared: &'a Shared,
        route: Route,
        parts: &Parts,
        fields: &RequestFields,
        body_len: usize,
        id: u64,
    ) -> StreamAnswer<'a> {
        let created = now_secs();
        let model = model_of(shared.script.azure_model.as_deref(), parts, fields);
        let prefix = if route == Route::Chat {
            format!(
                r#"data: {{"id":"chatcmpl-mock{id}","object":"chat.completion.chunk","created":{created},"model":{model},"system_fingerprint":"fp_mock","choices":["#
            )
        } else {
            format!(
                r#"data: {{"id":"cmpl-mock{id}","object":"text_completion","created":{created},"model":{model},"choices":["#
            )
        };
        let include_usage = fields.include_usage();
        StreamAnswer {
            shared,
            route,
            prefix,
            suffix: if include_usage {
                "],\"usage\":null}\n\n"
            } else {
                "]}\n\n"
            },
            usage: include_usage.then(|| usage_json(prompt_tokens(body_len), shared.script.chunks)),
        }
    }

    fn chunk(&self, choice: &str) -> Bytes {
        let mut out = String::with_capacity(self.prefix.len() + choice.len() + self.suffix.len());
        out.push_str(&self.prefix);
        out.push_str(choice);
        out.push_str(self.suffix);
        Bytes::from(out)
    }

    /// Every event of the answer, or with `cut_after = Some(n)` only the opening and `n` content events.
    fn events(&self, cut_after: Option<usize>) -> Vec<Bytes> {
        let (deltas, finish) = match self.route {
            Route::Chat => (&self.shared.chat_deltas, CHAT_FINISH_CHOICE),
            _ => (&self.shared.text_deltas, TEXT_FINISH_CHOICE),
        };
        let content = cut_after.map_or(deltas.len(), |n| n.min(deltas.len()));
        let mut out = Vec::with_capacity(content + 4);
        if self.route == Route::Chat {
            out.push(self.chunk(CHAT_ROLE_CHOICE));
        }
        out.extend(deltas.iter().take(content).map(|d| self.chunk(d)));
        if cut_after.is_some() {
            return out;
        }
        out.push(self.chunk(finish));
        if let Some(usage) = &self.usage {
            out.push(Bytes::from(format!(
                "{}],\"usage\":{usage}}}\n\n",
                self.prefix
            )));
        }
        out.push(Bytes::from_static(DONE_EVENT));
        out
    }
}

/// The `i`th streamed content piece: the greeting first, then numbered tokens.
pub(super) fn content_piece(name: &str, i: usize) -> String {
    if i == 0 {
        format!("Hello from {name}")
    } else {
        format!(" tok{i}")
    }
}

pub(super) fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// An OpenAI error body: `{"error":{"message","type","param","code"}}`.
pub(super) fn openai_error(message: &str, kind: &str, code: Option<&str>) -> String {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        .to_string()
}

fn unknown_url(parts: &Parts) -> String {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    openai_error(
        &format!("Invalid URL ({} {target})", parts.method),
        "invalid_request_error",
        None,
    )
}

fn invalid_json_body() -> String {
    openai_error(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        "invalid_request_error",
        None,
    )
}

/// Standard base64 with padding (for `encoding_format: "base64"` embeddings).
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= group.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
