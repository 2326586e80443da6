//! Health: `/health` probes every deployment, and background checks route around a failing one.

use serde_json::Value;
use switchyard_mock::{server_error, Behavior};

use super::{chat, mock, model};
use crate::common::config::{Config, Model};
use crate::common::{chat_body, client, get_json, Gateway};

#[tokio::test]
async fn health_probes_every_deployment() {
    let ok = mock("ok", Behavior::Ok).await;
    let bad = mock("bad", server_error(500)).await;
    let cfg = Config::with([
        model("ok", "g", &ok),
        model("bad", "g", &bad),
        Model::new("emb", "openai/e")
            .api_base(&ok.base_url())
            .api_key("k")
            .mode("embedding")
            .id("emb"),
        Model::new("local", "openai/x")
            .mock_response("hi")
            .id("local"),
    ])
    .yaml();
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

// Multi-threaded: the mocks must keep answering while the test blocks on the gateway's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_health_checks_route_around_a_failing_deployment() {
    let bad = mock("bad", server_error(500)).await;
    let good = mock("good", Behavior::Ok).await;
    let cfg = Config::with([
        model("bad", "g", &bad).weight(1),
        model("good", "g", &good).weight(0),
    ])
    .router(|r| {
        r.untyped("enable_health_check_routing", true)
            .disable_cooldowns(true)
    })
    .untyped_general("background_health_checks", true)
    .untyped_general("health_check_interval", 1)
    .yaml();
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
