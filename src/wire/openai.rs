//! The neutral result rendered as OpenAI's chat/completions: whole responses and
//! `chat.completion.chunk` streams, with per-response constants rendered once.

use bytes::BytesMut;

use crate::core::call::json_string;
use crate::core::chat::{Completion, Event, Finish, ToolCall, Usage};
use crate::core::json::{json_into, push_u64};

/// Render a [`Completion`] as OpenAI's `chat.completion` JSON (serialized from borrowed
/// structs, no intermediate tree).
pub fn openai_completion(c: &Completion, created: u64) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        id: &'a str,
        object: &'static str,
        created: u64,
        model: &'a str,
        choices: [Choice<'a>; 1],
        usage: UsageOut,
    }
    #[derive(serde::Serialize)]
    struct Choice<'a> {
        index: u32,
        message: MessageOut<'a>,
        logprobs: Option<()>,
        finish_reason: &'static str,
    }
    #[derive(serde::Serialize)]
    struct MessageOut<'a> {
        role: &'static str,
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<&'a str>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        tool_calls: &'a [ToolCall],
    }
    let body = Body {
        id: &c.id,
        object: "chat.completion",
        created,
        model: &c.model,
        choices: [Choice {
            index: 0,
            message: MessageOut {
                role: "assistant",
                content: c.text.as_deref(),
                reasoning_content: c.reasoning.as_deref(),
                tool_calls: &c.tool_calls,
            },
            logprobs: None,
            finish_reason: c.finish.openai(),
        }],
        usage: usage_out(&c.usage),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

impl serde::Serialize for ToolCall {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(serde::Serialize)]
        struct Function<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        let mut st = s.serialize_struct("ToolCall", 3)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("type", "function")?;
        st.serialize_field(
            "function",
            &Function {
                name: &self.name,
                arguments: &self.arguments,
            },
        )?;
        st.end()
    }
}

#[derive(serde::Serialize)]
struct UsageOut {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetailsOut,
    completion_tokens_details: CompletionDetailsOut,
}

#[derive(serde::Serialize)]
struct PromptDetailsOut {
    cached_tokens: u64,
    cache_creation_tokens: u64,
}

#[derive(serde::Serialize)]
struct CompletionDetailsOut {
    reasoning_tokens: u64,
}

fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.prompt,
        completion_tokens: u.completion,
        total_tokens: u.total(),
        prompt_tokens_details: PromptDetailsOut {
            cached_tokens: u.cache_read,
            cache_creation_tokens: u.cache_write,
        },
        completion_tokens_details: CompletionDetailsOut {
            reasoning_tokens: u.reasoning,
        },
    }
}

/// Renders [`Event`]s as OpenAI `chat.completion.chunk` SSE, with the per-response prefix
/// (`id`, `created`, `model`) rendered once.
#[derive(Default)]
pub struct OpenAiChunks {
    prefix: Vec<u8>,
    include_usage: bool,
    role_sent: bool,
    finish: Option<Finish>,
    usage: Option<Usage>,
    done: bool,
}

impl OpenAiChunks {
    pub fn new(include_usage: bool) -> OpenAiChunks {
        OpenAiChunks {
            include_usage,
            ..OpenAiChunks::default()
        }
    }

    fn start(&mut self, id: &str, model: &str, created: u64) {
        self.prefix.clear();
        self.prefix.extend_from_slice(b"data: {\"id\":");
        self.prefix.extend_from_slice(&json_string(id));
        self.prefix
            .extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        self.prefix
            .extend_from_slice(created.to_string().as_bytes());
        self.prefix.extend_from_slice(b",\"model\":");
        self.prefix.extend_from_slice(&json_string(model));
        self.prefix.extend_from_slice(b",\"choices\":[");
    }

    fn chunk(&mut self, out: &mut BytesMut, delta: impl FnOnce(&mut BytesMut)) {
        if self.prefix.is_empty() {
            self.start("chatcmpl-switchyard", "", crate::core::clock::unix_now());
        }
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{");
        if !self.role_sent {
            self.role_sent = true;
            out.extend_from_slice(b"\"role\":\"assistant\",");
        }
        let before = out.len();
        delta(out);
        if out.len() == before && out.last() == Some(&b',') {
            out.truncate(out.len() - 1);
        }
        out.extend_from_slice(b"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    }

    /// Append the client bytes for one event.
    pub fn event(&mut self, e: Event<'_>, out: &mut BytesMut) {
        match e {
            Event::Start { id, model } => {
                self.start(id, model, crate::core::clock::unix_now());
                self.chunk(out, |o| o.extend_from_slice(b"\"content\":\"\""));
            }
            Event::Text(t) => {
                if !t.is_empty() {
                    self.chunk(out, |o| {
                        o.extend_from_slice(b"\"content\":");
                        json_into(o, &t);
                    })
                }
            }
            Event::Reasoning(t) => self.chunk(out, |o| {
                o.extend_from_slice(b"\"reasoning_content\":");
                json_into(o, &t);
            }),
            Event::ToolStart { index, id, name } => self.chunk(out, |o| {
                o.extend_from_slice(b"\"tool_calls\":[{\"index\":");
                push_u64(o, u64::from(index));
                o.extend_from_slice(b",\"id\":");
                json_into(o, &id);
                o.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
                json_into(o, &name);
                o.extend_from_slice(b",\"arguments\":\"\"}}]");
            }),
            Event::ToolArgs { index, args } => {
                if !args.is_empty() {
                    self.chunk(out, |o| {
                        o.extend_from_slice(b"\"tool_calls\":[{\"index\":");
                        push_u64(o, u64::from(index));
                        o.extend_from_slice(b",\"function\":{\"arguments\":");
                        json_into(o, &args);
                        o.extend_from_slice(b"}}]");
                    })
                }
            }
            Event::Finish(f) => self.finish = Some(f),
            Event::Usage(u) => self.usage = Some(u),
            Event::Error(err) => {
                out.extend_from_slice(&err.sse_event());
            }
            Event::Done => self.end(out),
        }
    }

    /// The closing chunks: finish reason, the usage chunk if asked for, `[DONE]`.
    fn end(&mut self, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.done = true;
        if self.prefix.is_empty() {
            self.start("chatcmpl-switchyard", "", crate::core::clock::unix_now());
        }
        let finish = self.finish.unwrap_or_default();
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"");
        out.extend_from_slice(finish.openai().as_bytes());
        out.extend_from_slice(b"\"}]}\n\n");
        if let (true, Some(u)) = (self.include_usage, self.usage) {
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(b"],\"usage\":");
            out.extend_from_slice(
                serde_json::to_vec(&usage_out(&u))
                    .unwrap_or_default()
                    .as_slice(),
            );
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}
