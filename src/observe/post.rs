//! One POST to a sink's endpoint over Pingora's connector (pooled connections, TLS), bounded
//! by a timeout: the sinks' only network call.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pingora_core::connectors::http::Connector;
use pingora_core::protocols::http::client::HttpSession;
use pingora_http::RequestHeader;

use super::settings::Endpoint;

/// How long one delivery may take, connect to last byte.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a sink's answer read (only its status matters).
const ANSWER_LIMIT: usize = 64 * 1024;

/// POST `body` to `to`; the status, or why there is none.
pub(super) async fn post(
    connector: &Connector,
    to: &Endpoint,
    headers: &[(HeaderName, HeaderValue)],
    content_type: &'static str,
    body: Bytes,
) -> Result<u16, String> {
    match tokio::time::timeout(TIMEOUT, send(connector, to, headers, content_type, body)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {TIMEOUT:?}")),
    }
}

async fn send(
    connector: &Connector,
    to: &Endpoint,
    headers: &[(HeaderName, HeaderValue)],
    content_type: &'static str,
    body: Bytes,
) -> Result<u16, String> {
    let addr = tokio::net::lookup_host((to.host.as_str(), to.port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("cannot resolve {}", to.host))?;
    let peer = crate::core::net::make_peer(addr, to.tls, &to.host);
    // A pooled connection may have gone stale: one retry on a fresh one.
    let mut last = String::new();
    for _ in 0..2 {
        let (mut session, reused) = connector
            .get_http_session(&peer)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", to.authority))?;
        match exchange(&mut session, to, headers, content_type, body.clone()).await {
            Ok((status, whole)) => {
                if whole {
                    connector
                        .release_http_session(session, &peer, peer.options.idle_timeout)
                        .await;
                }
                return Ok(status);
            }
            Err(e) if reused => last = e.to_string(),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(last)
}

/// Write the request, read the status and drain the answer (`true` when read whole).
async fn exchange(
    session: &mut HttpSession,
    to: &Endpoint,
    headers: &[(HeaderName, HeaderValue)],
    content_type: &'static str,
    body: Bytes,
) -> pingora_error::Result<(u16, bool)> {
    let mut req = RequestHeader::build("POST", to.path.as_bytes(), Some(5 + headers.len()))?;
    req.insert_header(http::header::HOST, to.authority.as_str())?;
    req.insert_header(http::header::CONTENT_TYPE, content_type)?;
    req.insert_header(http::header::CONTENT_LENGTH, body.len())?;
    req.insert_header(
        http::header::USER_AGENT,
        concat!("switchyard/", env!("CARGO_PKG_VERSION")),
    )?;
    for (k, v) in headers {
        req.insert_header(k.clone(), v.clone())?;
    }
    session.write_request_header(Box::new(req)).await?;
    session.write_request_body(body, true).await?;
    session.finish_request_body().await?;
    session.read_response_header().await?;
    let status = session.response_header().map_or(0, |h| h.status.as_u16());
    let mut read = 0;
    while let Some(chunk) = session.read_response_body().await? {
        read += chunk.len();
        if read > ANSWER_LIMIT {
            return Ok((status, false));
        }
    }
    Ok((status, true))
}
