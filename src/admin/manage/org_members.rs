//! `/organization/member_add|member_update|member_delete`: who belongs to an organization,
//! with which role (`org_admin`, `internal_user`, `internal_user_viewer`) and, optionally,
//! a budget row of their own (`max_budget_in_organization`).

use serde::Deserialize;
use serde_json::{json, Value};

use super::users::ensure_user;
use super::{bad, get, insert, load, money, not_found, now_iso, object, of_kind, parse, put};
use super::{reload, remove, reply, ApiError, OneOrMany, Reply};
use crate::core::ids::new_uuid;
use crate::governance::entities::{BudgetDoc, OrgDoc, OrgMemberDoc, TeamDoc, UserDoc};
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// The roles a member may hold in an organization.
pub(crate) const ORG_ROLES: &[&str] = &["org_admin", "internal_user", "internal_user_viewer"];

/// The store id of `user_id`'s membership of `org_id`.
pub(crate) fn member_id(org_id: &str, user_id: &str) -> String {
    format!("{org_id}/{user_id}")
}

/// A membership as LiteLLM answers it: the row, the member's email, its budget row as
/// `litellm_budget_table`, and (`with_user`) the user itself.
pub(crate) fn membership_object(
    m: &OrgMemberDoc,
    user: Option<&UserDoc>,
    budget: Option<&BudgetDoc>,
    with_user: bool,
) -> Result<Value, ApiError> {
    let mut o = object(m)?;
    // Spend is kept per organization, not per member within it.
    o.insert("spend".into(), json!(0.0));
    o.insert(
        "user_email".into(),
        json!(user.and_then(|u| u.user_email.clone())),
    );
    let budget = match budget {
        Some(b) => Value::Object(object(b)?),
        None => Value::Null,
    };
    o.insert("litellm_budget_table".into(), budget);
    if with_user {
        let user = match user {
            Some(u) => Value::Object(object(u)?),
            None => Value::Null,
        };
        o.insert("user".into(), user);
    }
    Ok(Value::Object(o))
}

/// The members of organization `org_id` in `all`, as [`membership_object`]s.
pub(crate) fn members_of(
    all: &[Entity],
    org_id: &str,
    with_user: bool,
) -> Result<Vec<Value>, ApiError> {
    let users = of_kind::<UserDoc>(all, Kind::User);
    let budgets = of_kind::<BudgetDoc>(all, Kind::Budget);
    of_kind::<OrgMemberDoc>(all, Kind::OrgMember)
        .iter()
        .filter(|(_, m)| m.organization_id == org_id)
        .map(|(_, m)| {
            let user = users
                .iter()
                .find(|(_, u)| u.user_id == m.user_id)
                .map(|(_, u)| u);
            let budget = m
                .budget_id
                .as_deref()
                .and_then(|id| budgets.iter().find(|(_, b)| b.budget_id == id))
                .map(|(_, b)| b);
            membership_object(m, user, budget, with_user)
        })
        .collect()
}

#[derive(Deserialize)]
struct NewMember {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_email: Option<String>,
    role: String,
}

#[derive(Deserialize)]
struct MemberAdd {
    organization_id: String,
    member: OneOrMany<NewMember>,
    #[serde(default)]
    max_budget_in_organization: Option<f64>,
}

fn check_role(field: &str, role: &str) -> Result<(), ApiError> {
    match ORG_ROLES.contains(&role) {
        true => Ok(()),
        false => Err(bad(
            field,
            format!("Invalid role. Must be one of: {ORG_ROLES:?}"),
        )),
    }
}

fn check_who(field: &str, id: &Option<String>, email: &Option<String>) -> Result<(), ApiError> {
    match (id, email) {
        (None, None) => Err(bad(field, "Either user id or user email must be provided")),
        _ => Ok(()),
    }
}

/// A budget row of its own for a member: `max_budget` only.
async fn member_budget(gov: &Governance, max: f64) -> Result<BudgetDoc, ApiError> {
    let b = BudgetDoc {
        budget_id: new_uuid(),
        max_budget: Some(max),
        created_at: Some(now_iso(gov)),
        updated_at: Some(now_iso(gov)),
        ..BudgetDoc::default()
    };
    insert(gov, Kind::Budget, &b.budget_id, &b).await?;
    Ok(b)
}

/// `POST /organization/member_add`: each member (created as an internal user when unknown)
/// joins the organization; 404 for an unknown organization, 400 for an existing member.
pub(crate) async fn member_add(gov: &Governance, body: &[u8]) -> Reply {
    let a: MemberAdd = parse(body)?;
    money("max_budget_in_organization", a.max_budget_in_organization)?;
    let members = a.member.into_vec();
    for (i, m) in members.iter().enumerate() {
        check_who(&format!("member[{i}]"), &m.user_id, &m.user_email)?;
        check_role(&format!("member[{i}].role"), &m.role)?;
    }
    let org_id = a.organization_id;
    if get::<OrgDoc>(gov, Kind::Organization, &org_id)
        .await?
        .is_none()
    {
        return Err(not_found(format!(
            "Organization not found for organization_id={org_id}"
        )));
    }
    let (mut users, mut memberships) = (Vec::new(), Vec::new());
    for m in members {
        let user = ensure_user(gov, m.user_id.as_deref(), m.user_email.as_deref(), None).await?;
        let id = member_id(&org_id, &user.user_id);
        if get::<OrgMemberDoc>(gov, Kind::OrgMember, &id)
            .await?
            .is_some()
        {
            return Err(bad(
                "member",
                format!(
                    "User={} is already a member of organization={org_id}",
                    user.user_id
                ),
            ));
        }
        let budget = match a.max_budget_in_organization {
            Some(max) => Some(member_budget(gov, max).await?),
            None => None,
        };
        let doc = OrgMemberDoc {
            organization_id: org_id.clone(),
            user_id: user.user_id.clone(),
            user_role: m.role,
            budget_id: budget.as_ref().map(|b| b.budget_id.clone()),
            created_at: Some(now_iso(gov)),
            updated_at: Some(now_iso(gov)),
        };
        put(gov, Kind::OrgMember, &id, &doc).await?;
        memberships.push(membership_object(
            &doc,
            Some(&user),
            budget.as_ref(),
            false,
        )?);
        users.push(Value::Object(object(&user)?));
    }
    reload(gov).await?;
    reply(&json!({
        "organization_id": org_id,
        "updated_users": users,
        "updated_organization_memberships": memberships,
    }))
}

/// Every member of `team` who is not yet a member of organization `org_id` joins it as an
/// `internal_user` (a team an admin moves into an organization brings its members along).
pub(crate) async fn join_team_members(
    gov: &Governance,
    org_id: &str,
    team: &TeamDoc,
) -> Result<(), ApiError> {
    for uid in team
        .members_with_roles
        .iter()
        .filter_map(|m| m.user_id.as_deref())
    {
        let id = member_id(org_id, uid);
        if get::<OrgMemberDoc>(gov, Kind::OrgMember, &id)
            .await?
            .is_some()
        {
            continue;
        }
        let doc = OrgMemberDoc {
            organization_id: org_id.to_string(),
            user_id: uid.to_string(),
            user_role: "internal_user".into(),
            budget_id: None,
            created_at: Some(now_iso(gov)),
            updated_at: Some(now_iso(gov)),
        };
        put(gov, Kind::OrgMember, &id, &doc).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct MemberChange {
    organization_id: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_email: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    max_budget_in_organization: Option<f64>,
}

/// The user a change names: by id, else the one user with that email (400 when none or
/// several have it).
async fn user_of(gov: &Governance, c: &MemberChange) -> Result<String, ApiError> {
    check_who("user_id", &c.user_id, &c.user_email)?;
    if let Some(id) = &c.user_id {
        return Ok(id.clone());
    }
    let email = c.user_email.as_deref().unwrap_or_default();
    let all = load(gov).await?;
    let found: Vec<UserDoc> = of_kind::<UserDoc>(&all, Kind::User)
        .into_iter()
        .map(|(_, u)| u)
        .filter(|u| u.user_email.as_deref() == Some(email))
        .collect();
    match found.as_slice() {
        [u] => Ok(u.user_id.clone()),
        _ => Err(bad(
            "user_email",
            format!(
                "Unique user not found for user_email={email}: no user or several have it; use user_id instead."
            ),
        )),
    }
}

/// The membership a change names, with its store id; 404 when the user is no member.
async fn membership(
    gov: &Governance,
    c: &MemberChange,
) -> Result<(String, OrgMemberDoc), ApiError> {
    let uid = user_of(gov, c).await?;
    let id = member_id(&c.organization_id, &uid);
    match get::<OrgMemberDoc>(gov, Kind::OrgMember, &id).await? {
        Some((_, m)) => Ok((id, m)),
        None => Err(not_found(format!(
            "Member not found in organization for user_id={uid}"
        ))),
    }
}

/// `PATCH /organization/member_update`: a member's role and `max_budget_in_organization`
/// (400 for an unknown organization, as LiteLLM answers).
pub(crate) async fn member_update(gov: &Governance, body: &[u8]) -> Reply {
    let c: MemberChange = parse(body)?;
    money("max_budget_in_organization", c.max_budget_in_organization)?;
    if let Some(role) = &c.role {
        check_role("role", role)?;
    }
    if get::<OrgDoc>(gov, Kind::Organization, &c.organization_id)
        .await?
        .is_none()
    {
        return Err(bad(
            "organization_id",
            format!(
                "Organization not found for organization_id={}",
                c.organization_id
            ),
        ));
    }
    let (id, mut m) = membership(gov, &c).await?;
    if let Some(role) = c.role {
        m.user_role = role;
    }
    let mut budget = match m.budget_id.as_deref() {
        Some(b) => get::<BudgetDoc>(gov, Kind::Budget, b)
            .await?
            .map(|(_, b)| b),
        None => None,
    };
    if let Some(max) = c.max_budget_in_organization {
        match budget.as_mut() {
            Some(b) => {
                b.max_budget = Some(max);
                b.updated_at = Some(now_iso(gov));
                put(gov, Kind::Budget, &b.budget_id, &*b).await?;
            }
            None => {
                let b = member_budget(gov, max).await?;
                m.budget_id = Some(b.budget_id.clone());
                budget = Some(b);
            }
        }
    }
    m.updated_at = Some(now_iso(gov));
    put(gov, Kind::OrgMember, &id, &m).await?;
    reload(gov).await?;
    let user = get::<UserDoc>(gov, Kind::User, &m.user_id)
        .await?
        .map(|(_, u)| u);
    reply(&membership_object(
        &m,
        user.as_ref(),
        budget.as_ref(),
        false,
    )?)
}

/// `DELETE /organization/member_delete`: the membership (and its budget row); the deleted
/// membership is the answer.
pub(crate) async fn member_delete(gov: &Governance, body: &[u8]) -> Reply {
    let c: MemberChange = parse(body)?;
    let (id, m) = membership(gov, &c).await?;
    remove(gov, Kind::OrgMember, &id).await?;
    if let Some(b) = &m.budget_id {
        remove(gov, Kind::Budget, b).await?;
    }
    reload(gov).await?;
    let user = get::<UserDoc>(gov, Kind::User, &m.user_id)
        .await?
        .map(|(_, u)| u);
    reply(&membership_object(&m, user.as_ref(), None, false)?)
}
