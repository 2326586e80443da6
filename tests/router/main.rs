//! Router behaviour through the real gateway: fallbacks by error class, cooldowns (and their
//! survival across SIGHUP), priority tiers, aliases and the "no deployments available" 429.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;
#[path = "router/mocks.rs"]
mod mocks;
#[path = "router/requests.rs"]
mod requests;

use common::{chat_body, client, get_json, metrics_text, send_chat, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{rate_limited, server_error, Behavior, MockUpstream, Script};

async fn mock(name: &str, default: Behavior) -> MockUpstream {
    MockUpstream::start(Script {
        default,
        ..Script::named(name)
    })
    .await
    .unwrap()
}

fn model(id: &str, group: &str, up: &MockUpstream, extra: &str) -> String {
    format!(
        "  - model_name: {group}\n    litellm_params:\n      model: openai/up-{id}\n      api_base: {}\n      api_key: k\n{extra}    model_info:\n      id: {id}\n",
        up.base_url()
    )
}

fn yaml(models: &[String], router: &str) -> String {
    format!(
        "model_list:\n{}router_settings:\n{router}general_settings:\n  master_key: {MASTER_KEY}\n",
        models.join("")
    )
}

async fn chat(
    gw: &Gateway,
    body: Value,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = send_chat(gw, &body, headers).await;
    let (s, h) = (r.status().as_u16(), r.headers().clone());
    (s, h, r.json().await.unwrap())
}

fn context_error() -> Behavior {
    Behavior::Status {
        status: 400,
        body: r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#.into(),
        headers: vec![],
    }
}

#[tokio::test]
async fn fallbacks_follow_the_error_class() {
    let small = mock("small", server_error(500)).await;
    let big = mock("big", Behavior::Ok).await;
    let other = mock("other", Behavior::Ok).await;
    let cfg = yaml(
        &[model("small", "small", &small, ""), model("big", "big", &big, ""), model("other", "other", &other, "")],
        "  num_retries: 0\n  fallbacks: [{\"small\": [\"other\"]}]\n  context_window_fallbacks: [{\"small\": [\"big\"]}]\n",
    );
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
async fn a_rate_limited_deployment_cools_down_and_the_cooldown_survives_reload() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", Behavior::Ok).await;
    let router = "  cooldown_time: 60\n";
    let cfg = yaml(
        &[
            model("a", "g", &a, "      weight: 1\n"),
            model("b", "g", &b, "      weight: 0\n"),
        ],
        router,
    );
    let gw = Gateway::start(&cfg);
    let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(h["x-litellm-model-id"], "b");
    assert_eq!(a.request_count(), 1);
    // A is cooling: every request goes straight to B even though A weighs more.
    for _ in 0..5 {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(
            (s, h["x-litellm-attempted-retries"].to_str().unwrap()),
            (200, "0")
        );
    }
    assert_eq!(a.request_count(), 1);
    gw.wait_for("deployment a (g) cooling down");

    // Same ids after a reload: A is still cooling.
    let line = gw.reload(&(cfg.clone() + "litellm_settings:\n  num_retries: 1\n"));
    assert!(line.contains("config reloaded"), "{line}");
    let (s, _, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(a.request_count(), 1);
    let metrics = metrics_text(&gw).await;
    assert!(
        metrics.contains("litellm_deployment_cooled_down_total{")
            && metrics.contains(r#"model_id="a""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn all_deployments_cooling_is_a_429_with_retry_after() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", rate_limited()).await;
    let cfg = yaml(
        &[model("a", "g", &a, ""), model("b", "g", &b, "")],
        "  cooldown_time: 30\n  num_retries: 1\n",
    );
    let gw = Gateway::start(&cfg);
    let (s, _, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 429);
    assert_eq!(a.request_count() + b.request_count(), 2);
    let (s, h, v) = chat(&gw, chat_body("g"), &[("x-litellm-num-retries", "0")]).await;
    assert_eq!(s, 429);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No deployments available for selected model"),
        "{v}"
    );
    let ra: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&ra), "retry-after {ra}");
    assert_eq!(
        a.request_count() + b.request_count(),
        2,
        "cooling deployments are not called"
    );
}

#[tokio::test]
async fn lower_order_tiers_wait_until_the_first_tier_fails() {
    let primary = mock("primary", Behavior::Ok).await;
    let backup = mock("backup", Behavior::Ok).await;
    let cfg = yaml(
        &[
            model("primary", "g", &primary, "      order: 1\n"),
            model("backup", "g", &backup, "      order: 2\n"),
        ],
        "  routing_strategy: simple-shuffle\n",
    );
    let gw = Gateway::start(&cfg);
    for _ in 0..8 {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(
            (s, h["x-litellm-model-id"].to_str().unwrap()),
            (200, "primary")
        );
    }
    assert_eq!(backup.request_count(), 0);
    primary.set_default(server_error(503));
    let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-id"].to_str().unwrap()),
        (200, "backup")
    );
}

#[tokio::test]
async fn aliases_resolve_and_hidden_ones_are_not_listed() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = yaml(
        &[model("real", "gpt-4o", &up, "")],
        "  model_group_alias:\n    gpt4: gpt-4o\n    secret: {model: gpt-4o, hidden: true}\n",
    ) + "litellm_settings:\n  model_alias_map: {legacy: gpt-4o}\n";
    let gw = Gateway::start(&cfg);
    for name in ["gpt4", "secret", "legacy"] {
        let (s, h, _) = chat(&gw, chat_body(name), &[]).await;
        assert_eq!(
            (s, h["x-litellm-model-group"].to_str().unwrap()),
            (200, "gpt-4o")
        );
    }
    let v: Value = get_json(&gw, "/v1/models").await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gpt-4o", "gpt4", "legacy"]);
}

#[tokio::test]
async fn least_busy_prefers_the_idle_deployment() {
    let slow = MockUpstream::start(Script {
        default: Behavior::Hang,
        ..Script::named("slow")
    })
    .await
    .unwrap();
    let fast = mock("fast", Behavior::Ok).await;
    let cfg = yaml(
        &[
            model("slow", "g", &slow, "      timeout: 30\n"),
            model("fast", "g", &fast, ""),
        ],
        "  routing_strategy: least-busy\n",
    );
    let gw = Gateway::start(&cfg);
    // Park one request on the slow deployment (least-busy picks at random while both idle).
    let url = gw.url("/v1/chat/completions");
    let mut parked = Vec::new();
    while slow.request_count() == 0 {
        let c = client();
        let url = url.clone();
        let h = tokio::spawn(async move {
            c.post(url)
                .bearer_auth(MASTER_KEY)
                .json(&chat_body("g"))
                .send()
                .await
        });
        parked.push(h);
        // Wait for this request to land somewhere before sending the next.
        while slow.request_count() + fast.request_count() < parked.len() {
            tokio::task::yield_now().await;
        }
    }
    let before = fast.request_count();
    for _ in 0..10 {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(
            (s, h["x-litellm-model-id"].to_str().unwrap()),
            (200, "fast")
        );
    }
    assert_eq!(fast.request_count(), before + 10);
    assert_eq!(slow.request_count(), 1);
    for h in parked {
        h.abort();
    }
}

#[tokio::test]
async fn bad_router_config_is_named() {
    let up = mock("up", Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    for (router, want) in [
        ("  routing_strategy: least-bussy\n", "router_settings.routing_strategy: unknown routing strategy \"least-bussy\" (did you mean \"least-busy\"?)"),
        ("  model_group_alias:\n    x: gg\n", "router_settings.model_group_alias.x: \"gg\" is not a model_name in model_list (did you mean \"g\"?)"),
        ("  allowed_fails_policy:\n    RateLimitErrorAllowedFail: 1\n", "router_settings.allowed_fails_policy"),
    ] {
        std::fs::write(&path, yaml(&[model("a", "g", &up, "")], router)).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard")).arg("--config").arg(&path).arg("--validate").output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}

#[tokio::test]
async fn wildcard_groups_forward_the_requested_model() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = format!(
        "model_list:\n  - model_name: \"openai/*\"\n    litellm_params:\n      model: \"openai/*\"\n      api_base: {}\n      api_key: k\n    model_info: {{health_check_model: openai/gpt-4o-mini}}\n  - model_name: exact\n    litellm_params: {{model: openai/exact-up, api_base: {}, api_key: k}}\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        up.base_url(),
        up.base_url()
    );
    let gw = Gateway::start(&cfg);
    let (s, h, _) = chat(&gw, chat_body("openai/gpt-4.1-mini"), &[]).await;
    assert_eq!(
        (s, h["x-litellm-model-group"].to_str().unwrap()),
        (200, "openai/*")
    );
    assert_eq!(up.requests()[0].json().unwrap()["model"], "gpt-4.1-mini");
    let (s, _, _) = chat(&gw, chat_body("anthropic/claude"), &[]).await;
    assert_eq!(s, 400, "only names under the wildcard's prefix match");
    let v: Value = get_json(&gw, "/v1/models").await;
    assert_eq!(
        v["data"].as_array().unwrap().len(),
        1,
        "wildcard routes are not listed: {v}"
    );
    let health: Value = get_json(&gw, "/health").await;
    assert_eq!(health["healthy_count"], 2, "{health}");
    assert!(up.requests().iter().any(|r| r
        .json()
        .is_some_and(|b| b["model"] == "gpt-4o-mini" && b["max_tokens"] == 1)));
}

#[tokio::test]
async fn litellm_test_switches_and_stream_timeout_header() {
    let a = mock("a", Behavior::Ok).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = yaml(
        &[model("a", "a", &a, ""), model("b", "b", &b, "")],
        "  fallbacks: [{\"a\": [\"b\"]}]\n",
    );
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
    let cfg = yaml(
        &[
            model("hang", "g", &hang, "      weight: 1\n"),
            model("b", "g", &b, "      weight: 0\n"),
        ],
        "",
    );
    let gw = Gateway::start(&cfg);
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[("x-litellm-stream-timeout", "0.3")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "b");
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn max_parallel_requests_sends_overflow_elsewhere() {
    let slow = mock("slow", Behavior::Hang).await;
    let fast = mock("fast", Behavior::Ok).await;
    let cfg = yaml(
        &[
            model(
                "slow",
                "g",
                &slow,
                "      weight: 1\n      max_parallel_requests: 1\n      timeout: 30\n",
            ),
            model("fast", "g", &fast, "      weight: 0\n"),
        ],
        "",
    );
    let gw = Gateway::start(&cfg);
    let (c, url) = (client(), gw.url("/v1/chat/completions"));
    let parked = tokio::spawn(async move {
        c.post(url)
            .bearer_auth(MASTER_KEY)
            .json(&chat_body("g"))
            .send()
            .await
    });
    while slow.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..3 {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(
            (
                s,
                h["x-litellm-model-id"].to_str().unwrap(),
                h["x-litellm-attempted-retries"].to_str().unwrap()
            ),
            (200, "fast", "0")
        );
    }
    assert_eq!(slow.request_count(), 1);
    parked.abort();
}

#[tokio::test]
async fn health_probes_every_deployment() {
    let ok = mock("ok", Behavior::Ok).await;
    let bad = mock("bad", server_error(500)).await;
    let cfg = format!(
        "model_list:\n{}{}  - model_name: emb\n    litellm_params: {{model: openai/e, api_base: {}, api_key: k}}\n    model_info: {{mode: embedding, id: emb}}\n  - model_name: local\n    litellm_params: {{model: openai/x, mock_response: hi}}\n    model_info: {{id: local}}\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        model("ok", "g", &ok, ""),
        model("bad", "g", &bad, ""),
        ok.base_url()
    );
    let gw = Gateway::start(&cfg);
    assert_eq!(
        client()
            .get(gw.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let v: Value = get_json(&gw, "/health").await;
    assert_eq!(
        (v["healthy_count"].as_u64(), v["unhealthy_count"].as_u64()),
        (Some(3), Some(1)),
        "{v}"
    );
    let unhealthy = &v["unhealthy_endpoints"][0];
    assert_eq!(unhealthy["model_id"], "bad");
    assert!(unhealthy["error"].as_str().unwrap().contains("500"), "{v}");
    assert!(
        !v.to_string().contains("\"k\""),
        "no credentials in /health"
    );
    assert_eq!(
        ok.requests()
            .iter()
            .filter(|r| r.path_and_query == "/v1/embeddings")
            .count(),
        1,
        "embedding models get an embedding probe"
    );
}

#[tokio::test]
async fn retry_policy_sets_retries_per_error_class() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", rate_limited()).await;
    let c = mock("c", rate_limited()).await;
    let cfg = yaml(
        &[model("a", "g", &a, ""), model("b", "g", &b, ""), model("c", "g", &c, "")],
        "  num_retries: 2\n  disable_cooldowns: true\n  retry_policy:\n    RateLimitErrorRetries: 0\n",
    );
    let gw = Gateway::start(&cfg);
    let (s, _, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 429);
    assert_eq!(
        a.request_count() + b.request_count() + c.request_count(),
        1,
        "RateLimitErrorRetries: 0 stops at the first 429"
    );
}

// Multi-threaded: the mocks must keep answering while the test blocks on the gateway's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_health_checks_route_around_a_failing_deployment() {
    let bad = mock("bad", server_error(500)).await;
    let good = mock("good", Behavior::Ok).await;
    let cfg = format!(
        "{}  background_health_checks: true\n  health_check_interval: 1\n",
        yaml(
            &[
                model("bad", "g", &bad, "      weight: 1\n"),
                model("good", "g", &good, "      weight: 0\n")
            ],
            "  enable_health_check_routing: true\n  disable_cooldowns: true\n"
        )
    );
    let gw = Gateway::start(&cfg);
    let line = gw.wait_for("background health check:");
    assert!(line.contains("1 healthy, 1 unhealthy"), "{line}");
    let probes = bad.request_count();
    for _ in 0..5 {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(
            (
                s,
                h["x-litellm-model-id"].to_str().unwrap(),
                h["x-litellm-attempted-retries"].to_str().unwrap()
            ),
            (200, "good", "0")
        );
    }
    assert_eq!(
        bad.request_count(),
        probes,
        "the unhealthy deployment gets probes only"
    );
}

#[tokio::test]
async fn pre_call_checks_skip_deployments_whose_context_window_is_too_small() {
    let small = mock("small", Behavior::Ok).await;
    let big = mock("big", Behavior::Ok).await;
    let cfg = format!(
        "model_list:\n  - model_name: g\n    litellm_params: {{model: openai/gpt-4o-mini, api_base: {}, api_key: k}}\n    model_info: {{id: small, max_input_tokens: 40}}\n  - model_name: large\n    litellm_params: {{model: openai/gpt-4.1, api_base: {}, api_key: k}}\n    model_info: {{id: big}}\nrouter_settings:\n  enable_pre_call_checks: true\n  context_window_fallbacks: [{{\"g\": [\"large\"]}}]\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        small.base_url(),
        big.base_url()
    );
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

// Multi-threaded: the mocks must keep answering while the test blocks on the gateway's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_pools_balance_across_healthy_replicas() {
    let a = mock("a", Behavior::Ok).await;
    let b = mock("b", Behavior::Ok).await;
    let dead = common::refused_port();
    let cfg = format!(
        "model_list:\n  - model_name: llama\n    litellm_params:\n      model: hosted_vllm/llama\n      api_base: [{}, {}, http://{}/v1]\n    model_info: {{id: pool}}\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        a.base_url(),
        b.base_url(),
        dead.1
    );
    let gw = Gateway::start(&cfg);
    gw.wait_for("replica health checked: 1 pools");
    for _ in 0..10 {
        let (s, h, _) = chat(&gw, chat_body("llama"), &[]).await;
        assert_eq!(
            (s, h["x-litellm-attempted-retries"].to_str().unwrap()),
            (200, "0")
        );
    }
    let posts = |m: &MockUpstream| m.requests().iter().filter(|r| r.method == "POST").count();
    let (na, nb) = (posts(&a), posts(&b));
    assert_eq!(na + nb, 10);
    assert!(
        na >= 3 && nb >= 3,
        "round robin over the healthy replicas: {na} / {nb}"
    );
    let first_post = a
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        first_post.header("authorization"),
        Some("Bearer fake-api-key")
    );
}

#[tokio::test]
async fn with_no_other_deployment_the_retry_waits_for_retry_after() {
    let only = mock("only", Behavior::Ok).await;
    only.push(Behavior::Status {
        status: 429,
        body: r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.into(),
        headers: vec![("retry-after".into(), "1".into())],
    });
    let gw = Gateway::start(&yaml(
        &[model("only", "g", &only, "")],
        "  num_retries: 1\n",
    ));
    let started = std::time::Instant::now();
    let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
    // The wait is a lower bound the gateway cannot beat, not a performance claim.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (s, h["x-litellm-attempted-retries"].to_str().unwrap()),
        (200, "1")
    );
    assert_eq!(only.request_count(), 2);
    assert!(
        !gw.log().contains("cooling down"),
        "a group's only deployment is not cooled for a 429"
    );
}

#[tokio::test]
async fn enforce_model_rate_limits_makes_rpm_a_hard_limit() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = yaml(
        &[model("capped", "g", &up, "      rpm: 2\n")],
        "  optional_pre_call_checks: [\"enforce_model_rate_limits\"]\n",
    );
    let gw = Gateway::start(&cfg);
    for _ in 0..2 {
        let (s, _, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(s, 200);
    }
    let (s, h, v) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 429, "{v}");
    let ra: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&ra));
    assert_eq!(
        up.request_count(),
        2,
        "the third request never reaches the provider"
    );
}

#[tokio::test]
async fn a_cooled_deployment_recovers_after_cooldown_time() {
    let a = mock("a", Behavior::Ok).await;
    a.push(rate_limited());
    let b = mock("b", Behavior::Ok).await;
    let cfg = yaml(
        &[
            model("a", "g", &a, "      weight: 1\n      cooldown_time: 0.2\n"),
            model("b", "g", &b, "      weight: 0\n"),
        ],
        "",
    );
    let gw = Gateway::start(&cfg);
    let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!((s, h["x-litellm-model-id"].to_str().unwrap()), (200, "b"));
    // Keep sending until A answers again: the loop ends on that event, bounded by a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut served_by_b = 0;
    loop {
        let (s, h, _) = chat(&gw, chat_body("g"), &[]).await;
        assert_eq!(s, 200);
        if h["x-litellm-model-id"] == "a" {
            break;
        }
        served_by_b += 1;
        assert!(
            std::time::Instant::now() < deadline,
            "deployment a never recovered"
        );
    }
    assert!(served_by_b >= 1, "a was skipped while cooling");
    // The log is read by another thread: wait for the line rather than race it.
    gw.wait_for("deployment a (g) recovered");
}

#[tokio::test]
async fn openai_compatible_presets_use_the_openai_wire_format() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = format!(
        "model_list:\n  - model_name: fast\n    litellm_params: {{model: groq/llama-3.1-8b-instant, api_base: {}, api_key: gsk-test}}\ngeneral_settings:\n  master_key: {MASTER_KEY}\n",
        up.base_url()
    );
    let gw = Gateway::start(&cfg);
    let (s, _, v) = chat(&gw, chat_body("fast"), &[]).await;
    assert_eq!(s, 200, "{v}");
    let req = &up.requests()[0];
    assert_eq!(req.json().unwrap()["model"], "llama-3.1-8b-instant");
    assert_eq!(req.header("authorization"), Some("Bearer gsk-test"));
    let metrics = metrics_text(&gw).await;
    assert!(metrics.contains(r#"api_provider="groq""#), "{metrics}");
}
