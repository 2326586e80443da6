//! The upstream exchange: attempts across deployments on Pingora's connector, written back
//! to the client by us (not by Pingora's proxy phases), so any body can be replayed and a
//! stream can fail over until its first event is committed.

mod attempt;
mod headers;
mod stream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use pingora_proxy::Session;

use crate::api::error::{ApiError, ErrorKind};
use crate::api::request::ModelCall;
use crate::api::response::{header, write_full};
use crate::api::Endpoint;
use crate::providers::is_retryable_status;
use crate::providers::mock::{self, MockSpec};
use crate::providers::sse::Usage;
use crate::router::{Backend, Deployment, ModelGroup};

pub use headers::ResponseMeta;

/// What one request's exchange recorded, for logging and metrics.
#[derive(Default)]
pub struct Record {
    pub deployment: Option<Arc<Deployment>>,
    pub attempts: u32,
    pub usage: Option<Usage>,
    /// Time spent waiting on upstreams before the response was committed.
    pub upstream_wait: Duration,
    pub committed_at: Option<Instant>,
}

/// How one attempt ended.
pub(crate) enum Outcome {
    /// A response was written to the client (success, or an error after commit).
    Done,
    /// Nothing was written; the error says what the client would see.
    Failed {
        err: ApiError,
        retry_after: Option<String>,
    },
    /// The client went away; nothing more to write.
    ClientGone,
}

/// Everything an exchange reads; built by the proxy phase.
pub struct Exchange<'a> {
    pub connector: &'a Connector,
    pub call: &'a ModelCall,
    pub endpoint: Endpoint,
    pub group: &'a ModelGroup,
    pub num_retries: u32,
    pub meta: &'a mut ResponseMeta,
    pub record: &'a mut Record,
}

impl Exchange<'_> {
    /// Run attempts until one commits a response or none are left; always answers the
    /// client unless it went away. Returns the status the client saw (0 if gone).
    pub async fn run(mut self, session: &mut Session) -> u16 {
        let mut plan = self.group.plan();
        let mut last: Option<(ApiError, Option<String>)> = None;
        for attempt in 0..=self.num_retries {
            let Some(dep) = plan.next() else { break };
            self.record.deployment = Some(dep.clone());
            self.record.attempts = attempt;
            self.meta.attempted_retries = attempt;
            let started = Instant::now();
            let outcome = match &dep.backend {
                Backend::Mock(spec) => self.mock(session, dep, spec).await,
                Backend::Http(target) => attempt::run(&mut self, session, dep, target).await,
                Backend::Unsupported(p) => Outcome::Failed {
                    err: ApiError::new(501, ErrorKind::NotImplemented, format!(
                        "provider \"{p}\" (deployment {}) is not implemented in this Switchyard version", dep.id
                    )),
                    retry_after: None,
                },
            };
            if self.record.committed_at.is_none() {
                self.record.upstream_wait += started.elapsed();
            }
            match outcome {
                Outcome::Done => return self.meta.status,
                Outcome::ClientGone => return 0,
                Outcome::Failed { err, retry_after } => {
                    dep.metrics.failure(err.status);
                    log::warn!(
                        "attempt {attempt} on deployment {} ({}) failed: {}",
                        dep.id,
                        self.group.name,
                        err
                    );
                    let retryable = is_retryable_status(err.status) || err.status == 501;
                    last = Some((err, retry_after));
                    if !retryable {
                        break;
                    }
                }
            }
        }
        let (err, retry_after) = last.unwrap_or_else(|| {
            (
                ApiError::new(
                    503,
                    ErrorKind::ServiceUnavailable,
                    format!(
                        "No deployments available for model group {}",
                        self.group.name
                    ),
                ),
                None,
            )
        });
        self.meta.status = err.status;
        let body = err.body();
        let Ok(mut h) = header(err.status, "application/json", Some(body.len())) else {
            return 0;
        };
        self.meta.apply(&mut h, self.record);
        if let Some(ra) = retry_after {
            let _ = h.insert_header("retry-after", ra);
        }
        if let Err(e) = write_full(session, h, body).await {
            log::debug!("client write failed: {e}");
        }
        err.status
    }

    async fn mock(&mut self, session: &mut Session, dep: &Deployment, spec: &MockSpec) -> Outcome {
        let text = match (&self.call.mock_response, spec) {
            (Some(per_request), _) => match MockSpec::parse(per_request) {
                MockSpec::Text(t) => t,
                MockSpec::Error(err) => {
                    return Outcome::Failed {
                        err,
                        retry_after: None,
                    }
                }
            },
            (None, MockSpec::Text(t)) => t.clone(),
            (None, MockSpec::Error(err)) => {
                return Outcome::Failed {
                    err: err.clone(),
                    retry_after: None,
                }
            }
        };
        let _ = dep;
        let model = &self.call.model;
        let (body, ct, len) = if self.call.stream && self.endpoint != Endpoint::Embeddings {
            (
                mock::stream(self.endpoint, model, &text, self.call.include_usage),
                "text/event-stream",
                None,
            )
        } else {
            let b = mock::body(self.endpoint, model, &text);
            let n = b.len();
            (b, "application/json", Some(n))
        };
        self.record.usage = Some(Usage {
            prompt_tokens: 10,
            completion_tokens: 20,
            total_tokens: 30,
        });
        self.commit_and_write(session, 200, ct, len, body).await
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
        let Ok(mut h) = header(status, ct, len) else {
            return Outcome::ClientGone;
        };
        self.meta.apply(&mut h, self.record);
        if len.is_none() {
            let _ = h.insert_header("cache-control", "no-cache");
        }
        match write_full(session, h, body).await {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::ClientGone,
        }
    }
}
