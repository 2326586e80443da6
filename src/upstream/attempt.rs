//! One HTTP attempt: connect, send the body, read the header, then commit or report.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use pingora_core::connectors::http::Connector;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use pingora_proxy::Session;

use super::deadline::{deadline_after, guarded};
use super::stream::pump;
use super::translate::{self, Translator};
use super::{Exchange, Outcome};
use crate::api::response::parts;
use crate::core::call::{json_string, ModelCall};
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::headers::put;
use crate::governance::admission::Clearance;
use crate::providers::sse::usage_in_body;
use crate::providers::{provider, EncodeTarget};
use crate::router::{Deployment, HttpTarget};

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

/// Resolve the peer: a replica, the prebuilt one, or looked up now when DNS failed at load.
pub(crate) async fn peer(target: &HttpTarget) -> Result<Cow<'_, HttpPeer>, String> {
    if let Some(pool) = &target.replicas {
        return Ok(Cow::Borrowed(pool.pick()));
    }
    if let Some(p) = &target.peer {
        return Ok(Cow::Borrowed(p));
    }
    let mut addrs = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?;
    let addr = addrs
        .next()
        .ok_or_else(|| format!("no address for {}", target.host))?;
    Ok(Cow::Owned(crate::core::net::make_peer(
        addr,
        target.tls,
        &target.host,
    )))
}

/// A header added to one request only (a Google access token), after the target's own.
pub(crate) type ExtraHeader = (http::header::HeaderName, http::header::HeaderValue);

/// The upstream request head, as plain `http` parts: headers go straight into the map (Pingora's
/// `insert_header` re-parses every name and keeps a second map for its case). Names go out
/// lowercase, as HTTP/2 requires and every provider accepts over HTTP/1.1.
fn request_header(
    target: &HttpTarget,
    path: &str,
    body: &[u8],
    extra: Option<&ExtraHeader>,
) -> pingora_error::Result<RequestHeader> {
    use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
    use http::HeaderValue;
    let invalid = |what: &'static str| {
        pingora_error::Error::explain(pingora_error::ErrorType::InvalidHTTPHeader, what)
    };
    let (mut p, ()) = http::Request::new(()).into_parts();
    p.method = http::Method::POST;
    p.uri = http::Uri::try_from(path).map_err(|_| invalid("invalid upstream path"))?;
    let fixed = provider(target.kind).static_headers();
    let h = &mut p.headers;
    h.reserve(8 + fixed.len() + target.extra_headers.len());
    h.insert(HOST, target.host_header.clone());
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("switchyard/", env!("CARGO_PKG_VERSION"))),
    );
    if let Some((k, v)) = &target.auth {
        h.insert(k, v.clone());
    }
    for (k, v) in fixed {
        h.insert(k, v.clone());
    }
    for (k, v) in &target.extra_headers {
        h.insert(k, v.clone());
    }
    if let Some((k, v)) = extra {
        h.insert(k, v.clone());
    }
    if let Some(aws) = &target.aws {
        let signed = crate::providers::bedrock::sigv4::sign(
            &aws.credentials,
            &aws.region,
            crate::providers::bedrock::SIGNING_SERVICE,
            "POST",
            &aws.host,
            path,
            body,
            std::time::SystemTime::now(),
        );
        for (k, v) in signed {
            let name = http::HeaderName::from_bytes(k.as_bytes());
            let value = HeaderValue::try_from(v);
            let (Ok(name), Ok(value)) = (name, value) else {
                return Err(invalid("invalid signature header"));
            };
            h.insert(name, value);
        }
    }
    Ok(RequestHeader::from(p))
}

/// Send the request and read the response header; `Err` on transport failure, with whether
/// the connection came from the pool. `extra` is a per-request header ([`auth_header`]).
pub(crate) async fn send(
    cleared: &Clearance,
    connector: &Connector,
    target: &HttpTarget,
    path: &str,
    peer: &HttpPeer,
    body: &Bytes,
    extra: Option<&ExtraHeader>,
) -> Result<(HttpSession, bool), (pingora_error::BError, bool)> {
    let (mut up, reused) = connect(cleared, connector, peer)
        .await
        .map_err(|e| (e, false))?;
    up.set_write_timeout(Some(Duration::from_secs(30)));
    let result: pingora_error::Result<()> = async {
        let req = request_header(target, path, body, extra)?;
        up.write_request_header(Box::new(req)).await?;
        up.write_request_body(body.clone(), true).await?;
        up.finish_request_body().await?;
        loop {
            up.read_response_header().await?;
            let informational = up
                .response_header()
                .is_some_and(|h| h.status.is_informational() && h.status != 101);
            if !(informational && matches!(up, HttpSession::H1(_))) {
                return Ok(());
            }
        }
    }
    .await;
    match result {
        Ok(()) => Ok((up, reused)),
        Err(e) => Err((e, reused)),
    }
}

/// An upstream connection (pooled when one is idle), for an admitted request only.
pub(crate) async fn connect(
    _cleared: &Clearance,
    connector: &Connector,
    peer: &HttpPeer,
) -> pingora_error::Result<(HttpSession, bool)> {
    connector.get_http_session(peer).await
}

/// The per-request credential header: `Authorization: Bearer <token>` for a target with a
/// Google service account (the token is cached; fetched with `connector` when due).
pub(crate) async fn auth_header(
    connector: &Connector,
    target: &HttpTarget,
) -> Result<Option<ExtraHeader>, ApiError> {
    match &target.google {
        Some(google) => Ok(Some((
            http::header::AUTHORIZATION,
            google.bearer(connector).await?,
        ))),
        None => Ok(None),
    }
}

/// Read a whole body up to `limit` bytes.
async fn read_body(up: &mut HttpSession, limit: usize) -> pingora_error::Result<(Bytes, bool)> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = up.read_response_body().await? {
        if buf.len() + chunk.len() > limit {
            let room = limit - buf.len();
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf.freeze(), false));
        }
        if buf.is_empty() && up.response_done() {
            return Ok((chunk, true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf.freeze(), true))
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
        return Outcome::Failed {
            err,
            retry_after: None,
        };
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

    let peer = match peer(target).await {
        Ok(p) => p,
        Err(e) => return failed(upstream_error(dep, "unreachable", e)),
    };
    // Only Vertex AI's service-account tokens can make an attempt wait here. Their future is
    // large, so it gets its own allocation and every other attempt's state stays small.
    let extra = match target.google {
        None => None,
        Some(_) => {
            let auth = Box::pin(auth_header(ex.connector, target));
            match guarded(session, first_deadline, auth).await {
                None => return Outcome::ClientGone,
                Some(Err(())) => return failed(timeout_error(dep, first_limit)),
                Some(Ok(Err(e))) => return failed(e),
                Some(Ok(Ok(h))) => h,
            }
        }
    };
    // Anthropic's beta features are asked for by header (Claude Code sends several).
    let extra = extra.or_else(|| match (&ex.call.anthropic_beta, target.kind) {
        (Some(v), crate::providers::ProviderKind::Anthropic) => Some((
            http::header::HeaderName::from_static("anthropic-beta"),
            v.clone(),
        )),
        _ => None,
    });

    // A pooled connection may have gone stale: retry once on a fresh one.
    let mut sent = None;
    for _ in 0..2 {
        match guarded(
            session,
            first_deadline,
            send(
                ex.clearance,
                ex.connector,
                target,
                &path,
                &peer,
                &body,
                extra.as_ref(),
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
        let retry_after = retry_after.or_else(|| {
            matches!(
                target.kind,
                crate::providers::ProviderKind::Gemini | crate::providers::ProviderKind::VertexAi
            )
            .then(|| crate::providers::gemini::retry_after_secs(&err_body))
            .flatten()
            .map(|s| s.to_string())
        });
        return Outcome::Failed {
            err: prov.decode_error(status, &resp_headers, &err_body),
            retry_after,
        };
    }

    if ex.call.stream && !content_type.starts_with("application/json") {
        let tr = Translator::new(prov, target.kind, ex.call);
        return pump(
            ex,
            session,
            dep,
            up,
            tr,
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
        Some(Err(e)) => return failed(e),
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

fn failed(err: ApiError) -> Outcome {
    Outcome::Failed {
        err,
        retry_after: None,
    }
}
