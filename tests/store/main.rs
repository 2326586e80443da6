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
use switchyard::store::{Kind, SpendRow, Store, StoreOptions};

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

// After `each_db!`, which every case module uses.
mod entities;
mod open;
mod retention;
mod spend;
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
