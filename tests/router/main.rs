//! Router behaviour through the real gateway: fallbacks by error class, cooldowns (and their
//! survival across SIGHUP), priority tiers, aliases and the "no deployments available" 429.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

#[path = "../common/mod.rs"]
mod common;
mod cooldowns;
mod fallbacks;
mod health;
mod mocks;
mod names;
mod requests;
mod selection;

use common::{send_chat, Gateway, MASTER_KEY};
use serde_json::Value;
use switchyard_mock::{Behavior, MockUpstream, Script};

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
