//! Reading the client's request body once, bounded, with `Expect: 100-continue`.

use bytes::{Bytes, BytesMut};
use pingora_proxy::Session;

use crate::core::error::{ApiError, ErrorKind};

fn too_large(session: &mut Session, limit: usize, seen: usize) -> ApiError {
    session.set_keepalive(None);
    let mb = |n: usize| n as f64 / (1024.0 * 1024.0);
    ApiError::new(
        413,
        ErrorKind::InvalidRequest,
        format!(
            "Request size is too large. Request size is at least {:.2} MB. Max size is {:.2} MB",
            mb(seen),
            mb(limit)
        ),
    )
}

/// Read the whole body, refusing more than `limit` bytes with a 413.
pub async fn read(session: &mut Session, limit: usize) -> Result<Bytes, ApiError> {
    let headers = &session.req_header().headers;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let expects = headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if let Some(n) = declared {
        if n > limit {
            return Err(too_large(session, limit, n));
        }
    }
    if expects {
        session
            .write_continue_response()
            .await
            .map_err(|e| ApiError::bad_request(format!("client connection failed: {e}")))?;
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(4096).min(limit));
    let mut single: Option<Bytes> = None;
    loop {
        let chunk = session
            .read_request_body()
            .await
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        let Some(chunk) = chunk else { break };
        let seen = buf.len() + single.as_ref().map_or(0, Bytes::len) + chunk.len();
        if seen > limit {
            return Err(too_large(session, limit, seen));
        }
        // One chunk (the common case) is kept as it is; more are joined.
        match single.take() {
            None if buf.is_empty() => single = Some(chunk),
            None => buf.extend_from_slice(&chunk),
            Some(first) => {
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(single.unwrap_or_else(|| buf.freeze()))
}
