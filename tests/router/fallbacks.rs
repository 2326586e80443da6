//! Fallbacks: the list each error class takes, the LiteLLM test switches, a stalled stream's
//! failover and the pre-call context-window check.

use serde_json::json;
use switchyard_mock::{server_error, Behavior};

use super::{chat, context_error, mock, model};
use crate::common::config::{Config, Model};
use crate::common::{chat_body, metrics_text, send_chat, Gateway};

#[tokio::test]
async fn fallbacks_follow_the_error_class() {
    let small = mock("small", server_error(500)).await;
    let big = mock("big", Behavior::Ok).await;
    let other = mock("other", Behavior::Ok).await;
    let cfg = Config::with([
        model("small", "small", &small),
        model("big", "big", &big),
        model("other", "other", &other),
    ])
    .router(|r| {
        r.num_retries(0)
            .fallbacks(json!([{"small": ["other"]}]))
            .context_window_fallbacks(json!([{"small": ["big"]}]))
    })
    .yaml();
    let gw = Gateway::start(&cfg);

    // A server error takes the generic list.
    let (s, h, v) = chat(&gw, chat_body("small"), &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from other");
    assert_eq!(h["x-litellm-attempted-fallbacks"], "1");
    assert_eq!(h["x-litellm-model-group"], "other");
    assert_eq!(h["x-litellm-max-fallbacks"], "5");

    // A context-window error takes context_window_fallbacks, not the generic list.
    small.push(context_error());
    let (s, _, v) = chat(&gw, chat_body("small"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from big");

    // A plain bad request is the client's fault: no fallback.
    small.push(Behavior::Status { status: 400, body: r#"{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":null}}"#.into(), headers: vec![] });
    let (s, _, v) = chat(&gw, chat_body("small"), &[]).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "bad temperature");

    // disable_fallbacks in the body turns them off; per-request fallbacks replace the list.
    let mut body = chat_body("small");
    body["disable_fallbacks"] = json!(true);
    let (s, _, _) = chat(&gw, body, &[]).await;
    assert_eq!(s, 500);
    let mut body = chat_body("small");
    body["fallbacks"] = json!(["big"]);
    let (s, _, v) = chat(&gw, body, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from big");
    // Gateway-only fields never reach the provider.
    assert!(big
        .requests()
        .iter()
        .all(|r| r.json().unwrap().get("fallbacks").is_none()));

    let metrics = metrics_text(&gw).await;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("litellm_deployment_successful_fallbacks_total{")
                && l.contains(r#"fallback_model="other""#)
                && l.contains(r#"requested_model="small""#)
                && l.ends_with(" 1")
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn litellm_test_switches_and_stream_timeout_header() {
    let a = mock("a", Behavior::Ok).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &a), model("b", "b", &b)])
        .router(|r| r.fallbacks(json!([{"a": ["b"]}])))
        .yaml();
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("a");
    body["mock_testing_fallbacks"] = json!(true);
    let (s, h, v) = chat(&gw, body, &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-group"].to_str().unwrap()),
        (200, "b"),
        "{v}"
    );
    assert_eq!(a.request_count(), 0);
    // With no retries left, the simulated 429 is the answer.
    let mut body = chat_body("a");
    body["mock_testing_rate_limit_error"] = json!(true);
    body["disable_fallbacks"] = json!(true);
    body["num_retries"] = json!(0);
    let (s, _, v) = chat(&gw, body, &[]).await;
    assert_eq!(s, 429);
    assert_eq!(
        v["error"]["message"],
        "litellm.RateLimitError: This is a mock exception for model=a, to trigger a rate limit error."
    );

    // A stream that stalls before its first event fails over once x-litellm-stream-timeout passes.
    let hang = mock("hang", Behavior::Hang).await;
    let cfg = Config::with([
        model("hang", "g", &hang).weight(1),
        model("b", "g", &b).weight(0),
    ])
    .yaml();
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[("x-litellm-stream-timeout", "0.3")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "b");
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn pre_call_checks_skip_deployments_whose_context_window_is_too_small() {
    let small = mock("small", Behavior::Ok).await;
    let big = mock("big", Behavior::Ok).await;
    let cfg = Config::with([
        Model::new("g", "openai/gpt-4o-mini")
            .api_base(&small.base_url())
            .api_key("k")
            .id("small")
            .max_input_tokens(40),
        Model::new("large", "openai/gpt-4.1")
            .api_base(&big.base_url())
            .api_key("k")
            .id("big"),
    ])
    .router(|r| {
        r.enable_pre_call_checks(true)
            .context_window_fallbacks(json!([{"g": ["large"]}]))
    })
    .yaml();
    let gw = Gateway::start(&cfg);
    let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-id"].to_str().unwrap()),
        (200, "small")
    );
    let long =
        json!({"model": "g", "messages": [{"role": "user", "content": "word ".repeat(200)}]});
    let (s, h, _) = chat(&gw, long.clone(), &[]).await;
    assert_eq!((s, h["x-litellm-model-id"].to_str().unwrap()), (200, "big"));
    assert_eq!(
        small.request_count(),
        1,
        "the too-small deployment is never called"
    );
    let mut no_fallback = long;
    no_fallback["disable_fallbacks"] = json!(true);
    let (s, _, v) = chat(&gw, no_fallback, &[]).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "context_length_exceeded");
}
