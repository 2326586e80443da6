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

use common::config::Config;
use common::gov::priced;
use common::{Gateway, MASTER_KEY};
use switchyard_mock::{MockUpstream, Script};

/// One mock per model name (each named after its model) and a gateway pricing every model at
/// the test prices.
async fn priced_gateway(names: &[&str]) -> (Vec<MockUpstream>, Gateway) {
    priced_gateway_with(names, Config::new()).await
}

/// [`priced_gateway`] with these models added to `settings`, with the master key.
async fn priced_gateway_with(names: &[&str], settings: Config) -> (Vec<MockUpstream>, Gateway) {
    let mut mocks = Vec::new();
    for name in names {
        mocks.push(MockUpstream::start(Script::named(name)).await.unwrap());
    }
    let models = names
        .iter()
        .zip(&mocks)
        .map(|(name, m)| priced(name, &m.base_url()));
    let gw = Gateway::start(&settings.master_key(MASTER_KEY).models(models).yaml());
    (mocks, gw)
}
