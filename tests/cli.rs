//! `--validate` and `--version` as a user runs them, on every file in conf/ and on broken ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::process::Command;

fn validate(yaml: &str, envs: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&path)
        .arg("--validate")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    (out.status.success(), text)
}

#[test]
fn every_shipped_config_validates() {
    let mut n = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/conf")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
                .arg("--config")
                .arg(&path)
                .args(["--validate", "--allow-insecure-master-key"])
                .env("OPENAI_API_KEY", "sk-x")
                .env("AZURE_API_KEY", "x")
                .env("AZURE_API_BASE", "https://example.openai.azure.com")
                .env("ANTHROPIC_API_KEY", "x")
                .env("GEMINI_API_KEY", "x")
                .env("MISTRAL_API_KEY", "x")
                .env("AWS_ACCESS_KEY_ID", "AKIDX")
                .env("AWS_SECRET_ACCESS_KEY", "x")
                .env("LITELLM_MASTER_KEY", "sk-a-real-random-master-key")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 3, "conf/ should ship at least three examples");
}

#[test]
fn typo_in_a_key_is_named_with_a_hint() {
    let (ok, out) = validate("model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o\n      api_bsae: http://x/v1\n", &[]);
    assert!(!ok);
    assert!(
        out.contains(
            "model_list[0].litellm_params.api_bsae: unknown key (did you mean \"api_base\"?)"
        ),
        "{out}"
    );
}

#[test]
fn unknown_provider_is_named_with_a_hint() {
    let (ok, out) = validate("model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n  - model_name: b\n    litellm_params: {model: openai/x}\n  - model_name: c\n    litellm_params: {model: opnai/gpt-4o}\n", &[]);
    assert!(!ok);
    assert!(out.contains("model_list[2].litellm_params.model: unknown provider \"opnai\" (did you mean \"openai\"?)"), "{out}");
}

#[test]
fn missing_env_var_names_key_and_variable() {
    let (ok, out) = validate("model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/SWITCHYARD_SURELY_UNSET_KEY\n", &[]);
    assert!(!ok);
    assert!(out.contains("model_list[0].litellm_params.api_key: environment variable SWITCHYARD_SURELY_UNSET_KEY is not set"), "{out}");
    let (ok, out) = validate("model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/x\n      api_key: os.environ/SWITCHYARD_SET_KEY\n", &[("SWITCHYARD_SET_KEY", "sk-abc")]);
    assert!(ok, "{out}");
}

#[test]
fn litellm_keys_we_do_not_implement_warn_once() {
    let (ok, out) = validate(
        "router_settings:\n  enable_tag_filtering: true\n  tag_filtering_match_any: true\n",
        &[],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("router_settings.enable_tag_filtering")
            && out.contains("router_settings.tag_filtering_match_any"),
        "{out}"
    );
}

#[test]
fn version_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

/// Router and fallback blocks as the articles users copy them (`../shared/seeds/`) load.
#[test]
fn configs_copied_from_popular_articles_load() {
    let models = "model_list:\n  - model_name: gpt-4o\n    litellm_params: {model: azure/gpt-4o, api_base: https://r.openai.azure.com, api_key: k}\n  - model_name: gpt-4o\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n  - model_name: fast-llm\n    litellm_params: {model: openai/gpt-4o-mini, api_key: k, rpm: 500}\n  - model_name: fast-llm\n    litellm_params: {model: anthropic/claude-haiku-4-5, api_key: k, rpm: 300}\n  - model_name: claude-sonnet\n    litellm_params: {model: anthropic/claude-sonnet-4-6, api_key: k}\n";
    let blocks = [
        "litellm_settings:\n  num_retries: 3\n  retry_after: 5\n  fallbacks:\n    - gpt-4o: [gpt-4o]\n  request_timeout: 120\n  stream: true\nrouter_settings:\n  routing_strategy: least-busy\n  enable_pre_call_checks: true\n  cooldown_time: 60\n  num_retries: 2\n  retry_after: 5\n  allowed_fails: 3\n",
        "litellm_settings:\n  fallbacks:\n    - {\"gpt-4o\": [\"claude-sonnet\"]}\n  num_retries: 3\n  request_timeout: 60\n",
        "router_settings:\n  routing_strategy: least-busy\n  fallbacks: [{\"fast-llm\": [\"claude-haiku-4-5\"]}]\n  context_window_fallbacks: [{\"fast-llm\": [\"gpt-4o\"]}]\n  num_retries: 2\n  retry_after: 5\n",
        "router_settings:\n  fallbacks:\n  - gpt-4o: [\"claude-sonnet\"]\n  routing_strategy: least-busy\n",
    ];
    for block in blocks {
        let (ok, out) = validate(&format!("{models}{block}"), &[]);
        assert!(ok, "{block}\n{out}");
    }
    // A fallback naming no model group loads (as in LiteLLM) with a warning that says so.
    let (_, out) = validate(&format!("{models}{}", blocks[2]), &[]);
    assert!(
        out.contains("\"claude-haiku-4-5\" is not a model_name or deployment id in model_list"),
        "{out}"
    );
}
