//! Provider errors that fail over: Gemini's blocked prompt (a content-policy error) and its
//! `RetryInfo`, and Anthropic's 529 to OpenAI and OpenAI's 429 to Anthropic.

use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::{Config, Model};
use crate::common::{send_chat, Gateway};
use crate::{chunks, fixture, raw, streamed_text};

#[tokio::test(flavor = "multi_thread")]
async fn gemini_blocked_prompt_is_a_content_policy_error_that_falls_back() {
    let gem = MockUpstream::start(Script::named("gem")).await.unwrap();
    let oai = MockUpstream::start(Script::named("oai")).await.unwrap();
    let yaml = Config::with([
        model("g", "gemini/gemini-2.5-flash", &gem),
        model("safe", "openai/gpt-4o", &oai),
    ])
    .router(|r| {
        r.num_retries(0)
            .content_policy_fallbacks(json!([{"g": ["safe"]}]))
    })
    .yaml();
    let gw = Gateway::start(&yaml);
    gem.push(raw(
        200,
        "application/json",
        fixture("gemini", "blocked.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "g", "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-fallbacks"], "1");
    assert_eq!(oai.request_count(), 1);
    // Without a fallback the client sees the 400 content-policy error.
    gem.push(raw(
        200,
        "application/json",
        fixture("gemini", "blocked.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "g", "disable_fallbacks": true, "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "content_policy_violation", "{v}");
    // A 429 with RetryInfo in the body becomes a retry-after header.
    gem.push(raw(
        429,
        "application/json",
        fixture("gemini/conformance", "error_429.json"),
    ));
    let r = send_chat(&gw, &json!({"model": "g", "disable_fallbacks": true, "messages": [{"role": "user", "content": "x"}]}), &[]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn overloaded_anthropic_fails_over_to_openai_and_back() {
    // 529 from Anthropic is retryable: the group's OpenAI deployment answers.
    let ant = MockUpstream::start(Script::named("ant")).await.unwrap();
    let oai = MockUpstream::start(Script::named("oai")).await.unwrap();
    let yaml = Config::with([
        model("primary", "anthropic/claude-sonnet-4-5", &ant),
        model("backup", "openai/gpt-4o", &oai),
        model("oai-first", "openai/gpt-4o", &oai),
        model("ant-backup", "anthropic/claude-sonnet-4-5", &ant),
    ])
    .router(|r| {
        r.num_retries(0)
            .fallbacks(json!([{"primary": ["backup"]}, {"oai-first": ["ant-backup"]}]))
    })
    .yaml();
    let gw = Gateway::start(&yaml);
    ant.push(raw(
        529,
        "application/json",
        fixture("anthropic", "error_overloaded.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "primary", "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-fallbacks"], "1");
    let v: Value = r.json().await.unwrap();
    assert!(v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("Hello from oai"));

    // OpenAI 429 -> Anthropic fallback, streaming: the client sees OpenAI chunks from Claude.
    oai.push(switchyard_mock::rate_limited());
    let r = send_chat(
        &gw,
        &json!({"model": "oai-first", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let (c, done) = chunks(r).await;
    assert!(done);
    assert!(streamed_text(&c).starts_with("Hello from ant"), "{c:?}");
    assert_eq!(ant.request_count(), 2);
}

/// Deployment `name` of `model` on the mock `up`.
fn model(name: &str, model: &str, up: &MockUpstream) -> Model {
    Model::new(name, model)
        .api_base(&up.base_url())
        .api_key("k")
}
