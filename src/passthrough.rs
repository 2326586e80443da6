//! Pass-through routes (`/openai/*`, `/anthropic/*`, `/gemini/*`, `/azure/*`, `/bedrock/*`,
//! `/vertex_ai/*`): the client's
//! request goes to the provider as it is, authenticated by the gateway key; the provider
//! credential and base URL come from the first deployment of that provider in `model_list`.
//! The response (status, headers, body, streams included) comes back verbatim.
//!
//! As LiteLLM, the path after the prefix is appended to the provider's origin:
//! `/anthropic/v1/messages` goes to `https://api.anthropic.com/v1/messages`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pingora_core::connectors::http::Connector;
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::Session;

use crate::api::error::{ApiError, ErrorKind};
use crate::config::Runtime;
use crate::providers::chat::{Event, StreamDecoder};
use crate::providers::sse::Usage;
use crate::providers::{provider, ProviderKind};
use crate::router::{Backend, Deployment, HttpTarget};
use crate::upstream::Record;

/// The route prefixes and the provider each one forwards to.
pub const PREFIXES: &[(&str, ProviderKind)] = &[
    ("/openai/", ProviderKind::OpenAi),
    ("/anthropic/", ProviderKind::Anthropic),
    ("/gemini/", ProviderKind::Gemini),
    ("/azure/", ProviderKind::Azure),
    ("/bedrock/", ProviderKind::Bedrock),
    ("/vertex_ai/", ProviderKind::VertexAi),
];

/// Which pass-through route a path is, if any (the Azure-style model routes under
/// `/openai/deployments/` are served by the gateway itself, not passed through).
pub fn route(path: &str) -> Option<ProviderKind> {
    if path.starts_with("/openai/deployments/") {
        return None;
    }
    PREFIXES
        .iter()
        .find(|(p, _)| path.starts_with(p))
        .map(|(_, k)| *k)
}

/// Headers never forwarded upstream: the gateway's own credentials and hop-by-hop ones.
const DROP_REQUEST: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "x-litellm-api-key",
    "ocp-apim-subscription-key",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "expect",
    "upgrade",
];

const DROP_RESPONSE: &[&str] = &["connection", "keep-alive", "transfer-encoding"];

fn target_for(rt: &Runtime, kind: ProviderKind) -> Option<(&Arc<Deployment>, &HttpTarget)> {
    rt.model_names
        .iter()
        .filter_map(|name| rt.group(name))
        .flat_map(|g| g.deployments.iter())
        .find_map(|d| match &d.backend {
            Backend::Http(t) if t.kind == kind => Some((d, &**t)),
            _ => None,
        })
}

/// Most of a response body kept for usage extraction; larger bodies are not read for it.
const USAGE_SCAN_LIMIT: usize = 4 * 1024 * 1024;

/// Token counts from a response of a known shape: a JSON body (OpenAI `usage`, Anthropic
/// `usage`, Gemini `usageMetadata`, Responses `usage`) or an event stream the provider's
/// decoder understands.
fn usage_of(kind: ProviderKind, content_type: &str, body: &[u8]) -> Option<Usage> {
    if content_type.starts_with("text/event-stream")
        || content_type.starts_with("application/vnd.amazon.eventstream")
    {
        let mut decoder: Box<dyn StreamDecoder> = provider(kind)
            .stream_decoder()
            .unwrap_or_else(|| Box::new(crate::providers::openai::OpenAiStream::default()));
        let mut usage = None;
        let mut record = |e: Event<'_>| {
            if let Event::Usage(u) = e {
                usage = Some(u.as_usage());
            }
        };
        decoder.feed(body, &mut record);
        decoder.finish(&mut record);
        return usage;
    }
    if !content_type.starts_with("application/json") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Any {
        #[serde(default)]
        usage: Option<AnyUsage>,
        #[serde(default, rename = "usageMetadata")]
        usage_metadata: Option<GoogleUsage>,
    }
    #[derive(serde::Deserialize)]
    struct AnyUsage {
        #[serde(default, alias = "input_tokens", alias = "inputTokens")]
        prompt_tokens: u64,
        #[serde(default, alias = "output_tokens", alias = "outputTokens")]
        completion_tokens: u64,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct GoogleUsage {
        #[serde(default)]
        prompt_token_count: u64,
        #[serde(default)]
        candidates_token_count: u64,
    }
    let any: Any = serde_json::from_slice(body).ok()?;
    let (p, c) = match (any.usage, any.usage_metadata) {
        (Some(u), _) => (u.prompt_tokens, u.completion_tokens),
        (None, Some(g)) => (g.prompt_token_count, g.candidates_token_count),
        _ => return None,
    };
    Some(Usage {
        prompt_tokens: p,
        completion_tokens: c,
        total_tokens: p + c,
        ..Usage::default()
    })
}

fn upstream_path(prefix_len: usize, path_and_query: &str, kind: ProviderKind) -> String {
    let rest = &path_and_query[prefix_len - 1..];
    if kind != ProviderKind::Gemini {
        return rest.to_string();
    }
    // The client's `?key=` is the gateway key; the provider key goes in a header.
    match rest.split_once('?') {
        None => rest.to_string(),
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("key="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
    }
}

fn request_header(
    session: &Session,
    target: &HttpTarget,
    path: &str,
    body: &[u8],
    token: Option<&crate::upstream::ExtraHeader>,
) -> pingora_error::Result<RequestHeader> {
    let req = session.req_header();
    let mut up = RequestHeader::build(req.method.as_str(), path.as_bytes(), None)?;
    for (name, value) in req.headers.iter() {
        if !DROP_REQUEST.contains(&name.as_str()) {
            up.append_header(name.clone(), value.clone())?;
        }
    }
    up.insert_header(http::header::HOST, target.host_header.clone())?;
    up.insert_header(http::header::CONTENT_LENGTH, body.len())?;
    if let Some((k, v)) = &target.auth {
        up.insert_header(k.clone(), v.clone())?;
    }
    for (k, v) in provider(target.kind).static_headers() {
        if !req.headers.contains_key(k) {
            up.insert_header(k.clone(), v.clone())?;
        }
    }
    for (k, v) in &target.extra_headers {
        up.insert_header(k.clone(), v.clone())?;
    }
    if let Some((k, v)) = token {
        up.insert_header(k.clone(), v.clone())?;
    }
    if let Some(aws) = &target.aws {
        // Bedrock with IAM credentials: signed for exactly this method, path and body.
        let signed = crate::providers::bedrock::sigv4::sign(
            &aws.credentials,
            &aws.region,
            crate::providers::bedrock::SIGNING_SERVICE,
            req.method.as_str(),
            &aws.host,
            path,
            body,
            std::time::SystemTime::now(),
        );
        for (k, v) in signed {
            up.insert_header(k, v)?;
        }
    }
    Ok(up)
}

fn bad_gateway(target: &HttpTarget, what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("pass-through to {} {what}: {e}", target.display),
    )
}

/// Forward one request; returns the status written.
pub async fn serve(
    session: &mut Session,
    rt: &Runtime,
    connector: &Connector,
    kind: ProviderKind,
    body: Bytes,
    record: &mut Record,
) -> Result<u16, ApiError> {
    let Some((dep, target)) = target_for(rt, kind) else {
        return Err(ApiError::new(
            404,
            ErrorKind::NotFound,
            format!(
                "no {} deployment in model_list: the pass-through route takes its base URL and key from one",
                kind.as_str()
            ),
        ));
    };
    let prefix_len = PREFIXES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or(1, |(p, _)| p.len());
    let path_and_query = session
        .req_header()
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let path = upstream_path(prefix_len, &path_and_query, kind);
    let peer = crate::upstream::peer(target)
        .await
        .map_err(|e| bad_gateway(target, "unreachable", e))?;
    let (mut up, _) = connector
        .get_http_session(&*peer)
        .await
        .map_err(|e| bad_gateway(target, "connection failed", e))?;
    up.set_write_timeout(Some(Duration::from_secs(30)));
    // Vertex: the service account's OAuth token (cached).
    let token = crate::upstream::auth_header(connector, target).await?;
    let req = request_header(session, target, &path, &body, token.as_ref())
        .map_err(|e| bad_gateway(target, "bad request header", e))?;
    let sent: pingora_error::Result<()> = async {
        up.write_request_header(Box::new(req)).await?;
        up.write_request_body(body, true).await?;
        up.finish_request_body().await?;
        up.read_response_header().await
    }
    .await;
    sent.map_err(|e| bad_gateway(target, "request failed", e))?;
    let Some(resp) = up.response_header() else {
        return Err(bad_gateway(target, "sent no header", ""));
    };
    let status = resp.status.as_u16();
    let content_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    record.deployment = Some(dep.clone());
    let mut seen = Vec::new();
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
    if session
        .write_response_header(Box::new(h), false)
        .await
        .is_err()
    {
        return Ok(status);
    }
    loop {
        let chunk = tokio::select! {
            biased;
            _ = session.as_downstream_mut().read_body_or_idle(true) => {
                up.shutdown().await;
                return Ok(status);
            }
            c = up.read_response_body() => c,
        };
        match chunk {
            Ok(Some(c)) => {
                if seen.len() + c.len() <= USAGE_SCAN_LIMIT {
                    seen.extend_from_slice(&c);
                }
                if session.write_response_body(Some(c), false).await.is_err() {
                    up.shutdown().await;
                    return Ok(status);
                }
            }
            Ok(None) => break,
            Err(e) => {
                log::warn!("pass-through to {}: body failed: {e}", target.display);
                up.shutdown().await;
                return Ok(status);
            }
        }
    }
    connector
        .release_http_session(up, &*peer, peer.options.idle_timeout)
        .await;
    if (200..300).contains(&status) {
        record.usage = usage_of(kind, &content_type, &seen);
    }
    if let Err(e) = session.write_response_body(None, true).await {
        log::debug!("pass-through: client gone at the end: {e}");
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_paths() {
        assert_eq!(
            route("/anthropic/v1/messages"),
            Some(ProviderKind::Anthropic)
        );
        assert_eq!(route("/openai/v1/responses"), Some(ProviderKind::OpenAi));
        assert_eq!(route("/openai/deployments/x/chat/completions"), None);
        assert_eq!(route("/v1/chat/completions"), None);
        assert_eq!(
            upstream_path(
                "/anthropic/".len(),
                "/anthropic/v1/messages?beta=true",
                ProviderKind::Anthropic
            ),
            "/v1/messages?beta=true"
        );
        assert_eq!(
            upstream_path(
                "/gemini/".len(),
                "/gemini/v1beta/models/g:generateContent?key=sk-1&alt=sse",
                ProviderKind::Gemini
            ),
            "/v1beta/models/g:generateContent?alt=sse"
        );
    }
}
