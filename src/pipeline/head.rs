//! The upstream request head for one deployment: host, length, the key or token header,
//! the provider's static headers, the deployment's extra headers, and SigV4 over the final
//! path and body (Bedrock). Shared by the exchange and health probes; pass-through builds its
//! own from the client's headers.

use pingora_core::connectors::http::Connector;
use pingora_http::RequestHeader;

use crate::core::error::ApiError;
use crate::providers::provider;
use crate::router::HttpTarget;

/// A header added to one request only (a Google access token), after the target's own.
pub(crate) type ExtraHeader = (http::header::HeaderName, http::header::HeaderValue);

/// The upstream request head, as plain `http` parts: headers go straight into the map (Pingora's
/// `insert_header` re-parses every name and keeps a second map for its case). Names go out
/// lowercase, as HTTP/2 requires and every provider accepts over HTTP/1.1.
pub(crate) fn request_header(
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
    if let Some(creds) = &target.credentials {
        for (k, v) in creds.sign("POST", path, body, std::time::SystemTime::now()) {
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

/// The per-request credential header: `Authorization: Bearer <token>` for a target with a
/// Google service account (the token is cached; fetched with `connector` when due).
pub(crate) async fn auth_header(
    connector: &Connector,
    target: &HttpTarget,
) -> Result<Option<ExtraHeader>, ApiError> {
    match &target.credentials {
        Some(creds) => creds.token(connector).await,
        None => Ok(None),
    }
}
