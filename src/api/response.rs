//! Writing responses to the client: JSON bodies, errors and the ids they carry.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::HeaderValue;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

use crate::core::chat::ClientWire;
use crate::core::error::ApiError;

/// The head of a response with a content type and a length (`None`: chunked, and then
/// `cache-control: no-cache`, as a streamed answer is never cacheable), as plain `http` parts: headers go straight into the map (Pingora's `insert_header` re-parses every
/// name and keeps a second map for its case). Names go out lowercase, as uvicorn (LiteLLM's
/// server) sends them.
pub fn parts(
    status: u16,
    content_type: &'static str,
    len: Option<usize>,
) -> pingora_error::Result<http::response::Parts> {
    let (mut p, ()) = http::Response::new(()).into_parts();
    p.status = http::StatusCode::from_u16(status).map_err(|_| {
        pingora_error::Error::explain(pingora_error::ErrorType::InvalidHTTPHeader, "status")
    })?;
    let h = &mut p.headers;
    h.reserve(16);
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    match len {
        Some(n) => {
            h.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
        None => {
            h.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
    }
    Ok(p)
}

/// [`parts`] as Pingora's response header, for responses that add nothing else.
pub fn header(
    status: u16,
    content_type: &'static str,
    len: Option<usize>,
) -> pingora_error::Result<ResponseHeader> {
    parts(status, content_type, len).map(ResponseHeader::from)
}

/// Write a complete response with a body.
pub async fn write_full(
    session: &mut Session,
    mut h: ResponseHeader,
    body: Bytes,
) -> pingora_error::Result<()> {
    if session.req_header().method == http::Method::HEAD {
        h.insert_header(http::header::CONTENT_LENGTH, body.len())?;
        return session.write_response_header(Box::new(h), true).await;
    }
    session.write_response_header(Box::new(h), false).await?;
    session.write_response_body(Some(body), true).await
}

/// An error's body in the client's API shape (OpenAI's, or Anthropic's for `/v1/messages`).
pub fn error_body(err: &ApiError, wire: ClientWire) -> Bytes {
    match wire {
        ClientWire::OpenAi | ClientWire::Responses => err.body(),
        ClientWire::Anthropic => crate::api::messages::error_body(err),
    }
}

/// Write a JSON error in the client's API shape.
pub async fn write_error(
    session: &mut Session,
    err: &ApiError,
    wire: ClientWire,
) -> pingora_error::Result<()> {
    let body = error_body(err, wire);
    let mut h = header(err.status, "application/json", Some(body.len()))?;
    for (name, value) in &err.headers {
        h.insert_header(*name, value.as_str())?;
    }
    write_full(session, h, body).await
}
