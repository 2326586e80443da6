//! Bad input gets OpenAI-shaped errors with the right status, and the gateway keeps serving.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::{chat_body, client, send_chat, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MOCK: &str = "model_list:\n  - model_name: demo\n    litellm_params:\n      model: openai/demo\n      mock_response: hello there\ngeneral_settings:\n  master_key: sk-test-master-key-0123456789\n  max_request_size_mb: 1\n";

async fn post(gw: &Gateway, key: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut req = client()
        .post(gw.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn assert_error(v: &Value, kind: &str) {
    let e = &v["error"];
    assert_eq!(e["type"], kind, "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e.get("param").is_some() && e.get("code").is_some(), "{v}");
}

#[tokio::test]
async fn auth_errors() {
    let gw = Gateway::start(MOCK);
    let body = chat_body("demo").to_string();
    let (s, v) = post(&gw, None, body.clone()).await;
    assert_eq!(s, 401);
    assert_error(&v, "auth_error");
    assert_eq!(
        v["error"]["message"],
        "Authentication Error, No api key passed in."
    );
    let (s, v) = post(&gw, Some("sk-wrong"), body.clone()).await;
    assert_eq!(s, 401);
    assert_error(&v, "auth_error");
    let (s, _) = post(&gw, Some(MASTER_KEY), body.clone()).await;
    assert_eq!(s, 200);
    for h in ["x-litellm-api-key", "api-key", "x-api-key"] {
        let r = client()
            .post(gw.url("/chat/completions"))
            .header(h, MASTER_KEY)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{h}");
    }
    // Models are behind the key too; health is public.
    assert_eq!(
        client()
            .get(gw.url("/v1/models"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let live = client()
        .get(gw.url("/health/liveliness"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.text().await.unwrap(), "\"I'm alive!\"");
    let ready: Value = client()
        .get(gw.url("/health/readiness"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "healthy");
    assert_eq!(
        client()
            .get(gw.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn metrics_can_require_the_key() {
    let gw = Gateway::start(&format!(
        "{MOCK}litellm_settings:\n  require_auth_for_metrics_endpoint: true\n"
    ));
    assert_eq!(
        client()
            .get(gw.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = client()
        .get(gw.url("/metrics"))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("litellm_in_flight_requests"));
}

#[tokio::test]
async fn request_errors_name_the_problem() {
    let gw = Gateway::start(MOCK);
    let k = Some(MASTER_KEY);
    let (s, v) = post(&gw, k, r#"{"model":"demo","messages":[{"role":"user""#).await;
    assert_eq!(s, 400);
    assert_error(&v, "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid JSON"),
        "{v}"
    );

    let (s, v) = post(&gw, k, json!({"model": "nope", "messages": []}).to_string()).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "/chat/completions: Invalid model name passed in model=nope. Call `/v1/models` to view available models for your key.");

    let (s, v) = post(&gw, k, json!({"model": "demo"}).to_string()).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["param"], "messages");
    assert_eq!(
        v["error"]["message"],
        "/chat/completions: Missing required parameter: 'messages'."
    );

    let r = client()
        .get(gw.url("/v1/nothing/here"))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_error(&r.json().await.unwrap(), "not_found_error");

    let big = format!(
        r#"{{"model":"demo","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (s, v) = post(&gw, k, big).await;
    assert_eq!(s, 413);
    assert_error(&v, "invalid_request_error");

    // Still serving after all of that.
    let (s, v) = post(&gw, k, chat_body("demo").to_string()).await;
    assert_eq!(s, 200);
    assert_eq!(v["choices"][0]["message"]["content"], "hello there");
}

#[tokio::test]
async fn expect_100_continue_gets_an_interim_response_before_the_body() {
    let gw = Gateway::start(MOCK);
    let body = chat_body("demo").to_string();
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    s.write_all(body.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&resp).contains("hello there") {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&resp)
        );
        resp.extend_from_slice(&chunk[..n]);
    }
    assert!(String::from_utf8_lossy(&resp).contains("200 OK"));
}

#[tokio::test]
async fn mock_error_strings_fail_over_like_provider_errors() {
    let yaml = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/a, mock_response: litellm.RateLimitError}\n  - model_name: g\n    litellm_params: {model: openai/b, mock_response: from b}\nrouter_settings:\n  disable_cooldowns: true\ngeneral_settings:\n  master_key: sk-test-master-key-0123456789\n";
    let gw = Gateway::start(yaml);
    for _ in 0..10 {
        let r = send_chat(&gw, &chat_body("g"), &[]).await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "from b");
    }
    // With retries off, the 429 reaches the client as a rate-limit error.
    let mut saw_429 = false;
    for _ in 0..20 {
        let r = send_chat(&gw, &chat_body("g"), &[("x-litellm-num-retries", "0")]).await;
        if r.status() == 429 {
            let v: Value = r.json().await.unwrap();
            assert_error(&v, "rate_limit_error");
            saw_429 = true;
            break;
        }
    }
    assert!(
        saw_429,
        "weighted shuffle never picked the failing deployment in 20 draws"
    );
}
