//! OpenAI chat/completions SSE streams decoded into neutral [`Event`]s.

use super::super::chat::{Event, Finish, StreamDecoder};
use super::decode::ChunkIn;
use super::errors::decode_openai_error;
use crate::wire::sse::{self, ChunkKind, SseFramer};

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
