//! LiteLLM's audit routes (`GET /audit`, `GET /audit/{id}`), admin-only, and who a
//! management call is made by (the audit row's `changed_by` and `changed_by_api_key`).
//!
//! Every entity write of a management call goes through the helpers in `manage/mod.rs`; with
//! `store_audit_logs` on they write the audit row in the same transaction as the change, so a
//! change is never stored without its row (an audit insert that fails fails the call, with
//! nothing changed).

use serde_json::{json, Value};

use super::{bad, not_found, reply, store, Caller, Query, Reply};
use crate::core::error::ApiError;
use crate::core::ids::hex;
use crate::core::secret::MasterKey;
use crate::governance::period::{iso, parse_date};
use crate::governance::tables::hash_key;
use crate::governance::Governance;
use crate::store::audit::{AuditEntry, AuditQuery, Changer};

tokio::task_local! {
    /// Who the management call being served is made by.
    static CHANGER: Changer;
}

/// LiteLLM's `changed_by` for a call made with the master key (`litellm_proxy_admin_name`).
const ADMIN_NAME: &str = "default_user_id";
const DEFAULT_PAGE_SIZE: u64 = 10;
const MAX_PAGE_SIZE: u64 = 100;

/// Who `caller` is, as an audit row names it: the caller's user id, else LiteLLM's admin
/// name, and the SHA-256 of the key used (the master key's too: never the key itself).
pub(super) fn changer(
    caller: &Caller<'_>,
    master: Option<&MasterKey>,
    action: Option<&'static str>,
) -> Changer {
    let (changed_by, changed_by_api_key) = match caller {
        Caller::Master => (
            ADMIN_NAME.to_string(),
            master
                .map(|m| hex(&hash_key(m.as_bytes())))
                .unwrap_or_default(),
        ),
        Caller::Key(k) => (
            k.doc.user_id.clone().unwrap_or_else(|| ADMIN_NAME.into()),
            hex(&k.hash),
        ),
    };
    Changer {
        changed_by,
        changed_by_api_key,
        action,
    }
}

/// Run `f` with `who` as the author of its writes.
pub(super) async fn as_changer<F: std::future::Future>(who: Changer, f: F) -> F::Output {
    CHANGER.scope(who, f).await
}

/// The author of the current call's writes, when audit logs are on.
pub(super) fn current(gov: &Governance) -> Option<Changer> {
    if !gov.settings().audit_logs {
        return None;
    }
    CHANGER.try_with(Changer::clone).ok()
}

fn json_of(doc: Option<&str>) -> Value {
    doc.and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null)
}

/// An audit row as LiteLLM's `/audit` answers it.
fn render(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "updated_at": iso(e.updated_at.div_euclid(1000)),
        "changed_by": e.changed_by,
        "changed_by_api_key": e.changed_by_api_key,
        "action": e.action,
        "table_name": e.table_name,
        "object_id": e.object_id,
        "before_value": json_of(e.before_value.as_deref()),
        "updated_values": json_of(e.updated_values.as_deref()),
    })
}

fn date(q: &Query, name: &str) -> Result<Option<i64>, ApiError> {
    q.get(name)
        .map(|v| {
            parse_date(v).map(|s| s * 1000).ok_or_else(|| {
                bad(
                    name,
                    format!("{name} must be a date (YYYY-MM-DD[THH:MM:SS]), got \"{v}\""),
                )
            })
        })
        .transpose()
}

/// `GET /audit`: a page of the audit log, newest first, with LiteLLM's filters.
pub(super) async fn list(gov: &Governance, q: &Query) -> Reply {
    let page = q.number("page", 1)?;
    let page_size = q.number("page_size", DEFAULT_PAGE_SIZE)?;
    if page_size > MAX_PAGE_SIZE {
        return Err(bad(
            "page_size",
            format!("page_size must be at most {MAX_PAGE_SIZE}, got {page_size}"),
        ));
    }
    let ascending = match q.get("sort_order") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(o) => {
            return Err(bad(
                "sort_order",
                format!("sort_order must be \"asc\" or \"desc\", got \"{o}\""),
            ))
        }
    };
    let text = |name: &str| q.get(name).map(str::to_string);
    let query = AuditQuery {
        changed_by: text("changed_by"),
        changed_by_api_key: text("changed_by_api_key"),
        action: text("action"),
        table_name: text("table_name"),
        object_id: text("object_id"),
        start: date(q, "start_date")?,
        end: date(q, "end_date")?,
        ascending,
        offset: i64::try_from((page - 1).saturating_mul(page_size)).unwrap_or(i64::MAX),
        limit: page_size as i64,
    };
    let (rows, total) = store(gov, move |s| async move { s.audit_logs(&query).await }).await?;
    let total_pages = (total.max(0) as u64).div_ceil(page_size);
    reply(&json!({
        "audit_logs": rows.iter().map(render).collect::<Vec<_>>(),
        "total": total,
        "page": page,
        "page_size": page_size,
        "total_pages": total_pages,
    }))
}

/// `GET /audit/{id}`: one audit row; 404 when there is none.
pub(super) async fn get(gov: &Governance, id: &str) -> Reply {
    let key = id.to_string();
    match store(gov, move |s| async move { s.audit_log(&key).await }).await? {
        Some(e) => reply(&render(&e)),
        None => Err(not_found(format!("Audit log {id} not found"))),
    }
}
