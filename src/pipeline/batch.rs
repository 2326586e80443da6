//! LiteLLM's batch completion: `"model": "a,b"` on `/chat/completions` asks every listed model
//! the same request and answers with the list of their answers, in order.
//!
//! Each answer is a whole request of its own to this gateway, made over loopback with the
//! client's headers: authenticated, admitted, routed, retried, settled and spend-logged like
//! any other, so a batch can do nothing its parts could not. A part that fails stands in the
//! list as its error body (LiteLLM puts the exception there).

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

use crate::core::call::{Fallback, ModelCall};
use crate::core::error::{ApiError, ErrorKind};

/// The most models one batch may name.
pub const MAX_MODELS: usize = 16;

/// The largest answer read back from one part.
const PART_LIMIT: usize = 64 << 20;

/// Request headers a part does not copy from the client (the connection's own, and the body's
/// length, which differs per part).
const NOT_COPIED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "expect",
    "upgrade",
];

/// The models a batch names, if `call` is one: a model name with a comma that is not itself
/// a model group (see [`crate::router::Router::resolve`]), split and trimmed.
pub fn models(model: &str) -> Option<Vec<&str>> {
    model
        .contains(',')
        .then(|| model.split(',').map(str::trim).collect())
}

/// Check a batch before any part is sent: not streamed, 2 to [`MAX_MODELS`] non-empty names.
pub fn check(call: &ModelCall, models: &[&str]) -> Result<(), ApiError> {
    let bad = |why: String| Err(ApiError::bad_request(why).with_param("model"));
    if call.stream {
        return bad("a batch completion (comma-separated models) cannot be streamed".into());
    }
    if models.iter().any(|m| m.is_empty()) {
        return bad(format!(
            "model={}: a batch completion names models separated by commas, none empty",
            call.model
        ));
    }
    if models.len() > MAX_MODELS {
        return bad(format!(
            "a batch completion names at most {MAX_MODELS} models, got {}",
            models.len()
        ));
    }
    Ok(())
}

/// Send one part per model to the gateway at `addr` and gather the answers into a JSON list.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    headers: &http::HeaderMap,
    call: &ModelCall,
    models: &[&str],
) -> Result<Bytes, ApiError> {
    let mut parts = Vec::with_capacity(models.len());
    for m in models {
        let entry = Fallback {
            model: (*m).to_string(),
            overrides: Default::default(),
        };
        parts.push(part(addr, path, headers, call.with_overrides(&entry)?.body));
    }
    let answers = futures_util::future::join_all(parts).await;
    let mut out = BytesMut::with_capacity(answers.iter().map(Bytes::len).sum::<usize>() + 16);
    out.put_u8(b'[');
    for (i, a) in answers.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(a);
    }
    out.put_u8(b']');
    Ok(out.freeze())
}

/// One part's answer body: the gateway's JSON answer, or an error body when it could not
/// be had.
async fn part(addr: SocketAddr, path: &str, headers: &http::HeaderMap, body: Bytes) -> Bytes {
    match send(addr, path, headers, body).await {
        Ok(b) if serde_json::from_slice::<serde::de::IgnoredAny>(&b).is_ok() => b,
        Ok(_) => internal("a batch part answered with something other than JSON"),
        Err(e) => internal(&format!("a batch part failed: {e}")),
    }
}

fn internal(message: &str) -> Bytes {
    ApiError::new(500, ErrorKind::ApiError, message).body()
}

async fn send(
    addr: SocketAddr,
    path: &str,
    headers: &http::HeaderMap,
    body: Bytes,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(http::header::HOST, addr.to_string());
    for (name, value) in headers {
        if !NOT_COPIED.contains(&name.as_str()) {
            req = req.header(name, value);
        }
    }
    let resp = sender.send_request(req.body(Full::new(body))?).await?;
    let out = Limited::new(resp.into_body(), PART_LIMIT)
        .collect()
        .await?
        .to_bytes();
    driver.abort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::models;

    #[test]
    fn models_are_split_on_commas_and_trimmed() {
        assert_eq!(models("gpt-4"), None);
        assert_eq!(models("a, b,c"), Some(vec!["a", "b", "c"]));
        assert_eq!(models("a,"), Some(vec!["a", ""]));
    }
}
