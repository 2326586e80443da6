//! LiteLLM's management API (`/key/*`, `/team/*`, `/organization/*`, `/user/*`, ...):
//! routing, permissions and the store helpers every entity module shares.

mod audit;
mod budgets;
mod customers;
mod key_bounds;
mod key_fields;
mod keys;
mod models;
mod nulls;
mod org_members;
mod org_teams;
mod organizations;
mod route;
mod spend;
mod team_logging;
mod teams;
mod users;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

pub use self::route::{is_management, Route};
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::governance::counters::{BudgetLimit, ScopeLimits};
use crate::governance::period::{iso, Period};
use crate::governance::tables::KeyView;
use crate::governance::Governance;
use crate::store::{Entity, Kind, Store, StoreError};

/// Who is calling: the master key, or a virtual key (its permissions come from its role).
pub enum Caller<'a> {
    Master,
    Key(&'a KeyView),
}

/// What a caller may do on the route it asked for.
#[derive(Clone, Copy)]
pub(crate) enum Access<'a> {
    /// Everything (master key, `proxy_admin`, or a viewer on a read-only route).
    Admin,
    /// Only on its own user and keys (`internal_user`, or the route in `allowed_routes`).
    Own(&'a KeyView),
}

/// The status and JSON body a handler answers with.
pub type Reply = Result<(u16, Bytes), ApiError>;

/// Answer one management request.
pub async fn serve(
    gov: &Arc<Governance>,
    rt: &crate::config::Runtime,
    caller: Caller<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Reply {
    let route = Route::parse(method, path)?;
    let access = authorize(&caller, &route)?;
    let q = Query::parse(query);
    let who = audit::changer(&caller, rt.master_key.as_ref(), route.audit_action());
    let r = Request {
        method,
        q: &q,
        body: &body,
    };
    audit::as_changer(who, dispatch(gov.as_ref(), rt, &caller, access, route, r)).await
}

/// What the handlers read of the request.
struct Request<'a> {
    method: &'a str,
    q: &'a Query,
    body: &'a [u8],
}

/// The handler of `route`.
async fn dispatch(
    g: &Governance,
    rt: &crate::config::Runtime,
    caller: &Caller<'_>,
    access: Access<'_>,
    route: Route,
    r: Request<'_>,
) -> Reply {
    let (q, body) = (r.q, r.body);
    match route {
        Route::KeyGenerate => keys::generate(g, access, body).await,
        Route::KeyUpdate => keys::update(g, body).await,
        Route::KeyDelete => keys::delete(g, body).await,
        Route::KeyInfo => keys::info(g, access, q).await,
        Route::KeyList => keys::list(g, q).await,
        Route::KeyBlock(blocked) => keys::block(g, body, blocked).await,
        Route::KeyRegenerate(key) => keys::regenerate(g, key.as_deref(), body).await,
        Route::TeamNew => teams::new(g, caller, body).await,
        Route::TeamUpdate => teams::update(g, body).await,
        Route::TeamDelete => teams::delete(g, body).await,
        Route::TeamInfo => teams::info(g, access, q).await,
        Route::TeamList => teams::list(g, q).await,
        Route::TeamMemberAdd => teams::member_add(g, body).await,
        Route::TeamMemberUpdate => teams::member_update(g, body).await,
        Route::TeamMemberDelete => teams::member_delete(g, body).await,
        Route::TeamBlock(blocked) => teams::block(g, body, blocked).await,
        Route::TeamCallback(id) if r.method == "GET" => team_logging::get_callbacks(g, &id).await,
        Route::TeamCallback(id) => team_logging::add(g, &id, body).await,
        Route::TeamDisableLogging(id) => team_logging::disable(g, &id).await,
        Route::UserNew => users::new(g, body).await,
        Route::UserUpdate => users::update(g, body).await,
        Route::UserDelete => users::delete(g, body).await,
        Route::UserInfo => users::info(g, access, q).await,
        Route::UserList => users::list(g, q).await,
        Route::CustomerNew => customers::new(g, body).await,
        Route::CustomerUpdate => customers::update(g, body).await,
        Route::CustomerDelete => customers::delete(g, body).await,
        Route::CustomerInfo => customers::info(g, q).await,
        Route::CustomerList => customers::list(g).await,
        Route::CustomerBlock(blocked) => customers::block(g, body, blocked).await,
        Route::BudgetNew => budgets::new(g, body).await,
        Route::BudgetUpdate => budgets::update(g, body).await,
        Route::BudgetInfo => budgets::info(g, body).await,
        Route::BudgetList => budgets::list(g).await,
        Route::BudgetDelete => budgets::delete(g, body).await,
        Route::SpendLogs => spend::logs(g, q).await,
        Route::GlobalSpend => spend::global(g).await,
        Route::GlobalSpendBy(group) => spend::by(g, group, q).await,
        Route::ModelInfo => models::info(rt, access),
        Route::ModelGroupInfo => models::group_info(rt, access),
        Route::OrgNew => organizations::new(g, caller, body).await,
        Route::OrgUpdate => organizations::update(g, caller, body).await,
        Route::OrgDelete => organizations::delete(g, body).await,
        Route::OrgInfo(by_body) => {
            let body = by_body.then_some(body);
            organizations::info(g, access, q, body).await
        }
        Route::OrgList => organizations::list(g, access, q).await,
        Route::OrgMemberAdd => org_members::member_add(g, body).await,
        Route::OrgMemberUpdate => org_members::member_update(g, body).await,
        Route::OrgMemberDelete => org_members::member_delete(g, body).await,
        Route::AuditList => audit::list(g, q).await,
        Route::AuditGet(id) => audit::get(g, &id).await,
    }
}

/// The CVE class this guards: a virtual key must not reach admin routes, or grant itself
/// roles or routes, through the management API.
fn authorize<'a>(caller: &Caller<'a>, route: &Route) -> Result<Access<'a>, ApiError> {
    let key = match caller {
        Caller::Master => return Ok(Access::Admin),
        Caller::Key(k) => *k,
    };
    let role = key.user_role.as_deref().unwrap_or("");
    let denied = || {
        forbidden(format!(
            "{} may not call {}: it needs the master key or role proxy_admin",
            key.label(),
            route.name()
        ))
    };
    match role {
        "proxy_admin" => return Ok(Access::Admin),
        "proxy_admin_viewer" if route.read_only() => return Ok(Access::Admin),
        "proxy_admin_viewer" => return Err(denied()),
        _ => {}
    }
    if route.about_itself() {
        // Any key reads itself, its team, its user and the models it may call: the handler
        // answers only what concerns the key (LiteLLM's `info_routes`).
        return Ok(Access::Own(key));
    }
    if !route.self_service() {
        return Err(denied());
    }
    let listed = key.doc.allowed_routes.iter().any(|r| r == route.name());
    let allowed = match role {
        "internal_user" => true,
        "internal_user_viewer" => route.read_only(),
        _ => listed,
    };
    if allowed || listed {
        Ok(Access::Own(key))
    } else {
        Err(denied())
    }
}

/// A parsed query string (`a=1&b=x%20y`).
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    fn parse(q: Option<&str>) -> Query {
        let pairs = q
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query(pairs)
    }

    /// The first non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A positive number, else `default`; 400 naming the parameter when it is not one.
    pub(crate) fn number(&self, name: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad(
                    name,
                    format!("{name} must be a positive integer, got \"{v}\""),
                )),
            },
        }
    }
}

/// Percent-decoding (and `+` as space) for query values.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A field LiteLLM takes as one object or a list of them (`member_add`'s `member`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// Parse a JSON body (empty means `{}`); a bad field is a 400 naming it.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let msg = format!("invalid request body: {path}: {}", e.inner());
        if path == "." {
            ApiError::bad_request(msg)
        } else {
            bad(&path, msg)
        }
    })
}

pub(crate) fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message).with_param(param)
}

/// Every id must name an entity of `kind`, or nothing is changed: 404 naming the missing.
pub(crate) fn check_all(
    all: &[Entity],
    kind: Kind,
    ids: &[String],
    what: &str,
) -> Result<(), ApiError> {
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !all.iter().any(|e| e.kind == kind && &e.id == *id))
        .map(String::as_str)
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(not_found(format!(
            "{what} not found: {}",
            missing.join(", ")
        ))),
    }
}

pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(404, ErrorKind::NotFound, message)
}

pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(403, ErrorKind::PermissionDenied, message)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    log::warn!("management API: {e}");
    ApiError::new(
        500,
        ErrorKind::ApiError,
        format!("management store error: {e}"),
    )
}

/// A 200 with `v` as JSON.
pub(crate) fn reply(v: &impl Serialize) -> Reply {
    serde_json::to_vec(v)
        .map(|b| (200, Bytes::from(b)))
        .map_err(internal)
}

/// `doc` as a JSON object (to add computed fields to).
pub(crate) fn object(doc: &impl Serialize) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(doc).map_err(internal)? {
        Value::Object(m) => Ok(m),
        _ => Err(internal("document is not an object")),
    }
}

/// Run store work on the governance runtime; store failures are 500s.
pub(crate) async fn store<F, Fut, T>(gov: &Governance, f: F) -> Result<T, ApiError>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    let fut = f(gov.store().clone());
    gov.run(fut).await.map_err(internal)?.map_err(internal)
}

/// Rebuild the request path's cache after a write, so the next request sees it.
pub(crate) async fn reload(gov: &Governance) -> Result<(), ApiError> {
    gov.reload().await.map_err(internal)
}

/// Decode a stored document.
pub(crate) fn doc_of<T: DeserializeOwned>(e: &Entity) -> Result<T, ApiError> {
    serde_json::from_str(&e.doc)
        .map_err(|err| internal(format!("stored {} {}: {err}", e.kind, e.id)))
}

/// One entity and its document, if it exists.
pub(crate) async fn get<T: DeserializeOwned>(
    gov: &Governance,
    kind: Kind,
    id: &str,
) -> Result<Option<(Entity, T)>, ApiError> {
    let id = id.to_string();
    match store(gov, move |s| async move { s.get(kind, &id).await }).await? {
        Some(e) => {
            let d = doc_of(&e)?;
            Ok(Some((e, d)))
        }
        None => Ok(None),
    }
}

/// Every entity in the store (for lists and joins).
pub(crate) async fn load(gov: &Governance) -> Result<Vec<Entity>, ApiError> {
    store(gov, |s| async move { s.load_all().await }).await
}

/// The entities of one kind with their documents; unreadable ones are skipped.
pub(crate) fn of_kind<T: DeserializeOwned>(all: &[Entity], kind: Kind) -> Vec<(&Entity, T)> {
    all.iter()
        .filter(|e| e.kind == kind)
        .filter_map(|e| Some((e, serde_json::from_str(&e.doc).ok()?)))
        .collect()
}

/// Write (insert or replace) a document.
pub(crate) async fn put(
    gov: &Governance,
    kind: Kind,
    id: &str,
    doc: &impl Serialize,
) -> Result<(), ApiError> {
    let (id, doc) = (
        id.to_string(),
        serde_json::to_string(doc).map_err(internal)?,
    );
    let who = audit::current(gov);
    store(gov, move |s| async move {
        s.put_audited(kind, &id, &doc, who.as_ref()).await
    })
    .await
}

/// Insert a new document; `false` when the id is taken.
pub(crate) async fn insert(
    gov: &Governance,
    kind: Kind,
    id: &str,
    doc: &impl Serialize,
) -> Result<bool, ApiError> {
    let (id, doc) = (
        id.to_string(),
        serde_json::to_string(doc).map_err(internal)?,
    );
    let who = audit::current(gov);
    store(gov, move |s| async move {
        s.insert_audited(kind, &id, &doc, who.as_ref()).await
    })
    .await
}

pub(crate) async fn remove(gov: &Governance, kind: Kind, id: &str) -> Result<bool, ApiError> {
    let id = id.to_string();
    let who = audit::current(gov);
    store(gov, move |s| async move {
        s.delete_audited(kind, &id, who.as_ref()).await
    })
    .await
}

/// A `budget_duration`, checked; 400 naming `field` when it is not one.
pub(crate) fn period(field: &str, d: Option<&str>) -> Result<Option<Period>, ApiError> {
    d.map(|d| Period::parse(d).map_err(|e| bad(field, format!("{field}: {e}"))))
        .transpose()
}

/// Dollars from the API: finite and not negative.
pub(crate) fn money(field: &str, v: Option<f64>) -> Result<(), ApiError> {
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0) => Err(bad(
            field,
            format!("{field} must be a non-negative number of dollars, got {x}"),
        )),
        _ => Ok(()),
    }
}

/// Start the entity's budget period now (when it has one): its ledger then counts from here.
pub(crate) async fn start_period(
    gov: &Governance,
    kind: Kind,
    id: &str,
    duration: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    let Some(p) = duration.and_then(|d| Period::parse(d).ok()) else {
        return Ok(None);
    };
    let (_, end) = p.bounds(gov.now_secs(), gov.settings().tz_offset);
    let id = id.to_string();
    store(gov, move |s| async move {
        s.set_budget_reset(kind, &id, Some(end)).await
    })
    .await?;
    Ok(Some(end))
}

/// An entity's spend now in dollars: the live counters, seeded from the ledger (the ledger
/// alone when the counters cannot answer).
pub(crate) async fn live_spend(gov: &Governance, e: &Entity, duration: Option<&str>) -> f64 {
    let now = gov.now_secs();
    let (period, ledger) = match duration.and_then(|d| Period::parse(d).ok()) {
        Some(p) => {
            let (_, end) = p.bounds(now, gov.settings().tz_offset);
            let current = e.budget_reset_at.is_none_or(|r| r == end);
            (end, if current { e.spend_nano } else { 0 })
        }
        None => (0, e.spend_nano),
    };
    let limits = ScopeLimits {
        budget: Some(BudgetLimit {
            max_nano: i64::MAX,
            ledger_spent_nano: ledger,
            period,
        }),
        ..ScopeLimits::default()
    };
    let counter = format!("{}:{}", e.kind.as_str(), e.id);
    let spent = match gov.counters().usage(&counter, &limits).await {
        Ok(u) => u.spent_nano,
        Err(err) => {
            log::debug!("usage of {counter}: {err}");
            ledger
        }
    };
    crate::governance::entities::from_nano(spent)
}

/// `budget_reset_at` as the API prints it.
pub(crate) fn reset_iso(e: &Entity) -> Value {
    e.budget_reset_at
        .map_or(Value::Null, |t| Value::String(iso(t)))
}

/// Now on governance's clock, as documents record `created_at` / `updated_at`.
pub(crate) fn now_iso(gov: &Governance) -> String {
    iso(gov.now_secs())
}

#[cfg(test)]
mod tests;
