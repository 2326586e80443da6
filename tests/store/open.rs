//! Opening a store: migrations on reopen, the version 1 upgrade, a newer schema refused, and
//! database URLs (unknown schemes, bare paths, unreachable servers) named without secrets.

use std::time::Duration;

use sqlx::Connection;
use switchyard::store::{Kind, SpendGroup, SpendQuery, SpendRow, Store, StoreOptions};

use crate::{dbs, row, spend_of, Db};

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
    // response_id (version 3), no retention lease (version 4), no audit log (version 5), no stored prompts (version 6).
    db.exec(
        "DROP INDEX sy_spend_logs_team_id; DROP INDEX sy_spend_logs_user_id; \
         DROP INDEX sy_spend_logs_end_user; \
         CREATE INDEX sy_spend_logs_team_id ON sy_spend_logs (team_id); \
         CREATE INDEX sy_spend_logs_user_id ON sy_spend_logs (user_id); \
         CREATE INDEX sy_spend_logs_end_user ON sy_spend_logs (end_user); \
         DROP INDEX sy_spend_logs_response_id; \
         ALTER TABLE sy_spend_logs DROP COLUMN response_id; \
         ALTER TABLE sy_spend_logs DROP COLUMN messages; \
         ALTER TABLE sy_spend_logs DROP COLUMN response; \
         ALTER TABLE sy_meta DROP COLUMN retention_at; \
         DROP TABLE sy_audit_log; \
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
