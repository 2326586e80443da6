//! Health probes: one cheap real call to a deployment (chat, completion or embedding by its
//! `model_info.mode`), through the same head builder and transport as the exchange, with the
//! gateway's own clearance. `/health` and the background health checks call [`probe`].

use std::time::Duration;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use serde_json::json;

use super::head::{auth_header, request_header};
use crate::core::call::MockSpec;
use crate::core::endpoint::Endpoint;
use crate::governance::admission::Clearance;
use crate::providers::{provider, EncodeTarget};
use crate::router::{Backend, Deployment, HttpTarget};

/// How long one probe may take (LiteLLM's `health_check_timeout` default is 60 s; probes are
/// meant to be cheap, so a shorter bound keeps `/health` responsive).
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The probe request for a deployment's `model_info.mode`.
fn probe_body(dep: &Deployment) -> (Endpoint, Bytes) {
    let model = dep.upstream_model.as_ref();
    let (endpoint, body) = match dep.mode.as_deref() {
        Some("embedding") => (
            Endpoint::Embeddings,
            json!({"model": model, "input": "ping"}),
        ),
        Some("completion") => (
            Endpoint::Completions,
            json!({"model": model, "prompt": "ping", "max_tokens": 1}),
        ),
        _ => (
            Endpoint::ChatCompletions,
            json!({"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}),
        ),
    };
    (endpoint, Bytes::from(body.to_string()))
}

async fn probe_http(
    connector: &Connector,
    dep: &Deployment,
    target: &HttpTarget,
) -> Result<(), String> {
    let (endpoint, raw) = probe_body(dep);
    let call = crate::core::call::ModelCall::parse(endpoint, raw).map_err(|e| e.message)?;
    let model_json = match &dep.health_check_model {
        Some(m) => crate::core::call::json_string(m),
        None if dep.upstream_model.contains('*') => {
            return Err(
                "wildcard deployment: set model_info.health_check_model to probe it".into(),
            );
        }
        None => dep.model_json.clone(),
    };
    let body = provider(target.kind)
        .encode(
            &call,
            &EncodeTarget {
                model_json: &model_json,
                model: dep
                    .health_check_model
                    .as_deref()
                    .unwrap_or(&dep.upstream_model),
                defaults: &[],
                drop_params: true,
                additional_drop_params: &dep.additional_drop_params,
            },
        )
        .map_err(|e| e.message)?;
    let peer = target.addr.peer().await?;
    let extra = auth_header(connector, target)
        .await
        .map_err(|e| e.message)?;
    let head = request_header(target, target.path(endpoint), &body, extra.as_ref());
    let (mut up, _) = crate::upstream::send(
        Clearance::health_probe().cleared(),
        connector,
        &peer,
        head,
        &body,
    )
    .await
    .map_err(|(e, _)| format!("request failed: {e}"))?;
    let status = up.response_header().map_or(0, |h| h.status.as_u16());
    let headers = up
        .response_header()
        .map(|h| h.headers.clone())
        .unwrap_or_default();
    let mut err_body = Vec::new();
    while let Some(chunk) = up.read_response_body().await.map_err(|e| e.to_string())? {
        if err_body.len() < 4096 {
            err_body.extend_from_slice(&chunk);
        }
    }
    connector
        .release_http_session(up, &*peer, peer.options.idle_timeout)
        .await;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(provider(target.kind)
            .decode_error(status, &headers, &err_body)
            .to_string())
    }
}

/// Probe one deployment; the error says why it is unhealthy.
pub async fn probe(connector: &Connector, dep: &Deployment) -> Result<(), String> {
    match &dep.backend {
        Backend::Mock(MockSpec::Text(_)) => Ok(()),
        Backend::Mock(MockSpec::Error(e)) => Err(e.to_string()),
        Backend::Unsupported(p) => Err(format!(
            "provider \"{p}\" is not implemented in this version"
        )),
        Backend::Http(t) => {
            match tokio::time::timeout(PROBE_TIMEOUT, probe_http(connector, dep, t)).await {
                Ok(r) => r,
                Err(_) => Err(format!("timed out after {}s", PROBE_TIMEOUT.as_secs())),
            }
        }
    }
}
