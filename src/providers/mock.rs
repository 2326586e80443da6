//! `mock_response` deployments answer locally, in the shapes LiteLLM's mock produces.

use bytes::Bytes;
use serde_json::json;

use crate::core::clock::unix_now;
use crate::core::endpoint::Endpoint;
use crate::core::ids::new_uuid;

/// LiteLLM's fixed mock usage (`DEFAULT_MOCK_RESPONSE_*_TOKEN_COUNT`).
const PROMPT_TOKENS: u64 = 10;
const COMPLETION_TOKENS: u64 = 20;

fn usage() -> serde_json::Value {
    json!({
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS
    })
}

/// A complete non-stream body for the endpoint.
pub fn body(endpoint: Endpoint, model: &str, text: &str) -> Bytes {
    let v = match endpoint {
        Endpoint::Embeddings => json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292, -0.0028842222]}],
            "model": model,
            "usage": {"prompt_tokens": PROMPT_TOKENS, "total_tokens": PROMPT_TOKENS}
        }),
        Endpoint::Completions => json!({
            "id": format!("cmpl-{}", new_uuid()),
            "object": "text_completion",
            "created": unix_now(),
            "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage()
        }),
        _ => json!({
            "id": format!("chatcmpl-{}", new_uuid()),
            "object": "chat.completion",
            "created": unix_now(),
            "model": model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text, "tool_calls": null, "function_call": null}
            }],
            "usage": usage()
        }),
    };
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// The whole SSE stream: three characters per chunk (LiteLLM's mock), a finish chunk,
/// the usage chunk when asked for, and `[DONE]`.
pub fn stream(endpoint: Endpoint, model: &str, text: &str, include_usage: bool) -> Bytes {
    let completions = endpoint == Endpoint::Completions;
    let id = if completions {
        format!("cmpl-{}", new_uuid())
    } else {
        format!("chatcmpl-{}", new_uuid())
    };
    let object = if completions {
        "text_completion"
    } else {
        "chat.completion.chunk"
    };
    let created = unix_now();
    let mut out = Vec::with_capacity(text.len() * 60 + 512);
    let mut push = |v: serde_json::Value| {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&serde_json::to_vec(&v).unwrap_or_default());
        out.extend_from_slice(b"\n\n");
    };
    let chars: Vec<char> = text.chars().collect();
    let pieces: Vec<String> = chars.chunks(3).map(|c| c.iter().collect()).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let choice = if completions {
            json!({"index": 0, "text": piece, "logprobs": null, "finish_reason": null})
        } else if i == 0 {
            json!({"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": null})
        } else {
            json!({"index": 0, "delta": {"content": piece}, "finish_reason": null})
        };
        push(
            json!({"id": id, "object": object, "created": created, "model": model, "choices": [choice]}),
        );
    }
    let last = if completions {
        json!({"index": 0, "text": "", "logprobs": null, "finish_reason": "stop"})
    } else {
        json!({"index": 0, "delta": {}, "finish_reason": "stop"})
    };
    push(
        json!({"id": id, "object": object, "created": created, "model": model, "choices": [last]}),
    );
    if include_usage {
        push(
            json!({"id": id, "object": object, "created": created, "model": model, "choices": [], "usage": usage()}),
        );
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sse::{classify, data, ChunkKind, SseFramer};

    #[test]
    fn stream_is_three_chars_per_chunk_with_done() {
        let s = stream(Endpoint::ChatCompletions, "gpt-4o", "This is a mock", true);
        let mut f = SseFramer::default();
        let mut events = Vec::new();
        f.feed(&s, |e| events.push(data(&e).unwrap())).unwrap();
        assert_eq!(events.len(), 5 + 1 + 1 + 1);
        let first: serde_json::Value = serde_json::from_slice(&events[0]).unwrap();
        assert_eq!(first["choices"][0]["delta"]["content"], "Thi");
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert!(matches!(classify(&events[6]), ChunkKind::UsageOnly(_)));
        assert_eq!(classify(&events[7]), ChunkKind::Done);
    }
}
