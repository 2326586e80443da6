//! `/organization/*`: organizations own teams; their limits live in a linked budget row
//! (`litellm_budget_table`), their spend is their teams' spend, and their models bound what
//! their teams' keys may call. Shapes and statuses as LiteLLM 1.109.1 answers them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::budgets::BudgetFields;
use super::nulls::Cleared;
use super::org_members::members_of;
use super::teams::{remove_team, team_object};
use super::{bad, forbidden, insert, live_spend, load, not_found, now_iso, object, of_kind};
use super::{parse, put, reload, remove, reply, reset_iso, start_period, Access, Caller};
use super::{ApiError, Query, Reply};
use crate::core::ids::new_uuid;
use crate::governance::entities::{BudgetDoc, OrgDoc, OrgMemberDoc, TeamDoc};
use crate::governance::tables::KeyView;
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// Who LiteLLM records as `created_by` for the master key.
const ADMIN_NAME: &str = "default_user_id";

/// The organization fields of `/organization/new` and `/organization/update` (the budget
/// fields are read as [`BudgetFields`]); `None` leaves a field as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OrgFields {
    organization_id: Option<String>,
    organization_alias: Option<String>,
    models: Option<Vec<String>>,
    metadata: Option<Map<String, Value>>,
    /// Kept in `metadata`, as LiteLLM keeps them.
    model_rpm_limit: Option<BTreeMap<String, u64>>,
    model_tpm_limit: Option<BTreeMap<String, u64>>,
}

impl OrgFields {
    /// Merge the given fields into `o` (metadata key by key, as LiteLLM merges it).
    fn apply(self, o: &mut OrgDoc) {
        if let Some(a) = self.organization_alias {
            o.organization_alias = Some(a);
        }
        if let Some(m) = self.models {
            o.models = m;
        }
        o.metadata.extend(self.metadata.unwrap_or_default());
        for (name, limits) in [
            ("model_rpm_limit", self.model_rpm_limit),
            ("model_tpm_limit", self.model_tpm_limit),
        ] {
            if let Some(l) = limits {
                o.metadata.insert(name.into(), json!(l));
            }
        }
    }
}

/// Whose action it is, for `created_by` / `updated_by`.
fn actor(caller: &Caller<'_>) -> String {
    match caller {
        Caller::Key(k) => k.doc.user_id.clone(),
        Caller::Master => None,
    }
    .unwrap_or_else(|| ADMIN_NAME.into())
}

/// An organization as LiteLLM answers it: the row, its spend, its budget row as
/// `litellm_budget_table`, and with `full` its `members` (each with its user) and `teams`.
async fn org_object(
    gov: &Governance,
    all: &[Entity],
    e: &Entity,
    o: &OrgDoc,
    full: bool,
) -> Result<Value, ApiError> {
    let budget = of_kind::<BudgetDoc>(all, Kind::Budget)
        .into_iter()
        .map(|(_, b)| b)
        .find(|b| b.budget_id == o.budget_id);
    let duration = budget.as_ref().and_then(|b| b.budget_duration.as_deref());
    let mut out = object(o)?;
    out.insert("spend".into(), json!(live_spend(gov, e, duration).await));
    out.insert("model_spend".into(), json!({}));
    out.insert("object_permission_id".into(), Value::Null);
    out.insert("object_permission".into(), Value::Null);
    out.insert("users".into(), Value::Null);
    let table = match &budget {
        Some(b) => {
            let mut t = object(b)?;
            t.insert("budget_reset_at".into(), reset_iso(e));
            Value::Object(t)
        }
        None => Value::Null,
    };
    out.insert("litellm_budget_table".into(), table);
    if full {
        out.insert(
            "members".into(),
            Value::Array(members_of(all, &o.organization_id, true)?),
        );
        let mut teams = Vec::new();
        for (te, t) in of_kind::<TeamDoc>(all, Kind::Team) {
            if t.organization_id.as_deref() == Some(o.organization_id.as_str()) {
                teams.push(team_object(gov, te, &t).await?);
            }
        }
        out.insert("teams".into(), Value::Array(teams));
    }
    Ok(Value::Object(out))
}

/// Organization `id` in `all`.
fn find<'a>(all: &'a [Entity], id: &str) -> Option<(&'a Entity, OrgDoc)> {
    of_kind::<OrgDoc>(all, Kind::Organization)
        .into_iter()
        .find(|(e, _)| e.id == id)
}

/// `POST /organization/new`: the organization and, unless it names an existing `budget_id`,
/// a budget row made of the request's limits.
pub(crate) async fn new(gov: &Governance, caller: &Caller<'_>, body: &[u8]) -> Reply {
    let mut f: OrgFields = parse(body)?;
    let limits: BudgetFields = parse(body)?;
    limits.validate()?;
    if f.organization_alias.is_none() {
        return Err(bad("organization_alias", "organization_alias is required"));
    }
    check_caller_models(caller, f.models.as_deref().unwrap_or_default())?;
    let id = f.organization_id.take().unwrap_or_else(new_uuid);
    let all = load(gov).await?;
    if find(&all, &id).is_some() {
        return Err(bad(
            "organization_id",
            format!(
                "Organization id = {id} already exists. Please use a different organization id."
            ),
        ));
    }
    let now = now_iso(gov);
    let budget = match limits.budget_id.clone() {
        Some(b) => of_kind::<BudgetDoc>(&all, Kind::Budget)
            .into_iter()
            .map(|(_, doc)| doc)
            .find(|doc| doc.budget_id == b)
            .ok_or_else(|| bad("budget_id", format!("budget_id={b} does not exist")))?,
        None => {
            let mut b = BudgetDoc {
                budget_id: new_uuid(),
                created_at: Some(now.clone()),
                ..BudgetDoc::default()
            };
            limits.apply(&mut b, now_iso(gov));
            insert(gov, Kind::Budget, &b.budget_id, &b).await?;
            b
        }
    };
    let (budget_id, duration) = (budget.budget_id, budget.budget_duration);
    let who = actor(caller);
    let mut o = OrgDoc {
        organization_id: id.clone(),
        budget_id,
        created_by: Some(who.clone()),
        updated_by: Some(who),
        created_at: Some(now.clone()),
        updated_at: Some(now),
        ..OrgDoc::default()
    };
    f.apply(&mut o);
    if !insert(gov, Kind::Organization, &id, &o).await? {
        return Err(bad(
            "organization_id",
            format!("Organization id = {id} already exists."),
        ));
    }
    start_period(gov, Kind::Organization, &id, duration.as_deref()).await?;
    reload(gov).await?;
    let all = load(gov).await?;
    let (e, o) = find(&all, &id).ok_or_else(|| not_found("Organization not found"))?;
    reply(&org_object(gov, &all, e, &o, false).await?)
}

/// A caller whose key lists models may give an organization only models it may call, and
/// not every model (LiteLLM's check in `new_organization`).
fn check_caller_models(caller: &Caller<'_>, models: &[String]) -> Result<(), ApiError> {
    let Caller::Key(k) = caller else {
        return Ok(());
    };
    if k.models.is_none() {
        return Ok(());
    }
    if models.is_empty() {
        return Err(bad(
            "models",
            "User not allowed to give access to all models. Select models you want org to have access to.",
        ));
    }
    match models.iter().find(|m| !k.allows(m, m)) {
        Some(m) => {
            Err(forbidden(format!("{} may not call model {m}", k.label())).with_param("models"))
        }
        None => Ok(()),
    }
}

/// The update body with LiteLLM's UI form (`litellm_budget_table: {...}`) flattened into
/// top-level budget fields.
fn flatten_budget(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut m: Map<String, Value> = parse(body)?;
    if let Some(Value::Object(nested)) = m.remove("litellm_budget_table") {
        for (k, v) in nested {
            if k != "budget_id" {
                m.insert(k, v);
            }
        }
    }
    serde_json::to_vec(&m).map_err(|e| bad("litellm_budget_table", e.to_string()))
}

/// `PATCH /organization/update`: the organization's fields and its budget row's limits
/// (`null` clears a limit, and `budget_duration`); the organization with members and teams.
pub(crate) async fn update(gov: &Governance, caller: &Caller<'_>, body: &[u8]) -> Reply {
    let body = flatten_budget(body)?;
    let f: OrgFields = parse(&body)?;
    let limits: BudgetFields = parse(&body)?;
    limits.validate()?;
    let cleared = Cleared::of(&body, "organization_alias")?;
    let raw: Map<String, Value> = parse(&body)?;
    let touched = |k: &str| raw.contains_key(k);
    let id = f
        .organization_id
        .clone()
        .ok_or_else(|| bad("organization_id", "organization_id is required"))?;
    let all = load(gov).await?;
    let (_, mut o) = find(&all, &id)
        .ok_or_else(|| not_found(format!("Organization not found for organization_id={id}")))?;
    f.apply(&mut o);
    let budget_fields = [
        "max_budget",
        "soft_budget",
        "max_parallel_requests",
        "tpm_limit",
        "rpm_limit",
        "budget_duration",
        "model_max_budget",
    ];
    if budget_fields.iter().any(|k| touched(k)) {
        let found = of_kind::<BudgetDoc>(&all, Kind::Budget)
            .into_iter()
            .map(|(_, b)| b)
            .find(|b| b.budget_id == o.budget_id);
        let mut b = found.unwrap_or_else(|| BudgetDoc {
            budget_id: o.budget_id.clone(),
            created_at: Some(now_iso(gov)),
            ..BudgetDoc::default()
        });
        let new_period = limits.budget_duration.clone();
        limits.apply(&mut b, now_iso(gov));
        b.budget_id.clone_from(&o.budget_id);
        cleared.apply_budget(&mut b);
        if raw.get("budget_duration").is_some_and(Value::is_null) {
            b.budget_duration = None;
        }
        put(gov, Kind::Budget, &o.budget_id, &b).await?;
        if new_period.is_some() {
            start_period(gov, Kind::Organization, &id, new_period.as_deref()).await?;
        }
    }
    o.updated_by = Some(actor(caller));
    o.updated_at = Some(now_iso(gov));
    put(gov, Kind::Organization, &id, &o).await?;
    reload(gov).await?;
    let all = load(gov).await?;
    let (e, o) = find(&all, &id).ok_or_else(|| not_found("Organization not found"))?;
    reply(&org_object(gov, &all, e, &o, true).await?)
}

#[derive(Deserialize)]
struct OrgIds {
    organization_ids: Vec<String>,
}

/// `DELETE /organization/delete`: the organizations, their memberships, and their teams
/// with the teams' keys; the deleted organizations are the answer. Nothing is deleted when
/// one of them does not exist (404).
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let d: OrgIds = parse(body)?;
    let all = load(gov).await?;
    if let Some(missing) = d
        .organization_ids
        .iter()
        .find(|id| find(&all, id).is_none())
    {
        return Err(not_found(format!("Organization={missing} not found")));
    }
    let mut out = Vec::new();
    for id in &d.organization_ids {
        let Some((e, o)) = find(&all, id) else {
            continue;
        };
        out.push(org_object(gov, &all, e, &o, true).await?);
        for (_, t) in of_kind::<TeamDoc>(&all, Kind::Team) {
            if t.organization_id.as_deref() == Some(id.as_str()) {
                remove_team(gov, &all, &t.team_id).await?;
            }
        }
        for (me, _) in of_kind::<OrgMemberDoc>(&all, Kind::OrgMember)
            .iter()
            .filter(|(_, m)| &m.organization_id == id)
        {
            remove(gov, Kind::OrgMember, &me.id).await?;
        }
        remove(gov, Kind::Organization, id).await?;
    }
    reload(gov).await?;
    reply(&out)
}

/// The role of the key's user in organization `org_id` (in `all`), if it is a member.
fn role_in(all: &[Entity], own: &KeyView, org_id: &str) -> Option<String> {
    let uid = own.doc.user_id.as_deref()?;
    of_kind::<OrgMemberDoc>(all, Kind::OrgMember)
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.organization_id == org_id && m.user_id == uid)
        .map(|m| m.user_role)
}

/// A non-admin key reads an organization only as its `org_admin` (LiteLLM's
/// `verify_org_access`); it learns nothing of others, not even whether they exist.
fn check_read(all: &[Entity], access: Access<'_>, org_id: &str) -> Result<(), ApiError> {
    match access {
        Access::Admin => Ok(()),
        Access::Own(own) if role_in(all, own, org_id).as_deref() == Some("org_admin") => Ok(()),
        Access::Own(_) => Err(forbidden("You do not have access to this organization")),
    }
}

#[derive(Deserialize)]
struct InfoMany {
    organizations: Vec<String>,
}

/// `GET /organization/info?organization_id=` (with members and teams), or LiteLLM's older
/// `POST /organization/info {"organizations": [...]}` (a list, each with its budget row).
pub(crate) async fn info(
    gov: &Governance,
    access: Access<'_>,
    q: &Query,
    body: Option<&[u8]>,
) -> Reply {
    let all = load(gov).await?;
    if let Some(body) = body {
        let m: InfoMany = parse(body)?;
        if m.organizations.is_empty() {
            return Err(bad(
                "organizations",
                "Specify list of organization id's to query. Passed in=[]",
            ));
        }
        let mut out = Vec::new();
        for id in &m.organizations {
            check_read(&all, access, id)?;
            if let Some((e, o)) = find(&all, id) {
                out.push(org_object(gov, &all, e, &o, false).await?);
            }
        }
        return reply(&out);
    }
    let id = q
        .get("organization_id")
        .ok_or_else(|| bad("organization_id", "organization_id is required"))?;
    check_read(&all, access, id)?;
    let (e, o) = find(&all, id).ok_or_else(|| not_found("Organization not found"))?;
    reply(&org_object(gov, &all, e, &o, true).await?)
}

/// `GET /organization/list[?org_id=&org_alias=]`: every organization for an admin, those
/// its user is a member of for any other key; `org_alias` matches part of the alias,
/// ignoring case.
pub(crate) async fn list(gov: &Governance, access: Access<'_>, q: &Query) -> Reply {
    let all = load(gov).await?;
    let alias = q.get("org_alias").map(str::to_lowercase);
    let mut out = Vec::new();
    for (e, o) in of_kind::<OrgDoc>(&all, Kind::Organization) {
        let id_ok = q.get("org_id").is_none_or(|id| id == o.organization_id);
        let alias_ok = alias.as_deref().is_none_or(|a| {
            o.organization_alias
                .as_deref()
                .is_some_and(|x| x.to_lowercase().contains(a))
        });
        let visible = match access {
            Access::Admin => true,
            Access::Own(own) => role_in(&all, own, &o.organization_id).is_some(),
        };
        if id_ok && alias_ok && visible {
            out.push(org_object(gov, &all, e, &o, true).await?);
        }
    }
    reply(&out)
}
