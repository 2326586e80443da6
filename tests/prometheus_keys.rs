//! LiteLLM's per-key Prometheus series on the real binary: a key's spend, requests, remaining
//! budget and per-model limits under its hashed key, team and user; off unless `prometheus`
//! is a callback; and at most `prometheus_max_key_series` keys with series of their own when
//! 10,000 keys make requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use sqlx::Connection;
use switchyard_mock::{MockUpstream, Script};

use common::config::{Config, Model};
use common::gov::{approx, poll, token_of, Api};
use common::{metrics_text, Gateway};

/// The value of the first sample of `name` whose labels include every `labels` pair.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix('{')?;
        let (set, value) = rest.rsplit_once("} ")?;
        labels
            .iter()
            .all(|(k, v)| set.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())?
    })
}

/// Distinct label sets of `name` in a scrape.
fn label_sets<'a>(text: &'a str, name: &str) -> HashSet<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{')?.rsplit_once("} "))
        .map(|(set, _)| set)
        .collect()
}

async fn priced(callbacks: &[&str]) -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let model = common::gov::priced("a", &mock.base_url());
    let cfg = Config::with([model]).litellm(|l| l.callbacks(callbacks));
    let gw = Gateway::start(&cfg.yaml());
    (mock, gw)
}

/// With `callbacks: [prometheus]`, a team key's requests and spend show under its hashed key,
/// alias, team, team alias and user, with its remaining budget and per-model limits.
#[tokio::test]
async fn a_keys_spend_and_requests_carry_its_labels() {
    let (_mock, gw) = priced(&["prometheus"]).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "search"}))
        .await;
    let team_id = team["team_id"].as_str().unwrap().to_string();
    let key = api
        .new_key(json!({
            "key_alias": "svc-a", "team_id": team_id, "user_id": "u-1",
            "max_budget": 10.0, "model_rpm_limit": {"a": 100}, "model_tpm_limit": {"a": 100000}
        }))
        .await;
    let mut cost = 0.0;
    for _ in 0..3 {
        let r = api.chat(&key, "a").await;
        assert_eq!(r.status, 200, "{}", r.body);
        cost += r.cost();
    }
    let hashed = token_of(&key);
    let labels = [
        ("hashed_api_key", hashed.as_str()),
        ("api_key_alias", "svc-a"),
        ("team", team_id.as_str()),
        ("team_alias", "search"),
        ("user", "u-1"),
        ("model", "a"),
    ];
    let text = poll("the key's series", Duration::from_secs(5), async || {
        let text = metrics_text(&gw).await;
        let n = sample(&text, "litellm_requests_metric_total", &labels)?;
        (n == 3.0).then_some(text)
    })
    .await;
    let spent = sample(&text, "litellm_spend_metric_total", &labels).expect("spend series");
    assert!(approx(spent, cost), "{spent} vs {cost}");
    // Dashboards that sum spend by model group still find it.
    assert!(text.contains("model_group=\"a\""), "{text}");
    let key_only = [
        ("hashed_api_key", hashed.as_str()),
        ("api_key_alias", "svc-a"),
    ];
    let left = sample(&text, "litellm_remaining_api_key_budget_metric", &key_only).unwrap();
    assert!(approx(left, 10.0 - cost), "{left}");
    let max = sample(&text, "litellm_api_key_max_budget_metric", &key_only).unwrap();
    assert!(approx(max, 10.0), "{max}");
    let per_model = [("hashed_api_key", hashed.as_str()), ("model", "a")];
    let rpm_left = sample(
        &text,
        "litellm_remaining_api_key_requests_for_model",
        &per_model,
    )
    .unwrap();
    assert!((0.0..=97.0).contains(&rpm_left), "{rpm_left}");
    assert!(
        sample(
            &text,
            "litellm_remaining_api_key_tokens_for_model",
            &per_model
        )
        .unwrap()
            < 100_000.0
    );
    // The raw key never appears.
    assert!(!text.contains(&key));
}

/// Without the `prometheus` callback no series names a key; spend is still per model group.
#[tokio::test]
async fn per_key_series_are_off_by_default() {
    let (_mock, gw) = priced(&[]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"key_alias": "quiet"})).await;
    let r = api.chat(&key, "a").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = poll("the group's spend", Duration::from_secs(5), async || {
        let text = metrics_text(&gw).await;
        sample(&text, "litellm_spend_metric_total", &[("model_group", "a")])?;
        Some(text)
    })
    .await;
    assert!(!text.contains(&token_of(&key)), "{text}");
    assert!(!text.contains("quiet"));
    assert!(!text.contains("litellm_requests_metric_total{"));
}

const KEYS: usize = 10_000;
const CAP: usize = 50;

/// 10,000 keys (written to the store before start, the cheapest real way) each make one
/// request: at most `CAP` keys get series of their own, the rest count under `other`, and
/// every request is counted once.
#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_keys_stay_under_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let keys = seed_keys(&url).await;
    let model = Model::new("m", "openai/gpt-4o").mock_response("hello");
    let cfg = Config::with([model]).database_url(&url).litellm(|l| {
        l.callbacks(&["prometheus"])
            .untyped("prometheus_max_key_series", CAP)
    });
    let gw = Gateway::start_in(dir, &cfg.yaml());
    let api = Api::new(&gw);
    let statuses: Vec<u16> = futures::stream::iter(&keys)
        .map(|k| {
            let api = &api;
            async move { api.chat(k, "m").await.status }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let name = "litellm_requests_metric_total";
    let text = poll(
        "every request counted",
        Duration::from_secs(10),
        async || {
            let text = metrics_text(&gw).await;
            let total: f64 = text
                .lines()
                .filter(|l| l.starts_with(&format!("{name}{{")))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum();
            (total == KEYS as f64).then_some(text)
        },
    )
    .await;
    let sets = label_sets(&text, name);
    assert!(sets.len() <= CAP + 1, "{} label sets", sets.len());
    let other = sample(&text, name, &[("hashed_api_key", "other")]).unwrap();
    assert_eq!(other, (KEYS - CAP) as f64);
    let spend_sets = label_sets(&text, "litellm_spend_metric_total");
    assert!(spend_sets.len() <= CAP + 1, "{}", spend_sets.len());
}

/// `KEYS` keys inserted in one transaction into a migrated SQLite store; returns the raw keys.
async fn seed_keys(url: &str) -> Vec<String> {
    let store = switchyard::store::Store::open(url, &Default::default())
        .await
        .unwrap();
    drop(store);
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let mut keys = Vec::with_capacity(KEYS);
    for i in 0..KEYS {
        let key = format!("sk-cardinality-{i:05}");
        let token = token_of(&key);
        let doc = json!({"token": token, "key_name": format!("sk-...{:04}", i % 10_000)});
        sqlx::query(
            "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, updated_at) \
             VALUES ('key', ?, ?, 0, NULL, 0)",
        )
        .bind(&token)
        .bind(doc.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
        keys.push(key);
    }
    tx.commit().await.unwrap();
    keys
}
