//! Pass-through routes: gateway key in, provider key out, response verbatim (streams too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::config::{Config, Model};
use common::{client, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

async fn setup() -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    mock.set_recording(true);
    let yaml = Config::with([
        Model::new("claude", "anthropic/claude-sonnet-4-5")
            .api_base(&mock.base_url())
            .api_key("sk-ant-provider"),
        Model::new("gpt", "openai/gpt-4o")
            .api_base(&mock.base_url())
            .api_key("sk-oai-provider"),
    ])
    .yaml();
    (mock, Gateway::start(&yaml))
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_pass_through_swaps_the_key_and_returns_the_body_verbatim() {
    let (mock, gw) = setup().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let r = client()
        .post(gw.url("/anthropic/v1/messages"))
        .header("x-api-key", MASTER_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-pass-through"], "true");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert!(v["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello from up"));
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-provider"));
    assert_eq!(
        sent.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(sent.json().unwrap(), body, "body forwarded unchanged");

    // A stream comes back event for event.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = client()
        .post(gw.url("/anthropic/v1/messages"))
        .header("x-api-key", MASTER_KEY)
        .json(&streamed)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = r.text().await.unwrap();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_eq!(
        mock.requests().last().unwrap().header("anthropic-version"),
        Some("2023-06-01")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_pass_through_and_its_guards() {
    let (mock, gw) = setup().await;
    let r = client()
        .post(gw.url("/openai/v1/chat/completions?trace=1"))
        .header("ocp-apim-subscription-key", MASTER_KEY)
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/chat/completions?trace=1");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-oai-provider"));
    assert!(
        sent.headers.iter().all(|(_, v)| !v.contains(MASTER_KEY)),
        "the gateway key never goes upstream: {:?}",
        sent.headers
    );

    let r = client()
        .post(gw.url("/anthropic/v1/messages"))
        .header("x-api-key", "sk-not-the-key")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let before = mock.request_count();
    let r = client()
        .post(gw.url("/gemini/v1beta/models/g:generateContent"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no gemini deployment"));
    assert_eq!(mock.request_count(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn bedrock_pass_through_is_signed() {
    let mock = MockUpstream::start(Script::named("aws")).await.unwrap();
    mock.set_recording(true);
    let yaml = Config::with([
        Model::new("b", "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0")
            .api_base(&mock.base_url())
            .aws("AKIDEXAMPLE", "secret", "eu-west-1"),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let _ = client()
        .post(gw.url("/bedrock/v1/model/m/converse"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/model/m/converse");
    let auth = sent.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/eu-west-1/bedrock/aws4_request"), "{auth}");
    assert!(!auth.contains(MASTER_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn pass_through_usage_is_counted() {
    let (_mock, gw) = setup().await;
    // One connection for everything: the metrics read comes after the last request's logging.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    for stream in [false, true] {
        let r = http
            .post(gw.url("/anthropic/v1/messages"))
            .header("x-api-key", MASTER_KEY)
            .json(
                &json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": stream,
                "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
    }
    let metrics = http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Two answers of 8 output tokens each, counted against the claude deployment.
    let line = metrics
        .lines()
        .find(|l| l.starts_with("litellm_output_tokens_metric_total{") && l.contains("claude"))
        .unwrap_or_else(|| panic!("no output tokens for claude:\n{metrics}"));
    assert!(line.ends_with(" 16"), "{line}");
}
