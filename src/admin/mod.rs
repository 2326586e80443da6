//! Health, metrics and model listing: the routes that answer without an upstream.

pub mod health;
pub mod manage;
mod routes;

use std::sync::Arc;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use pingora_proxy::Session;
use serde_json::{json, Value};

use crate::api::response::{header, write_full};
use crate::config::Runtime;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::governance::tables::KeyView;
use crate::governance::Governance;
use crate::metrics::metrics;

/// LiteLLM's fixed `created` for model entries (`DEFAULT_MODEL_CREATED_AT_TIME`).
const MODEL_CREATED: u64 = 1_677_610_602;

/// What a non-model endpoint may read besides the config.
pub struct Admin<'a> {
    pub connector: &'a Arc<Connector>,
    pub gov: Option<&'a Governance>,
    pub health: &'a health::HealthCache,
    /// The caller's virtual key: listings show only what it may call.
    pub key: Option<&'a KeyView>,
    /// The gateway is draining: readiness answers 503.
    pub draining: bool,
}

/// Answer a non-model endpoint; returns the status written.
pub async fn serve(
    session: &mut Session,
    rt: &Arc<Runtime>,
    endpoint: Endpoint,
    a: Admin<'_>,
) -> pingora_error::Result<u16> {
    let visible = |id: &str| {
        a.key.is_none_or(|k| {
            let group = rt.router.resolve(id).map_or(id, |g| &g.name);
            k.allows(group, id)
        })
    };
    let (status, ct, body) = match endpoint {
        Endpoint::Health => (200, "application/json", a.health.get(a.connector, rt).await),
        Endpoint::Liveliness => (
            200,
            "application/json",
            Bytes::from_static(b"\"I'm alive!\""),
        ),
        Endpoint::Readiness | Endpoint::ReadinessDetails if a.draining => (
            503,
            "application/json",
            Bytes::from_static(br#"{"status":"shutting_down"}"#),
        ),
        Endpoint::Readiness | Endpoint::ReadinessDetails => readiness(rt, a.gov).await,
        Endpoint::Metrics => (
            200,
            "text/plain; version=0.0.4",
            Bytes::from(metrics().render()),
        ),
        Endpoint::Routes => (200, "application/json", routes::body()),
        Endpoint::Models => {
            let query = session.req_header().uri.query().unwrap_or_default();
            // Model access groups are not served yet: asked for them alone, the list is
            // empty, as LiteLLM's is with no access groups configured.
            let groups_only = query_flag(query, "only_model_access_groups");
            let body = models(rt, &|id| !groups_only && visible(id));
            (200, "application/json", body)
        }
        Endpoint::Model => {
            let path = session.req_header().uri.path().to_string();
            let id = path
                .rsplit_once("/models/")
                .map(|(_, id)| id)
                .unwrap_or_default();
            match rt.router.resolve(id).filter(|_| visible(id)) {
                Some(_) => (
                    200,
                    "application/json",
                    Bytes::from(json!(model_entry(id)).to_string()),
                ),
                None => {
                    let e = ApiError::new(
                        404,
                        crate::core::error::ErrorKind::NotFound,
                        format!("The model `{id}` does not exist"),
                    )
                    .with_param("model")
                    .with_code("model_not_found");
                    (404, "application/json", e.body())
                }
            }
        }
        Endpoint::ChatCompletions
        | Endpoint::Completions
        | Endpoint::Embeddings
        | Endpoint::Messages
        | Endpoint::CountTokens
        | Endpoint::Responses
        | Endpoint::PassThrough(_)
        | Endpoint::Management => {
            let e = ApiError::new(
                500,
                crate::core::error::ErrorKind::ApiError,
                "model call routed to admin",
            );
            (500, "application/json", e.body())
        }
    };
    let h = header(status, ct, Some(body.len()))?;
    write_full(session, h, body).await?;
    Ok(status)
}

/// A boolean query parameter as LiteLLM's FastAPI reads one (`true`, `True`, `1`, ...).
fn query_flag(query: &str, name: &str) -> bool {
    query.split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k == name && matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on")
    })
}

fn model_entry(id: &str) -> serde_json::Value {
    json!({"id": id, "object": "model", "created": MODEL_CREATED, "owned_by": "openai"})
}

/// `/v1/models`: the listed names the caller may call.
fn models(rt: &Runtime, visible: &dyn Fn(&str) -> bool) -> Bytes {
    let data: Vec<_> = rt
        .router
        .listed_models()
        .into_iter()
        .filter(|m| visible(m))
        .map(model_entry)
        .collect();
    Bytes::from(json!({"data": data, "object": "list"}).to_string())
}

/// How long readiness waits on the database or Redis before calling it disconnected.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `/health/readiness` as LiteLLM answers it: the database's and the cache's state, 503 when
/// the database is down.
async fn readiness(rt: &Runtime, gov: Option<&Governance>) -> (u16, &'static str, Bytes) {
    let (db, cache) = match gov {
        None => ("Not connected", Value::Null),
        Some(g) => {
            let store = g.store().clone();
            let ping =
                g.run(async move { tokio::time::timeout(READINESS_TIMEOUT, store.ping()).await });
            let db = match ping.await {
                Ok(Ok(Ok(()))) => "connected",
                _ => "disconnected",
            };
            let cache = match g.counters().backend() {
                "redis" => {
                    let none = Default::default();
                    let probe = g.counters().usage("readiness", &none);
                    match tokio::time::timeout(READINESS_TIMEOUT, probe).await {
                        Ok(Ok(_)) => json!("redis"),
                        _ => json!("redis (disconnected)"),
                    }
                }
                _ => Value::Null,
            };
            (db, cache)
        }
    };
    let healthy = db != "disconnected";
    let body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "db": db,
        "cache": cache,
        "litellm_version": env!("CARGO_PKG_VERSION"),
        "switchyard_version": env!("CARGO_PKG_VERSION"),
        "success_callbacks": [],
        "model_groups": rt.router.group_count(),
        "deployments": rt.router.deployment_count(),
    });
    let status = if healthy { 200 } else { 503 };
    (status, "application/json", Bytes::from(body.to_string()))
}
