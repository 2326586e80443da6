//! The mock's Gemini API (`POST …/models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`): the same greeting and tokens as the OpenAI routes, in
//! Gemini's response shape. A request with `tools` is answered with a call of the first one.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::answers::content_piece;

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    tools: Option<Vec<ToolGroup>>,
}

#[derive(Deserialize)]
struct ToolGroup {
    #[serde(default, rename = "functionDeclarations")]
    function_declarations: Vec<Declaration>,
}

#[derive(Deserialize)]
struct Declaration {
    name: String,
}

/// The first declared function, if any.
pub(super) fn parse(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let f: Fields = serde_json::from_slice(body)?;
    Ok(f.tools
        .into_iter()
        .flatten()
        .flat_map(|g| g.function_declarations)
        .map(|d| d.name)
        .next())
}

fn model_of(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .and_then(|last| last.split(':').next())
        .unwrap_or("gemini-mock")
}

fn chunk(
    parts: serde_json::Value,
    finish: Option<&str>,
    usage: serde_json::Value,
    path: &str,
    id: u64,
) -> serde_json::Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(f) = finish {
        candidate["finishReason"] = f.into();
    }
    json!({"candidates": [candidate], "usageMetadata": usage,
        "modelVersion": model_of(path), "responseId": format!("mockresp{id}")})
}

fn usage(prompt: usize, completion: usize) -> serde_json::Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": completion,
        "totalTokenCount": prompt + completion})
}

/// A whole `generateContent` answer.
pub(super) fn answer(
    tool: Option<&str>,
    name: &str,
    chunks: usize,
    path: &str,
    id: u64,
    prompt: usize,
) -> String {
    let parts = match tool {
        Some(t) => json!([{"functionCall": {"name": t, "args": {"city": "Paris"}}}]),
        None => {
            let text: String = (0..chunks).map(|i| content_piece(name, i)).collect();
            json!([{"text": text}])
        }
    };
    chunk(parts, Some("STOP"), usage(prompt, chunks), path, id).to_string()
}

/// The `alt=sse` events of an answer (no end marker: the stream ends with the body).
pub(super) fn events(
    tool: Option<&str>,
    name: &str,
    chunks: usize,
    path: &str,
    id: u64,
    prompt: usize,
) -> Vec<Bytes> {
    let sse = |v: serde_json::Value| Bytes::from(format!("data: {v}\r\n\r\n"));
    if let Some(t) = tool {
        let parts = json!([{"functionCall": {"name": t, "args": {"city": "Paris"}}}]);
        return vec![sse(chunk(
            parts,
            Some("STOP"),
            usage(prompt, chunks),
            path,
            id,
        ))];
    }
    (0..chunks)
        .map(|i| {
            let last = i + 1 == chunks;
            let u = if last {
                usage(prompt, chunks)
            } else {
                json!({"promptTokenCount": prompt, "totalTokenCount": prompt})
            };
            sse(chunk(
                json!([{"text": content_piece(name, i)}]),
                last.then_some("STOP"),
                u,
                path,
                id,
            ))
        })
        .collect()
}
