//! One HTTP attempt: connect, send the body, read the header, then commit or report.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_proxy::Session;

use super::stream::pump;
use super::translate::{self, Translator};
use super::{Exchange, Outcome};
use crate::api::response::parts;
use crate::core::call::{json_string, ModelCall};
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::Failure;
use crate::core::headers::put;
use crate::pipeline::head::{auth_header, request_header};
use crate::providers::{provider, EncodeTarget};
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
    // A wildcard deployment (`openai/*`) sends the model name the client asked for.
    let wildcard_model = match &ex.wildcard {
        Some(matched) if dep.upstream_model.contains('*') => {
            Some(json_string(&dep.upstream_model.replacen('*', matched, 1)))
        }
        _ => None,
    };
    if wildcard_model.is_some() {
        // Priced by the model asked for, not the `*` (the headers and the spend row read it).
        ex.record.price = Some(dep.price_for(&ex.call.model));
    }
    let model = match &wildcard_model {
        Some(_) => Cow::Owned(dep.upstream_model.replacen(
            '*',
            ex.wildcard.as_deref().unwrap_or(""),
            1,
        )),
        None => Cow::Borrowed(&*dep.upstream_model),
    };
    let encode_target = EncodeTarget {
        model_json: wildcard_model.as_deref().unwrap_or(&dep.model_json),
        model: &model,
        defaults: &dep.defaults,
        drop_params: dep.drop_params || ex.call.drop_params,
        additional_drop_params: &dep.additional_drop_params,
    };
    // A Responses client on OpenAI itself: its own body goes to OpenAI's /responses.
    let responses_path = match (
        &ex.call.native,
        translate::native_responses(target.kind, ex.call),
    ) {
        (Some(native), true) => {
            let chat = target.path(Endpoint::ChatCompletions);
            Some((
                // Deployment defaults are chat parameters (`max_tokens`, ...): not for /responses.
                native.splice(
                    Some(encode_target.model_json),
                    &[],
                    encode_target.additional_drop_params,
                ),
                format!(
                    "{}/responses",
                    chat.strip_suffix("/chat/completions").unwrap_or(chat)
                ),
            ))
        }
        _ => None,
    };
    let (body, path) = match responses_path {
        Some((body, path)) => (body, Cow::Owned(path)),
        None => {
            let body = match prov.encode(ex.call, &encode_target) {
                Ok(b) => b,
                Err(e) => return failed(e),
            };
            let path = match (ex.call.stream, &target.stream_path) {
                (true, Some(p)) => p.as_str(),
                _ => target.path(ex.endpoint),
            };
            // A wildcard deployment of a provider with the model in the URL (Gemini, Vertex,
            // Bedrock, Azure): the path is built for the model asked for.
            let path = match (&ex.wildcard, target.path_model.contains('*')) {
                (Some(matched), true) => {
                    // The name goes into the URL: nothing that could change the path or query.
                    if matched.contains(['/', '?', '#', '%', '\\']) || matched.contains("..") {
                        return failed(
                            ApiError::bad_request(format!(
                                "model name \"{matched}\" cannot be put in {}'s URL",
                                target.kind.as_str()
                            ))
                            .with_param("model"),
                        );
                    }
                    let m = target.path_model.replacen('*', matched, 1);
                    let v = target.api_version.as_deref();
                    let built = match ex.call.stream {
                        true => prov.stream_path(&target.base_path, &m, v),
                        false => None,
                    };
                    Cow::Owned(
                        built.unwrap_or_else(|| prov.path(&target.base_path, ex.endpoint, &m, v)),
                    )
                }
                _ => Cow::Borrowed(path),
            };
            (body, path)
        }
    };
    let started = Instant::now();
    let limit = limit(ex.call, dep);
    let deadline = deadline_after(started, limit);
    // Time to first chunk for streams; otherwise the whole request.
    let stream_timeout = ex
        .call
        .stream_timeout
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
        .or(dep.stream_timeout);
    let first_limit = match (ex.call.stream, stream_timeout) {
        (true, Some(st)) => st.min(limit),
        _ => limit,
    };
    let first_deadline = deadline_after(started, first_limit);

    let peer = match target.addr.peer().await {
        Ok(p) => p,
        Err(e) => return failed(upstream_error(dep, "unreachable", e)),
    };
    // Only Vertex AI's service-account tokens can make an attempt wait here. Their future is
    // large, so it gets its own allocation and every other attempt's state stays small.
    let extra = match &target.credentials {
        Some(c) if c.has_token() => {
            let auth = Box::pin(auth_header(ex.connector, target));
            match guarded(session, first_deadline, auth).await {
                None => return Outcome::ClientGone,
                Some(Err(())) => return failed(timeout_error(dep, first_limit)),
                Some(Ok(Err(e))) => return failed(e),
                Some(Ok(Ok(h))) => h,
            }
        }
        _ => None,
    };
    // A header of the client's the provider takes on (Anthropic's `anthropic-beta`).
    let extra = extra.or_else(|| prov.client_header(ex.call));

    // A pooled connection may have gone stale: retry once on a fresh one.
    let mut sent = None;
    for _ in 0..2 {
        match guarded(
            session,
            first_deadline,
            send(
                ex.clearance.cleared(),
                ex.connector,
                &peer,
                request_header(target, &path, &body, extra.as_ref()),
                &body,
            ),
        )
        .await
        {
            None => {
                // The request may have reached the upstream, which bills for it.
                ex.record.abandoned = true;
                return Outcome::ClientGone;
            }
            Some(Err(())) => return failed(timeout_error(dep, first_limit)),
            Some(Ok(Ok(s))) => {
                sent = Some(s);
                break;
            }
            Some(Ok(Err((e, true)))) => {
                log::debug!("stale pooled connection to {}: {e}", target.display)
            }
            Some(Ok(Err((e, false)))) => {
                return failed(upstream_error(dep, "connection failed", e))
            }
        }
    }
    let Some((mut up, _)) = sent else {
        return failed(upstream_error(
            dep,
            "connection failed",
            "stale connections",
        ));
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
    let retry_after = crate::router::retry::retry_after_header(&resp.headers);
    let resp_headers = if (200..300).contains(&status) {
        http::HeaderMap::new()
    } else {
        resp.headers.clone()
    };
    ex.meta.capture(resp);

    if !(200..300).contains(&status) {
        let read = guarded(session, deadline, read_body(&mut up, ERROR_BODY_LIMIT)).await;
        let err_body = match read {
            None => return Outcome::ClientGone,
            Some(Ok(Ok((b, complete)))) => {
                if complete {
                    ex.connector
                        .release_http_session(up, &*peer, peer.options.idle_timeout)
                        .await;
                }
                b
            }
            _ => Bytes::new(),
        };
        dep.metrics
            .api_latency
            .observe(started.elapsed().as_secs_f64());
        // Google puts the wait in the body (RetryInfo), not in a header.
        let retry_after =
            retry_after.or_else(|| prov.retry_after_in_body(&err_body).map(|s| s.to_string()));
        let failure = prov.failure(prov.decode_error(status, &resp_headers, &err_body));
        return Outcome::Failed(failure.with_retry_after(retry_after));
    }

    if ex.call.stream && !content_type.starts_with("application/json") {
        let tr = Translator::new(prov, target.kind, ex.call);
        return pump(
            ex,
            session,
            dep,
            up,
            tr,
            prov,
            &peer,
            started,
            first_deadline,
            deadline,
        )
        .await;
    }

    let read = guarded(session, deadline, read_body(&mut up, BODY_LIMIT)).await;
    let body = match read {
        None => {
            // The upstream is answering a client that left: read the answer anyway (to the
            // same deadline), so the request is billed for what the provider bills.
            ex.record.abandoned = true;
            let rest = tokio::time::timeout_at(deadline.into(), read_body(&mut up, BODY_LIMIT));
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
        Some(Err(())) => return failed(timeout_error(dep, limit)),
        Some(Ok(Err(e))) => return failed(upstream_error(dep, "body read failed", e)),
        Some(Ok(Ok((_, false)))) => {
            return failed(upstream_error(dep, "body too large", BODY_LIMIT))
        }
        Some(Ok(Ok((b, true)))) => b,
    };
    ex.connector
        .release_http_session(up, &*peer, peer.options.idle_timeout)
        .await;
    let latency = started.elapsed().as_secs_f64();
    dep.metrics.api_latency.observe(latency);
    dep.metrics.success.inc();
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
    ex.meta.status = status;
    ex.record.upstream_wait += started.elapsed();
    ex.record.committed_at = Some(Instant::now());
    let len = body.len();
    let Ok(mut h) = parts(status, "application/json", Some(len)) else {
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
