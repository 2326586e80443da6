//! The Responses `response` object and its output items, written for whole responses and
//! for the stream's lifecycle events.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};

use crate::core::chat::{Completion, Finish, Usage};
use crate::core::clock::unix_now;
use crate::core::error::ApiError;
use crate::core::ids::new_uuid;
use crate::core::json::json_into;

/// A response's lifecycle state, as `status` and the event that announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    InProgress,
    Completed,
    /// Stopped early; the `incomplete_details.reason`.
    Incomplete(&'static str),
    Failed,
}

impl Status {
    pub(super) fn of(f: Finish) -> Status {
        match f {
            Finish::Length => Status::Incomplete("max_output_tokens"),
            Finish::ContentFilter => Status::Incomplete("content_filter"),
            Finish::Stop | Finish::ToolCalls => Status::Completed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete(_) => "incomplete",
            Status::Failed => "failed",
        }
    }

    /// The status of the item the response stopped in.
    pub(super) fn last_item(self) -> &'static str {
        match self {
            Status::Incomplete(_) => "incomplete",
            _ => "completed",
        }
    }
}

/// Response fields Switchyard does not vary (request settings are not echoed back), and the
/// object's closing brace.
const RESPONSE_CONSTANTS: &str = concat!(
    r#""instructions":null,"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"#,
    r#""temperature":null,"top_p":null,"max_output_tokens":null,"previous_response_id":null,"#,
    r#""reasoning":{"effort":null,"summary":null},"text":{"format":{"type":"text"}},"#,
    r#""truncation":"disabled","metadata":{},"store":false}"#
);

/// The id part shared by the response and its items: the upstream id without its prefix,
/// or a new one.
pub(super) fn id_base(id: &str) -> String {
    let base = id
        .trim_start_matches("chatcmpl-")
        .trim_start_matches("resp_");
    if base.is_empty() {
        new_uuid().replace('-', "")
    } else {
        base.to_string()
    }
}

/// The opening fields of a response object, rendered once per response:
/// `{"id":…,"object":"response","created_at":…,"model":…,`.
pub(super) fn response_head(base: &str, model: &str) -> String {
    // Serializing a string cannot fail.
    let string = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "{{\"id\":{},\"object\":\"response\",\"created_at\":{},\"model\":{},",
        string(&format!("resp_{base}")),
        unix_now(),
        string(model)
    )
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.total(),
    })
}

/// `response.failed`'s `error.code` (a closed set in the SDK).
fn failure_code(err: &ApiError) -> &'static str {
    if err.status == 429 {
        "rate_limit_exceeded"
    } else {
        "server_error"
    }
}

/// Append a whole response object after its `head`.
pub(super) fn write_response(
    out: &mut BytesMut,
    head: &str,
    status: Status,
    error: Option<&ApiError>,
    output: &[Value],
    usage: Option<&Usage>,
) {
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"\"status\":\"");
    out.extend_from_slice(status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"incomplete_details\":");
    match status {
        Status::Incomplete(reason) => {
            out.extend_from_slice(b"{\"reason\":\"");
            out.extend_from_slice(reason.as_bytes());
            out.extend_from_slice(b"\"}");
        }
        _ => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"error\":");
    match error {
        Some(e) => {
            out.extend_from_slice(b"{\"code\":\"");
            out.extend_from_slice(failure_code(e).as_bytes());
            out.extend_from_slice(b"\",\"message\":");
            json_into(out, &e.message);
            out.extend_from_slice(b"}");
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"output\":");
    write_json(out, output);
    out.extend_from_slice(b",\"usage\":");
    match usage {
        Some(u) => write_json(out, &usage_json(u)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",");
    out.extend_from_slice(RESPONSE_CONSTANTS.as_bytes());
}

pub(super) fn write_json(out: &mut BytesMut, v: &(impl serde::Serialize + ?Sized)) {
    if let Err(e) = serde_json::to_writer(out.writer(), v) {
        log::debug!("responses json: {e}");
    }
}

/// What an output item is, with the fields only its kind has.
#[derive(Debug)]
pub(super) enum ItemKind {
    Reasoning,
    Message,
    Call { call_id: String, name: String },
}

/// One output item; `text` is the reasoning summary, message text or call arguments.
#[derive(Debug)]
pub(super) struct Item {
    pub(super) kind: ItemKind,
    pub(super) id: String,
    pub(super) text: String,
    pub(super) status: &'static str,
}

impl Item {
    pub(super) fn new(kind: ItemKind, base: &str, index: usize, text: String) -> Item {
        let prefix = match kind {
            ItemKind::Reasoning => "rs",
            ItemKind::Message => "msg",
            ItemKind::Call { .. } => "fc",
        };
        Item {
            kind,
            id: format!("{prefix}_{base}_{index}"),
            text,
            status: "in_progress",
        }
    }

    /// The item as it stands; `fresh` is the empty shape `output_item.added` carries.
    pub(super) fn json(&self, fresh: bool) -> Value {
        match &self.kind {
            ItemKind::Reasoning => {
                let summary = if fresh {
                    json!([])
                } else {
                    json!([{"type": "summary_text", "text": self.text}])
                };
                json!({"type": "reasoning", "id": self.id, "summary": summary})
            }
            ItemKind::Message => {
                let content = if fresh {
                    json!([])
                } else {
                    json!([{"type": "output_text", "text": self.text, "annotations": []}])
                };
                json!({"type": "message", "id": self.id, "status": self.status,
                    "role": "assistant", "content": content})
            }
            ItemKind::Call { call_id, name } => json!({"type": "function_call", "id": self.id,
                "call_id": call_id, "name": name, "arguments": self.text, "status": self.status}),
        }
    }
}

/// The output items of a finished completion, in Responses order.
fn completion_items(c: &Completion, base: &str, status: Status) -> Vec<Item> {
    let mut items = Vec::with_capacity(2 + c.tool_calls.len());
    if let Some(r) = c.reasoning.as_deref().filter(|r| !r.is_empty()) {
        items.push(Item::new(ItemKind::Reasoning, base, items.len(), r.into()));
    }
    if let Some(t) = c.text.as_deref().filter(|t| !t.is_empty()) {
        items.push(Item::new(ItemKind::Message, base, items.len(), t.into()));
    }
    for t in &c.tool_calls {
        let kind = ItemKind::Call {
            call_id: t.id.clone(),
            name: t.name.clone(),
        };
        items.push(Item::new(kind, base, items.len(), t.arguments.clone()));
    }
    for i in &mut items {
        i.status = "completed";
    }
    if let Some(last) = items.last_mut() {
        last.status = status.last_item();
    }
    items
}

/// A whole response as a Responses API `response` object.
pub fn response_body(c: &Completion, model: &str) -> Bytes {
    let base = id_base(&c.id);
    let model = if c.model.is_empty() { model } else { &c.model };
    let status = Status::of(c.finish);
    let output: Vec<Value> = completion_items(c, &base, status)
        .iter()
        .map(|i| i.json(false))
        .collect();
    let mut out = BytesMut::new();
    let head = response_head(&base, model);
    write_response(&mut out, &head, status, None, &output, Some(&c.usage));
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chat::ToolCall;

    fn completion(finish: Finish) -> Completion {
        Completion {
            id: "chatcmpl-abc".into(),
            model: "gpt-up".into(),
            text: Some("Hello".into()),
            reasoning: None,
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{\"x\":1}".into(),
            }],
            finish,
            usage: Usage {
                prompt: 10,
                completion: 5,
                cache_read: 4,
                cache_write: 0,
                reasoning: 2,
                reported_total: None,
            },
        }
    }

    #[test]
    fn non_stream_body_has_response_shape() {
        let v: Value =
            serde_json::from_slice(&response_body(&completion(Finish::ToolCalls), "m")).unwrap();
        assert_eq!(v["id"], "resp_abc");
        assert_eq!(v["object"], "response");
        assert!(v["created_at"].as_u64().unwrap() > 0);
        assert_eq!(v["status"], "completed");
        assert_eq!(v["incomplete_details"], Value::Null);
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["model"], "gpt-up");
        assert_eq!(
            v["output"],
            json!([
                {"type": "message", "id": "msg_abc_0", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Hello", "annotations": []}]},
                {"type": "function_call", "id": "fc_abc_1", "call_id": "call_1", "name": "f",
                 "arguments": "{\"x\":1}", "status": "completed"}
            ])
        );
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
                "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2},
                "total_tokens": 15})
        );
        assert!(v.get("output_text").is_none());
        assert_eq!(v["store"], false);
        assert_eq!(v["text"], json!({"format": {"type": "text"}}));
    }

    #[test]
    fn non_stream_length_is_incomplete() {
        let mut c = completion(Finish::Length);
        c.tool_calls.clear();
        c.reasoning = Some("think".into());
        let v: Value = serde_json::from_slice(&response_body(&c, "m")).unwrap();
        assert_eq!(v["status"], "incomplete");
        assert_eq!(
            v["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(
            v["output"][0],
            json!({"type": "reasoning", "id": "rs_abc_0",
                "summary": [{"type": "summary_text", "text": "think"}]})
        );
        assert_eq!(v["output"][1]["status"], "incomplete");
        let c = Completion {
            finish: Finish::ContentFilter,
            ..Completion::default()
        };
        let v: Value = serde_json::from_slice(&response_body(&c, "m")).unwrap();
        assert_eq!(v["incomplete_details"]["reason"], "content_filter");
        assert_eq!(v["model"], "m");
        assert!(v["id"].as_str().unwrap().len() > "resp_".len());
    }
}
