//! The mock's OpenAI Responses API (`POST …/responses`): the same greeting and tokens as the
//! chat route, rendered by the gateway's own Responses encoder. A request with `tools` is
//! answered with a call of the first one.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use super::answers::content_piece;
use crate::api::responses::{response_body, ResponsesEvents};
use crate::providers::chat::{Completion, Event, Finish, TokenUsage, ToolCall};

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

fn usage(prompt: usize, chunks: usize) -> TokenUsage {
    TokenUsage {
        prompt: prompt as u64,
        completion: chunks as u64,
        ..TokenUsage::default()
    }
}

/// A whole `response` object.
pub(super) fn answer(ask: &Ask, name: &str, chunks: usize, id: u64, prompt: usize) -> Bytes {
    let mut c = Completion {
        id: format!("mock{id}"),
        model: ask.model.clone(),
        usage: usage(prompt, chunks),
        ..Completion::default()
    };
    match &ask.tool {
        Some(t) => {
            c.tool_calls.push(ToolCall {
                id: format!("call_mock{id}"),
                name: t.clone(),
                arguments: r#"{"city":"Paris"}"#.into(),
            });
            c.finish = Finish::ToolCalls;
        }
        None => c.text = Some((0..chunks).map(|i| content_piece(name, i)).collect()),
    }
    response_body(&c, &ask.model)
}

/// The event stream of an answer, one piece per event.
pub(super) fn events(ask: &Ask, name: &str, chunks: usize, id: u64, prompt: usize) -> Vec<Bytes> {
    let mut w = ResponsesEvents::new(&ask.model);
    let mut out = Vec::with_capacity(chunks + 4);
    let mut emit = |e: Event<'_>| {
        let mut b = BytesMut::new();
        w.event_into(e, &mut b);
        if !b.is_empty() {
            out.push(b.freeze());
        }
    };
    let rid = format!("mock{id}");
    emit(Event::Start {
        id: &rid,
        model: &ask.model,
    });
    match &ask.tool {
        Some(t) => {
            emit(Event::ToolStart {
                index: 0,
                id: format!("call_mock{id}").into(),
                name: t.as_str().into(),
            });
            emit(Event::ToolArgs {
                index: 0,
                args: r#"{"city":"Paris"}"#.into(),
            });
            emit(Event::Finish(Finish::ToolCalls));
        }
        None => {
            for i in 0..chunks {
                emit(Event::Text(content_piece(name, i).into()));
            }
            emit(Event::Finish(Finish::Stop));
        }
    }
    emit(Event::Usage(usage(prompt, chunks)));
    emit(Event::Done);
    out
}
