//! Unit tests of `providers::openai`.

use super::*;
use crate::core::error::ErrorKind;
use crate::core::failure::FallbackClass;

#[test]
fn servers_that_say_it_in_prose_are_classed_by_their_text() {
    let class = |status, msg: &str, code: Option<&str>| {
        let e = ApiError::new(status, ErrorKind::InvalidRequest, msg);
        let e = match code {
            Some(c) => e.with_code(c),
            None => e,
        };
        OpenAi.failure(e).fallback
    };
    // vLLM: no code, only the sentence.
    let vllm =
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens";
    assert_eq!(class(400, vllm, None), FallbackClass::ContextWindow);
    assert_eq!(
        class(400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", None),
        FallbackClass::ContentPolicy
    );
    assert_eq!(
        class(400, "filtered", Some("content_filter")),
        FallbackClass::ContentPolicy
    );
    assert_eq!(class(400, "bad temperature", None), FallbackClass::Request);
    assert_eq!(class(429, "slow down", None), FallbackClass::Other);
    // The text keeps its meaning whatever the status.
    assert_eq!(
        class(500, "too many tokens", None),
        FallbackClass::ContextWindow
    );
    // The message is not altered, only classed.
    let e = ApiError::new(400, ErrorKind::InvalidRequest, vllm);
    assert_eq!(OpenAi.failure(e.clone()).error, e);
}

#[test]
fn joins_like_the_openai_sdk() {
    assert_eq!(
        OpenAi.path("/v1", Endpoint::ChatCompletions, "m", None),
        "/v1/chat/completions"
    );
    assert_eq!(
        OpenAi.path("", Endpoint::Embeddings, "m", None),
        "/embeddings"
    );
}

#[test]
fn reasoning_models_get_max_completion_tokens() {
    let call = ModelCall::parse(
        Endpoint::ChatCompletions,
        Bytes::from_static(br#"{"model":"m","max_tokens":64,"messages":[]}"#),
    )
    .unwrap();
    let encode = |model: &str| {
        let out = OpenAi
            .encode(
                &call,
                &EncodeTarget {
                    model_json: &crate::core::call::json_string(model),
                    model,
                    defaults: &[],
                    drop_params: false,
                    additional_drop_params: &[],
                },
            )
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    assert_eq!(encode("o3-mini")["max_completion_tokens"], 64);
    assert_eq!(encode("gpt-5")["max_completion_tokens"], 64);
    assert!(encode("o3-mini").get("max_tokens").is_none());
    assert_eq!(encode("gpt-4o")["max_tokens"], 64);
    assert_eq!(encode("o1x")["max_tokens"], 64);
}

#[test]
fn decodes_error_shapes() {
    let e = decode_openai_error(429, br#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#);
    assert_eq!(
        (e.status, e.message.as_str(), e.code.as_deref()),
        (429, "slow down", Some("rate_limit_exceeded"))
    );
    assert_eq!(e.kind, ErrorKind::RateLimit);
    let e = decode_openai_error(
        400,
        br#"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#,
    );
    assert_eq!(
        (e.message.as_str(), e.code.as_deref()),
        ("bad", Some("400"))
    );
    let e = decode_openai_error(502, b"<html>bad gateway</html>");
    assert_eq!(e.message, "<html>bad gateway</html>");
    let e = decode_openai_error(404, br#"{"error":"model 'x' not found"}"#);
    assert_eq!(e.message, "model 'x' not found");
}
