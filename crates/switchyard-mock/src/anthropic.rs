//! The mock's Anthropic Messages API (`POST …/v1/messages`): the same greeting and tokens
//! as the OpenAI routes, in Anthropic's message and event-stream shapes. A request with
//! `tools` is answered with a call of the first tool.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::answers::content_piece;

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
    name: String,
}

/// What the request asks for.
pub(super) struct Ask {
    model: String,
    pub stream: bool,
    tool: Option<String>,
}

pub(super) fn parse(body: &[u8]) -> Result<Ask, serde_json::Error> {
    let f: Fields = serde_json::from_slice(body)?;
    Ok(Ask {
        model: f.model.unwrap_or_else(|| "claude-mock".into()),
        stream: f.stream == Some(true),
        tool: f.tools.and_then(|t| t.into_iter().next()).map(|t| t.name),
    })
}

fn text(name: &str, chunks: usize) -> String {
    (0..chunks).map(|i| content_piece(name, i)).collect()
}

/// A whole `message` answer.
pub(super) fn message(
    ask: &Ask,
    name: &str,
    chunks: usize,
    id: u64,
    input_tokens: usize,
) -> String {
    let (content, stop) = match &ask.tool {
        Some(tool) => (
            json!([{"type": "tool_use", "id": format!("toolu_mock{id}"), "name": tool,
                    "input": {"city": "Paris"}}]),
            "tool_use",
        ),
        None => (
            json!([{"type": "text", "text": text(name, chunks)}]),
            "end_turn",
        ),
    };
    json!({"id": format!("msg_mock{id}"), "type": "message", "role": "assistant",
        "model": ask.model, "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": chunks,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    .to_string()
}

fn event(name: &str, data: serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The event stream of an answer.
pub(super) fn events(
    ask: &Ask,
    name: &str,
    chunks: usize,
    id: u64,
    input_tokens: usize,
) -> Vec<Bytes> {
    let mut out = Vec::with_capacity(chunks + 8);
    out.push(event(
        "message_start",
        json!({"type": "message_start", "message": {
        "id": format!("msg_mock{id}"), "type": "message", "role": "assistant", "model": ask.model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "output_tokens": 1}}}),
    ));
    let stop = match &ask.tool {
        Some(tool) => {
            out.push(event("content_block_start", json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": format!("toolu_mock{id}"), "name": tool, "input": {}}})));
            for piece in ["", "{\"city\": ", "\"Paris\"}"] {
                out.push(event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ));
            }
            "tool_use"
        }
        None => {
            out.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ));
            out.push(event("ping", json!({"type": "ping"})));
            for i in 0..chunks {
                out.push(event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": content_piece(name, i)}}),
                ));
            }
            "end_turn"
        }
    };
    out.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(event(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": chunks}}),
    ));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}
