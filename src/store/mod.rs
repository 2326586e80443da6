//! The durable ledger: entities (keys, teams, users, organizations, ...) and spend logs, in
//! SQLite or Postgres.
//!
//! One implementation over `sqlx::AnyPool` serves both backends. SQL uses `$1, $2, ...`
//! placeholders numbered in order of first appearance (both SQLite and Postgres accept them)
//! and only the types the Any driver carries: `i64`, `f64`, `String`, `bool` and `Option`s of
//! them. Money is integer nano-USD; times are unix milliseconds unless documented otherwise.

pub mod audit;
mod migrate;
mod retention;
mod spend;
pub mod writer;

use std::fmt;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor, Row};

use crate::core::clock::now_ms;

pub use spend::{SpendGroup, SpendQuery, SpendRow, SpendTotal};
pub use writer::{OnWritten, SpendWriter, WriterConfig, WriterStats};

/// The kinds of entity the store keeps; a closed set, stored as [`Kind::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Key,
    Team,
    User,
    Customer,
    Budget,
    TeamMember,
    Global,
    Organization,
    OrgMember,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 9] = [
        Kind::Key,
        Kind::Team,
        Kind::User,
        Kind::Customer,
        Kind::Budget,
        Kind::TeamMember,
        Kind::Global,
        Kind::Organization,
        Kind::OrgMember,
    ];

    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Key => "key",
            Kind::Team => "team",
            Kind::User => "user",
            Kind::Customer => "customer",
            Kind::Budget => "budget",
            Kind::TeamMember => "team_member",
            Kind::Global => "global",
            Kind::Organization => "organization",
            Kind::OrgMember => "organization_member",
        }
    }

    /// The kind named `s` (exactly as [`Kind::as_str`] writes it), if any.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store failure, as text fit for logs: it never carries the database password.
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// `map_err` adapter: a sqlx error with what the store was doing.
pub(crate) fn db_err(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError(format!("{what}: {e}"))
}

/// How [`Store::open`] builds its pool.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Pool size. Default 10.
    pub max_connections: u32,
    /// How long a query waits for a free connection (and `open` for the first). Default 5s.
    pub acquire_timeout: Duration,
    /// Postgres only: a schema created if missing and put first on every connection's
    /// `search_path` (letters, digits and `_`). Ignored for SQLite. Default none.
    pub schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            schema: None,
        }
    }
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One entity row: the caller's JSON `doc` plus the spend the ledger keeps for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub kind: Kind,
    pub id: String,
    pub doc: String,
    pub spend_nano: i64,
    /// Unix seconds of the next budget reset, when the entity has a budget window.
    pub budget_reset_at: Option<i64>,
}

/// The durable ledger; cheap to clone (a connection pool inside).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// What a database URL resolves to: the backend and the URL sqlx is given.
fn resolve_url(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let path_and_params = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if url.ends_with(".db") && !url.contains("://") {
        url
    } else {
        return Err(StoreError(match url.split_once(':') {
            Some((scheme, _)) if !scheme.is_empty() && !scheme.contains('/') => format!(
                "unsupported database URL scheme \"{scheme}\" (expected sqlite:, postgres:// \
                 or postgresql://, or a path ending in .db)"
            ),
            _ => "unsupported database URL (expected sqlite:, postgres:// or postgresql://, \
                  or a path ending in .db)"
                .to_string(),
        }));
    };
    let (path, params) = match path_and_params.split_once('?') {
        Some((path, params)) => (path, params),
        None => (path_and_params, ""),
    };
    if path.is_empty() {
        return Err(StoreError("sqlite database URL names no file".to_string()));
    }
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            c => encoded.push(c),
        }
    }
    let mut params = params.to_string();
    if !params.split('&').any(|p| p.starts_with("mode=")) {
        if !params.is_empty() {
            params.push('&');
        }
        params.push_str("mode=rwc");
    }
    Ok((Backend::Sqlite, format!("sqlite://{encoded}?{params}")))
}

/// `message` with the password of `url` (if it has one) replaced by `***`.
fn scrub(message: String, url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else {
        return message;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return message;
    };
    match userinfo.split_once(':') {
        Some((_, password)) if !password.is_empty() => message.replace(password, "***"),
        _ => message,
    }
}

/// A Postgres schema name we are willing to splice into SQL.
fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit())
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite:///abs/path.db`, `sqlite://rel.db`, `sqlite:rel.db` or a bare path ending in
    /// `.db` open a SQLite file (created if missing; its directory must exist) in WAL mode
    /// with a 5s busy timeout and foreign keys on. `postgres://` and `postgresql://` open
    /// Postgres. Anything else is an error naming the scheme.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        Self::open_inner(url, opts)
            .await
            .map_err(|e| StoreError(scrub(e.0, url)))
    }

    async fn open_inner(url: &str, opts: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, conn_url) = resolve_url(url)?;
        let connect: AnyConnectOptions = conn_url
            .parse()
            .map_err(|e| StoreError(format!("database URL: {e}")))?;
        let schema = match (backend, &opts.schema) {
            (Backend::Postgres, Some(schema)) if !valid_schema(schema) => {
                return Err(StoreError(format!(
                    "schema \"{schema}\": use letters, digits and _ only"
                )))
            }
            (Backend::Postgres, Some(schema)) => Some(schema.clone()),
            _ => None,
        };
        let init_sql = match (backend, &schema) {
            (Backend::Sqlite, _) => Some(
                // WAL with synchronous = NORMAL: a commit survives a crash of the process (what
                // the spend ledger needs) without an fsync per commit; only power loss can take
                // the last commits back, and the database stays consistent either way.
                "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON;"
                    .to_string(),
            ),
            (Backend::Postgres, Some(schema)) => Some(format!("SET search_path TO \"{schema}\"")),
            (Backend::Postgres, None) => None,
        };
        let mut pool_opts = AnyPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout);
        if let Some(sql) = init_sql {
            pool_opts = pool_opts.after_connect(move |conn, _meta| {
                let sql = sql.clone();
                Box::pin(async move {
                    conn.execute(sql.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_opts
            .connect_with(connect)
            .await
            .map_err(db_err("connect"))?;
        let store = Store { pool, backend };
        let mut conn = store.pool.acquire().await.map_err(db_err("connect"))?;
        if let Some(schema) = &schema {
            sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut *conn)
                .await
                .map_err(db_err("create schema"))?;
        }
        migrate::run(&mut conn, backend).await?;
        Ok(store)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Round-trips one query (readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_err("ping"))
    }

    /// Adds an entity; `false` (and nothing changed) when `(kind, id)` already exists.
    pub async fn insert(&self, kind: Kind, id: &str, doc: &str) -> Result<bool, StoreError> {
        self.insert_audited(kind, id, doc, None).await
    }

    /// Inserts or replaces an entity's doc, keeping its spend and budget reset time.
    pub async fn put(&self, kind: Kind, id: &str, doc: &str) -> Result<(), StoreError> {
        self.put_audited(kind, id, doc, None).await
    }

    /// Removes an entity; `false` when there was none.
    pub async fn delete(&self, kind: Kind, id: &str) -> Result<bool, StoreError> {
        self.delete_audited(kind, id, None).await
    }

    /// Atomically moves `old_id` to `new_id` with a new `doc`, keeping spend and budget reset
    /// time (key regeneration: the id is the key's hash). `false`, with nothing changed, when
    /// `old_id` does not exist or `new_id` already does. Renaming to the same id replaces the
    /// doc.
    pub async fn rename(
        &self,
        kind: Kind,
        old_id: &str,
        new_id: &str,
        doc: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("rename"))?;
        let moved = if old_id == new_id {
            sqlx::query(
                "UPDATE sy_entities SET doc = $1, updated_at = $2 WHERE kind = $3 AND id = $4",
            )
            .bind(doc)
            .bind(now_ms())
            .bind(kind.as_str())
            .bind(old_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err("rename"))?
            .rows_affected()
                == 1
        } else {
            let copied = sqlx::query(
                "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, updated_at) \
                 SELECT kind, $1, $2, spend_nano, budget_reset_at, $3 FROM sy_entities \
                 WHERE kind = $4 AND id = $5 ON CONFLICT (kind, id) DO NOTHING",
            )
            .bind(new_id)
            .bind(doc)
            .bind(now_ms())
            .bind(kind.as_str())
            .bind(old_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err("rename"))?;
            if copied.rows_affected() == 1 {
                sqlx::query("DELETE FROM sy_entities WHERE kind = $1 AND id = $2")
                    .bind(kind.as_str())
                    .bind(old_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("rename"))?;
                true
            } else {
                false
            }
        };
        if moved {
            bump(&mut tx).await?;
            tx.commit().await.map_err(db_err("rename"))?;
        } else {
            tx.rollback().await.map_err(db_err("rename"))?;
        }
        Ok(moved)
    }

    /// One entity, if it exists.
    pub async fn get(&self, kind: Kind, id: &str) -> Result<Option<Entity>, StoreError> {
        let row = sqlx::query(
            "SELECT kind, id, doc, spend_nano, budget_reset_at FROM sy_entities \
             WHERE kind = $1 AND id = $2",
        )
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err("get"))?;
        match row {
            Some(row) => entity_from_row(&row),
            None => Ok(None),
        }
    }

    /// Every entity, ordered by kind then id. Rows of a kind this build does not know (written
    /// by a newer version) are skipped.
    pub async fn load_all(&self) -> Result<Vec<Entity>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, id, doc, spend_nano, budget_reset_at FROM sy_entities \
             ORDER BY kind, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("load entities"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(entity) = entity_from_row(row)? {
                out.push(entity);
            }
        }
        Ok(out)
    }

    /// A counter bumped by every entity write (not by spend): replicas reload when it moves.
    pub async fn change_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT change_seq FROM sy_meta")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err("change_seq"))?;
        row.try_get(0).map_err(db_err("change_seq"))
    }

    /// Sets when the entity's budget next resets (unix seconds); a no-op for a missing entity.
    pub async fn set_budget_reset(
        &self,
        kind: Kind,
        id: &str,
        reset_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(db_err("set_budget_reset"))?;
        let done = sqlx::query(
            "UPDATE sy_entities SET budget_reset_at = $1, updated_at = $2 \
             WHERE kind = $3 AND id = $4",
        )
        .bind(reset_at)
        .bind(now_ms())
        .bind(kind.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err("set_budget_reset"))?;
        if done.rows_affected() > 0 {
            bump(&mut tx).await?;
        }
        tx.commit().await.map_err(db_err("set_budget_reset"))
    }

    /// Compare-and-set budget reset: zeroes spend and moves `budget_reset_at` to
    /// `next_reset_at` only if it still equals `expected_reset_at` (NULL equals NULL), so of
    /// N replicas racing, one resets. `true` when this call did the reset.
    pub async fn reset_spend(
        &self,
        kind: Kind,
        id: &str,
        expected_reset_at: Option<i64>,
        next_reset_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("reset_spend"))?;
        let done = sqlx::query(
            "UPDATE sy_entities SET spend_nano = 0, budget_reset_at = $1, updated_at = $2 \
             WHERE kind = $3 AND id = $4 AND budget_reset_at IS NOT DISTINCT FROM $5",
        )
        .bind(next_reset_at)
        .bind(now_ms())
        .bind(kind.as_str())
        .bind(id)
        .bind(expected_reset_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err("reset_spend"))?;
        let reset = done.rows_affected() == 1;
        if reset {
            bump(&mut tx).await?;
        }
        tx.commit().await.map_err(db_err("reset_spend"))?;
        Ok(reset)
    }
}

/// Bumps `sy_meta.change_seq` inside the caller's transaction.
async fn bump(conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE sy_meta SET change_seq = change_seq + 1")
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(db_err("bump change_seq"))
}

/// An [`Entity`] from `kind, id, doc, spend_nano, budget_reset_at`; `None` for an unknown kind.
fn entity_from_row(row: &AnyRow) -> Result<Option<Entity>, StoreError> {
    let kind: String = row.try_get(0).map_err(db_err("decode entity"))?;
    let Some(kind) = Kind::parse(&kind) else {
        return Ok(None);
    };
    Ok(Some(Entity {
        kind,
        id: row.try_get(1).map_err(db_err("decode entity"))?,
        doc: row.try_get(2).map_err(db_err("decode entity"))?,
        spend_nano: row.try_get(3).map_err(db_err("decode entity"))?,
        budget_reset_at: row.try_get(4).map_err(db_err("decode entity"))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::{resolve_url, scrub, Backend, Kind};

    #[test]
    fn kinds_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("Key"), None);
    }

    #[test]
    fn urls_resolve() {
        let ok = |url: &str| resolve_url(url).map_err(|e| e.0);
        assert_eq!(
            ok("sqlite:///abs/a.db"),
            Ok((Backend::Sqlite, "sqlite:///abs/a.db?mode=rwc".into()))
        );
        assert_eq!(
            ok("sqlite://rel.db"),
            Ok((Backend::Sqlite, "sqlite://rel.db?mode=rwc".into()))
        );
        assert_eq!(
            ok("sqlite:rel.db"),
            Ok((Backend::Sqlite, "sqlite://rel.db?mode=rwc".into()))
        );
        assert_eq!(
            ok("data/x.db"),
            Ok((Backend::Sqlite, "sqlite://data/x.db?mode=rwc".into()))
        );
        assert_eq!(
            ok("sqlite:a.db?mode=ro"),
            Ok((Backend::Sqlite, "sqlite://a.db?mode=ro".into()))
        );
        assert_eq!(ok("postgresql://h/db").map(|r| r.0), Ok(Backend::Postgres));
        let err = ok("mysql://u:hunter2@h/db").unwrap_err();
        assert!(
            err.contains("\"mysql\"") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn scrub_hides_password() {
        let url = "postgres://me:s3cret@db:5432/x";
        assert_eq!(scrub("bad s3cret here".into(), url), "bad *** here");
        assert_eq!(scrub("fine".into(), "postgres://db/x"), "fine");
    }
}
