//! Pass-through routes (`/openai/*`, `/anthropic/*`, `/gemini/*`, `/azure/*`, `/bedrock/*`,
//! `/vertex_ai/*`): the client's
//! request goes to the provider as it is, authenticated by the gateway key; the provider
//! credential and base URL come from the first deployment of that provider in `model_list`.
//! The response (status, headers, body, streams included) comes back verbatim.
//!
//! As LiteLLM, the path after the prefix is appended to the provider's origin:
//! `/anthropic/v1/messages` goes to `https://api.anthropic.com/v1/messages`.

mod relay;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use pingora_core::connectors::http::Connector;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use pingora_proxy::Session;

use crate::api::endpoint::PASS_THROUGH;
use crate::config::Runtime;
use crate::core::chat::Usage;
use crate::core::chat::{Event, StreamDecoder};
use crate::core::error::{ApiError, ErrorKind};
use crate::governance::admission::Clearance;
use crate::governance::tables::KeyView;
use crate::pricing::cost::{Price, UsdPrices};
use crate::providers::{provider, ProviderKind};
use crate::router::{Backend, Deployment, HttpTarget, ModelGroup};

use crate::pipeline::Record;
use relay::{relay, response_head};
pub use serve::pass_through;

/// Client headers forwarded upstream; everything else (the gateway key, cookies,
/// `proxy-authorization`, `openai-organization`/`-project`, hop-by-hop headers,
/// `accept-encoding` so that usage stays readable) stays here.
const FORWARD_REQUEST: &[&str] = &[
    "content-type",
    "accept",
    "user-agent",
    "anthropic-version",
    "anthropic-beta",
    "openai-beta",
    "idempotency-key",
    "x-request-id",
];

/// Forwarded too: the SDKs' own telemetry headers (`x-stainless-os`, ...).
const FORWARD_PREFIX: &str = "x-stainless-";

const DROP_RESPONSE: &[&str] = &["connection", "keep-alive", "transfer-encoding"];

/// Forwarded only with `general_settings.forward_openai_org_id: true`.
const FORWARD_OPENAI_ORG: &[&str] = &["openai-organization", "openai-project"];

fn forwarded(name: &str, openai_org: bool) -> bool {
    FORWARD_REQUEST.contains(&name)
        || name.starts_with(FORWARD_PREFIX)
        || (openai_org && FORWARD_OPENAI_ORG.contains(&name))
}

/// Every HTTP deployment of `kind`, in config order, with its group.
fn of_kind(
    rt: &Runtime,
    kind: ProviderKind,
) -> impl Iterator<Item = (&Arc<ModelGroup>, &Arc<Deployment>, &HttpTarget)> {
    rt.router
        .groups()
        .flat_map(|g| g.deployments.iter().map(move |d| (g, d)))
        .filter_map(move |(g, d)| match &d.backend {
            Backend::Http(t) if t.kind == kind => Some((g, d, &**t)),
            _ => None,
        })
}

/// The deployments of `kind` that serve `model` itself.
fn serving<'a>(
    rt: &'a Runtime,
    kind: ProviderKind,
    model: &'a str,
) -> impl Iterator<Item = (&'a Arc<ModelGroup>, &'a Arc<Deployment>, &'a HttpTarget)> {
    of_kind(rt, kind).filter(move |(_, d, _)| *d.upstream_model == *model)
}

/// The deployment whose base URL and credentials serve a pass-through call of `kind`: one
/// marked `use_in_pass_through`, else one serving the model asked for, else the first.
fn target_for<'a>(
    rt: &'a Runtime,
    kind: ProviderKind,
    model: Option<&'a str>,
) -> Option<(&'a Arc<Deployment>, &'a HttpTarget)> {
    of_kind(rt, kind)
        .find(|(_, d, _)| d.use_in_pass_through)
        .or_else(|| model.and_then(|m| serving(rt, kind, m).next()))
        .or_else(|| of_kind(rt, kind).next())
        .map(|(_, d, t)| (d, t))
}

/// The model group a pass-through call of `model` is admitted and logged as: the model
/// itself when the key may name it, else a group the key may use that serves it (a key for
/// `claude` may call `/anthropic/*` with that group's `claude-sonnet-4-5`). Without such a
/// group it stays the model, and admission refuses it.
pub fn group_for(rt: &Runtime, kind: ProviderKind, model: &str, key: Option<&KeyView>) -> String {
    match key {
        Some(k) if !k.allows(model, model) => serving(rt, kind, model)
            .find(|(g, _, _)| k.allows(&g.name, &g.name))
            .map_or_else(|| model.to_string(), |(g, _, _)| g.name.to_string()),
        _ => model.to_string(),
    }
}

/// What a pass-through body says about itself, read in one parse.
#[derive(Default)]
pub struct Named {
    /// The model it names: in the path for Gemini, Vertex, Bedrock and Azure
    /// (`models/{m}:generateContent`, `model/{m}/invoke`, `deployments/{m}/...`), else the
    /// body's `model`.
    pub model: Option<String>,
    /// `max_tokens` (OpenAI, Anthropic; or `max_completion_tokens` / `max_output_tokens`),
    /// for the reservation.
    pub max_tokens: Option<u64>,
}

impl Named {
    pub fn read(kind: ProviderKind, path: &str, body: &[u8]) -> Named {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            model: Option<String>,
            #[serde(default, alias = "max_completion_tokens", alias = "max_output_tokens")]
            max_tokens: Option<u64>,
        }
        let parsed = serde_json::from_slice::<Body>(body).ok();
        let in_path = kind.pass_through().model_in_path;
        let model = in_path
            .then(|| model_in_path(path))
            .flatten()
            .or_else(|| parsed.as_ref().and_then(|b| b.model.clone()))
            .filter(|m| !m.is_empty());
        Named {
            model,
            max_tokens: parsed.and_then(|b| b.max_tokens),
        }
    }
}

/// The segment after `models/`, `model/` or `deployments/`, without a `:action` suffix.
fn model_in_path(path: &str) -> Option<String> {
    let mut segments = path.split('/');
    while let Some(s) = segments.next() {
        if matches!(s, "models" | "model" | "deployments") {
            let m = segments.next()?;
            let m = m.split_once(':').map_or(m, |(m, _)| m);
            if !m.is_empty() {
                return Some(m.to_string());
            }
        }
    }
    None
}

/// The price of a pass-through call: the configured deployment serving that model, else
/// the bundled table's entry for it, else unknown (free, counted in a metric).
pub fn price_of(rt: &Runtime, kind: ProviderKind, model: Option<&str>) -> Price {
    let Some(model) = model else {
        return Price::default();
    };
    if let Some((_, d, _)) = serving(rt, kind, model).next() {
        return d.price;
    }
    let bare = model.rsplit_once('/').map_or(model, |(_, m)| m);
    crate::pricing::lookup(kind.as_str(), bare, Some(model)).map_or_else(Price::default, |t| {
        Price::from_prices(UsdPrices::of_table(t), t.max_output_tokens)
    })
}

/// Refuse a forwarded path that could leave the provider's API: dot segments, encoded
/// separators or dots, backslashes.
pub fn check_path(path: &str) -> Result<(), ApiError> {
    let lower = path.to_ascii_lowercase();
    let dots = path.split('/').any(|s| s == "." || s == "..");
    let encoded = ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|e| lower.contains(e));
    if dots || encoded || path.contains('\\') {
        return Err(ApiError::bad_request(format!(
            "pass-through path {path:?} has dot segments or encoded separators"
        )));
    }
    Ok(())
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
                usage = Some(u);
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
        prompt: p,
        completion: c,
        reported_total: Some(p + c),
        ..Usage::default()
    })
}

fn upstream_path(prefix_len: usize, path_and_query: &str, kind: ProviderKind) -> String {
    let rest = &path_and_query[prefix_len - 1..];
    if !kind.pass_through().key_in_query {
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
    token: Option<&crate::pipeline::head::ExtraHeader>,
    openai_org: bool,
) -> pingora_error::Result<RequestHeader> {
    let req = session.req_header();
    let mut up = RequestHeader::build(req.method.as_str(), path.as_bytes(), None)?;
    for (name, value) in req.headers.iter() {
        if forwarded(name.as_str(), openai_org) {
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
    if let Some(creds) = &target.credentials {
        // Bedrock with IAM credentials: signed for exactly this method, path and body.
        let now = std::time::SystemTime::now();
        for (k, v) in creds.sign(req.method.as_str(), path, body, now) {
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

/// One admitted pass-through call.
pub struct Forward<'a> {
    pub kind: ProviderKind,
    /// The model it names (path or body), if any.
    pub model: Option<&'a str>,
    pub body: Bytes,
    /// `x-litellm-call-id`, the spend row's request id.
    pub call_id: &'a str,
}

/// Forward one admitted request to the deployment serving its model; returns the status
/// written. The upstream's head and each body read must come within the deployment's
/// `timeout`.
pub async fn serve(
    session: &mut Session,
    rt: &Runtime,
    connector: &Connector,
    call: Forward<'_>,
    record: &mut Record,
    cleared: &Clearance,
) -> Result<u16, ApiError> {
    let Forward {
        kind,
        model,
        body,
        call_id,
    } = call;
    let Some((dep, target)) = target_for(rt, kind, model) else {
        return Err(ApiError::new(
            404,
            ErrorKind::NotFound,
            format!(
                "no {} deployment in model_list: the pass-through route takes its base URL and key from one",
                kind.as_str()
            ),
        ));
    };
    let path = path_for(session, kind);
    let peer = target
        .addr
        .peer()
        .await
        .map_err(|e| bad_gateway(target, "unreachable", e))?;
    let org = rt.settings.forward_openai_org;
    let head = Head {
        target,
        path: &path,
        org,
    };
    let mut up = sent(
        session,
        connector,
        cleared,
        &peer,
        head,
        body,
        (dep, record),
    )
    .await?;
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
    let h = response_head(target, resp, call_id)?;
    let ok = (200..300).contains(&status);
    if ok {
        // From here a cut response is still billed (the prompt at least).
        record.committed_at = Some(std::time::Instant::now());
    }
    if session
        .write_response_header(Box::new(h), false)
        .await
        .is_err()
    {
        return Ok(status);
    }
    let counted = ok && content_type.starts_with("text/event-stream");
    let Some(seen) = relay(session, &mut up, target, dep.timeout, record, counted).await else {
        return Ok(status);
    };
    connector
        .release_http_session(up, &*peer, peer.options.idle_timeout)
        .await;
    if ok {
        record.usage = usage_of(kind, &content_type, &seen);
    }
    if let Err(e) = session.write_response_body(None, true).await {
        log::debug!("pass-through: client gone at the end: {e}");
    }
    Ok(status)
}

/// The upstream path and query of a pass-through request: the client's, after its prefix.
fn path_for(session: &Session, kind: ProviderKind) -> String {
    let prefix_len = PASS_THROUGH
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or(1, |(p, _)| p.len());
    let path_and_query = session
        .req_header()
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str());
    upstream_path(prefix_len, path_and_query, kind)
}

/// Where and how a pass-through call is sent.
struct Head<'a> {
    target: &'a HttpTarget,
    path: &'a str,
    /// `forward_openai_org_id_header`: the client's `OpenAI-Organization` goes along.
    org: bool,
}

/// Connect, send the client's head (its own headers, the deployment's credentials) and body,
/// and read the response head within the deployment's `timeout`. Once the request is on its
/// way the record names the deployment (a failed send is still its call).
async fn sent(
    session: &Session,
    connector: &Connector,
    cleared: &Clearance,
    peer: &HttpPeer,
    head: Head<'_>,
    body: Bytes,
    (dep, record): (&Arc<Deployment>, &mut Record),
) -> Result<HttpSession, ApiError> {
    let target = head.target;
    let read_timeout = dep.timeout;
    let (mut up, _) = crate::upstream::connect(cleared.cleared(), connector, peer)
        .await
        .map_err(|e| bad_gateway(target, "connection failed", e))?;
    up.set_write_timeout(Some(Duration::from_secs(30)));
    // Vertex: the service account's OAuth token (cached).
    let token = crate::pipeline::head::auth_header(connector, target).await?;
    let req = request_header(session, target, head.path, &body, token.as_ref(), head.org)
        .map_err(|e| bad_gateway(target, "bad request header", e))?;
    let sent = async {
        up.write_request_header(Box::new(req)).await?;
        up.write_request_body(body, true).await?;
        up.finish_request_body().await?;
        up.read_response_header().await
    };
    record.deployment = Some(dep.clone());
    match tokio::time::timeout(read_timeout, sent).await {
        Ok(r) => r.map_err(|e| bad_gateway(target, "request failed", e))?,
        Err(_) => {
            return Err(ApiError::timeout(format!(
                "pass-through to {} sent no response within {:.1}s",
                target.display,
                read_timeout.as_secs_f64()
            )))
        }
    }
    Ok(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_paths() {
        use crate::api::endpoint::pass_through as route;
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
