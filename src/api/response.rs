//! Writing responses to the client: JSON bodies, errors and the ids they carry.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

use super::error::ApiError;
use crate::providers::chat::ClientWire;

/// A random UUIDv4 string (call ids, mock response ids).
pub fn new_uuid() -> String {
    let v: u128 = rand::random();
    let v =
        (v & !(0xF000u128 << 64) | (0x4000u128 << 64)) & !(0xC000u128 << 48) | (0x8000u128 << 48);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Build a response header with a content type and length.
pub fn header(
    status: u16,
    content_type: &'static str,
    len: Option<usize>,
) -> pingora_error::Result<ResponseHeader> {
    let mut h = ResponseHeader::build(status, Some(6))?;
    h.insert_header(http::header::CONTENT_TYPE, content_type)?;
    match len {
        Some(n) => h.insert_header(http::header::CONTENT_LENGTH, n)?,
        None => h.insert_header(http::header::TRANSFER_ENCODING, "chunked")?,
    }
    Ok(h)
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

/// Write a JSON error in the client's API shape.
pub async fn write_error(
    session: &mut Session,
    err: &ApiError,
    wire: ClientWire,
) -> pingora_error::Result<()> {
    let body = err.body_for(wire);
    let mut h = header(err.status, "application/json", Some(body.len()))?;
    for (name, value) in &err.headers {
        h.insert_header(*name, value.as_str())?;
    }
    write_full(session, h, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
