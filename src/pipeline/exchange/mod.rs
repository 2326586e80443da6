//! The exchange: attempts across deployments on Pingora's connector, written back to the
//! client by us (not by Pingora's proxy phases), so any body can be replayed and a stream can
//! fail over until its first event is committed. The last stage of a model call.

mod attempt;
mod fallbacks;
mod group;
mod mock;
mod prepare;
mod stream;
mod translate;

use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use pingora_proxy::Session;

use crate::api::response::{error_body, parts, write_full};
use crate::config::Runtime;
use crate::core::call::ModelCall;
use crate::core::chat::Usage;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::Failure;
use crate::core::headers::put;
use crate::governance::admission::Clearance;
use crate::providers::is_retryable_status;
use crate::router::ModelGroup;

use super::admit::Admitted;
use super::plan::Plan;
use super::{Env, Record, ResponseMeta};

/// How one attempt ended.
pub(crate) enum Outcome {
    /// A response was written to the client (success, or an error after commit).
    Done,
    /// Nothing was written; the failure says what the client would see.
    Failed(Failure),
    /// The client went away; nothing more to write.
    ClientGone,
}

/// Everything an exchange reads; built by [`run`] from an admitted call.
pub(crate) struct Exchange<'a> {
    pub connector: &'a Connector,
    pub call: &'a ModelCall,
    pub endpoint: Endpoint,
    pub rt: &'a Runtime,
    /// Retries asked for by the request (header or body); else the group's or the router's.
    pub num_retries: Option<u32>,
    /// What a wildcard group's `*` matched in the requested model name.
    pub wildcard: Option<String>,
    pub meta: &'a mut ResponseMeta,
    pub record: &'a mut Record,
    /// What admission granted: the only way to reach an upstream.
    pub clearance: &'a mut Clearance,
    /// Outages, recoveries and hanging requests are raised here.
    pub alerts: &'a crate::core::alert::AlertTx,
}

/// How one model group's attempts ended.
enum GroupResult {
    Done(u16),
    Gone,
    Failed(Failure),
}

/// Whether a failed attempt may be retried: `retry_policy` sets a budget per error class;
/// otherwise the status decides.
fn retry_allowed(group: &ModelGroup, err: &ApiError, attempt: u32) -> bool {
    match group
        .retry_policy
        .for_status(err.status, err.code.as_deref())
    {
        Some(budget) => attempt < budget,
        None => is_retryable_status(err.status) || err.status == 501,
    }
}

/// LiteLLM's latency sample: time to first token for streams, else latency per output token.
fn latency_sample(
    total: Duration,
    first: Option<Duration>,
    stream: bool,
    usage: Option<Usage>,
) -> u64 {
    match (stream, first, usage) {
        (true, Some(ttft), _) => ttft.as_micros() as u64,
        (false, _, Some(u)) if u.completion > 0 => (total.as_micros() as u64) / u.completion,
        _ => total.as_micros() as u64,
    }
}

/// Run an admitted call over its group and fallbacks; returns the status written (0: the
/// client left).
pub async fn run(env: &Env<'_>, session: &mut Session, a: Admitted<'_>, started: Instant) -> u16 {
    let call = &a.ingress.call;
    let mut meta = ResponseMeta::new(a.call_id.to_string(), started);
    if let Some(t) = a.clearance.ticket() {
        meta.key(&t.key_headers());
    }
    meta.group = a.group.name.to_string();
    let plan = Plan::new(env.rt, call, a.group);
    let exchange = Exchange {
        connector: env.connector,
        call,
        endpoint: a.ingress.wire,
        rt: env.rt,
        num_retries: call.num_retries.map(|n| n.min(10)),
        wildcard: a.wildcard,
        meta: &mut meta,
        record: a.record,
        clearance: a.clearance,
        alerts: env.alerts,
    };
    exchange.run(session, plan).await
}

impl Exchange<'_> {
    /// Run the group, then its fallbacks, until a response is committed or nothing is
    /// left; always answers the client unless it went away. Returns the status written.
    pub async fn run(mut self, session: &mut Session, mut plan: Plan<'_>) -> u16 {
        let first = plan.first();
        let last = match self.first_group(session, &first.group).await {
            GroupResult::Done(s) => return s,
            GroupResult::Gone => return 0,
            GroupResult::Failed(f) => f,
        };
        let last = if self.call.disable_fallbacks {
            last
        } else {
            match self.fall_back(session, &mut plan, last).await {
                GroupResult::Done(s) => return s,
                GroupResult::Gone => return 0,
                GroupResult::Failed(f) => f,
            }
        };
        self.answer_failure(session, last).await
    }

    /// The requested group, or LiteLLM's simulated failures of it (`mock_testing_fallbacks`
    /// fails the group; `mock_testing_rate_limit_error` only its first attempt, the group's
    /// retries then run as usual).
    async fn first_group(&mut self, session: &mut Session, primary: &ModelGroup) -> GroupResult {
        if self.call.mock_testing_fallbacks {
            return GroupResult::Failed(Failure::new(ApiError::new(
                500,
                ErrorKind::ApiError,
                "mock_testing_fallbacks: simulated failure to test fallbacks",
            )));
        }
        let simulated = self.call.mock_testing_rate_limit_error.then(|| {
            ApiError::new(
                429,
                ErrorKind::RateLimit,
                format!(
                    "litellm.RateLimitError: This is a mock exception for model={}, to trigger a rate limit error.",
                    primary.name
                ),
            )
            .with_code("429")
        });
        self.run_group(session, primary, None, simulated).await
    }

    /// Nothing served: the last failure, in the client's wire, with the exchange's headers.
    async fn answer_failure(&mut self, session: &mut Session, last: Failure) -> u16 {
        let Failure {
            error: err,
            retry_after,
            ..
        } = last;
        self.meta.status = err.status;
        self.record.failure = Some((err.kind, err.message.clone()));
        let body = error_body(&err, self.call.client);
        let Ok(mut h) = parts(err.status, "application/json", Some(body.len())) else {
            return 0;
        };
        self.meta.apply(&mut h.headers, self.record);
        if let Some(ra) = retry_after {
            put(&mut h.headers, http::header::RETRY_AFTER, ra);
        }
        if let Err(e) = write_full(session, h.into(), body).await {
            log::debug!("client write failed: {e}");
        }
        err.status
    }

    /// Wait, unless the client leaves first (then false).
    async fn sleep(&mut self, session: &mut Session, d: Duration) -> bool {
        tokio::select! {
            biased;
            _ = session.as_downstream_mut().read_body_or_idle(true) => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// Write a whole response at once.
    async fn commit_and_write(
        &mut self,
        session: &mut Session,
        status: u16,
        ct: &'static str,
        len: Option<usize>,
        body: Bytes,
    ) -> Outcome {
        self.meta.status = status;
        self.record.committed_at = Some(Instant::now());
        let Ok(mut h) = parts(status, ct, len) else {
            return Outcome::ClientGone;
        };
        self.meta.apply(&mut h.headers, self.record);
        match write_full(session, h.into(), body).await {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::ClientGone,
        }
    }
}
