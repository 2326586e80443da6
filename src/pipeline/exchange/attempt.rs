//! One HTTP attempt: connect, send the body, read the header, then commit or report.

use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_proxy::Session;

use super::prepare::prepare;
use super::stream::pump;
use super::translate::{self, Translator};
use super::{Exchange, Outcome};
use crate::api::response::parts;
use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::Failure;
use crate::core::headers::put;
use crate::pipeline::head::{auth_header, request_header};
use crate::providers::{provider, Provider};
use crate::router::{Deployment, HttpTarget};
use crate::upstream::{deadline_after, guarded, read_body, send};
use crate::wire::sse::usage_in_body;

/// Largest upstream error body read for classification.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest non-stream success body buffered (embeddings of big batches fit).
const BODY_LIMIT: usize = 256 * 1024 * 1024;

fn upstream_error(dep: &Deployment, what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("upstream {} {what}: {e}", dep.id),
    )
}

/// The whole attempt's time limit: the request's `timeout`, else the deployment's.
pub(super) fn limit(call: &ModelCall, dep: &Deployment) -> Duration {
    call.timeout
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
        .unwrap_or(dep.timeout)
}

pub(super) fn timeout_error(dep: &Deployment, limit: Duration) -> ApiError {
    ApiError::timeout(format!(
        "Request timed out after {:.1}s waiting for deployment {} of model group {}",
        limit.as_secs_f64(),
        dep.id,
        dep.group
    ))
}

/// When an attempt must have its answer: its first byte (a stream's first event, within
/// `stream_timeout`) and the whole of it (`timeout`).
pub(super) struct Deadlines {
    pub started: Instant,
    pub limit: Duration,
    pub first_limit: Duration,
    pub first: Instant,
    pub whole: Instant,
}

impl Deadlines {
    fn of(call: &ModelCall, dep: &Deployment) -> Deadlines {
        let started = Instant::now();
        let limit = limit(call, dep);
        // Time to first chunk for streams; otherwise the whole request.
        let stream_timeout = call
            .stream_timeout
            .and_then(|t| Duration::try_from_secs_f64(t).ok())
            .or(dep.stream_timeout);
        let first_limit = match (call.stream, stream_timeout) {
            (true, Some(st)) => st.min(limit),
            _ => limit,
        };
        Deadlines {
            started,
            limit,
            first_limit,
            first: deadline_after(started, first_limit),
            whole: deadline_after(started, limit),
        }
    }
}

/// One HTTP attempt on `dep`: prepare, send, then the error, the stream or the whole answer.
pub(super) async fn run(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    target: &HttpTarget,
) -> Outcome {
    let Some(_in_flight) = dep.stats.try_enter(dep.max_parallel) else {
        let err = ApiError::new(
            429,
            ErrorKind::RateLimit,
            format!("deployment {} is at max_parallel_requests", dep.id),
        );
        return failed(err);
    };
    let prov = provider(target.kind);
    if !prov.supports(ex.endpoint) {
        return failed(ApiError::bad_request(format!(
            "{} does not support {} (deployment {})",
            target.kind.as_str(),
            ex.endpoint.as_str(),
            dep.id
        )));
    }
    let (body, path) = match prepare(ex, dep, target, prov) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let d = Deadlines::of(ex.call, dep);
    let peer = match target.addr.peer().await {
        Ok(p) => p,
        Err(e) => return failed(upstream_error(dep, "unreachable", e)),
    };
    let sent = sent(ex, session, dep, target, prov, &peer, &path, &body, &d).await;
    let up = match sent {
        Ok(up) => up,
        Err(outcome) => return outcome,
    };
    let Some(resp) = up.response_header() else {
        return failed(upstream_error(dep, "sent no header", ""));
    };
    let status = resp.status.as_u16();
    let content_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if !(200..300).contains(&status) {
        return refused(ex, session, dep, prov, up, &peer, &d).await;
    }
    ex.meta.capture(resp);
    if ex.call.stream && !content_type.starts_with("application/json") {
        let tr = Translator::new(prov, target.kind, ex.call);
        return pump(ex, session, dep, up, tr, prov, &peer, &d).await;
    }
    let answer = Answer {
        status,
        content_type,
    };
    answered(ex, session, dep, target, prov, up, &peer, answer, &d).await
}

/// Send the head and body and read the response head: the credential a provider adds per
/// request (a Vertex token; `anthropic-beta`) first, and once more on a fresh connection
/// when a pooled one turns out stale. `Err` is the attempt's outcome.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the parts are distinct borrows"
)]
async fn sent(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    target: &HttpTarget,
    prov: &dyn Provider,
    peer: &HttpPeer,
    path: &str,
    body: &Bytes,
    d: &Deadlines,
) -> Result<HttpSession, Outcome> {
    // Only Vertex AI's service-account tokens can make an attempt wait here. Their future is
    // large, so it gets its own allocation and every other attempt's state stays small.
    let extra = match &target.credentials {
        Some(c) if c.has_token() => {
            let auth = Box::pin(auth_header(ex.connector, target));
            match guarded(session, d.first, auth).await {
                None => return Err(Outcome::ClientGone),
                Some(Err(())) => return Err(failed(timeout_error(dep, d.first_limit))),
                Some(Ok(Err(e))) => return Err(failed(e)),
                Some(Ok(Ok(h))) => h,
            }
        }
        _ => None,
    };
    // A header of the client's the provider takes on (Anthropic's `anthropic-beta`).
    let extra = extra.or_else(|| prov.client_header(ex.call));
    // A pooled connection may have gone stale: retry once on a fresh one.
    for _ in 0..2 {
        let mut head = request_header(target, path, body, extra.as_ref());
        if let (Ok(h), Some(tp)) = (
            &mut head,
            ex.record.detail.as_ref().and_then(|d| d.traceparent()),
        ) {
            // Only when forwarding: the one header set through Pingora's re-parsing insert.
            let _ = h.insert_header("traceparent", tp);
        }
        let cleared = ex.clearance.cleared();
        let send = send(cleared, ex.connector, peer, head, body);
        match guarded(session, d.first, send).await {
            None => {
                // The request may have reached the upstream, which bills for it.
                ex.record.abandoned = true;
                return Err(Outcome::ClientGone);
            }
            Some(Err(())) => return Err(failed(timeout_error(dep, d.first_limit))),
            Some(Ok(Ok((up, _)))) => return Ok(up),
            Some(Ok(Err((e, true)))) => {
                log::debug!("stale pooled connection to {}: {e}", target.display)
            }
            Some(Ok(Err((e, false)))) => {
                return Err(failed(upstream_error(dep, "connection failed", e)))
            }
        }
    }
    Err(failed(upstream_error(
        dep,
        "connection failed",
        "stale connections",
    )))
}

/// An error status: the body read (bounded) and decoded by the provider into a classed
/// failure, with the wait it asks for (`Retry-After`, or Google's `RetryInfo` in the body).
async fn refused(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    prov: &dyn Provider,
    mut up: HttpSession,
    peer: &HttpPeer,
    d: &Deadlines,
) -> Outcome {
    let (status, headers) = match up.response_header() {
        Some(resp) => (resp.status.as_u16(), resp.headers.clone()),
        None => (502, http::HeaderMap::new()),
    };
    if let Some(resp) = up.response_header() {
        ex.meta.capture(resp);
    }
    let retry_after = crate::router::retry::retry_after_header(&headers);
    let read = guarded(session, d.whole, read_body(&mut up, ERROR_BODY_LIMIT)).await;
    let err_body = match read {
        None => return Outcome::ClientGone,
        Some(Ok(Ok((b, complete)))) => {
            if complete {
                ex.connector
                    .release_http_session(up, peer, peer.options.idle_timeout)
                    .await;
            }
            b
        }
        _ => Bytes::new(),
    };
    dep.metrics
        .api_latency
        .observe(d.started.elapsed().as_secs_f64());
    let retry_after =
        retry_after.or_else(|| prov.retry_after_in_body(&err_body).map(|s| s.to_string()));
    let failure = prov.failure(prov.decode_error(status, &headers, &err_body));
    Outcome::Failed(failure.with_retry_after(retry_after))
}

/// A 2xx head: its status and content type.
struct Answer {
    status: u16,
    content_type: String,
}

/// A whole (non-stream) answer: read to the deadline, translated for the client if the
/// provider speaks another API, written at once. A client that left still gets its answer
/// read, so the request is billed for what the provider bills.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the parts are distinct borrows"
)]
async fn answered(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    target: &HttpTarget,
    prov: &dyn Provider,
    mut up: HttpSession,
    peer: &HttpPeer,
    answer: Answer,
    d: &Deadlines,
) -> Outcome {
    let read = guarded(session, d.whole, read_body(&mut up, BODY_LIMIT)).await;
    let body = match read {
        None => {
            ex.record.abandoned = true;
            let rest = tokio::time::timeout_at(d.whole.into(), read_body(&mut up, BODY_LIMIT));
            if let Ok(Ok((b, true))) = rest.await {
                ex.record.usage = match translate::completion_body(prov, target.kind, ex.call, &b) {
                    None => usage_in_body(&b),
                    Some(Ok((_, usage))) => Some(usage),
                    Some(Err(_)) => None,
                };
                ex.record.note_answer(dep, &ex.call.model, &b);
            }
            up.shutdown().await;
            return Outcome::ClientGone;
        }
        Some(Err(())) => return failed(timeout_error(dep, d.limit)),
        Some(Ok(Err(e))) => return failed(upstream_error(dep, "body read failed", e)),
        Some(Ok(Ok((_, false)))) => {
            return failed(upstream_error(dep, "body too large", BODY_LIMIT))
        }
        Some(Ok(Ok((b, true)))) => b,
    };
    ex.connector
        .release_http_session(up, peer, peer.options.idle_timeout)
        .await;
    dep.metrics
        .api_latency
        .observe(d.started.elapsed().as_secs_f64());
    dep.metrics.success.inc();
    let Answer {
        status,
        content_type,
    } = answer;
    let (body, content_type) = match translate::completion_body(prov, target.kind, ex.call, &body) {
        None => {
            ex.record.usage = usage_in_body(&body);
            (body, content_type)
        }
        Some(Ok((translated, usage))) => {
            ex.record.usage = Some(usage);
            (translated, "application/json".to_string())
        }
        Some(Err(e)) => return Outcome::Failed(prov.failure(e)),
    };
    ex.record.note_answer(dep, &ex.call.model, &body);
    if let Some(d) = ex.record.detail.as_mut().filter(|d| d.bodies) {
        d.response = Some(body.clone());
    }
    ex.meta.status = status;
    ex.record.upstream_wait += d.started.elapsed();
    ex.record.committed_at = Some(Instant::now());
    let Ok(mut h) = parts(status, "application/json", Some(body.len())) else {
        return Outcome::ClientGone;
    };
    if !content_type.starts_with("application/json") {
        put(&mut h.headers, http::header::CONTENT_TYPE, content_type);
    }
    ex.meta.apply(&mut h.headers, ex.record);
    match crate::api::response::write_full(session, h.into(), body).await {
        Ok(()) => Outcome::Done,
        Err(_) => Outcome::ClientGone,
    }
}

/// A failure made here (transport, timeout, a request the deployment cannot take), classed
/// by its status and code.
fn failed(err: ApiError) -> Outcome {
    Outcome::Failed(Failure::new(err))
}
