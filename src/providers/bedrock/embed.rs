//! Bedrock embeddings through InvokeModel (`/model/{id}/invoke`), as LiteLLM: Amazon Titan
//! (`amazon.titan-embed-*`, one text per call) and Cohere (`cohere.embed-*`, a batch).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::chat::embedding_texts;
use crate::providers::EncodeTarget;

/// The InvokeModel body for an OpenAI embeddings request.
pub(super) fn encode(
    call: &ModelCall,
    target: &EncodeTarget<'_>,
    id: &str,
) -> Result<Bytes, ApiError> {
    let texts = embedding_texts(call, "bedrock")?;
    let dimensions: Option<u64> = call
        .raw_field("dimensions")
        .and_then(|d| serde_json::from_slice(d).ok());
    let body = if id.contains("titan-embed") {
        let [one] = texts.as_slice() else {
            return Err(ApiError::bad_request(format!(
                "{} embeds one text per request; send `input` as a single string",
                target.model
            ))
            .with_param("input"));
        };
        let mut b = json!({"inputText": one});
        if let Some(d) = dimensions {
            b["dimensions"] = d.into();
        }
        b
    } else if id.contains("cohere.embed") {
        json!({"texts": texts, "input_type": "search_document"})
    } else {
        return Err(ApiError::bad_request(format!(
            "bedrock embeddings support amazon.titan-embed-* and cohere.embed-* models, not {}",
            target.model
        ))
        .with_param("model"));
    };
    Ok(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
}

#[derive(Deserialize)]
struct Response {
    /// Titan: one vector.
    #[serde(default)]
    embedding: Option<Vec<f64>>,
    #[serde(default, rename = "inputTextTokenCount")]
    input_tokens: Option<u64>,
    /// Cohere: one vector per text (or `{"float": [...]}` with embedding_types).
    #[serde(default)]
    embeddings: Option<CohereEmbeddings>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CohereEmbeddings {
    Plain(Vec<Vec<f64>>),
    Typed { float: Vec<Vec<f64>> },
}

/// OpenAI's embeddings list from a Titan or Cohere answer.
pub(super) fn decode(body: &[u8], call: &ModelCall) -> Result<Bytes, ApiError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("bedrock returned unreadable embeddings: {e}"),
        )
    })?;
    let vectors = match (r.embedding, r.embeddings) {
        (Some(one), _) => vec![one],
        (None, Some(CohereEmbeddings::Plain(v) | CohereEmbeddings::Typed { float: v })) => v,
        (None, None) => Vec::new(),
    };
    let data: Vec<serde_json::Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e}))
        .collect();
    let tokens = r
        .input_tokens
        .unwrap_or_else(|| (call.input_json().len() as u64).div_ceil(4));
    let out = json!({"object": "list", "data": data, "model": call.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Ok(Bytes::from(serde_json::to_vec(&out).unwrap_or_default()))
}
