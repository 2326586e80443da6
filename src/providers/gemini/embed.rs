//! Gemini embeddings: OpenAI's `/embeddings` as `:batchEmbedContents`, and back.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::resource;
use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::chat::embedding_texts;
use crate::providers::EncodeTarget;

#[derive(Serialize)]
struct Request<'a> {
    requests: Vec<One<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct One<'a> {
    model: &'a str,
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u64>,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: [Text<'a>; 1],
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// The `batchEmbedContents` body for an OpenAI embeddings request.
pub(super) fn encode(call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
    let texts = embedding_texts(call, "gemini")?;
    let dimensions: Option<u64> = match call.raw_field("dimensions") {
        None => None,
        Some(d) => serde_json::from_slice(d).map_err(|e| {
            ApiError::bad_request(format!("Invalid value for 'dimensions': {e}"))
                .with_param("dimensions")
        })?,
    };
    let model = resource(target.model);
    let body = Request {
        requests: texts
            .iter()
            .map(|t| One {
                model: &model,
                content: Content {
                    parts: [Text { text: t }],
                },
                output_dimensionality: dimensions,
            })
            .collect(),
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| ApiError::bad_request(format!("cannot encode the Gemini request: {e}")))
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    embeddings: Vec<Values>,
}

#[derive(Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<f64>,
}

/// OpenAI's embeddings list from a `batchEmbedContents` answer. Gemini reports no token
/// counts; `prompt_tokens` is estimated from the input (4 bytes a token).
pub(super) fn decode(body: &[u8], model: &str, input_len: usize) -> Result<Bytes, ApiError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("gemini returned unreadable embeddings: {e}"),
        )
    })?;
    let data: Vec<serde_json::Value> = r
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e.values}))
        .collect();
    let tokens = input_len.div_ceil(4);
    let out = json!({"object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Ok(Bytes::from(serde_json::to_vec(&out).unwrap_or_default()))
}
