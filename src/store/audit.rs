//! The audit log (LiteLLM's `LiteLLM_AuditLog`): one row per entity write made through the
//! management API, written in the same transaction as the write, with secrets removed.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{bump, db_err, Kind, Store, StoreError};
use crate::core::clock::now_ms;
use crate::core::ids::new_uuid;

pub(super) const PUT_SQL: &str =
    "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, updated_at) \
     VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (kind, id) \
     DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at";
pub(super) const INSERT_SQL: &str =
    "INSERT INTO sy_entities (kind, id, doc, spend_nano, budget_reset_at, updated_at) \
     VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (kind, id) DO NOTHING";
pub(super) const DELETE_SQL: &str = "DELETE FROM sy_entities WHERE kind = $1 AND id = $2";

/// Who made a change, and the action to record when the route names one (`blocked`,
/// `rotated`) rather than the write's own (`created`, `updated`, `deleted`).
#[derive(Clone, Debug, Default)]
pub struct Changer {
    /// The caller's user id (LiteLLM's `changed_by`).
    pub changed_by: String,
    /// SHA-256 (hex) of the key that made the call, never the key.
    pub changed_by_api_key: String,
    pub action: Option<&'static str>,
}

/// One audit row as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    /// Unix milliseconds.
    pub updated_at: i64,
    pub changed_by: String,
    pub changed_by_api_key: String,
    pub action: String,
    pub table_name: String,
    pub object_id: String,
    /// The entity's JSON before the change (secrets removed); `None` when created.
    pub before_value: Option<String>,
    /// The entity's JSON after the change (secrets removed); `None` when deleted.
    pub updated_values: Option<String>,
}

/// Filters and one page of `GET /audit`, newest first unless `ascending`.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub changed_by: Option<String>,
    pub changed_by_api_key: Option<String>,
    pub action: Option<String>,
    pub table_name: Option<String>,
    pub object_id: Option<String>,
    /// Unix milliseconds, inclusive.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// LiteLLM's table name for an entity kind.
pub fn table_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Key => "LiteLLM_VerificationToken",
        Kind::Team => "LiteLLM_TeamTable",
        Kind::User => "LiteLLM_UserTable",
        Kind::Customer => "LiteLLM_EndUserTable",
        Kind::Budget => "LiteLLM_BudgetTable",
        Kind::TeamMember => "LiteLLM_TeamMembership",
        Kind::Organization => "LiteLLM_OrganizationTable",
        Kind::OrgMember => "LiteLLM_OrganizationMembership",
        Kind::Global => "LiteLLM_Config",
    }
}

/// Whether a field holds a credential, wherever it appears in a document: `key`, any
/// `*_key` (`api_key`, `master_key`, `langfuse_secret_key`, ...), and names with `secret`,
/// `password` or `credential` in them.
fn secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "key"
        || n.ends_with("_key")
        || ["secret", "password", "credential"]
            .iter()
            .any(|w| n.contains(w))
}

/// `doc` with every credential replaced: fields [`secret_field`] names and any string
/// that looks like a raw virtual key (`sk-` not in the masked `sk-...abcd` form).
pub fn redact(doc: &str) -> String {
    match serde_json::from_str::<Value>(doc) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => "\"[unreadable document]\"".to_string(),
    }
}

const REDACTED: &str = "[REDACTED]";

fn redact_value(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if secret_field(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_value),
        Value::String(s) if s.starts_with("sk-") && !s.starts_with("sk-...") => {
            *s = REDACTED.into();
        }
        _ => {}
    }
}

async fn before(
    conn: &mut AnyConnection,
    kind: Kind,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT doc FROM sy_entities WHERE kind = $1 AND id = $2")
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err("audit: read before"))?;
    row.map(|r| r.try_get::<String, _>(0))
        .transpose()
        .map_err(db_err("audit: read before"))
}

/// The change to record in the audit log.
struct Change<'a> {
    kind: Kind,
    id: &'a str,
    action: &'static str,
    before: Option<&'a str>,
    after: Option<&'a str>,
}

async fn record(conn: &mut AnyConnection, who: &Changer, c: Change<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sy_audit_log (id, updated_at, changed_by, changed_by_api_key, action, \
         table_name, object_id, before_value, updated_values) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_uuid())
    .bind(now_ms())
    .bind(&who.changed_by)
    .bind(&who.changed_by_api_key)
    .bind(who.action.unwrap_or(c.action))
    .bind(table_name(c.kind))
    .bind(c.id)
    .bind(c.before.map(redact))
    .bind(c.after.map(redact))
    .execute(&mut *conn)
    .await
    .map_err(db_err("audit: insert"))?;
    Ok(())
}

const COLUMNS: &str = "id, updated_at, changed_by, changed_by_api_key, action, table_name, \
                       object_id, before_value, updated_values";

fn entry(r: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        updated_at: r.try_get(1)?,
        changed_by: r.try_get(2)?,
        changed_by_api_key: r.try_get(3)?,
        action: r.try_get(4)?,
        table_name: r.try_get(5)?,
        object_id: r.try_get(6)?,
        before_value: r.try_get(7)?,
        updated_values: r.try_get(8)?,
    })
}

impl Store {
    /// [`Store::put`] and, with `who`, its audit row, in one transaction: both or neither.
    pub async fn put_audited(
        &self,
        kind: Kind,
        id: &str,
        doc: &str,
        who: Option<&Changer>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("put"))?;
        let old = match who {
            Some(_) => before(&mut tx, kind, id).await?,
            None => None,
        };
        sqlx::query(PUT_SQL)
            .bind(kind.as_str())
            .bind(id)
            .bind(doc)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_err("put"))?;
        if let Some(who) = who {
            let action = if old.is_some() { "updated" } else { "created" };
            let change = Change {
                kind,
                id,
                action,
                before: old.as_deref(),
                after: Some(doc),
            };
            record(&mut tx, who, change).await?;
        }
        bump(&mut tx).await?;
        tx.commit().await.map_err(db_err("put"))
    }

    /// [`Store::insert`] and, with `who`, its audit row, in one transaction.
    pub async fn insert_audited(
        &self,
        kind: Kind,
        id: &str,
        doc: &str,
        who: Option<&Changer>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("insert"))?;
        let done = sqlx::query(INSERT_SQL)
            .bind(kind.as_str())
            .bind(id)
            .bind(doc)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db_err("insert"))?;
        let inserted = done.rows_affected() == 1;
        if let (true, Some(who)) = (inserted, who) {
            let change = Change {
                kind,
                id,
                action: "created",
                before: None,
                after: Some(doc),
            };
            record(&mut tx, who, change).await?;
        }
        if inserted {
            bump(&mut tx).await?;
        }
        tx.commit().await.map_err(db_err("insert"))?;
        Ok(inserted)
    }

    /// [`Store::delete`] and, with `who`, its audit row, in one transaction.
    pub async fn delete_audited(
        &self,
        kind: Kind,
        id: &str,
        who: Option<&Changer>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err("delete"))?;
        let old = match who {
            Some(_) => before(&mut tx, kind, id).await?,
            None => None,
        };
        let done = sqlx::query(DELETE_SQL)
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err("delete"))?;
        let deleted = done.rows_affected() > 0;
        if let (true, Some(who)) = (deleted, who) {
            let change = Change {
                kind,
                id,
                action: "deleted",
                before: old.as_deref(),
                after: None,
            };
            record(&mut tx, who, change).await?;
        }
        if deleted {
            bump(&mut tx).await?;
        }
        tx.commit().await.map_err(db_err("delete"))?;
        Ok(deleted)
    }

    /// One page of the audit log matching `q`, and how many rows match in all.
    pub async fn audit_logs(&self, q: &AuditQuery) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let text = [
            ("changed_by", &q.changed_by),
            ("changed_by_api_key", &q.changed_by_api_key),
            ("action", &q.action),
            ("table_name", &q.table_name),
            ("object_id", &q.object_id),
        ];
        for (col, v) in text {
            if let Some(v) = v {
                args.push(v.clone());
                clauses.push(format!("{col} = ${}", args.len()));
            }
        }
        let n = args.len();
        let mut next = n;
        let mut range = Vec::new();
        if let Some(s) = q.start {
            next += 1;
            clauses.push(format!("updated_at >= ${next}"));
            range.push(s);
        }
        if let Some(e) = q.end {
            next += 1;
            clauses.push(format!("updated_at <= ${next}"));
            range.push(e);
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM sy_audit_log{filter}");
        let order = if q.ascending { "ASC" } else { "DESC" };
        let page_sql = format!(
            "SELECT {COLUMNS} FROM sy_audit_log{filter} ORDER BY updated_at {order}, id {order} \
             LIMIT ${} OFFSET ${}",
            next + 1,
            next + 2
        );
        let mut count = sqlx::query(&count_sql);
        let mut page = sqlx::query(&page_sql);
        for a in &args {
            count = count.bind(a.clone());
            page = page.bind(a.clone());
        }
        for r in &range {
            count = count.bind(*r);
            page = page.bind(*r);
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(db_err("audit: count"))?;
        let rows = page
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("audit: list"))?;
        let entries = rows
            .iter()
            .map(entry)
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err("audit: decode"))?;
        Ok((entries, total))
    }

    /// The audit row `id`, if any.
    pub async fn audit_log(&self, id: &str) -> Result<Option<AuditEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sy_audit_log WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err("audit: get"))?;
        row.as_ref()
            .map(entry)
            .transpose()
            .map_err(db_err("audit: decode"))
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_are_removed_and_masked_keys_kept() {
        let doc = r#"{"token":"ab12","key_name":"sk-...abcd","key":"sk-raw-1234",
                      "metadata":{"note":"sk-live-secret","api_key":"x","n":1},"master_key":null,
                      "callback_vars":{"langfuse_secret_key":"s","langfuse_host":"h"}}"#;
        let out: serde_json::Value = serde_json::from_str(&redact(doc)).unwrap();
        assert_eq!(out["key"], "[REDACTED]");
        assert_eq!(out["metadata"]["note"], "[REDACTED]");
        assert_eq!(out["metadata"]["api_key"], "[REDACTED]");
        assert_eq!(out["metadata"]["n"], 1);
        assert_eq!(out["key_name"], "sk-...abcd");
        assert_eq!(out["token"], "ab12");
        assert!(out["master_key"].is_null());
        assert_eq!(out["callback_vars"]["langfuse_secret_key"], "[REDACTED]");
        assert_eq!(out["callback_vars"]["langfuse_host"], "h");
    }
}
