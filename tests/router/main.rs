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

use common::config::Model;
use common::{send_chat, Gateway};
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

/// Deployment `id` of group `group`, served by `up`.
fn model(id: &str, group: &str, up: &MockUpstream) -> Model {
    Model::new(group, &format!("openai/up-{id}"))
        .api_base(&up.base_url())
        .api_key("k")
        .id(id)
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
