//! Between the upstream's wire format and the client's: OpenAI to OpenAI passes through
//! untouched; anything else is decoded into neutral events or a [`Completion`] and rendered
//! for the client (OpenAI chunks, or Anthropic's message stream).

use bytes::{Bytes, BytesMut};

use crate::api::messages::{self, AnthropicEvents};
use crate::api::responses::ResponsesEvents;
use crate::core::call::ModelCall;
use crate::core::chat::Usage;
use crate::core::chat::{ClientWire, Completion, Event, StreamDecoder};
use crate::core::clock::unix_now;
use crate::core::error::ApiError;
use crate::providers::anthropic::{self, AnthropicStream};
use crate::providers::openai::{decode_completion_body, decode_openai_error, OpenAiStream};
use crate::providers::{registry, Provider, ProviderKind};
use crate::wire::openai::{openai_completion, OpenAiChunks};
use crate::wire::sse::{self, ChunkKind, SseFramer};

/// Whether the deployment's kind serves the client's own API (the registry says which).
fn native(kind: ProviderKind, call: &ModelCall) -> bool {
    call.native.is_some() && registry::info(kind).native == Some(call.client)
}

/// A `/v1/messages` client on an Anthropic deployment: both sides speak Anthropic.
fn native_anthropic(kind: ProviderKind, call: &ModelCall) -> bool {
    call.client == ClientWire::Anthropic && native(kind, call)
}

/// A `/v1/responses` client on an OpenAI deployment: OpenAI serves the Responses API itself.
pub(super) fn native_responses(kind: ProviderKind, call: &ModelCall) -> bool {
    call.client == ClientWire::Responses && native(kind, call)
}

#[derive(serde::Deserialize)]
struct ResponsesUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

impl ResponsesUsage {
    fn usage(&self) -> Usage {
        Usage {
            prompt: self.input_tokens,
            completion: self.output_tokens,
            reported_total: Some(self.input_tokens.saturating_add(self.output_tokens)),
            ..Usage::default()
        }
    }
}

/// Usage of a Responses `response` object.
fn responses_usage(body: &[u8]) -> Option<Usage> {
    #[derive(serde::Deserialize)]
    struct Object {
        #[serde(default)]
        usage: Option<ResponsesUsage>,
    }
    Some(serde_json::from_slice::<Object>(body).ok()?.usage?.usage())
}

enum ResponsesKind {
    Content,
    End(Option<Usage>),
    Error(ApiError),
    Other,
}

/// What a Responses stream event means to the pump (its `type` read, the rest skipped).
fn responses_event(payload: &[u8]) -> ResponsesKind {
    #[derive(serde::Deserialize)]
    struct Ev<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(default)]
        response: Option<Resp>,
        #[serde(borrow, default)]
        message: Option<std::borrow::Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct Resp {
        #[serde(default)]
        usage: Option<ResponsesUsage>,
    }
    let Ok(ev) = serde_json::from_slice::<Ev>(payload) else {
        return ResponsesKind::Other;
    };
    match ev.kind.as_ref() {
        "response.completed" | "response.incomplete" => {
            ResponsesKind::End(ev.response.and_then(|r| r.usage).map(|u| u.usage()))
        }
        "error" | "response.failed" => ResponsesKind::Error(ApiError::new(
            502,
            crate::core::error::ErrorKind::ApiError,
            ev.message
                .as_deref()
                .unwrap_or("the Responses stream failed")
                .to_string(),
        )),
        k if k.starts_with("response.output") || k.contains(".delta") => ResponsesKind::Content,
        _ => ResponsesKind::Other,
    }
}

/// What the events of one upstream read did.
#[derive(Default)]
pub(super) struct Scan {
    /// A content event (text, tool call, finish) was seen: the stream can be committed.
    pub content: bool,
    /// The stream's end marker was seen.
    pub done: bool,
    pub error: Option<ApiError>,
    /// The error's raw payload, when passing an OpenAI stream through.
    pub error_raw: Option<Bytes>,
    pub usage: Option<Usage>,
}

/// The client-side renderer of neutral events.
pub(super) enum ClientStream {
    OpenAi(OpenAiChunks),
    Anthropic(Box<AnthropicEvents>),
    Responses(Box<ResponsesEvents>),
}

impl ClientStream {
    pub fn for_call(call: &ModelCall) -> ClientStream {
        match call.client {
            ClientWire::OpenAi => ClientStream::OpenAi(OpenAiChunks::new(call.include_usage)),
            ClientWire::Anthropic => {
                ClientStream::Anthropic(Box::new(AnthropicEvents::new(&call.model)))
            }
            ClientWire::Responses => {
                ClientStream::Responses(Box::new(ResponsesEvents::new(&call.model)))
            }
        }
    }

    pub fn event(&mut self, e: Event<'_>, out: &mut BytesMut) {
        match self {
            ClientStream::OpenAi(w) => w.event(e, out),
            ClientStream::Anthropic(w) => w.event_into(e, out),
            ClientStream::Responses(w) => match e {
                Event::Error(err) => w.error(&err, out),
                e => w.event_into(e, out),
            },
        }
    }
}

/// A whole response in the client's shape.
pub(super) fn client_body(call: &ModelCall, c: &Completion) -> Bytes {
    match call.client {
        ClientWire::OpenAi => Bytes::from(openai_completion(c, unix_now())),
        ClientWire::Anthropic => messages::message_body(c, &call.model),
        ClientWire::Responses => crate::api::responses::response_body(c, &call.model),
    }
}

/// One stream's translation, chosen per attempt from the provider and the client.
pub(super) enum Translator {
    /// OpenAI SSE to an OpenAI client: events pass through byte for byte.
    Passthrough {
        framer: SseFramer,
        include_usage: bool,
    },
    Decode {
        decoder: Box<dyn StreamDecoder>,
        client: ClientStream,
    },
    /// OpenAI Responses SSE to a Responses client: passed through, read for commit, end,
    /// usage and errors.
    NativeResponses { framer: SseFramer },
    /// Anthropic SSE to an Anthropic client: events pass through byte for byte, read by the
    /// decoder only for commit, end, usage and errors.
    NativeAnthropic {
        framer: SseFramer,
        decoder: AnthropicStream,
    },
}

impl Translator {
    pub fn new(prov: &dyn Provider, kind: ProviderKind, call: &ModelCall) -> Translator {
        if native_responses(kind, call) {
            return Translator::NativeResponses {
                framer: SseFramer::default(),
            };
        }
        if native_anthropic(kind, call) {
            return Translator::NativeAnthropic {
                framer: SseFramer::default(),
                decoder: AnthropicStream::default(),
            };
        }
        let decoder = prov.stream_decoder();
        if decoder.is_none() && call.client == ClientWire::OpenAi {
            return Translator::Passthrough {
                framer: SseFramer::default(),
                include_usage: call.include_usage,
            };
        }
        let client = ClientStream::for_call(call);
        Translator::Decode {
            decoder: decoder.unwrap_or_else(|| Box::new(OpenAiStream::default())),
            client,
        }
    }

    /// Feed upstream bytes; client bytes go to `out` (errors are left to the caller).
    pub fn feed(&mut self, chunk: &[u8], out: &mut BytesMut) -> Scan {
        match self {
            Translator::Passthrough {
                framer,
                include_usage,
            } => passthrough(framer, chunk, out, *include_usage),
            Translator::Decode { decoder, client } => {
                let mut s = Scan::default();
                decoder.feed(chunk, &mut |e| route(&mut s, client, e, out));
                s
            }
            Translator::NativeResponses { framer } => {
                let mut s = Scan::default();
                let fed = framer.feed(chunk, |event| {
                    if s.error.is_some() {
                        return;
                    }
                    if let Some(payload) = sse::data(&event) {
                        match responses_event(&payload) {
                            ResponsesKind::Content => s.content = true,
                            ResponsesKind::End(usage) => {
                                s.done = true;
                                s.content = true;
                                s.usage = usage;
                            }
                            ResponsesKind::Error(err) => {
                                s.error = Some(err);
                                s.error_raw = Some(event);
                                return;
                            }
                            ResponsesKind::Other => {}
                        }
                    }
                    out.extend_from_slice(&event);
                    out.extend_from_slice(b"\n\n");
                });
                oversized(&mut s, fed);
                s
            }
            Translator::NativeAnthropic { framer, decoder } => {
                let mut s = Scan::default();
                let fed = framer.feed(chunk, |event| {
                    if s.error.is_some() {
                        return;
                    }
                    let Some(payload) = sse::data(&event) else {
                        return;
                    };
                    let mut is_error = false;
                    decoder.on_event(&payload, &mut |e| is_error |= note(&mut s, &e));
                    if is_error {
                        s.error_raw = Some(event);
                        return;
                    }
                    out.extend_from_slice(&event);
                    out.extend_from_slice(b"\n\n");
                });
                oversized(&mut s, fed);
                s
            }
        }
    }

    /// The upstream closed the body.
    pub fn finish(&mut self, out: &mut BytesMut) -> Scan {
        let mut s = Scan::default();
        if let Translator::Decode { decoder, client } = self {
            decoder.finish(&mut |e| route(&mut s, client, e, out));
        }
        s
    }

    /// The client bytes for an error after the stream was committed.
    pub fn error(&mut self, err: &ApiError, raw: Option<&Bytes>, out: &mut BytesMut) {
        match (self, raw) {
            (
                Translator::NativeResponses { .. } | Translator::NativeAnthropic { .. },
                Some(raw),
            ) => {
                out.extend_from_slice(raw);
                out.extend_from_slice(b"\n\n");
            }
            (Translator::NativeAnthropic { .. }, None) => {
                out.extend_from_slice(&AnthropicEvents::error_event(err))
            }
            (Translator::Passthrough { .. }, Some(raw)) => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(raw);
                out.extend_from_slice(b"\n\n");
            }
            (Translator::Decode { client, .. }, _) => client.event(Event::Error(err.clone()), out),
            (Translator::Passthrough { .. } | Translator::NativeResponses { .. }, None) => {
                out.extend_from_slice(&err.sse_event())
            }
        }
    }
}

/// Record what an event means for the pump; true for an error (not for the client yet).
fn note(s: &mut Scan, e: &Event<'_>) -> bool {
    match e {
        Event::Error(err) => {
            s.error = Some(err.clone());
            return true;
        }
        Event::Text(_)
        | Event::Reasoning(_)
        | Event::ToolStart { .. }
        | Event::ToolArgs { .. }
        | Event::Finish(_) => s.content = true,
        Event::Usage(u) => s.usage = Some(*u),
        Event::Done => s.done = true,
        Event::Start { .. } => {}
    }
    false
}

fn route(s: &mut Scan, client: &mut ClientStream, e: Event<'_>, out: &mut BytesMut) {
    // After an error nothing more reaches the client (a `[DONE]` after it must not close the
    // stream as if it had ended well).
    if s.error.is_some() {
        return;
    }
    if !note(s, &e) {
        client.event(e, out);
    }
}

/// OpenAI to OpenAI: frame, classify, forward; the usage trailer only if the client asked.
fn passthrough(
    framer: &mut SseFramer,
    chunk: &[u8],
    out: &mut BytesMut,
    include_usage: bool,
) -> Scan {
    let mut s = Scan::default();
    let fed = framer.feed(chunk, |event| {
        if s.error.is_some() {
            return;
        }
        let Some(payload) = sse::data(&event) else {
            // Comments and keep-alives pass through untouched.
            out.extend_from_slice(&event);
            out.extend_from_slice(b"\n\n");
            return;
        };
        match sse::classify(&payload) {
            ChunkKind::Done => s.done = true,
            ChunkKind::Error => {
                s.error = Some(decode_openai_error(502, &payload));
                s.error_raw = Some(payload);
                return;
            }
            ChunkKind::UsageOnly(u) => {
                s.usage = Some(u);
                if !include_usage {
                    return;
                }
            }
            ChunkKind::Content(u) => {
                s.content = true;
                if u.is_some() {
                    s.usage = u;
                }
            }
        }
        out.extend_from_slice(&event);
        out.extend_from_slice(b"\n\n");
    });
    oversized(&mut s, fed);
    s
}

/// An event over the framer's limit fails the stream (unless an error already did).
fn oversized(s: &mut Scan, fed: Result<(), sse::Oversized>) {
    if let (Err(e), None) = (fed, &s.error) {
        s.error = Some(e.to_error("an SSE event"));
    }
}

/// A non-stream 2xx body for the client: `None` to send the upstream body as it is;
/// `Some(Err)` when the provider answered 200 with a failure (e.g. a blocked prompt).
pub(super) fn completion_body(
    prov: &dyn Provider,
    kind: ProviderKind,
    call: &ModelCall,
    body: &[u8],
) -> Option<Result<(Bytes, Usage), ApiError>> {
    if native_anthropic(kind, call) {
        let usage = anthropic::usage_of(body).unwrap_or_default();
        return Some(Ok((Bytes::copy_from_slice(body), usage)));
    }
    if native_responses(kind, call) {
        let usage = responses_usage(body).unwrap_or_default();
        return Some(Ok((Bytes::copy_from_slice(body), usage)));
    }
    if call.endpoint == crate::core::endpoint::Endpoint::Embeddings {
        return prov.decode_embeddings(body, call).map(|r| {
            r.map(|b| {
                let usage = crate::wire::sse::usage_in_body(&b).unwrap_or_default();
                (b, usage)
            })
        });
    }
    let decoded = match (prov.decode_completion(body), call.client) {
        (None, ClientWire::OpenAi) => return None,
        (Some(r), _) => r,
        (None, _) => decode_completion_body(body),
    };
    Some(decoded.map(|mut c: Completion| {
        if c.model.is_empty() {
            c.model.clone_from(&call.model);
        }
        (client_body(call, &c), c.usage)
    }))
}
