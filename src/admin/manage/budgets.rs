//! `/budget/*`: reusable budgets that keys, customers and organizations point at by
//! `budget_id`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{bad, get, load, money, not_found, now_iso, of_kind, parse, period, put, reload};
use super::{remove, reply, ApiError, Reply};
use crate::core::ids::new_uuid;
use crate::governance::entities::{BudgetDoc, CustomerDoc, KeyDoc, OrgDoc, OrgMemberDoc};
use crate::governance::Governance;
use crate::store::Kind;

/// `/budget/new` and `/budget/update` fields (and an organization's limits); `None` leaves a
/// field as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BudgetFields {
    pub budget_id: Option<String>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub max_parallel_requests: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub budget_duration: Option<String>,
    pub model_max_budget: Option<Map<String, Value>>,
}

impl BudgetFields {
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        money("max_budget", self.max_budget)?;
        money("soft_budget", self.soft_budget)?;
        period("budget_duration", self.budget_duration.as_deref())?;
        Ok(())
    }

    /// Set the fields given, and `updated_at` to `now`.
    pub(crate) fn apply(self, b: &mut BudgetDoc, now: String) {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        set(&mut b.max_budget, self.max_budget.map(Some));
        set(&mut b.soft_budget, self.soft_budget.map(Some));
        set(
            &mut b.max_parallel_requests,
            self.max_parallel_requests.map(Some),
        );
        set(&mut b.tpm_limit, self.tpm_limit.map(Some));
        set(&mut b.rpm_limit, self.rpm_limit.map(Some));
        set(&mut b.budget_duration, self.budget_duration.map(Some));
        set(&mut b.model_max_budget, self.model_max_budget);
        b.updated_at = Some(now);
    }
}

/// `POST /budget/new`.
pub(crate) async fn new(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: BudgetFields = parse(body)?;
    f.validate()?;
    let id = f.budget_id.take().unwrap_or_else(new_uuid);
    let mut b = BudgetDoc {
        budget_id: id.clone(),
        created_at: Some(now_iso(gov)),
        ..BudgetDoc::default()
    };
    f.apply(&mut b, now_iso(gov));
    if !super::insert(gov, Kind::Budget, &id, &b).await? {
        return Err(bad(
            "budget_id",
            format!("Budget id = {id} already exists."),
        ));
    }
    reload(gov).await?;
    reply(&b)
}

/// `POST /budget/update`.
pub(crate) async fn update(gov: &Governance, body: &[u8]) -> Reply {
    let f: BudgetFields = parse(body)?;
    f.validate()?;
    let id = f
        .budget_id
        .clone()
        .ok_or_else(|| bad("budget_id", "budget_id is required"))?;
    let (_, mut b) = get::<BudgetDoc>(gov, Kind::Budget, &id)
        .await?
        .ok_or_else(|| not_found(format!("Budget not found: budget_id={id}")))?;
    f.apply(&mut b, now_iso(gov));
    put(gov, Kind::Budget, &id, &b).await?;
    reload(gov).await?;
    reply(&b)
}

#[derive(Deserialize)]
struct BudgetIds {
    budgets: Vec<String>,
}

/// `POST /budget/info {"budgets": [ids]}`.
pub(crate) async fn info(gov: &Governance, body: &[u8]) -> Reply {
    let q: BudgetIds = parse(body)?;
    let all = load(gov).await?;
    let found: Vec<BudgetDoc> = of_kind::<BudgetDoc>(&all, Kind::Budget)
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| q.budgets.contains(&b.budget_id))
        .collect();
    if let Some(m) = q
        .budgets
        .iter()
        .find(|id| !found.iter().any(|b| &&b.budget_id == id))
    {
        return Err(not_found(format!("Budget not found: budget_id={m}")));
    }
    reply(&found)
}

/// `GET /budget/list`.
pub(crate) async fn list(gov: &Governance) -> Reply {
    let all = load(gov).await?;
    let out: Vec<BudgetDoc> = of_kind(&all, Kind::Budget)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    reply(&out)
}

#[derive(Deserialize)]
struct BudgetId {
    id: String,
}

/// `POST /budget/delete {"id"}`: refused while a key, customer, organization or
/// organization member still points at it.
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let d: BudgetId = parse(body)?;
    let all = load(gov).await?;
    let id = Some(d.id.as_str());
    let keys = of_kind::<KeyDoc>(&all, Kind::Key);
    let customers = of_kind::<CustomerDoc>(&all, Kind::Customer);
    let orgs = of_kind::<OrgDoc>(&all, Kind::Organization);
    let members = of_kind::<OrgMemberDoc>(&all, Kind::OrgMember);
    let used = keys.iter().any(|(_, k)| k.budget_id.as_deref() == id)
        || customers.iter().any(|(_, c)| c.budget_id.as_deref() == id)
        || orgs.iter().any(|(_, o)| Some(o.budget_id.as_str()) == id)
        || members.iter().any(|(_, m)| m.budget_id.as_deref() == id);
    if used {
        return Err(bad(
            "id",
            format!(
                "Budget {} is still used by a key, customer or organization",
                d.id
            ),
        ));
    }
    if !remove(gov, Kind::Budget, &d.id).await? {
        return Err(not_found(format!("Budget not found: budget_id={}", d.id)));
    }
    reload(gov).await?;
    reply(&json!({ "deleted": d.id }))
}
