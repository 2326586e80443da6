//! The typed test config builder (`tests/common/config.rs`) writes YAML that loads into the
//! same raw config and runtime as the same config written by hand, and that the raw types
//! write back unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

#[path = "common/mod.rs"]
mod common;

use common::config::{Config, Model};
use common::MASTER_KEY;
use serde_json::json;
use switchyard::config::{load_str, parse, BuildOptions, Runtime};

const HAND: &str = r#"
model_list:
  - model_name: g
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:9/v1
      api_key: sk-a
      weight: 2
      order: 1
      rpm: 10
      tpm: 1000
      timeout: 30
      stream_timeout: 5.5
      output_cost_per_token: 0.00002
      seed: 7
    model_info:
      id: a
      max_input_tokens: 40
      supports_vision: true
  - model_name: g
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: sk-b
      weight: 0
    model_info: {id: b}
  - model_name: pool
    litellm_params:
      model: hosted_vllm/llama
      api_base: [http://127.0.0.1:9/v1, http://127.0.0.1:10/v1]
    model_info: {id: pool}
  - model_name: emb
    litellm_params: {model: openai/e, mock_response: hi, api_version: "2024-10-21"}
    model_info: {id: emb, mode: embedding}
litellm_settings:
  num_retries: 1
  max_budget: 10
  budget_duration: 30d
  upperbound_key_generate_params: {max_budget: 5, duration: 1d}
router_settings:
  num_retries: 0
  routing_strategy: least-busy
  fallbacks: [{"g": ["emb"]}]
  context_window_fallbacks: [{"g": ["pool"]}]
  enable_pre_call_checks: true
  allowed_fails: 3
  cooldown_time: 60
  model_group_alias: {old: g, hidden-old: {model: g, hidden: true}}
general_settings:
  master_key: sk-test-master-key-0123456789
  database_url: sqlite://switchyard.db
  max_request_size_mb: 1
"#;

fn built() -> Config {
    let base = "http://127.0.0.1:9/v1";
    Config::new()
        .master_key(MASTER_KEY)
        .database_url("sqlite://switchyard.db")
        .model(
            Model::new("g", "openai/gpt-4o")
                .api_base(base)
                .api_key("sk-a")
                .weight(2)
                .order(1)
                .rpm(10)
                .tpm(1000)
                .timeout(30)
                .stream_timeout(5.5)
                .output_cost_per_token(0.00002)
                .untyped_param("seed", 7)
                .id("a")
                .max_input_tokens(40)
                .untyped_info("supports_vision", true),
        )
        .model(
            Model::new("g", "openai/gpt-4o-mini")
                .api_base(base)
                .api_key("sk-b")
                .weight(0)
                .id("b"),
        )
        .model(
            Model::new("pool", "hosted_vllm/llama")
                .api_bases(&[base, "http://127.0.0.1:10/v1"])
                .id("pool"),
        )
        .model(
            Model::new("emb", "openai/e")
                .mock_response("hi")
                .api_version("2024-10-21")
                .id("emb")
                .mode("embedding"),
        )
        .litellm(|l| {
            l.num_retries(1)
                .max_budget(10.0)
                .budget_duration("30d")
                .untyped(
                    "upperbound_key_generate_params",
                    json!({"max_budget": 5, "duration": "1d"}),
                )
        })
        .router(|r| {
            r.num_retries(0)
                .routing_strategy("least-busy")
                .fallbacks(json!([{"g": ["emb"]}]))
                .context_window_fallbacks(json!([{"g": ["pool"]}]))
                .enable_pre_call_checks(true)
                .allowed_fails(3)
                .cooldown_time(60)
                .untyped(
                    "model_group_alias",
                    json!({"old": "g", "hidden-old": {"model": "g", "hidden": true}}),
                )
        })
        .untyped_general("max_request_size_mb", 1)
}

fn load(text: &str) -> Runtime {
    let opts = BuildOptions {
        resolve_dns: false,
        allow_insecure_master_key: true,
        previous: None,
    };
    load_str(text, &opts).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// What a runtime's requests see, in a comparable form.
fn summary(rt: &Runtime) -> String {
    let mut out = format!(
        "{:?} {:?} {:?} {} {:?}\n",
        rt.router.groups().map(|g| &*g.name).collect::<Vec<_>>(),
        rt.warnings,
        rt.notes,
        rt.master_key.is_some(),
        rt.retry_after
    );
    let mut aliases: Vec<_> = rt.router.aliases().iter().collect();
    aliases.sort();
    out += &format!("{aliases:?}\n");
    for group in rt.router.groups() {
        let name = &group.name;
        out += &format!("{name}: retries {:?}\n", group.num_retries);
        for d in &group.deployments {
            out += &format!(
                "  {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}\n",
                d.id,
                d.upstream_model,
                d.weight,
                d.rpm,
                d.tpm,
                d.order,
                d.timeout,
                d.stream_timeout,
                d.max_input_tokens,
                d.mode,
                d.model_info,
                d.defaults
                    .iter()
                    .map(|(k, v)| (k, v.get()))
                    .collect::<Vec<_>>()
            );
        }
    }
    out
}

#[test]
fn built_config_loads_like_the_hand_written_one() {
    let yaml = built().yaml();
    let (hand_raw, _) = parse(HAND).unwrap();
    let (built_raw, _) = parse(&yaml).unwrap();
    assert_eq!(
        format!("{built_raw:?}"),
        format!("{hand_raw:?}"),
        "\n{yaml}"
    );
    assert_eq!(summary(&load(&yaml)), summary(&load(HAND)), "\n{yaml}");
}

#[test]
fn raw_config_writes_back_what_it_read() {
    for text in [built().yaml(), HAND.to_string()] {
        let (raw, _) = parse(&text).unwrap();
        let written = serde_yaml::to_string(&raw).unwrap();
        let (again, _) = parse(&written).unwrap();
        assert_eq!(format!("{again:?}"), format!("{raw:?}"), "\n{written}");
        assert_eq!(serde_yaml::to_string(&again).unwrap(), written);
    }
}

#[test]
fn only_what_was_set_is_written() {
    let yaml = Config::with([Model::new("m", "openai/m")]).yaml();
    assert_eq!(
        yaml,
        format!("model_list:\n- model_name: m\n  litellm_params:\n    model: openai/m\ngeneral_settings:\n  master_key: {MASTER_KEY}\n")
    );
}
