//! Several gateways on one Postgres database and one Redis: keys, blocks, rate limits and
//! budgets (a key's, an organization's) hold across instances. Runs only when
//! `SWITCHYARD_TEST_DATABASE_URL` (a Postgres URL whose user may `CREATE DATABASE`) and
//! `SWITCHYARD_TEST_REDIS_URL` are set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::time::Duration;

use common::config::Config;
use common::gov::{assert_rate_limited, chat_for, minute_headroom, poll, priced, Api};
use common::Gateway;
use serde_json::json;
use sqlx::{Connection, Executor};
use switchyard_mock::{MockUpstream, Script};

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
        let yaml = Config::with([priced("a", &mock.base_url())])
            .database_url(&self.database_url)
            .yaml();
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

/// 30 concurrent chat requests spread over the instances, with the keys in turn; each
/// answer's status and body.
async fn burst(gws: &[Gateway], keys: &[String], body: &serde_json::Value) -> Vec<(u16, String)> {
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let url = gws[i % gws.len()].url("/v1/chat/completions");
            let (key, body) = (keys[i % keys.len()].clone(), body.clone());
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .post(url)
                    .bearer_auth(key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
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
    let mut admitted = 0;
    for (status, text) in burst(&gws, std::slice::from_ref(&key), &body).await {
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

#[tokio::test]
async fn an_organization_budget_is_shared_by_its_teams_across_instances() {
    let Some(store) = SharedStore::create(6).await else {
        return;
    };
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let gws = store.gateways(&mock, 3);
    let apis: Vec<Api> = gws.iter().map(Api::new).collect();
    let body = chat_for("a", None, false);
    let probe = apis[0].new_key(json!({})).await;
    let cost = apis[0].chat_with(&probe, &body, &[]).await.cost();
    let budget = 1.5 * cost;
    let org = apis[0]
        .post_ok(
            "/organization/new",
            &json!({"organization_alias": "shared", "max_budget": budget}),
        )
        .await;
    let org_id = org["organization_id"].as_str().unwrap().to_string();
    let mut keys = Vec::new();
    for team in ["t-a", "t-b"] {
        apis[0]
            .post_ok(
                "/team/new",
                &json!({"team_id": team, "organization_id": org_id}),
            )
            .await;
        keys.push(apis[0].new_key(json!({"team_id": team})).await);
    }
    for api in &apis {
        for key in &keys {
            known_on(api, key).await;
        }
    }
    let calls_before = mock.request_count();
    let mut admitted = 0;
    for (status, text) in burst(&gws, &keys, &body).await {
        match status {
            200 => admitted += 1,
            400 => assert!(
                text.contains(&format!("Budget has been exceeded! Organization={org_id}")),
                "{text}"
            ),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert!(admitted >= 1);
    assert_eq!(mock.request_count() - calls_before, admitted);
    let path = format!("/organization/info?organization_id={org_id}");
    for api in &apis {
        let want = admitted as f64 * cost;
        poll(
            "the organization's spend",
            Duration::from_secs(3),
            async || {
                let v = api.get_ok(&path).await;
                common::gov::approx(v["spend"].as_f64()?, want).then_some(())
            },
        )
        .await;
    }
    assert!(
        admitted as f64 * cost <= budget + cost + 1e-9,
        "{admitted} admitted at {cost} each over a budget of {budget}"
    );
    store.drop_database(gws).await;
}

/// `host:port` of a service URL, for a relay in front of it.
fn socket_of(url: &str, default_port: u16) -> std::net::SocketAddr {
    use std::net::ToSocketAddrs;
    let u = reqwest::Url::parse(url).unwrap();
    let host = u.host_str().unwrap().to_string();
    (host.as_str(), u.port().unwrap_or(default_port))
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap()
}

/// A metric's value in the gateway's `/metrics` text (0 when absent).
async fn metric(gw: &Gateway, name: &str) -> f64 {
    common::metrics_text(gw)
        .await
        .lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

// Multi-threaded: the relay must run while the harness blocks starting the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_cached_keys_serve_and_spend_is_written_when_it_returns() {
    let Some(store) = SharedStore::create(4).await else {
        return;
    };
    let relay = common::relay::Relay::start(socket_of(&store.database_url, 5432)).await;
    let mut url = reqwest::Url::parse(&store.database_url).unwrap();
    url.set_port(Some(relay.addr.port())).unwrap();
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let yaml = Config::with([priced("a", &mock.base_url())])
        .database_url(url.as_str())
        .yaml();
    let gw = Gateway::start(&yaml);
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 10})).await;

    relay.down();
    // The request path reads keys and counters from memory: no database needed.
    let r = api.chat(&key, "a").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (id, cost) = (r.call_id(), r.cost());
    // The spend row waits in the queue while its batch write fails.
    poll(
        "a failed spend write",
        Duration::from_secs(15),
        async || (metric(&gw, "switchyard_spend_flush_failures_total").await >= 1.0).then_some(()),
    )
    .await;
    assert_eq!(
        metric(&gw, "switchyard_spend_rows_dropped_total").await,
        0.0
    );

    relay.up();
    let row = poll(
        "the row once Postgres is back",
        Duration::from_secs(20),
        async || {
            let (status, rows) = api.get(&format!("/spend/logs?request_id={id}")).await;
            (status == 200).then_some(())?;
            rows.as_array()?.first().cloned()
        },
    )
    .await;
    assert!(
        (row["spend"].as_f64().unwrap() - cost).abs() < 1e-9,
        "{row}"
    );
    assert!((api.key_spend(&key).await - cost).abs() < 1e-9);
    store.drop_database(vec![gw]).await;
}

// Multi-threaded: the relay must run while the harness blocks starting the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_rate_limits_fail_open_per_replica_and_budgets_fail_closed() {
    let Ok(redis) = std::env::var("SWITCHYARD_TEST_REDIS_URL") else {
        eprintln!("skipped: set SWITCHYARD_TEST_REDIS_URL to run");
        return;
    };
    let relay = common::relay::Relay::start(socket_of(&redis, 6379)).await;
    let redis_url = format!("redis://{}/6", relay.addr);
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let yaml = Config::with([priced("a", &mock.base_url())]).yaml();
    let gw = Gateway::start_env(&yaml, &[("REDIS_URL", &redis_url)]);
    let api = Api::new(&gw);
    let limited = api.new_key(json!({"rpm_limit": 2})).await;
    let budgeted = api.new_key(json!({"max_budget": 10})).await;
    minute_headroom().await;
    assert_eq!(api.chat(&budgeted, "a").await.status, 200);

    relay.down();
    // Rate limits fall back to this replica's own counters: still enforced, never a hang.
    let statuses = [
        api.chat(&limited, "a").await,
        api.chat(&limited, "a").await,
        api.chat(&limited, "a").await,
    ];
    assert_eq!(statuses[0].status, 200, "{}", statuses[0].body);
    assert_eq!(statuses[1].status, 200, "{}", statuses[1].body);
    assert_rate_limited(&statuses[2]);
    // A budget cannot be checked without the shared counters: refused, not guessed.
    let calls = mock.request_count();
    let r = api.chat(&budgeted, "a").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        mock.request_count(),
        calls,
        "no upstream call without a budget check"
    );
    assert!(metric(&gw, "switchyard_shared_counter_errors_total").await >= 1.0);

    relay.up();
    poll(
        "budgeted requests after Redis returns",
        Duration::from_secs(10),
        async || (api.chat(&budgeted, "a").await.status == 200).then_some(()),
    )
    .await;
}
