//! The provider-neutral result of a chat exchange: what every translated upstream decodes
//! into (a whole [`Completion`] or a stream of [`Event`]s) and every client format encodes
//! from, and the client's API shape ([`ClientWire`]).

use std::borrow::Cow;

use super::error::ApiError;

/// The API shape the client speaks (what responses and errors are written as).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientWire {
    #[default]
    OpenAi,
    /// `/v1/messages`.
    Anthropic,
    /// `/v1/responses`.
    Responses,
}

/// Why generation stopped, in OpenAI's vocabulary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Finish {
    #[default]
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

impl Finish {
    pub fn openai(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
            Finish::ContentFilter => "content_filter",
        }
    }

    /// From an OpenAI-compatible server's `finish_reason` (non-standard values folded in).
    pub fn from_openai(s: &str) -> Finish {
        match s {
            "length" => Finish::Length,
            "tool_calls" | "function_call" => Finish::ToolCalls,
            "content_filter" => Finish::ContentFilter,
            _ => Finish::Stop,
        }
    }
}

/// Token counts: as a provider reports them, as translated streams carry them and as spend is
/// settled from (the one usage type; OpenAI's wire `usage` object converts into it in `wire`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// All input tokens, cached ones included (OpenAI's `prompt_tokens`).
    pub prompt: u64,
    pub completion: u64,
    /// Input tokens read from the provider's prompt cache (part of `prompt`).
    pub cache_read: u64,
    /// Input tokens written to the provider's prompt cache (part of `prompt`).
    pub cache_write: u64,
    /// Reasoning tokens (part of `completion`).
    pub reasoning: u64,
    /// The total as the upstream reported it (OpenAI's `total_tokens`), kept as given.
    pub reported_total: Option<u64>,
}

impl Usage {
    /// The reported total, else prompt + completion.
    pub fn total(&self) -> u64 {
        self.reported_total
            .unwrap_or_else(|| self.prompt.saturating_add(self.completion))
    }
}

/// One tool call of a finished response; `arguments` is a JSON string, as OpenAI's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A whole non-stream chat response, provider-neutral.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    pub id: String,
    pub model: String,
    pub text: Option<String>,
    pub reasoning: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Finish,
    pub usage: Usage,
}

/// One step of a translated stream.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// The response began: its id and the model that answers.
    Start {
        id: &'a str,
        model: &'a str,
    },
    Text(Cow<'a, str>),
    Reasoning(Cow<'a, str>),
    /// A tool call opens; `index` counts tool calls (0, 1, …), not content blocks.
    ToolStart {
        index: u32,
        id: Cow<'a, str>,
        name: Cow<'a, str>,
    },
    /// A piece of a tool call's JSON arguments.
    ToolArgs {
        index: u32,
        args: Cow<'a, str>,
    },
    Finish(Finish),
    Usage(Usage),
    /// The provider reported an error inside the stream.
    Error(ApiError),
    /// The stream is complete (the provider's end marker, or its clean close).
    Done,
}

/// Turns a provider's streamed body into [`Event`]s, correct at every chunk boundary.
pub trait StreamDecoder: Send {
    /// Feed the next bytes of the upstream body.
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>));
    /// The upstream closed the body: emit what the close implies (for providers whose
    /// stream ends with the connection, `Finish`, `Usage` and `Done`).
    fn finish(&mut self, _emit: &mut dyn FnMut(Event<'_>)) {}
    /// Bytes held for an event, line or message not yet complete: never more than
    /// `wire::sse::MAX_EVENT_BYTES` plus the last chunk fed.
    fn buffered(&self) -> usize;
}
