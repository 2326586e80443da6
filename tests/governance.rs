//! Governance through real HTTP on the default SQLite store: virtual keys, teams,
//! organizations, users, customers and budgets through LiteLLM's management API, and what
//! the data plane enforces.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly"
)]

#[path = "governance/admin.rs"]
mod admin;
#[path = "governance/budgets.rs"]
mod budgets;
mod common;
#[path = "governance/keys.rs"]
mod keys;
#[path = "governance/limits.rs"]
mod limits;
#[path = "governance/manage.rs"]
mod manage;
#[path = "governance/organizations.rs"]
mod organizations;
#[path = "governance/persistence.rs"]
mod persistence;

use common::gov::priced_model;
use common::{config, Gateway};
use switchyard_mock::{MockUpstream, Script};

/// One mock per model name (each named after its model) and a gateway pricing every model at
/// the test prices, with `extra` appended to the config.
async fn priced_gateway(names: &[&str], extra: &str) -> (Vec<MockUpstream>, Gateway) {
    let mut mocks = Vec::new();
    for name in names {
        mocks.push(MockUpstream::start(Script::named(name)).await.unwrap());
    }
    let models: Vec<String> = names
        .iter()
        .zip(&mocks)
        .map(|(name, m)| priced_model(name, &m.base_url()))
        .collect();
    let gw = Gateway::start(&config(&models, extra));
    (mocks, gw)
}
