//! `:streamGenerateContent?alt=sse` streams decoded into neutral [`Event`]s.

use std::borrow::Cow;

use bytes::Bytes;

use super::super::chat::{Event, Finish, StreamDecoder, Usage};
use super::decode::{
    arguments, blocked, call_id, finish_for, finish_with_tools, invalid_response, response_id,
    Response,
};
use crate::wire::sse::{data, SseFramer};

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
    usage: Option<Usage>,
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
