//! `GET /health`: probe every deployment with a cheap real call, in LiteLLM's response shape.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use serde_json::{json, Value};

use crate::config::Runtime;
use crate::core::call::MockSpec;
use crate::core::endpoint::Endpoint;
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
    let peer = crate::upstream::peer(target).await?;
    let extra = crate::upstream::auth_header(connector, target)
        .await
        .map_err(|e| e.message)?;
    let (mut up, _) = crate::upstream::send(
        &crate::governance::admission::Clearance::health_probe(),
        connector,
        target,
        target.path(endpoint),
        &peer,
        &body,
        extra.as_ref(),
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

async fn probe(connector: &Connector, dep: &Deployment) -> Result<(), String> {
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

fn entry(dep: &Deployment) -> Value {
    let api_base = match &dep.backend {
        Backend::Http(t) => Value::String(t.display.clone()),
        _ => Value::Null,
    };
    json!({
        "model": format!("{}/{}", dep.backend.provider_label(), dep.upstream_model),
        "model_name": &*dep.group,
        "model_id": &*dep.id,
        "api_base": api_base,
    })
}

/// Probe all deployments concurrently; LiteLLM's `/health` body.
pub async fn check(connector: &Arc<Connector>, rt: &Runtime) -> Value {
    let deps: Vec<Arc<Deployment>> = rt
        .model_names
        .iter()
        .filter_map(|m| rt.group(m))
        .flat_map(|g| g.deployments.iter().cloned())
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for (i, dep) in deps.iter().enumerate() {
        let (c, d) = (connector.clone(), dep.clone());
        set.spawn(async move { (i, probe(&c, &d).await) });
    }
    let mut results: Vec<Option<Result<(), String>>> = vec![None; deps.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, r)) = joined {
            results[i] = Some(r);
        }
    }
    let (mut healthy, mut unhealthy) = (Vec::new(), Vec::new());
    for (dep, r) in deps.iter().zip(results) {
        let mut e = entry(dep);
        let r = r.unwrap_or_else(|| Err("probe task failed".into()));
        dep.stats
            .probe_failed
            .store(r.is_err(), std::sync::atomic::Ordering::Relaxed);
        match r {
            Ok(()) => healthy.push(e),
            Err(msg) => {
                e["error"] = Value::String(msg);
                unhealthy.push(e);
            }
        }
    }
    json!({
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
    })
}

/// The last `/health` round, reused for `general_settings.health_check_cache_seconds` so
/// repeated calls cannot turn into a storm of real provider calls. Callers that arrive
/// while a round runs wait for it (one round at a time).
#[derive(Default)]
pub struct HealthCache {
    last: tokio::sync::Mutex<Option<(std::time::Instant, usize, Bytes)>>,
}

impl HealthCache {
    /// The body of a round no older than `rt.settings.health_cache` for this config
    /// snapshot, probing again when there is none.
    pub async fn get(&self, connector: &Arc<Connector>, rt: &Arc<Runtime>) -> Bytes {
        // A reload publishes a new snapshot: its deployments are probed afresh.
        let snapshot = Arc::as_ptr(rt) as usize;
        let mut last = self.last.lock().await;
        if let Some((at, snap, body)) = &*last {
            if *snap == snapshot && at.elapsed() < rt.settings.health_cache {
                return body.clone();
            }
        }
        let body = Bytes::from(check(connector, rt).await.to_string());
        *last = Some((std::time::Instant::now(), snapshot, body.clone()));
        body
    }
}
