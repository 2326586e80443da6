//! Pumping an SSE stream to the client: commit on the first content event, fail over before
//! that, report failures in-band after it (an upstream silent past `stream_timeout` included),
//! stop the upstream when the client leaves.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_proxy::Session;

use super::attempt::{timeout_error, Deadlines};
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

/// A stream in flight: the translator, what is buffered for the client, and where the
/// stream is.
struct Flow {
    tr: Translator,
    out: BytesMut,
    state: StreamState,
    saw_done: bool,
}

/// What one upstream chunk leads to.
enum Step {
    /// Read the next chunk.
    Next,
    /// A chunk that already arrived: handle it before waiting again.
    Carry(pingora_error::Result<Option<bytes::Bytes>>),
    Return(Outcome),
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
    tr: Translator,
    prov: &dyn Provider,
    peer: &HttpPeer,
    d: &Deadlines,
) -> Outcome {
    let (started, first_deadline, deadline) = (d.started, d.first, d.whole);
    let mut flow = Flow {
        tr,
        out: BytesMut::with_capacity(4096),
        state: StreamState::Buffering,
        saw_done: false,
    };
    // A read already taken from the upstream, to handle before waiting again.
    let mut carried = None;
    // `stream_timeout` (else the attempt's `timeout`) bounds the wait for the first content
    // event and, once committed, every silence between two upstream reads.
    let idle = first_deadline.saturating_duration_since(started);
    let mut last_read = started;
    loop {
        let until = match flow.state {
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
                    if flow.state == StreamState::Committed {
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
            None if flow.state == StreamState::Committed && until < deadline => {
                up.shutdown().await;
                idle_error(dep, idle)
            }
            None => {
                up.shutdown().await;
                timeout_error(dep, until - started)
            }
            Some(Err(e)) => ApiError::new(
                502,
                ErrorKind::ApiError,
                format!("upstream {} stream failed: {e}", dep.id),
            ),
            Some(Ok(None)) => {
                ex.connector
                    .release_http_session(up, peer, peer.options.idle_timeout)
                    .await;
                return ended(ex, session, dep, prov, started, &mut flow).await;
            }
            Some(Ok(Some(chunk))) => {
                last_read = Instant::now();
                match chunk_in(ex, session, dep, prov, &mut up, started, &mut flow, &chunk).await {
                    Step::Next => continue,
                    Step::Carry(r) => {
                        carried = Some(r);
                        continue;
                    }
                    Step::Return(o) => return o,
                }
            }
        };
        return broken(ex, session, &mut flow, failure).await;
    }
}

/// One chunk from the upstream: translated, committed on the first content event, an
/// in-band error failed over (before commit) or forwarded (after), written to the client
/// with the chunks that already arrived behind it.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the parts are distinct borrows"
)]
async fn chunk_in(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    prov: &dyn Provider,
    up: &mut HttpSession,
    started: Instant,
    flow: &mut Flow,
    chunk: &[u8],
) -> Step {
    // Events seen, to bill a stream that ends before its usage chunk.
    ex.record.stream_events += crate::wire::sse::finders().data.find_iter(chunk).count() as u64;
    let s: Scan = flow.tr.feed(chunk, &mut flow.out);
    flow.saw_done |= s.done;
    if let Some(u) = s.usage {
        ex.record.usage = Some(u);
    }
    match (s.error, flow.state) {
        (Some(err), StreamState::Buffering) => {
            up.shutdown().await;
            return Step::Return(Outcome::Failed(prov.failure(err)));
        }
        (Some(err), StreamState::Committed) => {
            // Forward the provider's in-band error and end without [DONE].
            up.shutdown().await;
            flow.tr.error(&err, s.error_raw.as_ref(), &mut flow.out);
            ex.meta.status = 502;
            let tail = flow.out.split().freeze();
            client_write(session.write_response_body(Some(tail), true).await);
            return Step::Return(Outcome::Done);
        }
        (None, StreamState::Buffering) if s.content => {
            if let Some(o) = commit(ex, session, dep, started, &flow.out).await {
                return Step::Return(o);
            }
            flow.state = StreamState::Committed;
        }
        _ => {}
    }
    if flow.state != StreamState::Committed {
        return Step::Next;
    }
    if flow.out.len() < COALESCE_MAX {
        // Events the upstream already delivered (one HTTP chunk each) leave with these in
        // one write: one send per read, not one per event.
        let more = tokio::select! {
            biased;
            r = up.read_response_body() => Some(r),
            () = std::future::ready(()) => None,
        };
        if let Some(r) = more {
            return Step::Carry(r);
        }
    }
    if !flow.out.is_empty()
        && session
            .write_response_body(Some(flow.out.split().freeze()), false)
            .await
            .is_err()
    {
        up.shutdown().await;
        return Step::Return(Outcome::Done);
    }
    Step::Next
}

/// The upstream ended its body: the rest translated and written, or (before any content)
/// a failure the exchange may fail over on; a stream cut before `[DONE]` ends with an
/// in-band error.
async fn ended(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    dep: &Deployment,
    prov: &dyn Provider,
    started: Instant,
    flow: &mut Flow,
) -> Outcome {
    let s = flow.tr.finish(&mut flow.out);
    flow.saw_done |= s.done;
    if let Some(u) = s.usage {
        ex.record.usage = Some(u);
    }
    if let Some(err) = s.error {
        if flow.state == StreamState::Buffering {
            return Outcome::Failed(prov.failure(err));
        }
        flow.tr.error(&err, None, &mut flow.out);
        ex.meta.status = 502;
        let tail = flow.out.split().freeze();
        client_write(session.write_response_body(Some(tail), true).await);
        return Outcome::Done;
    }
    let ended_early = !flow.saw_done;
    if flow.state == StreamState::Buffering {
        if flow.out.is_empty() || ended_early {
            return Outcome::Failed(Failure::new(ApiError::new(
                502,
                ErrorKind::ApiError,
                format!("upstream {} closed the stream before any content", dep.id),
            )));
        }
        if let Some(o) = commit(ex, session, dep, started, &flow.out).await {
            return o;
        }
    }
    if ended_early {
        let err = ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("upstream {} ended the stream without [DONE]", dep.id),
        );
        flow.tr.error(&err, None, &mut flow.out);
        ex.meta.status = 502;
    } else {
        dep.metrics.success.inc();
    }
    let tail = flow.out.split().freeze();
    client_write(session.write_response_body(Some(tail), true).await);
    dep.metrics
        .api_latency
        .observe(started.elapsed().as_secs_f64());
    Outcome::Done
}

/// The upstream failed (silent too long, a broken read): a failure before commit, an
/// in-band error event and no `[DONE]` after.
async fn broken(
    ex: &mut Exchange<'_>,
    session: &mut Session,
    flow: &mut Flow,
    err: ApiError,
) -> Outcome {
    if flow.state == StreamState::Buffering {
        return Outcome::Failed(Failure::new(err));
    }
    ex.meta.status = err.status;
    flow.tr.error(&err, None, &mut flow.out);
    let tail = flow.out.split().freeze();
    client_write(session.write_response_body(Some(tail), true).await);
    Outcome::Done
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
