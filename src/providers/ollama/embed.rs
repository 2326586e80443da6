//! Ollama embeddings: OpenAI's `/embeddings` as `POST /api/embed`, and back.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::EncodeTarget;

/// `{model, input}`: Ollama takes a string or an array of strings, as OpenAI.
pub(super) fn encode(call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
    let input = call.input_json();
    if input.first() == Some(&b'[')
        && input.get(1..).is_some_and(|r| {
            r.trim_ascii_start()
                .first()
                .is_some_and(|b| b.is_ascii_digit() || *b == b'[')
        })
    {
        return Err(ApiError::bad_request(
            "ollama embeddings take a string or an array of strings (not token ids)",
        )
        .with_param("input"));
    }
    let mut out = Vec::with_capacity(input.len() + target.model_json.len() + 32);
    out.extend_from_slice(b"{\"model\":");
    out.extend_from_slice(target.model_json);
    out.extend_from_slice(b",\"input\":");
    out.extend_from_slice(input);
    if let Some(d) = call.raw_field("dimensions") {
        out.extend_from_slice(b",\"dimensions\":");
        out.extend_from_slice(d);
    }
    out.push(b'}');
    Ok(Bytes::from(out))
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    embeddings: Vec<Vec<f64>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
}

/// OpenAI's embeddings list from `/api/embed`'s `{embeddings: [[...]], prompt_eval_count}`.
pub(super) fn decode(body: &[u8], model: &str) -> Result<Bytes, ApiError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("ollama returned unreadable embeddings: {e}"),
        )
    })?;
    let data: Vec<serde_json::Value> = r
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e}))
        .collect();
    let tokens = r.prompt_eval_count.unwrap_or(0);
    let out = json!({"object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Ok(Bytes::from(serde_json::to_vec(&out).unwrap_or_default()))
}
