//! Every route that reaches a provider is authorized and admitted: fallbacks, pass-through,
//! model listings, health and token counting.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_mock::{server_error, Behavior, MockUpstream, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::config::{openai, Config, Model};
use crate::common::gov::{assert_budget_exceeded, assert_error, poll, Api};
use crate::common::{client, Gateway, MASTER_KEY};

/// `cheap` ($1 per million tokens) and `dear` ($1,000 per million), each on its own mock,
/// added to `settings` with the master key.
async fn two_groups(settings: Config) -> (MockUpstream, MockUpstream, Gateway) {
    let cheap = MockUpstream::start(Script::named("cheap")).await.unwrap();
    let dear = MockUpstream::start(Script::named("dear")).await.unwrap();
    let models = [
        openai("cheap", &cheap.base_url())
            .input_cost_per_token(0.000001)
            .output_cost_per_token(0.000001),
        openai("dear", &dear.base_url())
            .input_cost_per_token(0.001)
            .output_cost_per_token(0.001),
    ];
    let gw = Gateway::start(&settings.master_key(MASTER_KEY).models(models).yaml());
    (cheap, dear, gw)
}

fn chat(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_per_request_fallback_to_a_group_the_key_may_not_use_is_skipped() {
    let (_cheap, dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["cheap"]})).await;
    let body = chat(
        "cheap",
        json!({"fallbacks": ["dear"], "mock_testing_fallbacks": true}),
    );
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(
        r.status, 500,
        "the original error, not dear's answer: {}",
        r.body
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("mock_testing_fallbacks"));
    assert_eq!(dear.request_count(), 0, "dear was never called");

    // The same request with the master key does fall back: the skip is the key's access.
    let r = api.chat_with(MASTER_KEY, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(dear.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fallback_entry_with_its_own_fields_is_checked_like_a_name() {
    let (_cheap, dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["cheap"]})).await;
    let entry = json!([{"model": "dear", "messages": [{"role": "user", "content": "x"}],
        "api_base": "http://169.254.169.254/latest"}]);
    let body = chat(
        "cheap",
        json!({"fallbacks": entry, "mock_testing_fallbacks": true}),
    );
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(dear.request_count(), 0, "dear was never called");
    // Allowed, the entry's api_base is still the gateway's business, never the upstream's.
    let r = api.chat_with(MASTER_KEY, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = dear.requests()[0].json().unwrap();
    assert!(sent.get("api_base").is_none(), "{sent}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_personal_key_keeps_to_its_users_models() {
    let (cheap, dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    api.post_ok(
        "/user/new",
        &json!({"user_id": "u-cheap", "models": ["cheap"], "auto_create_key": false}),
    )
    .await;
    // A key with no model list of its own is still held to its user's (LiteLLM's
    // can_user_call_model), so a user cannot mint its way around them.
    let key = api.new_key(json!({"user_id": "u-cheap"})).await;
    let r = api.chat_with(&key, &chat("dear", json!({})), &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_error(&r.body, "user_model_access_denied");
    assert_eq!(dear.request_count(), 0);
    let r = api.chat_with(&key, &chat("cheap", json!({})), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(cheap.request_count(), 1);
    // A team key answers to its team's models instead, as in LiteLLM.
    api.post_ok("/team/new", &json!({"team_id": "t-open"}))
        .await;
    let team_key = api
        .new_key(json!({"user_id": "u-cheap", "team_id": "t-open"}))
        .await;
    let r = api
        .chat_with(&team_key, &chat("dear", json!({})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_completion_is_governed_part_by_part() {
    let (cheap, dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    // No key: refused before any part is sent.
    let r = api
        .chat_with("sk-not-a-key", &chat("cheap,dear", json!({})), &[])
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // A key limited to cheap reaches dear through no part; an over-budget key through none.
    let key = api.new_key(json!({"models": ["cheap"]})).await;
    let r = api
        .chat_with(&key, &chat("dear,dear", json!({})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_error(&r.body[0], "key_model_access_denied");
    assert_eq!(dear.request_count(), 0);
    let broke = api.new_key(json!({"max_budget": 0.0})).await;
    let r = api
        .chat_with(&broke, &chat("cheap,dear", json!({})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_error(&r.body[0], "budget_exceeded");
    assert_error(&r.body[1], "budget_exceeded");
    assert_eq!((cheap.request_count(), dear.request_count()), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_fallback_after_a_real_failure_respects_the_key() {
    let (cheap, dear, gw) = two_groups(
        Config::new().router(|r| r.num_retries(0).fallbacks(json!([{"cheap": ["dear"]}]))),
    )
    .await;
    cheap.set_default(server_error(503));
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["cheap"]})).await;
    let r = api.chat(&key, "cheap").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(dear.request_count(), 0);
    let team = api
        .post_ok("/team/new", &json!({"models": ["cheap"]}))
        .await;
    // A team's model list narrows the key's: an unrestricted key of a `cheap` team is held too.
    let key = api.new_key(json!({"team_id": team["team_id"]})).await;
    let r = api.chat(&key, "cheap").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(dear.request_count(), 0);
    let r = api.chat(MASTER_KEY, "cheap").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(dear.request_count(), 1);
}

/// Whether a plain `cheap` request as `key` is admitted while `held` (sent as `key` too) is
/// still waiting on its upstream: a reservation that took the whole budget refuses it.
async fn admitted_beside(gw: &Gateway, mock: &MockUpstream, key: &str, held: Value) -> bool {
    mock.push(Behavior::Hang);
    let before = mock.request_count();
    let (url, k) = (gw.url("/v1/chat/completions"), key.to_string());
    let waiting = tokio::spawn(async move {
        let _ = client().post(url).bearer_auth(k).json(&held).send().await;
    });
    poll(
        "the held request upstream",
        Duration::from_secs(10),
        async || (mock.request_count() > before).then_some(()),
    )
    .await;
    let r = Api::new(gw).chat(key, "cheap").await;
    waiting.abort();
    match r.status {
        200 => true,
        _ => {
            assert_budget_exceeded(&r);
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reservation_prices_the_dearest_group_that_may_serve() {
    let (cheap, _dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    // 1,000 output tokens: $0.001 on cheap, $1 on dear. With dear as a fallback, the held
    // request reserves the whole $1 budget and the next one is refused.
    let key = api
        .new_key(json!({"models": ["cheap", "dear"], "max_budget": 1.0}))
        .await;
    let plain = chat("cheap", json!({"max_tokens": 1000}));
    assert!(admitted_beside(&gw, &cheap, &key, plain).await);
    let key = api
        .new_key(json!({"models": ["cheap", "dear"], "max_budget": 1.0}))
        .await;
    let with_fallback = chat("cheap", json!({"max_tokens": 1000, "fallbacks": ["dear"]}));
    assert!(!admitted_beside(&gw, &cheap, &key, with_fallback.clone()).await);
    // A key that may not use dear is not reserved for it.
    let narrow = api
        .new_key(json!({"models": ["cheap"], "max_budget": 1.0}))
        .await;
    assert!(admitted_beside(&gw, &cheap, &narrow, with_fallback).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn n_multiplies_the_reservation() {
    let (cheap, _dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    // 100,000 output tokens on cheap: $0.1 an answer; the $0.3 budget holds one, not four.
    let key = api.new_key(json!({"max_budget": 0.3})).await;
    let one = chat("cheap", json!({"max_tokens": 100_000}));
    assert!(admitted_beside(&gw, &cheap, &key, one).await);
    let key = api.new_key(json!({"max_budget": 0.3})).await;
    let four = chat("cheap", json!({"max_tokens": 100_000, "n": 4}));
    assert!(!admitted_beside(&gw, &cheap, &key, four).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fallback_group_s_per_model_limit_applies_to_it() {
    let (_cheap, dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"model_rpm_limit": {"dear": 1}})).await;
    let body = chat(
        "cheap",
        json!({"fallbacks": ["dear"], "mock_testing_fallbacks": true}),
    );
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(dear.request_count(), 1);
    // dear's one request this minute is used: the second fallback is skipped.
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(dear.request_count(), 1);
}

/// A gateway with an Anthropic and an OpenAI deployment on one recording mock.
pub(crate) async fn pass_through_gateway() -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    mock.set_recording(true);
    let yaml = Config::with([
        Model::new("claude", "anthropic/claude-sonnet-4-5")
            .api_base(&mock.base_url())
            .api_key("sk-ant-provider")
            .input_cost_per_token(0.001)
            .output_cost_per_token(0.002),
        Model::new("gpt", "openai/gpt-4o")
            .api_base(&mock.base_url())
            .api_key("sk-oai-provider"),
    ])
    .yaml();
    (mock, Gateway::start(&yaml))
}

pub(crate) async fn anthropic_pass_through(
    gw: &Gateway,
    key: &str,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let (status, v, _) = pass_through_with_id(gw, key, path, body, headers).await;
    (status, v)
}

/// A pass-through call: status, JSON body and `x-litellm-call-id`.
async fn pass_through_with_id(
    gw: &Gateway,
    key: &str,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let mut req = client()
        .post(gw.url(path))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let id = r
        .headers()
        .get("x-litellm-call-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v, id)
}

/// `/anthropic/v1/messages` for `model` as `key`.
pub(crate) async fn claude_as(gw: &Gateway, key: &str, model: &str) -> (u16, Value) {
    let path = "/anthropic/v1/messages";
    anthropic_pass_through(gw, key, path, &messages(model), &[]).await
}

fn messages(model: &str) -> Value {
    json!({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn pass_through_is_admitted_priced_and_logged() {
    let (mock, gw) = pass_through_gateway().await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 10.0})).await;
    let (s, v, id) = pass_through_with_id(
        &gw,
        &key,
        "/anthropic/v1/messages",
        &messages("claude-sonnet-4-5"),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let usage = &v["usage"];
    let expected = usage["input_tokens"].as_f64().unwrap() * 0.001
        + usage["output_tokens"].as_f64().unwrap() * 0.002;
    assert!(expected > 0.0);
    api.await_key_spend(&key, expected).await;
    let rows = api
        .await_spend_rows(&[id.expect("x-litellm-call-id")])
        .await;
    let row = &rows[0];
    assert_eq!(row["call_type"], "pass_through_endpoint");
    assert_eq!(row["model"], "claude-sonnet-4-5");
    assert_eq!(
        row["metadata"]["user_api_key_request_route"], "/anthropic/v1/messages",
        "{row}"
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_over_budget_key_cannot_pass_through() {
    let (mock, gw) = pass_through_gateway().await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 0.0})).await;
    let (s, v) = claude_as(&gw, &key, "claude-sonnet-4-5").await;
    assert_eq!(s, 400, "{v}");
    assert_error(&v, "budget_exceeded");
    assert_eq!(mock.request_count(), 0, "the provider was never called");
}

#[tokio::test(flavor = "multi_thread")]
async fn pass_through_checks_the_model_the_request_names() {
    let (mock, gw) = pass_through_gateway().await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["claude"]})).await;
    // The group `claude` serves claude-sonnet-4-5: its provider name is allowed.
    let (s, v) = claude_as(&gw, &key, "claude-sonnet-4-5").await;
    assert_eq!(s, 200, "{v}");
    // Another of the provider's models is not.
    let (s, v) = claude_as(&gw, &key, "claude-opus-4-1").await;
    assert_eq!(s, 403, "{v}");
    assert_error(&v, "key_model_access_denied");
    // Nor is a request that names no model at all.
    let (s, v) = anthropic_pass_through(&gw, &key, "/anthropic/v1/models", &json!({}), &[]).await;
    assert_eq!(s, 403, "{v}");
    // Nor an OpenAI model through the OpenAI route.
    let r = client()
        .post(gw.url("/openai/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(mock.request_count(), 1, "only the allowed call went out");
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_routes_keep_a_key_off_pass_through() {
    let (mock, gw) = pass_through_gateway().await;
    let api = Api::new(&gw);
    let key = api
        .new_key(json!({"allowed_routes": ["/v1/chat/completions"]}))
        .await;
    let (s, v) = claude_as(&gw, &key, "claude-sonnet-4-5").await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn pass_through_refuses_dot_segments_and_forwards_only_allowed_headers() {
    let (mock, gw) = pass_through_gateway().await;
    for path in [
        "/anthropic/v1/../../admin",
        "/anthropic/v1/%2e%2e/x",
        "/anthropic/v1%2fmessages",
        "/openai/v1/./chat/completions",
    ] {
        // Raw bytes: an HTTP client would normalise the dot segments away.
        let body = messages("claude-sonnet-4-5").to_string();
        let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nx-api-key: {MASTER_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("dot segments"), "{path}: {answer}");
    }
    assert_eq!(mock.request_count(), 0);
    let (s, _) = anthropic_pass_through(
        &gw,
        MASTER_KEY,
        "/anthropic/v1/messages",
        &messages("claude-sonnet-4-5"),
        &[
            ("cookie", "session=secret"),
            ("proxy-authorization", "Basic c2VjcmV0"),
            ("openai-organization", "org-client"),
            ("x-internal-thing", "1"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let sent = mock.requests().last().unwrap().clone();
    for h in [
        "cookie",
        "proxy-authorization",
        "openai-organization",
        "x-internal-thing",
        "authorization",
    ] {
        assert_eq!(sent.header(h), None, "{h} was forwarded");
    }
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-provider"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_organization_is_forwarded_only_when_configured() {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    mock.set_recording(true);
    let config = Config::with([openai("gpt", &mock.base_url())])
        .untyped_general("forward_openai_org_id", true);
    let gw = Gateway::start(&config.yaml());
    let r = client()
        .post(gw.url("/openai/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .header("openai-organization", "org-client")
        .header("cookie", "session=secret")
        .json(&json!({"model": "upstream-gpt", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.header("openai-organization"), Some("org-client"));
    assert_eq!(sent.header("cookie"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_sees_only_the_models_it_may_call() {
    let (_cheap, _dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["cheap"]})).await;
    let ids = |v: &Value, field: &str| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[field].as_str().unwrap().to_string())
            .collect()
    };
    let (s, v) = api.get_as(&key, "/v1/models").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v, "id"), ["cheap"]);
    let (s, v) = api.get_as(MASTER_KEY, "/v1/models").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v, "id"), ["cheap", "dear"]);
    assert_eq!(api.get_as(&key, "/v1/models/cheap").await.0, 200);
    assert_eq!(api.get_as(&key, "/v1/models/dear").await.0, 404);
    let (s, v) = api.get_as(&key, "/model/info").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v, "model_name"), ["cheap"]);
    let (s, v) = api.get_as(&key, "/model_group/info").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v, "model_group"), ["cheap"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_for_admins_and_cached() {
    let (cheap, dear, gw) =
        two_groups(Config::new().untyped_general("health_check_cache_seconds", 600)).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({})).await;
    let (s, v) = api.get_as(&key, "/health").await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(cheap.request_count() + dear.request_count(), 0);
    let (s, v) = api.get("/health").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["healthy_count"], 2);
    assert_eq!(cheap.request_count() + dear.request_count(), 2);
    let (s, again) = api.get("/health").await;
    assert_eq!(s, 200);
    assert_eq!(again, v, "the cached round");
    assert_eq!(
        cheap.request_count() + dear.request_count(),
        2,
        "no second round of probes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn count_tokens_is_rate_limited_and_capped() {
    let (cheap, _dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"rpm_limit": 1})).await;
    let count = |k: String, text: String| {
        let url = gw.url("/v1/messages/count_tokens");
        async move {
            let r = client()
                .post(url)
                .header("x-api-key", k)
                .json(&json!({"model": "cheap", "messages": [{"role": "user", "content": text}]}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(count(key.clone(), "hi".into()).await, 200);
    assert_eq!(count(key.clone(), "hi".into()).await, 429);
    let big = "x".repeat(3 * 1024 * 1024);
    assert_eq!(count(MASTER_KEY.into(), big).await, 413);
    assert_eq!(cheap.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_reports_the_database() {
    let (_cheap, _dear, gw) = two_groups(Config::new()).await;
    let r = client()
        .get(gw.url("/health/readiness"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["db"], "connected", "{v}");
    assert_eq!(v["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread")]
async fn spend_rows_cap_client_supplied_strings() {
    let (_cheap, _dear, gw) = two_groups(Config::new()).await;
    let api = Api::new(&gw);
    let long = "é".repeat(2_000);
    let r = api
        .chat_with(MASTER_KEY, &chat("cheap", json!({"user": long})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = api.await_spend_rows(&[r.call_id()]).await;
    let logged = rows[0]["end_user"].as_str().unwrap();
    assert_eq!(logged.len(), 256, "{} bytes", logged.len());
    assert!(long.starts_with(logged));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_pass_through_upstream_times_out() {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    let yaml = Config::with([Model::new("claude", "anthropic/claude-sonnet-4-5")
        .api_base(&mock.base_url())
        .api_key("sk-ant-provider")
        .timeout(0.3)])
    .yaml();
    let gw = Gateway::start(&yaml);
    mock.push(Behavior::Hang);
    let (s, v) = claude_as(&gw, MASTER_KEY, "claude-sonnet-4-5").await;
    assert_eq!(s, 408, "{v}");
    assert_error(&v, "timeout");
    // The connection slot and the gateway are free for the next call.
    let (s, v) = claude_as(&gw, MASTER_KEY, "claude-sonnet-4-5").await;
    assert_eq!(s, 200, "{v}");
}
