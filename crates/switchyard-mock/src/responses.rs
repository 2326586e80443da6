//! The mock's OpenAI Responses API (`POST …/responses`): the same greeting and tokens as the
//! chat route, as a `response` object or its event stream (`response.created` …
//! `response.completed`). A request with `tools` is answered with a call of the first one.
//! Rendered here, not by the gateway's encoder, so that a test of the gateway's Responses
//! translation compares it with an independent writer.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use super::answers::{content_piece, now_secs};

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    name: Option<String>,
}

pub(super) struct Ask {
    model: String,
    pub stream: bool,
    tool: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<Ask, serde_json::Error> {
    let f: Fields = serde_json::from_slice(body)?;
    Ok(Ask {
        model: f.model.unwrap_or_else(|| "mock-model".into()),
        stream: f.stream == Some(true),
        tool: f.tools.and_then(|t| t.into_iter().find_map(|t| t.name)),
    })
}

/// The arguments of every tool call the mock makes.
const CALL_ARGUMENTS: &str = r#"{"city":"Paris"}"#;

/// One answer's output item: the message with its text, or the call of the asked tool.
struct Item {
    id: String,
    call: Option<(String, String)>,
    text: String,
}

impl Item {
    fn of(ask: &Ask, name: &str, chunks: usize, id: u64) -> Item {
        match &ask.tool {
            Some(tool) => Item {
                id: format!("fc_mock{id}_0"),
                call: Some((format!("call_mock{id}"), tool.clone())),
                text: CALL_ARGUMENTS.into(),
            },
            None => Item {
                id: format!("msg_mock{id}_0"),
                call: None,
                text: (0..chunks).map(|i| content_piece(name, i)).collect(),
            },
        }
    }

    /// The item as `output_item.added` announces it (`done == false`) or as it ends.
    fn json(&self, done: bool) -> Value {
        let status = if done { "completed" } else { "in_progress" };
        match &self.call {
            Some((call_id, name)) => json!({"type": "function_call", "id": self.id,
                "call_id": call_id, "name": name,
                "arguments": if done { self.text.as_str() } else { "" }, "status": status}),
            None => {
                let content = if done {
                    json!([{"type": "output_text", "text": self.text, "annotations": []}])
                } else {
                    json!([])
                };
                json!({"type": "message", "id": self.id, "status": status,
                    "role": "assistant", "content": content})
            }
        }
    }
}

/// The `response` object; `item` is `None` while the response is in progress.
fn response(ask: &Ask, id: u64, item: Option<&Item>, prompt: usize, chunks: usize) -> Value {
    let (status, output, usage) = match item {
        None => ("in_progress", json!([]), Value::Null),
        Some(i) => (
            "completed",
            json!([i.json(true)]),
            json!({"input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": chunks,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": prompt + chunks}),
        ),
    };
    json!({"id": format!("resp_mock{id}"), "object": "response", "created_at": now_secs(),
        "model": ask.model, "status": status, "error": null, "incomplete_details": null,
        "output": output, "usage": usage, "parallel_tool_calls": true, "tool_choice": "auto",
        "tools": [], "store": false, "text": {"format": {"type": "text"}}})
}

/// A whole `response` object.
pub(super) fn answer(ask: &Ask, name: &str, chunks: usize, id: u64, prompt: usize) -> Bytes {
    let item = Item::of(ask, name, chunks, id);
    Bytes::from(response(ask, id, Some(&item), prompt, chunks).to_string())
}

/// Numbered `event:`/`data:` frames, in order.
struct Frames {
    out: Vec<Bytes>,
}

impl Frames {
    fn push(&mut self, name: &str, fields: Value) {
        let mut data = serde_json::Map::new();
        data.insert("type".into(), name.into());
        data.insert("sequence_number".into(), self.out.len().into());
        if let Value::Object(m) = fields {
            data.extend(m);
        }
        let data = Value::Object(data);
        self.out
            .push(Bytes::from(format!("event: {name}\ndata: {data}\n\n")));
    }
}

/// The event stream of an answer, one piece of text (or the call's arguments) per delta.
pub(super) fn events(ask: &Ask, name: &str, chunks: usize, id: u64, prompt: usize) -> Vec<Bytes> {
    let item = Item::of(ask, name, chunks, id);
    let mut f = Frames {
        out: Vec::with_capacity(chunks + 10),
    };
    let at = |extra: Value| {
        let mut v = json!({"item_id": item.id, "output_index": 0});
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    };
    let started = json!({"response": response(ask, id, None, prompt, 0)});
    f.push("response.created", started.clone());
    f.push("response.in_progress", started);
    f.push(
        "response.output_item.added",
        json!({"output_index": 0, "item": item.json(false)}),
    );
    match &item.call {
        Some(_) => {
            f.push(
                "response.function_call_arguments.delta",
                at(json!({"delta": item.text})),
            );
            f.push(
                "response.function_call_arguments.done",
                at(json!({"arguments": item.text})),
            );
        }
        None => {
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            f.push(
                "response.content_part.added",
                at(json!({"content_index": 0, "part": part("")})),
            );
            for i in 0..chunks {
                let delta = content_piece(name, i);
                f.push(
                    "response.output_text.delta",
                    at(json!({"content_index": 0, "delta": delta, "logprobs": []})),
                );
            }
            f.push(
                "response.output_text.done",
                at(json!({"content_index": 0, "text": item.text, "logprobs": []})),
            );
            f.push(
                "response.content_part.done",
                at(json!({"content_index": 0, "part": part(&item.text)})),
            );
        }
    }
    f.push(
        "response.output_item.done",
        json!({"output_index": 0, "item": item.json(true)}),
    );
    f.push(
        "response.completed",
        json!({"response": response(ask, id, Some(&item), prompt, chunks)}),
    );
    f.out
}
