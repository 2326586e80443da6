//! NDJSON chat streams decoded into neutral [`Event`]s.

use std::borrow::Cow;

use super::super::chat::{Event, StreamDecoder};
use super::decode::{
    arguments, call_id, finish_for, invalid_response, new_response_id, ChatResponse,
};
use super::errors::{error_text, stream_error};
use crate::wire::sse::{Oversized, MAX_EVENT_BYTES};

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
