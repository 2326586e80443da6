//! Versioned schema migrations for the store, one SQL list per backend where they differ.

use sqlx::{AnyConnection, Row};

use super::{Backend, StoreError};

/// The newest schema version this binary knows; a database stamped newer is refused.
pub(crate) const LATEST: i64 = 6;

/// The SQL of one migration for `backend` (several statements, run with `raw_sql`).
fn migration_sql(version: i64, backend: Backend) -> Option<String> {
    match version {
        1 => Some(v1(backend)),
        2 => Some(V2.to_string()),
        3 => Some(V3.to_string()),
        4 => Some(V4.to_string()),
        5 => Some(V5.to_string()),
        6 => Some(V6.to_string()),
        _ => None,
    }
}

/// Version 1: entities and spend logs. Only `cache_hit` differs between backends: SQLite has
/// no boolean (sqlx's Any driver rejects a declared BOOLEAN there), Postgres does.
fn v1(backend: Backend) -> String {
    let (bool_type, false_value) = match backend {
        Backend::Sqlite => ("INTEGER", "0"),
        Backend::Postgres => ("BOOLEAN", "FALSE"),
    };
    format!(
        "CREATE TABLE sy_entities (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            doc TEXT NOT NULL,
            spend_nano BIGINT NOT NULL DEFAULT 0,
            budget_reset_at BIGINT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (kind, id)
        );
        CREATE TABLE sy_spend_logs (
            request_id TEXT NOT NULL PRIMARY KEY,
            call_type TEXT NOT NULL DEFAULT '',
            api_key TEXT NOT NULL DEFAULT '',
            key_alias TEXT NULL,
            team_id TEXT NULL,
            user_id TEXT NULL,
            end_user TEXT NULL,
            model TEXT NOT NULL DEFAULT '',
            model_group TEXT NOT NULL DEFAULT '',
            model_id TEXT NULL,
            custom_llm_provider TEXT NULL,
            api_base TEXT NULL,
            prompt_tokens BIGINT NOT NULL DEFAULT 0,
            completion_tokens BIGINT NOT NULL DEFAULT 0,
            total_tokens BIGINT NOT NULL DEFAULT 0,
            spend_nano BIGINT NOT NULL DEFAULT 0,
            start_time BIGINT NOT NULL DEFAULT 0,
            end_time BIGINT NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT '',
            cache_hit {bool_type} NOT NULL DEFAULT {false_value},
            metadata TEXT NOT NULL DEFAULT '{{}}',
            request_tags TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX sy_spend_logs_start_time ON sy_spend_logs (start_time);
        CREATE INDEX sy_spend_logs_api_key ON sy_spend_logs (api_key);
        CREATE INDEX sy_spend_logs_team_id ON sy_spend_logs (team_id);
        CREATE INDEX sy_spend_logs_user_id ON sy_spend_logs (user_id);
        CREATE INDEX sy_spend_logs_end_user ON sy_spend_logs (end_user);"
    )
}

/// Version 2: the indexes on columns most rows leave empty (`team_id`, `user_id`, `end_user`)
/// cover only the rows that have a value. A row without them updates three fewer B-trees on
/// insert; lookups by value (`team_id = $1`) and grouping on `IS NOT NULL` still use them.
const V2: &str = "
    DROP INDEX sy_spend_logs_team_id;
    DROP INDEX sy_spend_logs_user_id;
    DROP INDEX sy_spend_logs_end_user;
    CREATE INDEX sy_spend_logs_team_id ON sy_spend_logs (team_id) WHERE team_id IS NOT NULL;
    CREATE INDEX sy_spend_logs_user_id ON sy_spend_logs (user_id) WHERE user_id IS NOT NULL;
    CREATE INDEX sy_spend_logs_end_user ON sy_spend_logs (end_user) WHERE end_user IS NOT NULL;";

/// Version 3: the answer's id (`chatcmpl-...`), which LiteLLM users look spend rows up by
/// (`/spend/logs?request_id=`). Its own column, not the key: upstream ids are not unique
/// (a fixed id from a self-hosted server would make later rows look already logged).
const V3: &str = "
    ALTER TABLE sy_spend_logs ADD COLUMN response_id TEXT NULL;
    CREATE INDEX sy_spend_logs_response_id ON sy_spend_logs (response_id)
        WHERE response_id IS NOT NULL;";

/// Version 4: when the last spend-log retention pass began (unix ms), the lease that lets
/// one replica of many run each pass.
const V4: &str = "ALTER TABLE sy_meta ADD COLUMN retention_at BIGINT NOT NULL DEFAULT 0;";

/// Version 5: the audit log (`litellm_settings.store_audit_logs`), LiteLLM's
/// `LiteLLM_AuditLog` fields; `updated_at` in unix milliseconds.
const V5: &str = "
    CREATE TABLE sy_audit_log (
        id TEXT NOT NULL PRIMARY KEY,
        updated_at BIGINT NOT NULL,
        changed_by TEXT NOT NULL DEFAULT '',
        changed_by_api_key TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        table_name TEXT NOT NULL,
        object_id TEXT NOT NULL,
        before_value TEXT NULL,
        updated_values TEXT NULL
    );
    CREATE INDEX sy_audit_log_updated_at ON sy_audit_log (updated_at);
    CREATE INDEX sy_audit_log_object_id ON sy_audit_log (object_id);";

/// Version 6: the prompt and answer of a request (`store_prompts_in_spend_logs`).
const V6: &str = "
    ALTER TABLE sy_spend_logs ADD COLUMN messages TEXT NULL;
    ALTER TABLE sy_spend_logs ADD COLUMN response TEXT NULL;";

fn db_err(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError(format!("migration: {what}: {e}"))
}

/// Brings the schema to [`LATEST`] in one transaction: creates `sy_meta` if missing, applies
/// every migration newer than the stored version, and makes sure the global entity exists.
/// Refuses a database whose stored version is newer than this binary knows.
pub(crate) async fn run(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn)
        .await
        .map_err(db_err("begin"))?;
    if backend == Backend::Postgres {
        // Replicas starting together migrate one at a time; the lock ends with the transaction.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(53790001)) AS l")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err("advisory lock"))?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS sy_meta (version BIGINT NOT NULL, change_seq BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err("create sy_meta"))?;
    let stored = sqlx::query("SELECT version FROM sy_meta")
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err("read version"))?;
    let current: i64 = match stored {
        Some(row) => row.try_get(0).map_err(db_err("read version"))?,
        None => {
            sqlx::query("INSERT INTO sy_meta (version, change_seq) VALUES (0, 0)")
                .execute(&mut *tx)
                .await
                .map_err(db_err("stamp version"))?;
            0
        }
    };
    if current > LATEST {
        return Err(StoreError(format!(
            "database schema version {current} is newer than this switchyard supports \
             (version {LATEST}); upgrade switchyard or point it at another database"
        )));
    }
    for version in (current + 1)..=LATEST {
        let Some(sql) = migration_sql(version, backend) else {
            return Err(StoreError(format!(
                "migration {version} is missing from this build"
            )));
        };
        let what = format!("apply version {version}");
        sqlx::raw_sql(&sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError(format!("migration: {what}: {e}")))?;
        sqlx::query("UPDATE sy_meta SET version = $1")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db_err("stamp version"))?;
    }
    sqlx::query(
        "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, updated_at) \
         VALUES ('global', 'global', '{}', 0, NULL, $1) ON CONFLICT (kind, id) DO NOTHING",
    )
    .bind(crate::core::clock::now_ms())
    .execute(&mut *tx)
    .await
    .map_err(db_err("ensure global entity"))?;
    tx.commit().await.map_err(db_err("commit"))
}
