//! `/customer/*` and `/end_user/*`: end users of the calling application, with an own
//! budget or a shared one (`budget_id`), and blocking.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{bad, get, live_spend, load, money, not_found, now_iso, of_kind, parse, period};
use super::{check_all, put, reload, remove, reply, start_period, ApiError, Query, Reply};
use crate::governance::entities::{BudgetDoc, CustomerDoc};
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// `/customer/new` and `/customer/update` fields; `None` leaves a field as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CustomerFields {
    user_id: Option<String>,
    alias: Option<String>,
    blocked: Option<bool>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    budget_id: Option<String>,
    tpm_limit: Option<u64>,
    rpm_limit: Option<u64>,
    allowed_model_region: Option<String>,
    default_model: Option<String>,
    metadata: Option<Map<String, Value>>,
}

impl CustomerFields {
    fn validate(&self) -> Result<(), ApiError> {
        money("max_budget", self.max_budget)?;
        period("budget_duration", self.budget_duration.as_deref())?;
        if let Some(r) = &self.allowed_model_region {
            if !matches!(r.as_str(), "eu" | "us") {
                return Err(bad(
                    "allowed_model_region",
                    "allowed_model_region must be \"eu\" or \"us\"",
                ));
            }
        }
        Ok(())
    }

    fn apply(self, c: &mut CustomerDoc) {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        set(&mut c.alias, self.alias.map(Some));
        set(&mut c.blocked, self.blocked);
        set(&mut c.max_budget, self.max_budget.map(Some));
        set(&mut c.budget_duration, self.budget_duration.map(Some));
        set(&mut c.budget_id, self.budget_id.map(Some));
        set(&mut c.tpm_limit, self.tpm_limit.map(Some));
        set(&mut c.rpm_limit, self.rpm_limit.map(Some));
        set(
            &mut c.allowed_model_region,
            self.allowed_model_region.map(Some),
        );
        set(&mut c.default_model, self.default_model.map(Some));
        set(&mut c.metadata, self.metadata);
    }
}

/// The customer's budget period: its own, else its shared budget's.
fn duration<'a>(c: &'a CustomerDoc, b: Option<&'a BudgetDoc>) -> Option<&'a str> {
    c.budget_duration
        .as_deref()
        .or(b.and_then(|b| b.budget_duration.as_deref()))
}

/// A customer as LiteLLM shows one: spend, and its limits as `litellm_budget_table`.
async fn customer_object(
    gov: &Governance,
    e: &Entity,
    c: &CustomerDoc,
    b: Option<&BudgetDoc>,
) -> Value {
    let max = c.max_budget.or(b.and_then(|b| b.max_budget));
    let tpm = c.tpm_limit.or(b.and_then(|b| b.tpm_limit));
    let rpm = c.rpm_limit.or(b.and_then(|b| b.rpm_limit));
    let d = duration(c, b);
    let table = match (max, tpm, rpm, d) {
        (None, None, None, None) => Value::Null,
        _ => json!({
            "budget_id": c.budget_id,
            "max_budget": max,
            "budget_duration": d,
            "tpm_limit": tpm,
            "rpm_limit": rpm,
        }),
    };
    json!({
        "user_id": c.user_id,
        "alias": c.alias,
        "spend": live_spend(gov, e, d).await,
        "blocked": c.blocked,
        "allowed_model_region": c.allowed_model_region,
        "default_model": c.default_model,
        "budget_id": c.budget_id,
        "metadata": c.metadata,
        "budget_reset_at": super::reset_iso(e),
        "litellm_budget_table": table,
    })
}

async fn budget_of(gov: &Governance, id: Option<&str>) -> Result<Option<BudgetDoc>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    match get::<BudgetDoc>(gov, Kind::Budget, id).await? {
        Some((_, b)) => Ok(Some(b)),
        None => Err(bad("budget_id", format!("budget_id={id} does not exist"))),
    }
}

async fn existing(gov: &Governance, id: Option<&str>) -> Result<(Entity, CustomerDoc), ApiError> {
    let id = id.ok_or_else(|| bad("user_id", "user_id is required"))?;
    get(gov, Kind::Customer, id)
        .await?
        .ok_or_else(|| not_found(format!("End User not found: user_id={id}")))
}

/// Write, restart the budget period, reload and answer with the customer.
async fn save(gov: &Governance, c: &CustomerDoc, new_period: bool) -> Reply {
    put(gov, Kind::Customer, &c.user_id, c).await?;
    let b = budget_of(gov, c.budget_id.as_deref()).await?;
    if new_period {
        start_period(gov, Kind::Customer, &c.user_id, duration(c, b.as_ref())).await?;
    }
    reload(gov).await?;
    let (e, c) = existing(gov, Some(&c.user_id)).await?;
    reply(&customer_object(gov, &e, &c, b.as_ref()).await)
}

/// `POST /customer/new`.
pub(crate) async fn new(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: CustomerFields = parse(body)?;
    f.validate()?;
    let id = f
        .user_id
        .take()
        .ok_or_else(|| bad("user_id", "user_id is required"))?;
    budget_of(gov, f.budget_id.as_deref()).await?;
    let mut c = CustomerDoc {
        user_id: id.clone(),
        created_at: Some(now_iso(gov)),
        ..CustomerDoc::default()
    };
    f.apply(&mut c);
    if !super::insert(gov, Kind::Customer, &id, &c).await? {
        return Err(bad(
            "user_id",
            format!("End User id = {id} already exists."),
        ));
    }
    save(gov, &c, true).await
}

/// `POST /customer/update`.
pub(crate) async fn update(gov: &Governance, body: &[u8]) -> Reply {
    let f: CustomerFields = parse(body)?;
    f.validate()?;
    let (_, mut c) = existing(gov, f.user_id.as_deref()).await?;
    budget_of(gov, f.budget_id.as_deref()).await?;
    let new_period = f.budget_duration.is_some() || f.budget_id.is_some();
    f.apply(&mut c);
    save(gov, &c, new_period).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserIds {
    user_ids: Vec<String>,
}

fn ids(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let d: UserIds = parse(body)?;
    if d.user_ids.is_empty() {
        return Err(bad("user_ids", "user_ids is required"));
    }
    Ok(d.user_ids)
}

/// `POST /customer/delete`.
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let ids = ids(body)?;
    check_all(&load(gov).await?, Kind::Customer, &ids, "End Users")?;
    for id in &ids {
        remove(gov, Kind::Customer, id).await?;
    }
    reload(gov).await?;
    reply(&json!({ "deleted_customers": ids }))
}

/// `POST /customer/block` and `/customer/unblock`.
pub(crate) async fn block(gov: &Governance, body: &[u8], blocked: bool) -> Reply {
    let ids = ids(body)?;
    let all = load(gov).await?;
    check_all(&all, Kind::Customer, &ids, "End Users")?;
    for (_, mut c) in of_kind::<CustomerDoc>(&all, Kind::Customer) {
        if ids.contains(&c.user_id) {
            c.blocked = blocked;
            put(gov, Kind::Customer, &c.user_id, &c).await?;
        }
    }
    reload(gov).await?;
    reply(
        &json!({ "blocked_users": if blocked { ids.clone() } else { Vec::new() }, "user_ids": ids }),
    )
}

/// `GET /customer/info?end_user_id=`.
pub(crate) async fn info(gov: &Governance, q: &Query) -> Reply {
    let id = q.get("end_user_id").or(q.get("user_id"));
    let id = id.ok_or_else(|| bad("end_user_id", "end_user_id is required"))?;
    let (e, c) = existing(gov, Some(id)).await?;
    let b = match c.budget_id.as_deref() {
        Some(b) => get::<BudgetDoc>(gov, Kind::Budget, b)
            .await?
            .map(|(_, b)| b),
        None => None,
    };
    reply(&customer_object(gov, &e, &c, b.as_ref()).await)
}

/// `GET /customer/list`.
pub(crate) async fn list(gov: &Governance) -> Reply {
    let all = load(gov).await?;
    let budgets = of_kind::<BudgetDoc>(&all, Kind::Budget);
    let mut out = Vec::new();
    for (e, c) in of_kind::<CustomerDoc>(&all, Kind::Customer) {
        let b = budgets
            .iter()
            .find(|(_, b)| c.budget_id.as_deref() == Some(b.budget_id.as_str()))
            .map(|(_, b)| b);
        out.push(customer_object(gov, e, &c, b).await);
    }
    reply(&out)
}
