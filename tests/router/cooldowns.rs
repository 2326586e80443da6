//! Cooldowns and retries: a cooled deployment is skipped (across reloads too) and recovers,
//! all cooling is a 429, and retries follow the retry policy and `retry-after`.

use switchyard_mock::{rate_limited, Behavior};

use serde_json::json;

use super::{chat, mock, model};
use crate::common::config::Config;
use crate::common::{chat_body, metrics_text, Gateway};

#[tokio::test]
async fn a_rate_limited_deployment_cools_down_and_the_cooldown_survives_reload() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = || {
        Config::with([model("a", "g", &a).weight(1), model("b", "g", &b).weight(0)])
            .router(|r| r.cooldown_time(60))
    };
    let gw = Gateway::start(&cfg().yaml());
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
    let line = gw.reload(&cfg().litellm(|l| l.num_retries(1)).yaml());
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
    let cfg = Config::with([model("a", "g", &a), model("b", "g", &b)])
        .router(|r| r.cooldown_time(30).num_retries(1))
        .yaml();
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
async fn retry_policy_sets_retries_per_error_class() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", rate_limited()).await;
    let c = mock("c", rate_limited()).await;
    let cfg = Config::with([
        model("a", "g", &a),
        model("b", "g", &b),
        model("c", "g", &c),
    ])
    .router(|r| {
        r.num_retries(2)
            .disable_cooldowns(true)
            .untyped("retry_policy", json!({"RateLimitErrorRetries": 0}))
    })
    .yaml();
    let gw = Gateway::start(&cfg);
    let (s, _, _) = chat(&gw, chat_body("g"), &[]).await;
    assert_eq!(s, 429);
    assert_eq!(
        a.request_count() + b.request_count() + c.request_count(),
        1,
        "RateLimitErrorRetries: 0 stops at the first 429"
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
    let gw = Gateway::start(
        &Config::with([model("only", "g", &only)])
            .router(|r| r.num_retries(1))
            .yaml(),
    );
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
async fn a_cooled_deployment_recovers_after_cooldown_time() {
    let a = mock("a", Behavior::Ok).await;
    a.push(rate_limited());
    let b = mock("b", Behavior::Ok).await;
    let cfg = Config::with([
        model("a", "g", &a).weight(1).cooldown_time(0.2),
        model("b", "g", &b).weight(0),
    ])
    .yaml();
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
