//! Anthropic's Messages event stream (`message_start` … `message_stop`), written from the
//! neutral stream events.

use super::*;

/// What kind of content block is open in the client's stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    Tool(u32),
}

/// Renders [`Event`]s as Anthropic's event stream (message_start … message_stop).
pub struct AnthropicEvents {
    model: String,
    started: bool,
    open: Option<Block>,
    next_index: u32,
    finish: Option<Finish>,
    usage: Usage,
    done: bool,
}

impl AnthropicEvents {
    /// `model` is the name the client asked for (used when the upstream gives none).
    pub fn new(model: &str) -> AnthropicEvents {
        AnthropicEvents {
            model: model.to_string(),
            started: false,
            open: None,
            next_index: 0,
            finish: None,
            usage: Usage::default(),
            done: false,
        }
    }

    fn event(out: &mut BytesMut, name: &str, data: &[u8]) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\n\n");
    }

    fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let model = if model.is_empty() { &self.model } else { model };
        let data = json!({"type": "message_start", "message": {
            "id": msg_id(id), "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": self.usage.prompt, "output_tokens": 0}}});
        Self::event(
            out,
            "message_start",
            &serde_json::to_vec(&data).unwrap_or_default(),
        );
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.open.take().is_some() {
            let index = self.next_index - 1;
            let data = format!("{{\"type\":\"content_block_stop\",\"index\":{index}}}");
            Self::event(out, "content_block_stop", data.as_bytes());
        }
    }

    /// Open a block of `kind` unless it is the one open; `start` is its content_block JSON.
    fn open(&mut self, kind: Block, start: impl FnOnce(&mut BytesMut), out: &mut BytesMut) {
        if !self.started {
            self.start("msg_switchyard", "", out);
        }
        if self.open == Some(kind) {
            return;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(kind);
        out.extend_from_slice(
            b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":",
        );
        push_u64(out, u64::from(index));
        out.extend_from_slice(b",\"content_block\":");
        start(out);
        out.extend_from_slice(b"}\n\n");
    }

    fn delta(&self, out: &mut BytesMut, kind: &str, field: &str, value: &str) {
        let index = self.next_index.saturating_sub(1);
        out.extend_from_slice(
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
        );
        push_u64(out, u64::from(index));
        out.extend_from_slice(b",\"delta\":{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":");
        json_into(out, value);
        out.extend_from_slice(b"}}\n\n");
    }

    /// Append the client bytes for one event.
    pub fn event_into(&mut self, e: Event<'_>, out: &mut BytesMut) {
        match e {
            Event::Start { id, model } => self.start(id, model, out),
            Event::Text(t) => {
                if t.is_empty() {
                    return;
                }
                self.open(
                    Block::Text,
                    |o| o.extend_from_slice(b"{\"type\":\"text\",\"text\":\"\"}"),
                    out,
                );
                self.delta(out, "text_delta", "text", &t);
            }
            Event::Reasoning(t) => {
                self.open(
                    Block::Thinking,
                    |o| o.extend_from_slice(b"{\"type\":\"thinking\",\"thinking\":\"\"}"),
                    out,
                );
                self.delta(out, "thinking_delta", "thinking", &t);
            }
            Event::ToolStart { index, id, name } => {
                // A new tool call always opens a new block.
                self.close(out);
                self.open(
                    Block::Tool(index),
                    |o| {
                        o.extend_from_slice(b"{\"type\":\"tool_use\",\"id\":");
                        json_into(o, &id);
                        o.extend_from_slice(b",\"name\":");
                        json_into(o, &name);
                        o.extend_from_slice(b",\"input\":{}}");
                    },
                    out,
                );
            }
            Event::ToolArgs { index, args } => {
                if self.open == Some(Block::Tool(index)) {
                    self.delta(out, "input_json_delta", "partial_json", &args);
                }
            }
            Event::Finish(f) => self.finish = Some(f),
            Event::Usage(u) => self.usage = u,
            Event::Error(err) => self.error(&err, out),
            Event::Done => self.end(out),
        }
    }

    /// An `error` event (after the stream was committed).
    pub fn error(&mut self, err: &ApiError, out: &mut BytesMut) {
        out.extend_from_slice(&Self::error_event(err));
    }

    /// The bytes of an `error` event.
    pub fn error_event(err: &ApiError) -> Bytes {
        let mut out = BytesMut::new();
        Self::event(&mut out, "error", &error_body(err));
        out.freeze()
    }

    fn end(&mut self, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.done = true;
        if !self.started {
            self.start("msg_switchyard", "", out);
        }
        self.close(out);
        let u = usage_out(&self.usage);
        let data = json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.finish.unwrap_or_default()), "stop_sequence": null},
            "usage": u});
        Self::event(
            out,
            "message_delta",
            &serde_json::to_vec(&data).unwrap_or_default(),
        );
        Self::event(out, "message_stop", b"{\"type\":\"message_stop\"}");
    }
}
