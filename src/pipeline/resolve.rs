//! Resolution: the model group a call names (exact names and aliases first, then a batch of
//! comma-separated models, then wildcards by specificity), or 400 when none serves it.

use std::sync::Arc;

use super::batch;
use super::ingress::Ingress;
use crate::config::Runtime;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::router::ModelGroup;

/// Where a call goes.
pub enum Resolution {
    /// One model group; `wildcard` is what its `*` matched in the name asked for.
    Group {
        group: Arc<ModelGroup>,
        wildcard: Option<String>,
    },
    /// A batch completion (`"model": "a,b"`): each model asked as a request of its own.
    Batch,
}

pub fn resolve(rt: &Runtime, ingress: &Ingress) -> Result<Resolution, ApiError> {
    let call = &ingress.call;
    if let Some(g) = rt.router.resolve(&call.model) {
        return Ok(Resolution::Group {
            group: g.clone(),
            wildcard: None,
        });
    }
    // Comma-separated models are a batch before any wildcard may claim them.
    if ingress.endpoint == Endpoint::ChatCompletions && batch::models(&call.model).is_some() {
        return Ok(Resolution::Batch);
    }
    match rt.router.resolve_wildcard(&call.model) {
        Some((g, matched)) => Ok(Resolution::Group {
            group: g.clone(),
            wildcard: Some(matched),
        }),
        None => Err(ApiError::bad_request(format!(
            "{}: Invalid model name passed in model={}. Call `/v1/models` to view available models for your key.",
            ingress.endpoint.as_str(), call.model
        )).with_param("model")),
    }
}
