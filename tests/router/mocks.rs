//! LiteLLM's routing conveniences: wildcard groups by specificity, and the per-request mock
//! switches (`mock_response`, `mock_testing_rate_limit_error`, `mock_timeout`).

use serde_json::json;
use switchyard_mock::Behavior;

use super::{chat, mock, model};
use crate::common::config::{Config, Model};
use crate::common::{chat_body, send_chat, Gateway};

#[tokio::test]
async fn provider_wildcards_win_over_the_catch_all() {
    let up = mock("up", Behavior::Ok).await;
    let b = up.base_url();
    // The catch-all comes first: config order must not decide.
    let cfg = Config::with([
        Model::new("*", "openai/*").api_base(&b).api_key("k"),
        Model::new("groq/*", "groq/*").api_base(&b).api_key("k"),
    ])
    .yaml();
    let gw = Gateway::start(&cfg);
    let (s, h, v) = chat(&gw, chat_body("groq/llama-3.1-8b-instant"), &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-group"].to_str().unwrap()),
        (200, "groq/*"),
        "{v}"
    );
    assert_eq!(
        up.requests()[0].json().unwrap()["model"],
        "llama-3.1-8b-instant"
    );
    let (s, h, _) = chat(&gw, chat_body("gpt-4o"), &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-group"].to_str().unwrap()),
        (200, "*")
    );
    assert_eq!(up.requests()[1].json().unwrap()["model"], "gpt-4o");
}

#[tokio::test]
async fn the_simulated_rate_limit_is_retried_like_litellm() {
    let a = mock("a", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &a).num_retries(5)]).yaml();
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("a");
    body["mock_testing_rate_limit_error"] = json!(true);
    let (s, h, v) = chat(&gw, body, &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(h["x-litellm-attempted-retries"], "1");
    assert_eq!(h["x-litellm-max-retries"], "5");
    assert_eq!(
        a.request_count(),
        1,
        "the simulated failure reaches no upstream"
    );
    // An answer without a retry names no retry budget, as LiteLLM's does not.
    let (s, h, _) = chat(&gw, chat_body("a"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-litellm-attempted-retries"], "0");
    assert!(h.get("x-litellm-max-retries").is_none());
}

#[tokio::test]
async fn per_request_mock_response_answers_for_any_deployment() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &up)]).yaml();
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("a");
    body["mock_response"] = json!("canned answer");
    let (s, h, v) = chat(&gw, body.clone(), &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "canned answer");
    assert_eq!(v["usage"]["total_tokens"], 30);
    assert_eq!(h["x-litellm-model-id"], "a");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("\"content\":\"can\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    // LiteLLM's error form fails like that error, and is retried like it.
    let mut body = chat_body("a");
    body["mock_response"] = json!("litellm.InternalServerError");
    body["num_retries"] = json!(1);
    let (s, h, v) = chat(&gw, body, &[]).await;
    assert_eq!(s, 500, "{v}");
    assert_eq!(
        v["error"]["message"],
        "litellm.InternalServerError: this is a mock internal server error"
    );
    assert_eq!(h["x-litellm-attempted-retries"], "1");
    assert_eq!(up.request_count(), 0, "no mock reaches the upstream");
}

#[tokio::test]
async fn mock_timeout_waits_out_the_timeout_and_reports_it() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &up).timeout(0.2)]).yaml();
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("a");
    body["mock_timeout"] = json!(true);
    body["num_retries"] = json!(0);
    let started = std::time::Instant::now();
    let (s, h, v) = chat(&gw, body.clone(), &[]).await;
    assert_eq!(s, 408, "{v}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(
        v["error"]["message"],
        "litellm.Timeout: This is a mock timeout error"
    );
    assert_eq!(v["error"]["type"], "timeout");
    assert_eq!(h["x-litellm-timeout"], "0.2");
    // The request's own timeout wins, and is what the header reports.
    let (s, h, _) = chat(&gw, body, &[("x-litellm-timeout", "0.05")]).await;
    assert_eq!((s, h["x-litellm-timeout"].to_str().unwrap()), (408, "0.05"));
    assert_eq!(up.request_count(), 0);
    // Every model answer carries the timeout in effect.
    let (s, h, _) = chat(&gw, chat_body("a"), &[]).await;
    assert_eq!((s, h["x-litellm-timeout"].to_str().unwrap()), (200, "0.2"));
}
