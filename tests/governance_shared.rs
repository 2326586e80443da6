//! Several gateways on one Postgres database and one Redis: keys, blocks, rate limits and
//! budgets hold across instances. Runs only when `SWITCHYARD_TEST_DATABASE_URL` (a Postgres
//! URL whose user may `CREATE DATABASE`) and `SWITCHYARD_TEST_REDIS_URL` are set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::time::Duration;

use common::gov::{assert_rate_limited, chat_for, minute_headroom, poll, priced_model, Api};
use common::{config, Gateway};
use serde_json::json;
use sqlx::{Connection, Executor};
use switchyard::mock_upstream::{MockUpstream, Script};

/// A fresh database on the test server, dropped by [`SharedStore::drop_database`].
struct SharedStore {
    admin_url: String,
    name: String,
    database_url: String,
    redis_url: String,
}

impl SharedStore {
    /// `None` (with a skip line) when the environment names no Postgres or Redis.
    async fn create(redis_db: u8) -> Option<SharedStore> {
        let (Ok(pg), Ok(redis)) = (
            std::env::var("SWITCHYARD_TEST_DATABASE_URL"),
            std::env::var("SWITCHYARD_TEST_REDIS_URL"),
        ) else {
            eprintln!(
                "skipped: set SWITCHYARD_TEST_DATABASE_URL and SWITCHYARD_TEST_REDIS_URL to run"
            );
            return None;
        };
        let name = format!("sy_test_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&pg).await.unwrap();
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut database_url = reqwest::Url::parse(&pg).unwrap();
        database_url.set_path(&format!("/{name}"));
        let mut redis_url = reqwest::Url::parse(&redis).unwrap();
        redis_url.set_path(&format!("/{redis_db}"));
        Some(SharedStore {
            admin_url: pg,
            name,
            database_url: database_url.to_string(),
            redis_url: redis_url.to_string(),
        })
    }

    /// `n` gateways on this store, all routing model `a` to `mock`.
    fn gateways(&self, mock: &MockUpstream, n: usize) -> Vec<Gateway> {
        let extra = format!("  database_url: {}\n", self.database_url);
        let yaml = config(&[priced_model("a", &mock.base_url())], &extra);
        (0..n)
            .map(|_| Gateway::start_env(&yaml, &[("REDIS_URL", &self.redis_url)]))
            .collect()
    }

    /// Drop the database once every gateway on it is gone.
    async fn drop_database(self, gateways: Vec<Gateway>) {
        drop(gateways);
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        conn.execute(sql.as_str()).await.unwrap();
    }
}

/// Poll (≤ 2 s) until `api` knows `key` (by `/key/info`, which spends nothing).
async fn known_on(api: &Api<'_>, key: &str) {
    poll(
        "the key on another instance",
        Duration::from_secs(2),
        async || {
            // `/v1/models` authenticates with the key on the data plane (the in-memory
            // table) without spending any of its limits.
            let (status, _) = api.get_as(key, "/v1/models").await;
            (status == 200).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_key_made_or_blocked_on_one_instance_holds_on_another() {
    let Some(store) = SharedStore::create(1).await else {
        return;
    };
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let gws = store.gateways(&mock, 2);
    let (a, b) = (Api::new(&gws[0]), Api::new(&gws[1]));
    let key = a.new_key(json!({})).await;
    let served = poll("the key to work on B", Duration::from_secs(2), async || {
        let r = b.chat(&key, "a").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert!(served.cost() > 0.0);

    a.post_ok("/key/block", &json!({"key": key})).await;
    let refused = poll("the block to reach B", Duration::from_secs(2), async || {
        let r = b.chat(&key, "a").await;
        (r.status != 200).then_some(r)
    })
    .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let calls = mock.request_count();
    assert_eq!(b.chat(&key, "a").await.status, 401);
    assert_eq!(a.chat(&key, "a").await.status, 401);
    assert_eq!(mock.request_count(), calls);
    store.drop_database(gws).await;
}

#[tokio::test]
async fn an_rpm_limit_is_counted_across_instances() {
    let Some(store) = SharedStore::create(2).await else {
        return;
    };
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let gws = store.gateways(&mock, 3);
    let apis: Vec<Api> = gws.iter().map(Api::new).collect();
    let key = apis[0].new_key(json!({"rpm_limit": 4})).await;
    for api in &apis {
        known_on(api, &key).await;
    }
    minute_headroom().await;
    let mut admitted = 0;
    for i in 0..12 {
        let r = apis[i % 3].chat(&key, "a").await;
        match r.status {
            200 => admitted += 1,
            _ => assert_rate_limited(&r),
        }
    }
    assert_eq!(admitted, 4, "rpm 4 across three instances");
    assert_eq!(mock.request_count(), 4);
    store.drop_database(gws).await;
}

#[tokio::test]
async fn a_budget_is_shared_across_instances() {
    let Some(store) = SharedStore::create(3).await else {
        return;
    };
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let gws = store.gateways(&mock, 3);
    let apis: Vec<Api> = gws.iter().map(Api::new).collect();
    let body = chat_for("a", None, false);
    let probe = apis[0].new_key(json!({})).await;
    let cost = apis[0].chat_with(&probe, &body, &[]).await.cost();
    let budget = 1.5 * cost;
    let key = apis[0].new_key(json!({"max_budget": budget})).await;
    for api in &apis {
        known_on(api, &key).await;
    }
    let calls_before = mock.request_count();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (url, key, body) = (
            gws[i % 3].url("/v1/chat/completions"),
            key.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        let (status, text) = t.await.unwrap();
        match status {
            200 => admitted += 1,
            400 => assert!(text.contains("budget_exceeded"), "{text}"),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert!(admitted >= 1);
    assert_eq!(mock.request_count() - calls_before, admitted);
    for api in &apis {
        api.await_key_spend(&key, admitted as f64 * cost).await;
    }
    let spend = apis[1].key_spend(&key).await;
    assert!(
        spend <= budget + cost + 1e-9,
        "spend {spend} > budget {budget} + one request {cost} ({admitted} admitted)"
    );
    store.drop_database(gws).await;
}
