//! Health, metrics and model listing: the routes that answer without an upstream.

pub mod health;
pub mod manage;

use bytes::Bytes;
use pingora_proxy::Session;
use serde_json::json;

use crate::api::response::{header, write_full};
use crate::api::{ApiError, Endpoint};
use crate::config::Runtime;
use crate::metrics::metrics;

/// LiteLLM's fixed `created` for model entries (`DEFAULT_MODEL_CREATED_AT_TIME`).
const MODEL_CREATED: u64 = 1_677_610_602;

/// Answer a non-model endpoint; returns the status written.
pub async fn serve(
    session: &mut Session,
    rt: &Runtime,
    connector: &std::sync::Arc<pingora_core::connectors::http::Connector>,
    endpoint: Endpoint,
) -> pingora_error::Result<u16> {
    let (status, ct, body) = match endpoint {
        Endpoint::Health => (
            200,
            "application/json",
            Bytes::from(health::check(connector, rt).await.to_string()),
        ),
        Endpoint::Liveliness => (
            200,
            "application/json",
            Bytes::from_static(b"\"I'm alive!\""),
        ),
        Endpoint::Readiness if crate::server::draining() => (
            503,
            "application/json",
            Bytes::from_static(br#"{"status":"shutting_down"}"#),
        ),
        Endpoint::Readiness => (200, "application/json", readiness(rt)),
        Endpoint::Metrics => (
            200,
            "text/plain; version=0.0.4",
            Bytes::from(metrics().render()),
        ),
        Endpoint::Models => (200, "application/json", models(rt)),
        Endpoint::Model => {
            let path = session.req_header().uri.path().to_string();
            let id = path
                .rsplit_once("/models/")
                .map(|(_, id)| id)
                .unwrap_or_default();
            match rt.resolve(id) {
                Some(_) => (
                    200,
                    "application/json",
                    Bytes::from(json!(model_entry(id)).to_string()),
                ),
                None => {
                    let e = ApiError::new(
                        404,
                        crate::api::error::ErrorKind::NotFound,
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
        | Endpoint::PassThrough(_) => {
            let e = ApiError::new(
                500,
                crate::api::error::ErrorKind::ApiError,
                "model call routed to admin",
            );
            (500, "application/json", e.body())
        }
    };
    let h = header(status, ct, Some(body.len()))?;
    write_full(session, h, body).await?;
    Ok(status)
}

fn model_entry(id: &str) -> serde_json::Value {
    json!({"id": id, "object": "model", "created": MODEL_CREATED, "owned_by": "openai"})
}

fn models(rt: &Runtime) -> Bytes {
    let data: Vec<_> = rt.listed_models().into_iter().map(model_entry).collect();
    Bytes::from(json!({"data": data, "object": "list"}).to_string())
}

fn readiness(rt: &Runtime) -> Bytes {
    let db = if rt.settings.database_url.is_some() {
        "configured (not used in this version)"
    } else {
        "Not connected"
    };
    Bytes::from(
        json!({
            "status": "healthy",
            "db": db,
            "cache": null,
            "litellm_version": env!("CARGO_PKG_VERSION"),
            "switchyard_version": env!("CARGO_PKG_VERSION"),
            "success_callbacks": [],
            "model_groups": rt.model_names.len(),
            "deployments": rt.deployment_count(),
        })
        .to_string(),
    )
}
