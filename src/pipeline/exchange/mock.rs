//! LiteLLM's local answers inside the exchange: `mock_response` (per request or a mock
//! deployment) and `mock_timeout`. They pick a deployment, count retries and set headers like
//! any attempt, without a socket.

use std::time::Duration;

use bytes::Bytes;
use pingora_proxy::Session;

use super::{translate, Exchange, Outcome};
use crate::core::call::{MockSpec, ModelCall};
use crate::core::chat::{ClientWire, Completion, Event, Finish, Usage};
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::core::failure::Failure;
use crate::providers::mock;

/// A mock answer for a client that speaks another API: the neutral result rendered for it.
fn mock_translated(call: &ModelCall, text: &str) -> (Bytes, &'static str, Option<usize>) {
    let id = format!("chatcmpl-{}", crate::core::ids::new_uuid().replace('-', ""));
    let usage = Usage {
        prompt: 10,
        completion: 20,
        ..Usage::default()
    };
    if !call.stream {
        let c = Completion {
            id,
            model: call.model.clone(),
            text: Some(text.to_string()),
            usage,
            ..Completion::default()
        };
        let b = translate::client_body(call, &c);
        let n = b.len();
        return (b, "application/json", Some(n));
    }
    let mut w = translate::ClientStream::for_call(call);
    let mut out = bytes::BytesMut::new();
    w.event(
        Event::Start {
            id: &id,
            model: &call.model,
        },
        &mut out,
    );
    w.event(Event::Text(text.into()), &mut out);
    w.event(Event::Finish(Finish::Stop), &mut out);
    w.event(Event::Usage(usage), &mut out);
    w.event(Event::Done, &mut out);
    (out.freeze(), "text/event-stream", None)
}

impl Exchange<'_> {
    /// LiteLLM's `mock_timeout`: wait out the attempt's timeout, then fail as a timeout.
    pub(super) async fn mock_timeout(&mut self, session: &mut Session, limit: Duration) -> Outcome {
        if !self.sleep(session, limit).await {
            return Outcome::ClientGone;
        }
        Outcome::Failed(Failure::new(ApiError::timeout(
            "litellm.Timeout: This is a mock timeout error",
        )))
    }

    /// Answer from a mock spec (the deployment's, or the request's `mock_response`).
    pub(super) async fn mock(&mut self, session: &mut Session, spec: &MockSpec) -> Outcome {
        let text = match spec {
            MockSpec::Text(t) => t.as_str(),
            MockSpec::Error(err) => return Outcome::Failed(Failure::new(err.clone())),
        };
        let model = &self.call.model;
        let (body, ct, len) = if self.call.client != ClientWire::OpenAi {
            mock_translated(self.call, text)
        } else if self.call.stream && self.endpoint != Endpoint::Embeddings {
            (
                mock::stream(self.endpoint, model, text, self.call.include_usage),
                "text/event-stream",
                None,
            )
        } else {
            let b = mock::body(self.endpoint, model, text);
            let n = b.len();
            (b, "application/json", Some(n))
        };
        let names = crate::providers::answer_names::answer_names(&body);
        self.record.response_id = names.id.map(str::to_string);
        self.record.usage = Some(Usage {
            prompt: 10,
            completion: 20,
            reported_total: Some(30),
            ..Usage::default()
        });
        self.commit_and_write(session, 200, ct, len, body).await
    }
}
