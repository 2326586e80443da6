//! `GET /health`: probe every deployment with a cheap real call, in LiteLLM's response shape.

use std::sync::Arc;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use serde_json::{json, Value};

use crate::config::Runtime;
use crate::pipeline::probe::probe;
use crate::router::{Backend, Deployment};

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
        .router
        .groups()
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
