//! The Responses event stream (`response.created` … `response.completed`) written from the
//! neutral [`Event`]s.

use bytes::BytesMut;
use serde_json::Value;

use super::object::{id_base, response_head, write_json, write_response, Item, ItemKind, Status};
use crate::core::chat::{Event, Finish, Usage};
use crate::core::error::ApiError;
use crate::core::json::json_into;

/// Renders [`Event`]s as the Responses event stream (`response.created` …
/// `response.completed`), numbering events from 0.
pub struct ResponsesEvents {
    model: String,
    /// The response's opening fields, once the response has started.
    head: Option<String>,
    base: String,
    sequence: u64,
    items: Vec<Item>,
    /// The open reasoning or message item (a position in `items`).
    open: Option<usize>,
    /// Open tool calls: the stream's tool index and the item's position.
    calls: Vec<(u32, usize)>,
    finish: Option<Finish>,
    usage: Option<Usage>,
    done: bool,
}

impl ResponsesEvents {
    /// `model` is the name the client asked for (used when the upstream gives none).
    pub fn new(model: &str) -> ResponsesEvents {
        ResponsesEvents {
            model: model.to_string(),
            head: None,
            base: String::new(),
            sequence: 0,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
            done: false,
        }
    }

    /// Append one event: `fields` writes the data's members after `type` and
    /// `sequence_number`, each with a leading comma.
    fn emit(&mut self, out: &mut BytesMut, name: &str, fields: impl FnOnce(&mut BytesMut)) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\ndata: {\"type\":\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\",\"sequence_number\":");
        crate::core::json::push_u64(out, self.sequence);
        self.sequence += 1;
        fields(out);
        out.extend_from_slice(b"}\n\n");
    }

    /// An event about item `index`: `item_id` and `output_index`, then `fields`.
    fn emit_for(
        &mut self,
        out: &mut BytesMut,
        name: &str,
        index: usize,
        fields: impl FnOnce(&mut BytesMut),
    ) {
        let id = std::mem::take(&mut self.items[index].id);
        self.emit(out, name, |o| {
            o.extend_from_slice(b",\"item_id\":");
            json_into(o, &id);
            o.extend_from_slice(b",\"output_index\":");
            crate::core::json::push_u64(o, index as u64);
            fields(o);
        });
        self.items[index].id = id;
    }

    /// `response.output_item.added` or `.done` for item `index`.
    fn emit_item(&mut self, out: &mut BytesMut, name: &str, index: usize) {
        let item = self.items[index].json(name == "response.output_item.added");
        self.emit(out, name, |o| {
            o.extend_from_slice(b",\"output_index\":");
            crate::core::json::push_u64(o, index as u64);
            o.extend_from_slice(b",\"item\":");
            write_json(o, &item);
        });
    }

    /// A lifecycle event carrying the whole response.
    fn emit_response(&mut self, out: &mut BytesMut, status: Status, error: Option<&ApiError>) {
        let head = self.head.take().unwrap_or_default();
        let output: Vec<Value> = if status == Status::InProgress {
            Vec::new()
        } else {
            self.items.iter().map(|i| i.json(false)).collect()
        };
        let usage = self.usage.filter(|_| status != Status::InProgress);
        let name = match status {
            Status::InProgress if self.sequence == 0 => "response.created",
            Status::InProgress => "response.in_progress",
            Status::Completed => "response.completed",
            Status::Incomplete(_) => "response.incomplete",
            Status::Failed => "response.failed",
        };
        self.emit(out, name, |o| {
            o.extend_from_slice(b",\"response\":");
            write_response(o, &head, status, error, &output, usage.as_ref());
        });
        self.head = Some(head);
    }

    fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.head.is_some() {
            return;
        }
        self.base = id_base(id);
        let model = if model.is_empty() { &self.model } else { model };
        self.head = Some(response_head(&self.base, model));
        self.emit_response(out, Status::InProgress, None);
        self.emit_response(out, Status::InProgress, None);
    }

    /// Open a new output item and announce it; returns its position.
    fn add_item(&mut self, kind: ItemKind, out: &mut BytesMut) -> usize {
        self.start("", "", out);
        let index = self.items.len();
        self.items
            .push(Item::new(kind, &self.base, index, String::new()));
        self.emit_item(out, "response.output_item.added", index);
        index
    }

    /// The item's final status: the last one inherits an early stop.
    fn closing_status(&self, index: usize) -> &'static str {
        match self.finish {
            Some(f) if self.done && index + 1 == self.items.len() => Status::of(f).last_item(),
            _ => "completed",
        }
    }

    /// Close the open reasoning or message item.
    fn close_open(&mut self, out: &mut BytesMut) {
        let Some(index) = self.open.take() else {
            return;
        };
        self.items[index].status = self.closing_status(index);
        let text = std::mem::take(&mut self.items[index].text);
        if matches!(self.items[index].kind, ItemKind::Message) {
            self.emit_for(out, "response.output_text.done", index, |o| {
                o.extend_from_slice(b",\"content_index\":0,\"text\":");
                json_into(o, &text);
                o.extend_from_slice(b",\"logprobs\":[]");
            });
            self.emit_for(out, "response.content_part.done", index, |o| {
                o.extend_from_slice(
                    b",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":",
                );
                json_into(o, &text);
                o.extend_from_slice(b",\"annotations\":[]}");
            });
        } else {
            self.emit_for(out, "response.reasoning_summary_text.done", index, |o| {
                o.extend_from_slice(b",\"summary_index\":0,\"text\":");
                json_into(o, &text);
            });
            self.emit_for(out, "response.reasoning_summary_part.done", index, |o| {
                o.extend_from_slice(
                    b",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":",
                );
                json_into(o, &text);
                o.extend_from_slice(b"}");
            });
        }
        self.items[index].text = text;
        self.emit_item(out, "response.output_item.done", index);
    }

    /// Close every open tool call, in the order they opened.
    fn close_calls(&mut self, out: &mut BytesMut) {
        for (_, index) in std::mem::take(&mut self.calls) {
            self.items[index].status = self.closing_status(index);
            let (name, args) = match &self.items[index].kind {
                ItemKind::Call { name, .. } => (name.clone(), self.items[index].text.clone()),
                _ => continue,
            };
            self.emit_for(out, "response.function_call_arguments.done", index, |o| {
                o.extend_from_slice(b",\"name\":");
                json_into(o, &name);
                o.extend_from_slice(b",\"arguments\":");
                json_into(o, &args);
            });
            self.emit_item(out, "response.output_item.done", index);
        }
    }

    /// Stream text into the open reasoning or message item, opening one of `kind` if needed.
    fn text(&mut self, reasoning: bool, t: &str, out: &mut BytesMut) {
        if t.is_empty() {
            return;
        }
        let open = self
            .open
            .filter(|&i| matches!(self.items[i].kind, ItemKind::Reasoning) == reasoning);
        let index = match open {
            Some(i) => i,
            None => {
                self.close_open(out);
                self.close_calls(out);
                let kind = if reasoning {
                    ItemKind::Reasoning
                } else {
                    ItemKind::Message
                };
                let i = self.add_item(kind, out);
                if reasoning {
                    self.emit_for(out, "response.reasoning_summary_part.added", i, |o| {
                        o.extend_from_slice(
                            b",\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"\"}",
                        );
                    });
                } else {
                    self.emit_for(out, "response.content_part.added", i, |o| {
                        o.extend_from_slice(
                            b",\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}",
                        );
                    });
                }
                self.open = Some(i);
                i
            }
        };
        self.items[index].text.push_str(t);
        if reasoning {
            self.emit_for(out, "response.reasoning_summary_text.delta", index, |o| {
                o.extend_from_slice(b",\"summary_index\":0,\"delta\":");
                json_into(o, t);
            });
        } else {
            self.emit_for(out, "response.output_text.delta", index, |o| {
                o.extend_from_slice(b",\"content_index\":0,\"delta\":");
                json_into(o, t);
                o.extend_from_slice(b",\"logprobs\":[]");
            });
        }
    }

    /// Append the client bytes for one event.
    pub fn event_into(&mut self, e: Event<'_>, out: &mut BytesMut) {
        if self.done {
            return;
        }
        match e {
            Event::Start { id, model } => self.start(id, model, out),
            Event::Text(t) => self.text(false, &t, out),
            Event::Reasoning(t) => self.text(true, &t, out),
            Event::ToolStart { index, id, name } => {
                if self.calls.iter().any(|&(i, _)| i == index) {
                    return;
                }
                self.close_open(out);
                let kind = ItemKind::Call {
                    call_id: id.into_owned(),
                    name: name.into_owned(),
                };
                let at = self.add_item(kind, out);
                self.calls.push((index, at));
            }
            Event::ToolArgs { index, args } => {
                let Some(&(_, at)) = self.calls.iter().find(|&&(i, _)| i == index) else {
                    log::debug!("responses stream: arguments for unknown tool call {index}");
                    return;
                };
                self.items[at].text.push_str(&args);
                self.emit_for(out, "response.function_call_arguments.delta", at, |o| {
                    o.extend_from_slice(b",\"delta\":");
                    json_into(o, &args);
                });
            }
            Event::Finish(f) => self.finish = Some(f),
            Event::Usage(u) => self.usage = Some(u),
            Event::Error(err) => self.error(&err, out),
            Event::Done => self.end(out),
        }
    }

    /// An `error` event and `response.failed` (after the stream was committed); the stream
    /// ends there.
    pub fn error(&mut self, err: &ApiError, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.start("", "", out);
        self.done = true;
        self.emit(out, "error", |o| {
            o.extend_from_slice(b",\"code\":");
            write_json(o, &err.code);
            o.extend_from_slice(b",\"message\":");
            json_into(o, &err.message);
            o.extend_from_slice(b",\"param\":");
            write_json(o, &err.param);
        });
        self.emit_response(out, Status::Failed, Some(err));
    }

    fn end(&mut self, out: &mut BytesMut) {
        self.start("", "", out);
        self.done = true;
        self.close_open(out);
        self.close_calls(out);
        let status = Status::of(self.finish.unwrap_or_default());
        self.emit_response(out, status, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Split a rendered stream into (event name, data) pairs.
    fn events(out: &BytesMut) -> Vec<(String, Value)> {
        std::str::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let mut lines = e.lines();
                let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
                let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
                assert!(lines.next().is_none());
                (name.to_string(), serde_json::from_str(data).unwrap())
            })
            .collect()
    }

    fn check_framing(evs: &[(String, Value)]) {
        for (i, (name, data)) in evs.iter().enumerate() {
            assert_eq!(data["type"], name.as_str());
            assert_eq!(data["sequence_number"], i as u64, "{name}");
        }
    }

    #[test]
    #[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
    fn stream_renders_text_then_tool_call() {
        let mut w = ResponsesEvents::new("m");
        let mut out = BytesMut::new();
        w.event_into(
            Event::Start {
                id: "chatcmpl-s1",
                model: "gpt-up",
            },
            &mut out,
        );
        w.event_into(Event::Text("Hel".into()), &mut out);
        w.event_into(Event::Text("lo".into()), &mut out);
        w.event_into(
            Event::ToolStart {
                index: 0,
                id: "call_1".into(),
                name: "f".into(),
            },
            &mut out,
        );
        for args in ["{\"x\"", ":1}"] {
            w.event_into(
                Event::ToolArgs {
                    index: 0,
                    args: args.into(),
                },
                &mut out,
            );
        }
        w.event_into(Event::Finish(Finish::ToolCalls), &mut out);
        w.event_into(
            Event::Usage(Usage {
                prompt: 7,
                completion: 3,
                ..Default::default()
            }),
            &mut out,
        );
        w.event_into(Event::Done, &mut out);
        w.event_into(Event::Done, &mut out);

        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        check_framing(&evs);
        let created = &evs[0].1["response"];
        assert_eq!(created["status"], "in_progress");
        assert_eq!(created["output"], json!([]));
        assert_eq!(created["id"], "resp_s1");
        assert_eq!(evs[4].1["item_id"], "msg_s1_0");
        assert_eq!(evs[4].1["delta"], "Hel");
        assert_eq!(evs[6].1["text"], "Hello");
        assert_eq!(evs[9].1["output_index"], 1);
        assert_eq!(evs[9].1["item"]["arguments"], "");
        assert_eq!(evs[12].1["arguments"], "{\"x\":1}");
        let done = &evs[14].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["model"], "gpt-up");
        assert_eq!(done["id"], created["id"]);
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
        assert_eq!(done["output"][1]["type"], "function_call");
        assert_eq!(done["output"][1]["call_id"], "call_1");
        assert_eq!(done["output"][1]["arguments"], "{\"x\":1}");
        assert_eq!(done["usage"]["input_tokens"], 7);
        assert_eq!(done["usage"]["total_tokens"], 10);
    }

    #[test]
    fn stream_reasoning_length_and_errors() {
        let mut w = ResponsesEvents::new("m");
        let mut out = BytesMut::new();
        w.event_into(Event::Reasoning("hmm".into()), &mut out);
        w.event_into(Event::Text("Hi".into()), &mut out);
        w.event_into(Event::Finish(Finish::Length), &mut out);
        w.event_into(Event::Done, &mut out);
        let evs = events(&out);
        check_framing(&evs);
        assert_eq!(evs[2].1["item"]["type"], "reasoning");
        assert_eq!(evs[4].0, "response.reasoning_summary_text.delta");
        let (name, last) = evs.last().unwrap();
        assert_eq!(name, "response.incomplete");
        assert_eq!(
            last["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        assert_eq!(last["response"]["output"][0]["summary"][0]["text"], "hmm");
        assert_eq!(last["response"]["output"][1]["status"], "incomplete");
        assert_eq!(last["response"]["model"], "m");

        let mut w = ResponsesEvents::new("m");
        let mut out = BytesMut::new();
        w.event_into(Event::Text("x".into()), &mut out);
        w.error(
            &ApiError::new(502, crate::core::error::ErrorKind::ApiError, "boom"),
            &mut out,
        );
        w.event_into(Event::Done, &mut out);
        let evs = events(&out);
        check_framing(&evs);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[names.len() - 2..], ["error", "response.failed"]);
        let err = &evs[evs.len() - 2].1;
        assert_eq!(
            (&err["code"], &err["message"], &err["param"]),
            (&json!("502"), &json!("boom"), &Value::Null)
        );
        let failed = &evs[evs.len() - 1].1["response"];
        assert_eq!(failed["status"], "failed");
        assert_eq!(
            failed["error"],
            json!({"code": "server_error", "message": "boom"})
        );
    }
}
