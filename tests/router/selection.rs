//! Picking a deployment within a group: order tiers, least-busy, `max_parallel_requests`,
//! replica pools and `rpm` as a hard limit.

use switchyard_mock::{server_error, Behavior, MockUpstream, Script};

use super::{chat, mock, model};
use crate::common::config::{Config, Model};
use crate::common::{self, chat_body, client, Gateway, MASTER_KEY};

#[tokio::test]
async fn lower_order_tiers_wait_until_the_first_tier_fails() {
    let primary = mock("primary", Behavior::Ok).await;
    let backup = mock("backup", Behavior::Ok).await;
    let cfg = Config::with([
        model("primary", "g", &primary).order(1),
        model("backup", "g", &backup).order(2),
    ])
    .router(|r| r.routing_strategy("simple-shuffle"))
    .yaml();
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
async fn least_busy_prefers_the_idle_deployment() {
    let slow = MockUpstream::start(Script {
        default: Behavior::Hang,
        ..Script::named("slow")
    })
    .await
    .unwrap();
    let fast = mock("fast", Behavior::Ok).await;
    let cfg = Config::with([
        model("slow", "g", &slow).timeout(30),
        model("fast", "g", &fast),
    ])
    .router(|r| r.routing_strategy("least-busy"))
    .yaml();
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
async fn max_parallel_requests_sends_overflow_elsewhere() {
    let slow = mock("slow", Behavior::Hang).await;
    let fast = mock("fast", Behavior::Ok).await;
    let cfg = Config::with([
        model("slow", "g", &slow)
            .weight(1)
            .max_parallel_requests(1)
            .timeout(30),
        model("fast", "g", &fast).weight(0),
    ])
    .yaml();
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

// Multi-threaded: the mocks must keep answering while the test blocks on the gateway's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_pools_balance_across_healthy_replicas() {
    let a = mock("a", Behavior::Ok).await;
    let b = mock("b", Behavior::Ok).await;
    let dead = common::refused_port();
    let dead_url = format!("http://{}/v1", dead.1);
    let cfg = Config::with([Model::new("llama", "hosted_vllm/llama")
        .api_bases(&[&a.base_url(), &b.base_url(), &dead_url])
        .id("pool")])
    .yaml();
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
async fn enforce_model_rate_limits_makes_rpm_a_hard_limit() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([model("capped", "g", &up).rpm(2)])
        .router(|r| r.untyped("optional_pre_call_checks", ["enforce_model_rate_limits"]))
        .yaml();
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
