//! The spend ledger: recording spend rows idempotently and querying them back.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{db_err, Backend, Kind, Store, StoreError};
use crate::core::clock::now_ms;

/// One request's spend, as logged (`sy_spend_logs`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpendRow {
    /// The gateway's call id (`x-litellm-call-id`); unique.
    pub request_id: String,
    /// The answer's `id` (`chatcmpl-...`) when it had one; not unique across upstreams.
    pub response_id: Option<String>,
    pub call_type: String,
    /// SHA-256 hex of the API key, never the key.
    pub api_key: String,
    pub key_alias: Option<String>,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub end_user: Option<String>,
    pub model: String,
    pub model_group: String,
    pub model_id: Option<String>,
    pub custom_llm_provider: Option<String>,
    pub api_base: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub spend_nano: i64,
    /// Unix milliseconds.
    pub start_time: i64,
    /// Unix milliseconds.
    pub end_time: i64,
    pub status: String,
    pub cache_hit: bool,
    /// JSON text.
    pub metadata: String,
    /// Stored as a JSON array.
    pub request_tags: Vec<String>,
    /// The prompt and the answer as JSON text (`store_prompts_in_spend_logs`), else `None`.
    pub messages: Option<String>,
    pub response: Option<String>,
    /// Not stored: the entities whose `spend_nano` this row adds to. Include
    /// `(Kind::Global, "global")` for the global total; it is the only scope created if missing.
    pub scopes: Vec<(Kind, String)>,
}

/// Filters for [`Store::spend_logs`]; every filter set must match.
#[derive(Clone, Debug)]
pub struct SpendQuery {
    pub api_key: Option<String>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub end_user: Option<String>,
    /// The call id or the answer's id.
    pub request_id: Option<String>,
    /// Inclusive lower bound on `start_time` (unix ms).
    pub start_ms: Option<i64>,
    /// Exclusive upper bound on `start_time` (unix ms).
    pub end_ms: Option<i64>,
    /// Most rows returned, newest first. Default 1000; values below 1 mean the default.
    pub limit: i64,
}

impl Default for SpendQuery {
    fn default() -> Self {
        SpendQuery {
            api_key: None,
            user_id: None,
            team_id: None,
            end_user: None,
            request_id: None,
            start_ms: None,
            end_ms: None,
            limit: 1000,
        }
    }
}

/// What [`Store::spend_by`] groups on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendGroup {
    ApiKey,
    Team,
    User,
    EndUser,
    /// The `model_group` (the public model name).
    Model,
    /// `yyyy-mm-dd` of `start_time`, UTC.
    Day,
}

/// One group's totals from [`Store::spend_by`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendTotal {
    pub group: String,
    pub spend_nano: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub requests: i64,
}

/// A value bound into dynamically built SQL.
enum Arg {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    args: Vec<Arg>,
) -> Query<'q, Any, AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(s) => query.bind(s),
            Arg::Int(i) => query.bind(i),
        };
    }
    query
}

/// Builds `WHERE` conditions with `$n` placeholders numbered in order.
#[derive(Default)]
struct Filter {
    conds: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    fn push(&mut self, cond: &str, arg: Arg) {
        self.args.push(arg);
        self.conds
            .push(cond.replace("$?", &format!("${}", self.args.len())));
    }

    fn text(&mut self, column: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.push(&format!("{column} = $?"), Arg::Text(v.clone()));
        }
    }

    fn time_range(&mut self, start_ms: Option<i64>, end_ms: Option<i64>) {
        if let Some(start) = start_ms {
            self.push("start_time >= $?", Arg::Int(start));
        }
        if let Some(end) = end_ms {
            self.push("start_time < $?", Arg::Int(end));
        }
    }

    fn where_clause(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    /// The next placeholder, for a trailing `LIMIT`.
    fn next_placeholder(&self) -> String {
        format!("${}", self.args.len() + 1)
    }
}

/// Rows per INSERT statement: 23 parameters each, well under SQLite's and Postgres's limits.
const INSERT_CHUNK: usize = 100;
/// Columns per spend row, in `SPEND_COLUMNS` order.
const SPEND_ARITY: usize = 25;
/// Statement sizes a batch is cut into: full chunks, then powers of two. A batch of any size
/// reuses at most eight statement texts per backend, each prepared once per connection
/// (a statement for every odd remainder was parsed anew at each flush).
const CHUNK_SIZES: [usize; 8] = [INSERT_CHUNK, 64, 32, 16, 8, 4, 2, 1];

/// The index in [`CHUNK_SIZES`] of the next statement size for `left` (at least 1) rows.
fn chunk_slot(left: usize) -> usize {
    CHUNK_SIZES
        .iter()
        .position(|&n| n <= left)
        .unwrap_or(CHUNK_SIZES.len() - 1)
}

/// `INSERT ... VALUES (...), (...) ... ON CONFLICT DO NOTHING` for `CHUNK_SIZES[slot]` rows,
/// with `RETURNING request_id` when `returning`; built once per shape.
/// SQLite gets anonymous `?` placeholders: it looks a numbered one up by a linear scan, which
/// makes binding a statement with thousands of them quadratic.
fn insert_sql(backend: Backend, slot: usize, returning: bool) -> &'static str {
    const SIZES: usize = CHUNK_SIZES.len();
    static BUILT: [[[OnceLock<String>; SIZES]; 2]; 2] =
        [const { [const { [const { OnceLock::new() }; SIZES] }; 2] }; 2];
    let numbered = backend == Backend::Postgres;
    BUILT[usize::from(numbered)][usize::from(returning)][slot].get_or_init(|| {
        let n = CHUNK_SIZES[slot];
        let mut sql = format!("INSERT INTO sy_spend_logs ({SPEND_COLUMNS}) VALUES ");
        for r in 0..n {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..SPEND_ARITY {
                sql.push_str(if c == 0 { "" } else { ", " });
                if numbered {
                    let _ = write!(sql, "${}", r * SPEND_ARITY + c + 1);
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (request_id) DO NOTHING");
        if returning {
            sql.push_str(" RETURNING request_id");
        }
        sql
    })
}

/// Binds `rows` in `SPEND_COLUMNS` order.
fn bind_rows<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    rows: &'q [SpendRow],
) -> Result<Query<'q, Any, AnyArguments<'q>>, StoreError> {
    for row in rows {
        let tags = serde_json::to_string(&row.request_tags)
            .map_err(|e| StoreError(format!("record spend: request_tags: {e}")))?;
        query = query
            .bind(row.request_id.as_str())
            .bind(row.call_type.as_str())
            .bind(row.api_key.as_str())
            .bind(row.key_alias.as_deref())
            .bind(row.team_id.as_deref())
            .bind(row.user_id.as_deref())
            .bind(row.end_user.as_deref())
            .bind(row.model.as_str())
            .bind(row.model_group.as_str())
            .bind(row.model_id.as_deref())
            .bind(row.custom_llm_provider.as_deref())
            .bind(row.api_base.as_deref())
            .bind(row.prompt_tokens)
            .bind(row.completion_tokens)
            .bind(row.total_tokens)
            .bind(row.spend_nano)
            .bind(row.start_time)
            .bind(row.end_time)
            .bind(row.status.as_str())
            .bind(row.cache_hit)
            .bind(row.metadata.as_str())
            .bind(tags)
            .bind(row.response_id.as_deref())
            .bind(row.messages.as_deref())
            .bind(row.response.as_deref());
    }
    Ok(query)
}

const SPEND_COLUMNS: &str = "request_id, call_type, api_key, key_alias, team_id, user_id, \
    end_user, model, model_group, model_id, custom_llm_provider, api_base, prompt_tokens, \
    completion_tokens, total_tokens, spend_nano, start_time, end_time, status, cache_hit, \
    metadata, request_tags, response_id, messages, response";

impl Store {
    /// Records `rows` in one transaction. Each row is inserted unless its `request_id` is
    /// already logged; only inserted rows add their `spend_nano` to their scopes (a missing
    /// scope entity is skipped, except the global one, which is created). Returns the number
    /// of rows inserted, so recording the same rows twice adds their spend once.
    pub async fn record(&self, rows: &[SpendRow]) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        // Every row new, the usual case: plain inserts, counted. A request id already logged
        // (a batch retried after a commit whose answer was lost) or repeated in the batch
        // makes a count come up short; then the transaction is rolled back and run again,
        // asking the database which rows it inserted.
        match self.record_tx(rows, false).await? {
            Some(inserted) => Ok(inserted),
            None => Ok(self.record_tx(rows, true).await?.unwrap_or(0)),
        }
    }

    /// One attempt of [`Store::record`]. Without `returning`, `None` (and nothing written)
    /// when a statement inserted fewer rows than it carried.
    async fn record_tx(
        &self,
        rows: &[SpendRow],
        returning: bool,
    ) -> Result<Option<usize>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("record spend"))?;
        // Multi-row inserts: one statement per chunk, not one per row (each statement is a
        // round trip to the database, and to SQLite's worker thread).
        let mut fresh: Option<HashSet<String>> = returning.then(HashSet::new);
        let mut left = rows;
        while !left.is_empty() {
            let slot = chunk_slot(left.len());
            let (chunk, rest) = left.split_at(CHUNK_SIZES[slot]);
            left = rest;
            let sql = insert_sql(self.backend, slot, returning);
            let query = bind_rows(sqlx::query(sql), chunk)?;
            if let Some(fresh) = fresh.as_mut() {
                // RETURNING names the rows this statement inserted: those not logged before.
                for r in query
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err("record spend"))?
                {
                    fresh.insert(r.try_get(0).map_err(db_err("record spend"))?);
                }
            } else {
                let done = query
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err("record spend"))?;
                if done.rows_affected() != chunk.len() as u64 {
                    tx.rollback()
                        .await
                        .map_err(db_err("record spend: roll back"))?;
                    return Ok(None);
                }
            }
        }
        let mut inserted = 0usize;
        // Summed per scope and applied in a fixed order, so concurrent writers lock alike.
        let mut deltas: BTreeMap<(&'static str, &str), i64> = BTreeMap::new();
        for row in rows {
            // `remove`: a request id twice in one batch counts once, as it is logged once.
            if fresh.as_mut().is_some_and(|f| !f.remove(&row.request_id)) {
                continue;
            }
            inserted += 1;
            let mut seen: Vec<(Kind, &str)> = Vec::with_capacity(row.scopes.len());
            for (kind, id) in &row.scopes {
                if seen.contains(&(*kind, id.as_str())) {
                    continue;
                }
                seen.push((*kind, id.as_str()));
                let total = deltas.entry((kind.as_str(), id.as_str())).or_insert(0);
                *total = total.saturating_add(row.spend_nano);
            }
        }
        for ((kind, id), delta) in deltas {
            if delta == 0 {
                continue;
            }
            let query = if kind == Kind::Global.as_str() {
                sqlx::query(
                    "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, \
                     updated_at) VALUES ($1, $2, '{}', $3, NULL, $4) ON CONFLICT (kind, id) \
                     DO UPDATE SET spend_nano = sy_entities.spend_nano + excluded.spend_nano",
                )
                .bind(kind)
                .bind(id)
                .bind(delta)
                .bind(now_ms())
            } else {
                sqlx::query(
                    "UPDATE sy_entities SET spend_nano = spend_nano + $1 \
                     WHERE kind = $2 AND id = $3",
                )
                .bind(delta)
                .bind(kind)
                .bind(id)
            };
            query
                .execute(&mut *tx)
                .await
                .map_err(db_err("record spend: add to scope"))?;
        }
        tx.commit().await.map_err(db_err("record spend: commit"))?;
        Ok(Some(inserted))
    }

    /// Logged rows matching `q`, newest `start_time` first (`scopes` is empty).
    pub async fn spend_logs(&self, q: &SpendQuery) -> Result<Vec<SpendRow>, StoreError> {
        let mut filter = Filter::default();
        if let Some(id) = &q.request_id {
            // LiteLLM's rows are keyed by the answer's id; the call id finds them too.
            filter.push(
                "(request_id = $? OR response_id = $?)",
                Arg::Text(id.clone()),
            );
        }
        filter.text("api_key", &q.api_key);
        filter.text("user_id", &q.user_id);
        filter.text("team_id", &q.team_id);
        filter.text("end_user", &q.end_user);
        filter.time_range(q.start_ms, q.end_ms);
        let sql = format!(
            "SELECT {SPEND_COLUMNS} FROM sy_spend_logs{} \
             ORDER BY start_time DESC, request_id DESC LIMIT {}",
            filter.where_clause(),
            filter.next_placeholder()
        );
        let limit = if q.limit < 1 { 1000 } else { q.limit };
        let mut args = filter.args;
        args.push(Arg::Int(limit));
        let rows = bind_all(sqlx::query(&sql), args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("spend logs"))?;
        rows.iter().map(spend_row_from).collect()
    }

    /// Totals per group over rows with `start_time` in `[start_ms, end_ms)`, largest spend
    /// first, at most `limit` groups (below 1: 1000). Rows with no value for the group
    /// (no team, say) are left out.
    pub async fn spend_by(
        &self,
        group: SpendGroup,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: i64,
    ) -> Result<Vec<SpendTotal>, StoreError> {
        let expr = match group {
            SpendGroup::ApiKey => "api_key",
            SpendGroup::Team => "team_id",
            SpendGroup::User => "user_id",
            SpendGroup::EndUser => "end_user",
            SpendGroup::Model => "model_group",
            SpendGroup::Day => match self.backend {
                Backend::Sqlite => "strftime('%Y-%m-%d', start_time / 1000, 'unixepoch')",
                Backend::Postgres => {
                    "to_char(to_timestamp(start_time / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                }
            },
        };
        let mut filter = Filter::default();
        filter.conds.push(format!("{expr} IS NOT NULL"));
        filter.time_range(start_ms, end_ms);
        let sql = format!(
            "SELECT {expr}, CAST(SUM(spend_nano) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT), \
             CAST(SUM(completion_tokens) AS BIGINT), CAST(SUM(total_tokens) AS BIGINT), \
             COUNT(*) FROM sy_spend_logs{} GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT {}",
            filter.where_clause(),
            filter.next_placeholder()
        );
        let mut args = filter.args;
        args.push(Arg::Int(if limit < 1 { 1000 } else { limit }));
        let rows = bind_all(sqlx::query(&sql), args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("spend by group"))?;
        let decode = db_err("spend by group: decode");
        rows.iter()
            .map(|row| {
                Ok(SpendTotal {
                    group: row.try_get(0)?,
                    spend_nano: row.try_get(1)?,
                    prompt_tokens: row.try_get(2)?,
                    completion_tokens: row.try_get(3)?,
                    total_tokens: row.try_get(4)?,
                    requests: row.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(decode)
    }

    /// Sum of `spend_nano` over every logged row.
    pub async fn total_spend(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT CAST(COALESCE(SUM(spend_nano), 0) AS BIGINT) FROM sy_spend_logs")
                .fetch_one(&self.pool)
                .await
                .map_err(db_err("total spend"))?;
        row.try_get(0).map_err(db_err("total spend"))
    }
}

/// A [`SpendRow`] from the columns of [`SPEND_COLUMNS`], in order.
fn spend_row_from(row: &AnyRow) -> Result<SpendRow, StoreError> {
    let decode = |e| StoreError(format!("spend logs: decode: {e}"));
    // A boolean column on Postgres, an integer one on SQLite.
    let cache_hit = match row.try_get::<bool, _>(19) {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>(19).map_err(decode)? != 0,
    };
    let tags: String = row.try_get(21).map_err(decode)?;
    let request_tags = serde_json::from_str::<Vec<String>>(&tags).unwrap_or_else(|e| {
        log::warn!("spend logs: request_tags is not a JSON array of strings ({e}); shown empty");
        Vec::new()
    });
    Ok(SpendRow {
        request_id: row.try_get(0).map_err(decode)?,
        call_type: row.try_get(1).map_err(decode)?,
        api_key: row.try_get(2).map_err(decode)?,
        key_alias: row.try_get(3).map_err(decode)?,
        team_id: row.try_get(4).map_err(decode)?,
        user_id: row.try_get(5).map_err(decode)?,
        end_user: row.try_get(6).map_err(decode)?,
        model: row.try_get(7).map_err(decode)?,
        model_group: row.try_get(8).map_err(decode)?,
        model_id: row.try_get(9).map_err(decode)?,
        custom_llm_provider: row.try_get(10).map_err(decode)?,
        api_base: row.try_get(11).map_err(decode)?,
        prompt_tokens: row.try_get(12).map_err(decode)?,
        completion_tokens: row.try_get(13).map_err(decode)?,
        total_tokens: row.try_get(14).map_err(decode)?,
        spend_nano: row.try_get(15).map_err(decode)?,
        start_time: row.try_get(16).map_err(decode)?,
        end_time: row.try_get(17).map_err(decode)?,
        status: row.try_get(18).map_err(decode)?,
        cache_hit,
        metadata: row.try_get(20).map_err(decode)?,
        request_tags,
        response_id: row.try_get(22).map_err(decode)?,
        messages: row.try_get(23).map_err(decode)?,
        response: row.try_get(24).map_err(decode)?,
        scopes: Vec::new(),
    })
}
