//! What one request's exchange recorded: the deployment that answered, attempts, usage,
//! timings, and what the answer named (its id, and the model an unpriced deployment is
//! priced by).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::chat::Usage;
use crate::pricing::cost::{answer_price, Price};
use crate::providers::answer_names::answer_names;
use crate::router::Deployment;

/// What one request's exchange recorded, for logging and metrics.
#[derive(Default)]
pub struct Record {
    pub deployment: Option<Arc<Deployment>>,
    pub attempts: u32,
    pub usage: Option<Usage>,
    /// Time spent waiting on upstreams before the response was committed.
    pub upstream_wait: Duration,
    pub committed_at: Option<Instant>,
    /// SSE events read from the upstream (about one token each), for streams cut short.
    pub stream_events: u64,
    /// The client left while an upstream was answering it: the prompt is billed at least.
    pub abandoned: bool,
    /// The price to bill at when it is not the serving deployment's (pass-through calls,
    /// priced by the model they name; an unpriced deployment, by the model its answer names).
    pub price: Option<Price>,
    /// The answer's `id` (`chatcmpl-...`), which LiteLLM's spend logs are found by.
    pub response_id: Option<String>,
    /// Fallback groups tried.
    pub fallbacks: u32,
    /// The error the client got when nothing was served: its type and message.
    pub failure: Option<(crate::core::error::ErrorKind, String)>,
    /// What only logging sinks read; `None` when no sink runs (nothing kept, nothing paid).
    pub detail: Option<Box<Detail>>,
    /// Keep the prompt and answer for a key with logging destinations of its own.
    pub key_bodies: bool,
}

/// What logging sinks read besides the record: span timings and ids, the prompt and answer.
#[derive(Default)]
pub struct Detail {
    /// A tracing sink runs: admission and attempts are timed.
    pub spans: bool,
    pub trace_id: [u8; 16],
    /// The client's span, from its `traceparent`.
    pub parent: Option<[u8; 8]>,
    /// The request's own span.
    pub span_id: [u8; 8],
    /// Upstream requests carry a `traceparent` naming their attempt's span.
    pub forward: bool,
    /// Admission: start, end, admitted.
    pub admission: Option<(Instant, Instant, bool)>,
    /// The span of the attempt under way.
    pub current: Option<[u8; 8]>,
    pub attempts: Vec<Try>,
    /// Keep the prompt and answer (message logging on); else they are logged redacted.
    pub bodies: bool,
    pub messages: Option<bytes::Bytes>,
    pub response: Option<bytes::Bytes>,
}

/// One upstream attempt, timed.
pub struct Try {
    pub deployment: Arc<Deployment>,
    pub span_id: [u8; 8],
    pub start: Instant,
    pub end: Instant,
    /// The status it ended with (0: the client left).
    pub status: u16,
    pub error: Option<crate::core::error::ErrorKind>,
}

impl Detail {
    /// The `traceparent` of the attempt under way, when it is forwarded upstream.
    pub fn traceparent(&self) -> Option<String> {
        let span = self.current.filter(|_| self.forward)?;
        Some(format!(
            "00-{}-{}-01",
            crate::core::ids::hex(&self.trace_id),
            crate::core::ids::hex(&span)
        ))
    }
}

impl Record {
    /// Notes what the answer `body` (JSON, or a stream's first events) names: its id, and
    /// for a deployment without a price, the price of the model it names (LiteLLM prices an
    /// Azure deployment `chatgpt-v-2` by the `gpt-35-turbo` its answers name).
    pub(crate) fn note_answer(&mut self, dep: &Deployment, asked: &str, body: &[u8]) {
        let names = answer_names(body);
        self.response_id = names.id.map(str::to_string);
        if dep.price.known {
            return;
        }
        let own = dep.price_for(asked);
        self.price = Some(match names.model {
            Some(m) if !own.known => {
                answer_price(dep.backend.provider_label(), m, own.max_output).unwrap_or(own)
            }
            _ => own,
        });
    }
}
