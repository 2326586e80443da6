//! Model names: aliases, wildcard groups, OpenAI-compatible presets, and router settings that
//! name a model or strategy wrongly.

use serde_json::{json, Value};
use switchyard_mock::Behavior;

use super::{chat, mock, model};
use crate::common::config::{Config, Model};
use crate::common::{chat_body, get_json, metrics_text, Gateway};

#[tokio::test]
async fn aliases_resolve_and_hidden_ones_are_not_listed() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([model("real", "gpt-4o", &up)])
        .router(|r| {
            let aliases = json!({"gpt4": "gpt-4o", "secret": {"model": "gpt-4o", "hidden": true}});
            r.untyped("model_group_alias", aliases)
        })
        .litellm(|l| l.untyped("model_alias_map", json!({"legacy": "gpt-4o"})))
        .yaml();
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
async fn bad_router_config_is_named() {
    let up = mock("up", Behavior::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    for (router, want) in [
        ("  routing_strategy: least-bussy\n", "router_settings.routing_strategy: unknown routing strategy \"least-bussy\" (did you mean \"least-busy\"?)"),
        ("  model_group_alias:\n    x: gg\n", "router_settings.model_group_alias.x: \"gg\" is not a model_name in model_list (did you mean \"g\"?)"),
        ("  allowed_fails_policy:\n    RateLimitErrorAllowedFail: 1\n", "router_settings.allowed_fails_policy"),
    ] {
        // The bad `router_settings` stay hand-written: they are what the validator must name.
        let cfg = Config::with([model("a", "g", &up)]).yaml() + "router_settings:\n" + router;
        std::fs::write(&path, cfg).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard")).arg("--config").arg(&path).arg("--validate").output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}

#[tokio::test]
async fn wildcard_groups_forward_the_requested_model() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([
        Model::new("openai/*", "openai/*")
            .api_base(&up.base_url())
            .api_key("k")
            .untyped_info("health_check_model", "openai/gpt-4o-mini"),
        Model::new("exact", "openai/exact-up")
            .api_base(&up.base_url())
            .api_key("k"),
    ])
    .yaml();
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
async fn openai_compatible_presets_use_the_openai_wire_format() {
    let up = mock("up", Behavior::Ok).await;
    let cfg = Config::with([Model::new("fast", "groq/llama-3.1-8b-instant")
        .api_base(&up.base_url())
        .api_key("gsk-test")])
    .yaml();
    let gw = Gateway::start(&cfg);
    let (s, _, v) = chat(&gw, chat_body("fast"), &[]).await;
    assert_eq!(s, 200, "{v}");
    let req = &up.requests()[0];
    assert_eq!(req.json().unwrap()["model"], "llama-3.1-8b-instant");
    assert_eq!(req.header("authorization"), Some("Bearer gsk-test"));
    let metrics = metrics_text(&gw).await;
    assert!(metrics.contains(r#"api_provider="groq""#), "{metrics}");
}
