//! Pumping an SSE stream to the client: commit on the first content event, fail over before
//! that, report failures in-band after it (an upstream silent past `stream_timeout` included),
//! stop the upstream when the client leaves.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_proxy::Session;

use super::attempt::timeout_error;
use super::translate::{Scan, Translator};
use super::{Exchange, Outcome};
use crate::api::response::parts;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::Failure;
use crate::providers::Provider;
use crate::router::Deployment;

/// Bytes of translated events gathered from already-arrived upstream chunks before they are
/// written to the client.
const COALESCE_MAX: usize = 16 * 1024;

/// The lifecycle of one streamed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamState {
    /// Nothing sent to the client yet: failures may still fail over.
    Buffering,
    /// The header and at least one content event went out.
    Committed,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the parts are distinct borrows"
)]
pub(super) async fn pump(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    mut up: HttpSession,
    mut tr: Translator,
    prov: &dyn Provider,
    peer: &HttpPeer,
    started: Instant,
    first_deadline: Instant,
    deadline: Instant,
) -> Outcome {
    let mut out = BytesMut::with_capacity(4096);
    let mut state = StreamState::Buffering;
    let mut saw_done = false;
    // A read already taken from the upstream, to handle before waiting again.
    let mut carried = None;
    // `stream_timeout` (else the attempt's `timeout`) bounds the wait for the first content
    // event and, once committed, every silence between two upstream reads.
    let idle = first_deadline.saturating_duration_since(started);
    let mut last_read = started;
    loop {
        let until = match state {
            StreamState::Buffering => first_deadline,
            StreamState::Committed => last_read
                .checked_add(idle)
                .map_or(deadline, |t| t.min(deadline)),
        };
        let read = if let Some(r) = carried.take() {
            Some(r)
        } else {
            tokio::select! {
                biased;
                _ = session.as_downstream_mut().read_body_or_idle(true) => {
                    up.shutdown().await;
                    log::debug!("client left mid-stream; upstream {} cancelled", dep.id);
                    if state == StreamState::Committed {
                        return Outcome::Done;
                    }
                    ex.record.abandoned = true;
                    return Outcome::ClientGone;
                }
                _ = tokio::time::sleep_until(until.into()) => None,
                r = up.read_response_body() => Some(r),
            }
        };
        let failure = match read {
            None if state == StreamState::Committed && until < deadline => {
                up.shutdown().await;
                Some(idle_error(dep, idle))
            }
            None => {
                up.shutdown().await;
                Some(timeout_error(dep, until - started))
            }
            Some(Err(e)) => Some(ApiError::new(
                502,
                ErrorKind::ApiError,
                format!("upstream {} stream failed: {e}", dep.id),
            )),
            Some(Ok(None)) => {
                ex.connector
                    .release_http_session(up, peer, peer.options.idle_timeout)
                    .await;
                let s = tr.finish(&mut out);
                saw_done |= s.done;
                if let Some(u) = s.usage {
                    ex.record.usage = Some(u);
                }
                if let Some(err) = s.error {
                    if state == StreamState::Buffering {
                        return Outcome::Failed(prov.failure(err));
                    }
                    tr.error(&err, None, &mut out);
                    ex.meta.status = 502;
                    client_write(
                        session
                            .write_response_body(Some(out.split().freeze()), true)
                            .await,
                    );
                    return Outcome::Done;
                }
                let ended_early = !saw_done;
                if state == StreamState::Buffering {
                    if out.is_empty() || ended_early {
                        return Outcome::Failed(Failure::new(ApiError::new(
                            502,
                            ErrorKind::ApiError,
                            format!("upstream {} closed the stream before any content", dep.id),
                        )));
                    }
                    if let Some(o) = commit(ex, session, dep, started, &out).await {
                        return o;
                    }
                }
                if ended_early {
                    let err = ApiError::new(
                        502,
                        ErrorKind::ApiError,
                        format!("upstream {} ended the stream without [DONE]", dep.id),
                    );
                    tr.error(&err, None, &mut out);
                    ex.meta.status = 502;
                } else {
                    dep.metrics.success.inc();
                }
                let tail = out.split().freeze();
                client_write(session.write_response_body(Some(tail), true).await);
                dep.metrics
                    .api_latency
                    .observe(started.elapsed().as_secs_f64());
                return Outcome::Done;
            }
            Some(Ok(Some(chunk))) => {
                last_read = Instant::now();
                // Events seen, to bill a stream that ends before its usage chunk.
                ex.record.stream_events +=
                    crate::wire::sse::finders().data.find_iter(&chunk).count() as u64;
                let s: Scan = tr.feed(&chunk, &mut out);
                saw_done |= s.done;
                if let Some(u) = s.usage {
                    ex.record.usage = Some(u);
                }
                match (s.error, state) {
                    (Some(err), StreamState::Buffering) => {
                        up.shutdown().await;
                        return Outcome::Failed(prov.failure(err));
                    }
                    (Some(err), StreamState::Committed) => {
                        // Forward the provider's in-band error and end without [DONE].
                        up.shutdown().await;
                        tr.error(&err, s.error_raw.as_ref(), &mut out);
                        ex.meta.status = 502;
                        client_write(
                            session
                                .write_response_body(Some(out.split().freeze()), true)
                                .await,
                        );
                        return Outcome::Done;
                    }
                    (None, StreamState::Buffering) if s.content => {
                        if let Some(o) = commit(ex, session, dep, started, &out).await {
                            return o;
                        }
                        state = StreamState::Committed;
                    }
                    _ => {}
                }
                if state == StreamState::Committed && out.len() < COALESCE_MAX {
                    // Events the upstream already delivered (one HTTP chunk each) leave with
                    // these in one write: one send per read, not one per event.
                    let more = tokio::select! {
                        biased;
                        r = up.read_response_body() => Some(r),
                        () = std::future::ready(()) => None,
                    };
                    if more.is_some() {
                        carried = more;
                        continue;
                    }
                }
                if state == StreamState::Committed
                    && !out.is_empty()
                    && session
                        .write_response_body(Some(out.split().freeze()), false)
                        .await
                        .is_err()
                {
                    up.shutdown().await;
                    return Outcome::Done;
                }
                None
            }
        };
        if let Some(err) = failure {
            if state == StreamState::Buffering {
                return Outcome::Failed(Failure::new(err));
            }
            // After commit: an in-band error event, and no [DONE].
            ex.meta.status = err.status;
            tr.error(&err, None, &mut out);
            client_write(
                session
                    .write_response_body(Some(out.split().freeze()), true)
                    .await,
            );
            return Outcome::Done;
        }
    }
}

/// The upstream went silent mid-stream for longer than the idle limit.
fn idle_error(dep: &Deployment, idle: Duration) -> ApiError {
    ApiError::timeout(format!(
        "Stream idle: deployment {} of model group {} sent nothing for {:.1}s (stream_timeout)",
        dep.id,
        dep.group,
        idle.as_secs_f64()
    ))
}

/// Write the stream's response header; `Some` if the client is already gone.
async fn commit(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    started: Instant,
    first: &[u8],
) -> Option<Outcome> {
    ex.record.note_answer(dep, &ex.call.model, first);
    let now = Instant::now();
    dep.metrics.ttft.observe((now - started).as_secs_f64());
    ex.record.upstream_wait += now - started;
    ex.record.committed_at = Some(now);
    ex.meta.status = 200;
    let Ok(mut h) = parts(200, "text/event-stream", None) else {
        return Some(Outcome::ClientGone);
    };
    ex.meta.apply(&mut h.headers, ex.record);
    match session
        .write_response_header(Box::new(h.into()), false)
        .await
    {
        Ok(()) => None,
        Err(_) => Some(Outcome::Done),
    }
}

/// The last writes of a stream: a failure only means the client already left.
fn client_write(r: pingora_error::Result<()>) {
    if let Err(e) = r {
        log::debug!("client gone before the end of the stream: {e}");
    }
}
