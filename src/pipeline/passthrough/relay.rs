//! The pass-through's answer to the client: the upstream's head (less hop-by-hop headers,
//! marked as a pass-through) and its body copied as it arrives.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use pingora_core::protocols::http::client::HttpSession;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

use super::{bad_gateway, DROP_RESPONSE, USAGE_SCAN_LIMIT};
use crate::core::error::ApiError;
use crate::pipeline::Record;
use crate::router::HttpTarget;

/// The client's response head: the upstream's, less hop-by-hop headers, marked as a
/// pass-through with its call id.
pub(super) fn response_head(
    target: &HttpTarget,
    resp: &ResponseHeader,
    call_id: &str,
) -> Result<ResponseHeader, ApiError> {
    let mut h = ResponseHeader::build(resp.status, Some(resp.headers.len()))
        .map_err(|e| bad_gateway(target, "bad response header", e))?;
    for (name, value) in resp.headers.iter() {
        if !DROP_RESPONSE.contains(&name.as_str()) {
            let _ = h.append_header(name.clone(), value.clone());
        }
    }
    let _ = h.insert_header(
        HeaderName::from_static("x-litellm-pass-through"),
        HeaderValue::from_static("true"),
    );
    let _ = h.insert_header(HeaderName::from_static("x-litellm-call-id"), call_id);
    Ok(h)
}

/// Copy the body to the client as it arrives, each read within `read_timeout`, keeping the
/// first bytes for the usage scan and counting SSE events when `count_events`. `None` when
/// the copy stopped early (client gone, upstream failed or silent): the connection is closed.
pub(super) async fn relay(
    session: &mut Session,
    up: &mut HttpSession,
    target: &HttpTarget,
    read_timeout: Duration,
    record: &mut Record,
    count_events: bool,
) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    loop {
        let chunk = tokio::select! {
            biased;
            _ = session.as_downstream_mut().read_body_or_idle(true) => {
                up.shutdown().await;
                return None;
            }
            c = tokio::time::timeout(read_timeout, up.read_response_body()) => c,
        };
        match chunk {
            Ok(Ok(Some(c))) => {
                if seen.len() + c.len() <= USAGE_SCAN_LIMIT {
                    seen.extend_from_slice(&c);
                }
                if count_events {
                    record.stream_events += memchr::memmem::find_iter(&c, b"\n\n").count() as u64;
                }
                if session.write_response_body(Some(c), false).await.is_err() {
                    up.shutdown().await;
                    return None;
                }
            }
            Ok(Ok(None)) => return Some(seen),
            Ok(Err(e)) => {
                log::warn!("pass-through to {}: body failed: {e}", target.display);
                up.shutdown().await;
                return None;
            }
            Err(_) => {
                log::warn!(
                    "pass-through to {}: no data for {:.1}s, closed",
                    target.display,
                    read_timeout.as_secs_f64()
                );
                up.shutdown().await;
                return None;
            }
        }
    }
}
