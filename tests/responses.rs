//! `POST /v1/responses`: passed through to OpenAI deployments (the client's own body, model
//! replaced), bridged to chat for every other provider; streams both ways.
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
        Model::new("gpt", "openai/gpt-4o")
            .api_base(&mock.base_url())
            .api_key("sk-oai"),
        Model::new("claude", "anthropic/claude-sonnet-4-5")
            .api_base(&mock.base_url())
            .api_key("sk-ant"),
    ])
    .yaml();
    (mock, Gateway::start(&yaml))
}

async fn post(gw: &Gateway, body: &Value) -> reqwest::Response {
    client()
        .post(gw.url("/v1/responses"))
        .bearer_auth(MASTER_KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_gets_the_responses_body_itself() {
    let (mock, gw) = setup().await;
    let body = json!({"model": "gpt", "instructions": "be brief", "input": "hi",
        "reasoning": {"effort": "low"}, "text": {"verbosity": "low"}});
    let r = post(&gw, &body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/responses");
    let mut want = body.clone();
    want["model"] = json!("gpt-4o");
    assert_eq!(
        sent.json().unwrap(),
        want,
        "sent as the client wrote it, model replaced"
    );

    // Streamed: OpenAI's events come back as they are, ending with response.completed.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let text = post(&gw, &streamed).await.text().await.unwrap();
    let types: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(types.first(), Some(&"response.created"));
    assert_eq!(types.last(), Some(&"response.completed"));
    assert!(types.contains(&"response.output_text.delta"));
    let sent = mock.requests().last().unwrap().json().unwrap();
    assert!(
        sent.get("stream_options").is_none(),
        "no chat-only stream_options: {sent}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn other_providers_are_bridged_through_chat() {
    let (mock, gw) = setup().await;
    let r = post(
        &gw,
        &json!({"model": "claude", "input": "hi", "max_output_tokens": 50}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["output"][0]["type"], "message");
    assert!(v["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello from up"));
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/messages");
    assert_eq!(sent.json().unwrap()["max_tokens"], 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn previous_response_id_goes_to_openai_and_is_refused_elsewhere() {
    let (mock, gw) = setup().await;
    let body = json!({"model": "gpt", "previous_response_id": "resp_abc", "input": "and then?"});
    let r = post(&gw, &body).await;
    assert_eq!(r.status(), 200);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/responses");
    assert_eq!(sent.json().unwrap()["previous_response_id"], "resp_abc");

    let before = mock.request_count();
    let r = post(
        &gw,
        &json!({"model": "claude", "previous_response_id": "resp_abc", "input": "x"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["param"], "previous_response_id");
    assert_eq!(mock.request_count(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unbridged_request_does_not_fall_back_to_a_group_that_cannot_take_it() {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    let yaml = Config::with([
        Model::new("gpt", "openai/gpt-4o")
            .api_base(&mock.base_url())
            .api_key("k"),
        Model::new("claude", "anthropic/claude-sonnet-4-5")
            .api_base(&mock.base_url())
            .api_key("k"),
    ])
    .router(|r| r.num_retries(0).fallbacks(json!([{"gpt": ["claude"]}])))
    .yaml();
    let gw = Gateway::start(&yaml);
    mock.push(switchyard_mock::server_error(500));
    let r = post(
        &gw,
        &json!({"model": "gpt", "previous_response_id": "resp_1", "input": "x"}),
    )
    .await;
    assert_eq!(r.status(), 500);
    assert_eq!(
        mock.request_count(),
        1,
        "no fallback to the Anthropic group"
    );
    // A bridged request does fall back.
    mock.push(switchyard_mock::server_error(500));
    let r = post(&gw, &json!({"model": "gpt", "input": "x"})).await;
    assert_eq!(r.status(), 200);
}
