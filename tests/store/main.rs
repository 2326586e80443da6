//! The store and spend writer on real databases: SQLite, and Postgres when configured.
//!
//! Postgres cases run when `SWITCHYARD_TEST_DATABASE_URL` is set, each in a fresh schema that
//! is dropped afterwards:
//! `SWITCHYARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo test --test store`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::time::Duration;

use sqlx::Connection;
use switchyard::store::{Entity, Kind, SpendGroup, SpendQuery, SpendRow, Store, StoreOptions};

/// One database a case runs against, plus a way to reach it with plain SQL.
struct Db {
    url: String,
    /// Postgres only: the case's own schema.
    schema: Option<String>,
    /// What raw sqlx connects to for setup and sabotage.
    admin_url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn opts(&self) -> StoreOptions {
        StoreOptions {
            schema: self.schema.clone(),
            ..StoreOptions::default()
        }
    }

    async fn open(&self) -> Store {
        Store::open(&self.url, &self.opts()).await.unwrap()
    }

    /// Runs `sql` (one or more statements) on a connection of its own, in the case's schema.
    async fn exec(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.admin_url).await.unwrap();
        let full = match &self.schema {
            Some(schema) => format!("SET search_path TO {schema}; {sql}"),
            None => sql.to_string(),
        };
        sqlx::raw_sql(&full).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            let mut conn = sqlx::AnyConnection::connect(&self.admin_url).await.unwrap();
            sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// SQLite in a fresh temp dir, and Postgres in a fresh schema when configured.
fn dbs() -> Vec<Db> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let url = format!("sqlite://{}", path.display());
    let mut out = vec![Db {
        url: url.clone(),
        schema: None,
        admin_url: url,
        _dir: Some(dir),
    }];
    match std::env::var("SWITCHYARD_TEST_DATABASE_URL") {
        Ok(pg) if !pg.is_empty() => out.push(Db {
            url: pg.clone(),
            schema: Some(format!("sy_test_{:016x}", rand::random::<u64>())),
            admin_url: pg,
            _dir: None,
        }),
        _ => println!("skip: SWITCHYARD_TEST_DATABASE_URL not set"),
    }
    out
}

/// Runs a case against every configured database.
macro_rules! each_db {
    ($name:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for db in dbs() {
                println!(
                    "{}: {}",
                    stringify!($name),
                    if db.schema.is_some() {
                        "postgres"
                    } else {
                        "sqlite"
                    }
                );
                $case(&db).await;
                db.cleanup().await;
            }
        }
    };
}

// After `each_db!`, which the writer cases use.
#[path = "store/writer.rs"]
mod writer;

fn row(id: &str, key: &str, spend_nano: i64, start_time: i64) -> SpendRow {
    SpendRow {
        request_id: id.to_string(),
        call_type: "acompletion".to_string(),
        api_key: key.to_string(),
        model: "gpt-4o-2024-08-06".to_string(),
        model_group: "gpt-4o".to_string(),
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        spend_nano,
        start_time,
        end_time: start_time + 100,
        status: "success".to_string(),
        metadata: "{}".to_string(),
        scopes: vec![
            (Kind::Key, key.to_string()),
            (Kind::Global, "global".to_string()),
        ],
        ..SpendRow::default()
    }
}

async fn spend_of(store: &Store, kind: Kind, id: &str) -> i64 {
    store.get(kind, id).await.unwrap().unwrap().spend_nano
}

/// Polls `cond` every 10ms for up to 20s.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn reopen_keeps_data(db: &Db) {
    let store = db.open().await;
    assert!(store
        .insert(Kind::Key, "k1", r#"{"alias":"a"}"#)
        .await
        .unwrap());
    assert_eq!(
        store.record(&[row("r1", "k1", 700, 1_000)]).await.unwrap(),
        1
    );
    let seq = store.change_seq().await.unwrap();
    drop(store);

    let again = db.open().await;
    assert_eq!(
        again.backend(),
        if db.schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    again.ping().await.unwrap();
    assert_eq!(again.change_seq().await.unwrap(), seq);
    let all = again.load_all().await.unwrap();
    let ids: Vec<(Kind, &str)> = all.iter().map(|e| (e.kind, e.id.as_str())).collect();
    assert_eq!(ids, vec![(Kind::Global, "global"), (Kind::Key, "k1")]);
    assert_eq!(spend_of(&again, Kind::Key, "k1").await, 700);
    assert_eq!(again.total_spend().await.unwrap(), 700);
}
each_db!(
    reopen_runs_migrations_once_and_keeps_data,
    reopen_keeps_data
);

async fn entities(db: &Db) {
    let store = db.open().await;
    let global = store.get(Kind::Global, "global").await.unwrap().unwrap();
    assert_eq!((global.doc.as_str(), global.spend_nano), ("{}", 0));

    assert!(store.insert(Kind::Team, "t1", "{\"v\":1}").await.unwrap());
    assert!(!store.insert(Kind::Team, "t1", "{\"v\":2}").await.unwrap());
    assert_eq!(
        store.get(Kind::Team, "t1").await.unwrap().unwrap().doc,
        "{\"v\":1}"
    );
    // Same id, other kind: a different entity.
    assert!(store.insert(Kind::User, "t1", "{}").await.unwrap());

    assert!(store.insert(Kind::Key, "old", "{\"n\":1}").await.unwrap());
    let mut r = row("r1", "old", 1_234, 5);
    r.scopes.push((Kind::Team, "t1".to_string()));
    store.record(&[r]).await.unwrap();
    store
        .set_budget_reset(Kind::Key, "old", Some(99))
        .await
        .unwrap();

    // put replaces the doc and keeps the ledger columns.
    store.put(Kind::Key, "old", "{\"n\":2}").await.unwrap();
    let got = store.get(Kind::Key, "old").await.unwrap().unwrap();
    let want = Entity {
        kind: Kind::Key,
        id: "old".to_string(),
        doc: "{\"n\":2}".to_string(),
        spend_nano: 1_234,
        budget_reset_at: Some(99),
    };
    assert_eq!(got, want);
    store.put(Kind::Customer, "c1", "{}").await.unwrap();
    assert_eq!(
        store
            .get(Kind::Customer, "c1")
            .await
            .unwrap()
            .unwrap()
            .spend_nano,
        0
    );

    // rename moves the row, spend and reset time included.
    assert!(store
        .rename(Kind::Key, "old", "new", "{\"n\":3}")
        .await
        .unwrap());
    assert_eq!(store.get(Kind::Key, "old").await.unwrap(), None);
    let moved = store.get(Kind::Key, "new").await.unwrap().unwrap();
    assert_eq!((moved.doc.as_str(), moved.spend_nano), ("{\"n\":3}", 1_234));
    assert_eq!(moved.budget_reset_at, Some(99));
    assert!(!store.rename(Kind::Key, "old", "other", "{}").await.unwrap());
    assert!(store.insert(Kind::Key, "taken", "{}").await.unwrap());
    assert!(!store.rename(Kind::Key, "new", "taken", "{}").await.unwrap());
    assert_eq!(spend_of(&store, Kind::Key, "new").await, 1_234);
    assert!(store
        .rename(Kind::Key, "new", "new", "{\"n\":4}")
        .await
        .unwrap());
    assert_eq!(
        store.get(Kind::Key, "new").await.unwrap().unwrap().doc,
        "{\"n\":4}"
    );

    assert!(store.delete(Kind::Key, "taken").await.unwrap());
    assert!(!store.delete(Kind::Key, "taken").await.unwrap());
    assert_eq!(store.get(Kind::Key, "taken").await.unwrap(), None);

    let all = store.load_all().await.unwrap();
    let ids: Vec<(Kind, &str)> = all.iter().map(|e| (e.kind, e.id.as_str())).collect();
    assert_eq!(
        ids,
        vec![
            (Kind::Customer, "c1"),
            (Kind::Global, "global"),
            (Kind::Key, "new"),
            (Kind::Team, "t1"),
            (Kind::User, "t1"),
        ]
    );
    assert_eq!(all[3].spend_nano, 1_234);
}
each_db!(insert_put_get_delete_rename_load_all, entities);

async fn change_seq(db: &Db) {
    let store = db.open().await;
    let mut last = store.change_seq().await.unwrap();
    let mut moved = |now: i64, what: &str| {
        assert!(
            now > last,
            "change_seq did not move on {what}: {now} <= {last}"
        );
        last = now;
    };
    store.insert(Kind::Budget, "b", "{}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "insert");
    store.put(Kind::Budget, "b", "{\"x\":1}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "put");
    store
        .set_budget_reset(Kind::Budget, "b", Some(10))
        .await
        .unwrap();
    moved(store.change_seq().await.unwrap(), "set_budget_reset");
    store
        .reset_spend(Kind::Budget, "b", Some(10), Some(20))
        .await
        .unwrap();
    moved(store.change_seq().await.unwrap(), "reset_spend");
    store.rename(Kind::Budget, "b", "b2", "{}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "rename");
    store.delete(Kind::Budget, "b2").await.unwrap();
    moved(store.change_seq().await.unwrap(), "delete");

    // Writes that change nothing leave it alone.
    let before = store.change_seq().await.unwrap();
    assert!(!store.insert(Kind::Global, "global", "{}").await.unwrap());
    assert!(!store.delete(Kind::Budget, "b2").await.unwrap());
    assert!(!store.rename(Kind::Budget, "b2", "b3", "{}").await.unwrap());
    assert!(!store
        .reset_spend(Kind::Budget, "b2", None, None)
        .await
        .unwrap());
    assert_eq!(store.change_seq().await.unwrap(), before);
}
each_db!(change_seq_moves_on_every_entity_write, change_seq);

async fn reset_cas(db: &Db) {
    let store = db.open().await;
    let other = db.open().await; // a second replica
    store.insert(Kind::Team, "t", "{}").await.unwrap();
    store
        .set_budget_reset(Kind::Team, "t", Some(1_000))
        .await
        .unwrap();
    let mut r = row("r1", "k", 500, 1);
    r.scopes = vec![(Kind::Team, "t".to_string())];
    store.record(&[r]).await.unwrap();

    assert!(store
        .reset_spend(Kind::Team, "t", Some(1_000), Some(2_000))
        .await
        .unwrap());
    assert!(!other
        .reset_spend(Kind::Team, "t", Some(1_000), Some(2_000))
        .await
        .unwrap());
    let t = store.get(Kind::Team, "t").await.unwrap().unwrap();
    assert_eq!((t.spend_nano, t.budget_reset_at), (0, Some(2_000)));

    // NULL matches NULL: an entity without a reset time resets once, too.
    store.insert(Kind::User, "u", "{}").await.unwrap();
    assert!(other
        .reset_spend(Kind::User, "u", None, Some(50))
        .await
        .unwrap());
    assert!(!store
        .reset_spend(Kind::User, "u", None, Some(50))
        .await
        .unwrap());
    assert_eq!(
        store
            .get(Kind::User, "u")
            .await
            .unwrap()
            .unwrap()
            .budget_reset_at,
        Some(50)
    );
}
each_db!(reset_spend_is_compare_and_set, reset_cas);

async fn record_idempotent(db: &Db) {
    let store = db.open().await;
    for (kind, id) in [(Kind::Key, "k"), (Kind::Team, "t"), (Kind::User, "u")] {
        store.insert(kind, id, "{}").await.unwrap();
    }
    let scoped = |id: &str, spend: i64| {
        let mut r = row(id, "k", spend, 10);
        r.team_id = Some("t".to_string());
        r.user_id = Some("u".to_string());
        r.scopes = vec![
            (Kind::Key, "k".to_string()),
            (Kind::Team, "t".to_string()),
            (Kind::User, "u".to_string()),
            (Kind::Customer, "missing".to_string()),
            (Kind::Global, "global".to_string()),
            (Kind::Key, "k".to_string()), // listed twice, counted once
        ];
        r
    };
    let rows = vec![scoped("a", 100), scoped("b", 20), scoped("a", 100_000)];
    // "a" twice in one batch: the first wins.
    assert_eq!(store.record(&rows).await.unwrap(), 2);
    assert_eq!(store.record(&rows).await.unwrap(), 0);
    assert_eq!(store.record(&rows[1..2]).await.unwrap(), 0);
    for (kind, id) in [(Kind::Key, "k"), (Kind::Team, "t"), (Kind::User, "u")] {
        assert_eq!(spend_of(&store, kind, id).await, 120, "{kind}/{id}");
    }
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 120);
    assert_eq!(store.get(Kind::Customer, "missing").await.unwrap(), None);
    assert_eq!(store.total_spend().await.unwrap(), 120);
    assert_eq!(store.record(&[]).await.unwrap(), 0);

    // The global row is recreated if it went missing.
    assert!(store.delete(Kind::Global, "global").await.unwrap());
    store.record(&[scoped("c", 3)]).await.unwrap();
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 3);
}
each_db!(record_adds_spend_once_per_request, record_idempotent);

async fn record_large_batch(db: &Db) {
    let store = db.open().await;
    store.insert(Kind::Key, "k", "{}").await.unwrap();
    // More rows than one INSERT statement carries, with a repeat across statements.
    let mut rows: Vec<SpendRow> = (0..250)
        .map(|i| {
            let mut r = row(&format!("req-{i:03}"), "k", 1 + i, 10 + i);
            r.scopes = vec![(Kind::Key, "k".to_string())];
            r
        })
        .collect();
    rows.push(rows[5].clone());
    assert_eq!(store.record(&rows).await.unwrap(), 250);
    let want: i64 = (1..=250).sum();
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    let q = SpendQuery {
        limit: 1000,
        ..SpendQuery::default()
    };
    assert_eq!(store.spend_logs(&q).await.unwrap().len(), 250);
    // The same batch again adds nothing.
    assert_eq!(store.record(&rows).await.unwrap(), 0);
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    // A batch with no repeats (the usual case, written without asking which rows are new).
    let fresh: Vec<SpendRow> = (250..550)
        .map(|i| {
            let mut r = row(&format!("req-{i:03}"), "k", 1 + i, 10 + i);
            r.scopes = vec![(Kind::Key, "k".to_string())];
            r.request_tags = vec![format!("t\"{i}")];
            r
        })
        .collect();
    assert_eq!(store.record(&fresh).await.unwrap(), 300);
    let want: i64 = (1..=550).sum();
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    let logged = store.spend_logs(&q).await.unwrap();
    assert_eq!(logged.len(), 550);
    let r300 = logged.iter().find(|r| r.request_id == "req-300").unwrap();
    assert_eq!(r300.request_tags, ["t\"300"]);
}
each_db!(
    record_writes_batches_larger_than_one_statement,
    record_large_batch
);

async fn logs(db: &Db) {
    let store = db.open().await;
    let mut full = row("r1", "k1", 11, 1_000);
    full.key_alias = Some("alias".to_string());
    full.team_id = Some("t1".to_string());
    full.user_id = Some("u1".to_string());
    full.end_user = Some("e1".to_string());
    full.model_id = Some("dep-1".to_string());
    full.custom_llm_provider = Some("openai".to_string());
    full.api_base = Some("https://api.openai.com/v1".to_string());
    full.cache_hit = true;
    full.metadata = r#"{"a":[1,2]}"#.to_string();
    full.request_tags = vec!["prod".to_string(), "α".to_string()];
    full.response_id = Some("chatcmpl-same".to_string());
    let mut r2 = row("r2", "k2", 22, 2_000);
    r2.team_id = Some("t1".to_string());
    // Upstream ids are not unique: a second row with the same one is logged, not dropped.
    let mut r3 = row("r3", "k1", 33, 3_000);
    r3.response_id = Some("chatcmpl-same".to_string());
    store.record(&[full.clone(), r2, r3]).await.unwrap();

    let ids = |rows: Vec<SpendRow>| rows.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    let all = store.spend_logs(&SpendQuery::default()).await.unwrap();
    assert_eq!(ids(all.clone()), ["r3", "r2", "r1"]);
    let mut want = full;
    want.scopes = Vec::new();
    assert_eq!(all[2], want);
    assert!(!all[1].cache_hit);

    let q = |f: fn(&mut SpendQuery)| {
        let mut q = SpendQuery::default();
        f(&mut q);
        q
    };
    let by = |query: SpendQuery| {
        let store = store.clone();
        async move { ids(store.spend_logs(&query).await.unwrap()) }
    };
    assert_eq!(by(q(|q| q.api_key = Some("k1".into()))).await, ["r3", "r1"]);
    assert_eq!(by(q(|q| q.team_id = Some("t1".into()))).await, ["r2", "r1"]);
    assert_eq!(by(q(|q| q.user_id = Some("u1".into()))).await, ["r1"]);
    assert_eq!(by(q(|q| q.end_user = Some("e1".into()))).await, ["r1"]);
    assert_eq!(by(q(|q| q.request_id = Some("r2".into()))).await, ["r2"]);
    // The answer's id finds its rows as the call id does (LiteLLM keys rows by it).
    let by_answer = q(|q| q.request_id = Some("chatcmpl-same".into()));
    assert_eq!(by(by_answer).await, ["r3", "r1"]);
    assert_eq!(by(q(|q| q.start_ms = Some(2_000))).await, ["r3", "r2"]);
    assert_eq!(by(q(|q| q.end_ms = Some(2_000))).await, ["r1"]);
    assert_eq!(by(q(|q| q.limit = 2)).await, ["r3", "r2"]);
    let none: [&str; 0] = [];
    assert_eq!(by(q(|q| q.api_key = Some("nope".into()))).await, none);
    let combined = q(|q| {
        q.api_key = Some("k1".into());
        q.start_ms = Some(500);
        q.end_ms = Some(2_500);
    });
    assert_eq!(by(combined).await, ["r1"]);
}
each_db!(spend_logs_filter_and_order_newest_first, logs);

async fn grouping(db: &Db) {
    let store = db.open().await;
    let day1 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
    let day2 = day1 + 86_400_000 + 3_600_000; // 2024-01-02T01:00Z
    let mut a = row("a", "k1", 100, day1);
    a.team_id = Some("t1".to_string());
    let mut b = row("b", "k1", 50, day1 + 1);
    b.team_id = Some("t2".to_string());
    b.model_group = "claude".to_string();
    let mut c = row("c", "k2", 400, day2);
    c.team_id = Some("t1".to_string());
    c.user_id = Some("u".to_string());
    let d = row("d", "k3", 7, day2 + 5);
    store.record(&[a, b, c, d]).await.unwrap();

    let totals = |group, start, end, limit| {
        let store = store.clone();
        async move {
            let rows = store.spend_by(group, start, end, limit).await.unwrap();
            rows.into_iter()
                .map(|t| (t.group, t.spend_nano, t.requests))
                .collect::<Vec<_>>()
        }
    };
    let s = |v: &str| v.to_string();
    assert_eq!(
        totals(SpendGroup::Team, None, None, 10).await,
        [(s("t1"), 500, 2), (s("t2"), 50, 1)]
    );
    assert_eq!(
        totals(SpendGroup::ApiKey, None, None, 10).await,
        [(s("k2"), 400, 1), (s("k1"), 150, 2), (s("k3"), 7, 1)]
    );
    assert_eq!(
        totals(SpendGroup::ApiKey, None, None, 1).await,
        [(s("k2"), 400, 1)]
    );
    assert_eq!(
        totals(SpendGroup::User, None, None, 10).await,
        [(s("u"), 400, 1)]
    );
    assert_eq!(totals(SpendGroup::EndUser, None, None, 10).await, []);
    assert_eq!(
        totals(SpendGroup::Model, None, None, 10).await,
        [(s("gpt-4o"), 507, 3), (s("claude"), 50, 1)]
    );
    assert_eq!(
        totals(SpendGroup::Day, None, None, 10).await,
        [(s("2024-01-02"), 407, 2), (s("2024-01-01"), 150, 2)]
    );
    assert_eq!(
        totals(SpendGroup::Day, Some(day1), Some(day2), 10).await,
        [(s("2024-01-01"), 150, 2)]
    );
    let full = store
        .spend_by(SpendGroup::Model, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            full[0].prompt_tokens,
            full[0].completion_tokens,
            full[0].total_tokens
        ),
        (30, 15, 45)
    );
}
each_db!(spend_by_groups_and_sums, grouping);

async fn upgrade_v1(db: &Db) {
    let store = db.open().await;
    let mut with_team = row("r1", "k1", 11, 1_000);
    with_team.team_id = Some("t1".to_string());
    with_team.end_user = Some("e1".to_string());
    store
        .record(&[with_team, row("r2", "k1", 22, 2_000)])
        .await
        .unwrap();
    drop(store);
    // The schema as version 1 left it: full indexes on the mostly empty columns, no
    // response_id (version 3).
    db.exec(
        "DROP INDEX sy_spend_logs_team_id; DROP INDEX sy_spend_logs_user_id; \
         DROP INDEX sy_spend_logs_end_user; \
         CREATE INDEX sy_spend_logs_team_id ON sy_spend_logs (team_id); \
         CREATE INDEX sy_spend_logs_user_id ON sy_spend_logs (user_id); \
         CREATE INDEX sy_spend_logs_end_user ON sy_spend_logs (end_user); \
         DROP INDEX sy_spend_logs_response_id; \
         ALTER TABLE sy_spend_logs DROP COLUMN response_id; \
         UPDATE sy_meta SET version = 1",
    )
    .await;
    let store = db.open().await;
    let ids = |rows: Vec<SpendRow>| rows.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    let all = store.spend_logs(&SpendQuery::default()).await.unwrap();
    assert_eq!(ids(all), ["r2", "r1"]);
    let by_team = SpendQuery {
        team_id: Some("t1".into()),
        ..SpendQuery::default()
    };
    assert_eq!(ids(store.spend_logs(&by_team).await.unwrap()), ["r1"]);
    let teams = store.spend_by(SpendGroup::Team, None, None, 10).await;
    assert_eq!(teams.unwrap().len(), 1);
    let mut r3 = row("r3", "k1", 33, 3_000);
    r3.end_user = Some("e1".to_string());
    r3.response_id = Some("chatcmpl-3".to_string());
    store.record(&[r3]).await.unwrap();
    let by_answer = SpendQuery {
        request_id: Some("chatcmpl-3".into()),
        ..SpendQuery::default()
    };
    assert_eq!(ids(store.spend_logs(&by_answer).await.unwrap()), ["r3"]);
    let by_end_user = SpendQuery {
        end_user: Some("e1".into()),
        ..SpendQuery::default()
    };
    assert_eq!(
        ids(store.spend_logs(&by_end_user).await.unwrap()),
        ["r3", "r1"]
    );
}
each_db!(version_1_database_upgrades_with_its_rows, upgrade_v1);

async fn future_version(db: &Db) {
    drop(db.open().await);
    db.exec("UPDATE sy_meta SET version = 99").await;
    let err = Store::open(&db.url, &db.opts())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("version 99") && err.contains("newer"), "{err}");
}
each_db!(future_schema_version_refuses_to_open, future_version);

#[tokio::test]
async fn unknown_scheme_is_named_without_secrets() {
    let err = Store::open("mysql://root:hunter2@db/x", &StoreOptions::default()).await;
    let err = err.err().unwrap().to_string();
    assert!(
        err.contains("\"mysql\"") && !err.contains("hunter2"),
        "{err}"
    );
}

#[tokio::test]
async fn bare_db_path_opens_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.db");
    let store = Store::open(path.to_str().unwrap(), &StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert!(path.exists());
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode.0, "wal");
}

#[tokio::test]
async fn unreachable_postgres_error_hides_the_password() {
    let opts = StoreOptions {
        acquire_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    let err = Store::open("postgres://me:hunter2@127.0.0.1:1/x", &opts).await;
    let err = err.err().unwrap().to_string();
    assert!(err.starts_with("connect"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
