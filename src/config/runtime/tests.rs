//! Unit tests of `config::runtime`.

use super::super::load_str;
use super::*;
use crate::core::endpoint::Endpoint;
use crate::router::Backend;

/// The load error of `yaml`, or `<ok>`.
pub(in crate::config) fn err(yaml: &str) -> String {
    match load_str(yaml, &BuildOptions::default()) {
        Ok(_) => String::from("<ok>"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn typo_in_provider_names_path_and_hint() {
    let y = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n  - model_name: b\n    litellm_params: {model: openai/x}\n  - model_name: c\n    litellm_params: {model: opnai/gpt-4o}\n";
    assert_eq!(
        err(y),
        "model_list[2].litellm_params.model: unknown provider \"opnai\" (did you mean \"openai\"?)"
    );
}

#[test]
fn unknown_and_known_keys() {
    assert_eq!(
        err("router_settings:\n  num_retrys: 3\n"),
        "router_settings.num_retrys: unknown key (did you mean \"num_retries\"?)"
    );
    let rt = load_str(
        "router_settings:\n  enable_tag_filtering: true\nlitellm_settings:\n  success_callback: [x]\n",
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(
        rt.warnings,
        vec![
            "router_settings.enable_tag_filtering",
            // A callback this build does not run is named, not the whole list.
            "litellm_settings.success_callback[0]: \"x\""
        ]
    );
    assert_eq!(err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_bse: http://x}\n"),
        "model_list[0].litellm_params.api_bse: unknown key (did you mean \"api_base\"?)");
}

#[test]
fn type_errors_carry_the_path() {
    let e =
        err("model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, rpm: lots}\n");
    assert!(e.starts_with("model_list[0].litellm_params.rpm: "), "{e}");
}

#[test]
fn listener_limits_have_defaults_and_bounds() {
    let rt = load_str("model_list: []\n", &BuildOptions::default()).unwrap();
    assert_eq!(rt.settings.max_client_connections, 10_000);
    assert_eq!(rt.settings.client_header_timeout, Duration::from_secs(10));
    let rt = load_str(
        "general_settings:\n  max_client_connections: 5\n  client_header_timeout: \"2.5\"\n",
        &BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(rt.settings.max_client_connections, 5);
    assert_eq!(
        rt.settings.client_header_timeout,
        Duration::from_millis(2500)
    );
    for (yaml, path) in [
        (
            "max_client_connections: 0",
            "general_settings.max_client_connections",
        ),
        (
            "client_header_timeout: 0",
            "general_settings.client_header_timeout",
        ),
        (
            "client_header_timeout: 1e19",
            "general_settings.client_header_timeout",
        ),
    ] {
        let e = err(&format!("general_settings:\n  {yaml}\n"));
        assert!(e.starts_with(path), "{e}");
    }
}

#[test]
fn insecure_master_key_is_refused() {
    let e = err("general_settings:\n  master_key: sk-1234\n");
    assert!(
        e.starts_with("general_settings.master_key: \"sk-1234\" is a well-known default key"),
        "{e}"
    );
    let ok = BuildOptions {
        allow_insecure_master_key: true,
        ..Default::default()
    };
    assert!(load_str("general_settings:\n  master_key: sk-1234\n", &ok).is_ok());
}

#[test]
fn azure_needs_api_base_and_builds_urls() {
    let e = err("model_list:\n  - model_name: a\n    litellm_params: {model: azure/dep}\n");
    assert!(
        e.starts_with(
            "model_list[0].litellm_params.api_base: api_base is required for azure/ models"
        ),
        "{e}"
    );
    let rt = load_str("model_list:\n  - model_name: a\n    litellm_params: {model: azure/dep, api_base: 'https://r.openai.azure.com/', api_key: k, api_version: 2024-10-21}\n", &BuildOptions::default()).unwrap();
    let Backend::Http(t) = &rt.router.group("a").unwrap().deployments[0].backend else {
        panic!()
    };
    assert_eq!(
        t.path(Endpoint::ChatCompletions),
        "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(t.auth.as_ref().unwrap().0.as_str(), "api-key");
}

#[test]
fn openai_compatible_presets_know_their_base_urls() {
    let y = "model_list:\n  - model_name: a\n    litellm_params: {model: mistral/mistral-large-latest, api_key: k}\n  - model_name: b\n    litellm_params: {model: openrouter/anthropic/claude-3.5-sonnet, api_key: k}\n  - model_name: c\n    litellm_params: {model: groq/llama-3.1-8b-instant, api_key: k}\n";
    let rt = load_str(y, &BuildOptions::default()).unwrap();
    let target = |g: &str| match &rt.router.group(g).unwrap().deployments[0].backend {
        Backend::Http(t) => (
            t.addr.host.clone(),
            t.path(Endpoint::ChatCompletions).to_string(),
            t.kind.as_str(),
        ),
        _ => panic!("not http"),
    };
    assert_eq!(
        target("a"),
        (
            "api.mistral.ai".into(),
            "/v1/chat/completions".into(),
            "mistral"
        )
    );
    assert_eq!(
        target("b"),
        (
            "openrouter.ai".into(),
            "/api/v1/chat/completions".into(),
            "openrouter"
        )
    );
    assert_eq!(
        target("c"),
        (
            "api.groq.com".into(),
            "/openai/v1/chat/completions".into(),
            "groq"
        )
    );
    assert_eq!(
        &*rt.router.group("b").unwrap().deployments[0].upstream_model,
        "anthropic/claude-3.5-sonnet"
    );
}

#[test]
fn defaults_from_extra_params_and_ids_are_stable() {
    let y = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_base: 'http://h:1/v1', temperature: 0.2}\n";
    let a = load_str(y, &BuildOptions::default()).unwrap();
    let b = load_str(y, &BuildOptions::default()).unwrap();
    let (da, db) = (
        &a.router.group("a").unwrap().deployments[0],
        &b.router.group("a").unwrap().deployments[0],
    );
    assert_eq!(da.id, db.id);
    assert_eq!(da.defaults[0].0, "temperature");
    assert_eq!(da.defaults[0].1.get(), "0.2");
}
