//! One test per LiteLLM CVE class of `shared/reference/reliability.md` §5.7 that the request
//! path guards: SSRF through client-chosen upstreams, injection in the key header, path and
//! Host tricks toward admin routes, the route inventory, and secrets in logs.

use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::config::{openai, Config};
use crate::common::gov::Api;
use crate::common::{client, Gateway, MASTER_KEY};

async fn one_model() -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    mock.set_recording(true);
    let gw = Gateway::start(&Config::with([openai("m", &mock.base_url())]).yaml());
    (mock, gw)
}

/// Send raw request bytes; the status line and the rest of the answer.
async fn raw(gw: &Gateway, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_chosen_api_base_or_key_is_never_used_nor_forwarded() {
    // CVE-2024-6587: `api_base` in the body sent the provider key to the caller's server.
    let (mock, gw) = one_model().await;
    let attacker = MockUpstream::start(Script::named("attacker"))
        .await
        .unwrap();
    let api = Api::new(&gw);
    let key = api.new_key(json!({})).await;
    let body = json!({
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "api_base": attacker.base_url(),
        "base_url": attacker.base_url(),
        "api_key": "sk-client-chosen",
        "extra_headers": {"x-evil": "1"},
    });
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(attacker.request_count(), 0);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-provider-secret")
    );
    let forwarded = sent.json().unwrap();
    for field in ["api_base", "base_url", "api_key", "extra_headers"] {
        assert!(
            forwarded.get(field).is_none(),
            "{field} forwarded: {forwarded}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn injection_in_the_key_header_is_a_plain_401() {
    // CVE-2026-42208: SQL built from the Authorization header.
    let (mock, gw) = one_model().await;
    for key in [
        "sk-' OR '1'='1",
        "sk-1\"; DROP TABLE entities; --",
        "sk-\u{1F600}",
        "sk-{\"$ne\":null}",
        "sk- x y z",
    ] {
        let r = client()
            .post(gw.url("/v1/chat/completions"))
            .header("authorization", format!("Bearer {key}").into_bytes())
            .json(&json!({"model": "m", "messages": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{key}");
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(!msg.contains("sql") && !msg.contains("database"), "{msg}");
    }
    assert_eq!(mock.request_count(), 0);
    // The store still answers: nothing was dropped.
    let api = Api::new(&gw);
    api.new_key(json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn path_and_host_tricks_do_not_reach_admin_routes() {
    // CVE-2026-49468: Host-header and path confusion reached admin routes.
    let (_mock, gw) = one_model().await;
    let api = Api::new(&gw);
    let key = api
        .new_key(json!({"allowed_routes": ["/v1/chat/completions"]}))
        .await;
    let body = r#"{"user_role":"proxy_admin"}"#;
    for target in [
        "/v1/../key/generate",
        "//key/generate",
        "/v1/chat/completions/../../../key/generate",
        "/%6Bey/generate",
        "http://admin.internal/key/generate",
    ] {
        let answer = raw(
            &gw,
            &format!(
                "POST {target} HTTP/1.1\r\nhost: admin.internal\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        let status: u16 = answer[9..12].parse().unwrap();
        assert!(
            matches!(status, 400 | 403 | 404),
            "{target} answered {status}: {answer}"
        );
    }
    // No key was minted by any of them.
    let (s, v) = api.get("/key/list").await;
    assert_eq!(s, 200);
    assert_eq!(v["keys"].as_array().map(Vec::len), Some(1), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_but_the_public_four_needs_a_key() {
    // The inventory (CVE-2026-40217/42271 class): a route that answers without a key must be
    // one of these, and no "test" or code-running route exists.
    let (_mock, gw) = one_model().await;
    let public = [
        "/health/liveliness",
        "/health/readiness",
        "/metrics",
        "/routes",
    ];
    let routes = [
        ("GET", "/v1/models"),
        ("GET", "/models"),
        ("GET", "/v1/models/m"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/embeddings"),
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("POST", "/v1/responses"),
        ("POST", "/openai/deployments/m/chat/completions"),
        ("POST", "/openai/v1/chat/completions"),
        ("POST", "/anthropic/v1/messages"),
        ("POST", "/gemini/v1beta/models/g:generateContent"),
        ("POST", "/bedrock/model/x/invoke"),
        ("POST", "/vertex_ai/v1/x"),
        ("POST", "/azure/openai/deployments/x/chat/completions"),
        ("GET", "/health"),
        ("POST", "/key/generate"),
        ("GET", "/key/info"),
        ("GET", "/key/list"),
        ("POST", "/team/new"),
        ("POST", "/user/new"),
        ("GET", "/spend/logs"),
        ("GET", "/global/spend"),
        ("GET", "/model/info"),
        ("GET", "/model_group/info"),
        ("GET", "/health/readiness/details"),
        ("POST", "/customer/new"),
        ("POST", "/budget/new"),
        ("POST", "/organization/new"),
        ("PATCH", "/organization/update"),
        ("DELETE", "/organization/delete"),
        ("GET", "/organization/list"),
    ];
    for (method, path) in routes {
        let r = client()
            .request(method.parse().unwrap(), gw.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} answered without a key");
    }
    for path in public {
        let r = client().get(gw.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    for path in [
        "/guardrails/test_custom_code",
        "/mcp-rest/test/connection",
        "/config/update",
        "/debug/asyncio-tasks",
    ] {
        let r = client()
            .post(gw.url(path))
            .bearer_auth(MASTER_KEY)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} exists");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_never_reach_the_log_even_at_debug_level() {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    let gw = Gateway::start_env(
        &Config::with([openai("m", &mock.base_url())]).yaml(),
        &[("RUST_LOG", "debug")],
    );
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 1.0})).await;
    assert_eq!(api.chat(&key, "m").await.status, 200);
    let canary = "sk-canary-0123456789abcdef";
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(canary)
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(!body.contains(canary), "the error echoes the key: {body}");
    // One more request, so the earlier ones' log lines are written.
    assert_eq!(api.chat(&key, "m").await.status, 200);
    let log = gw.log();
    for secret in [key.as_str(), canary, MASTER_KEY, "sk-provider-secret"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
