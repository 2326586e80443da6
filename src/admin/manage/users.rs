//! `/user/*`: internal users (people or services owning keys), with their role, teams and
//! budget; `/user/new` also makes the user a key, as LiteLLM does.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::key_fields::KeyFields;
use super::keys::{create, key_object};
use super::{bad, forbidden, get, live_spend, load, money, not_found, now_iso, object, of_kind};
use super::{check_all, Reply};
use super::{parse, period, put, reload, remove, reply, start_period, Access, ApiError, Query};
use crate::core::ids::new_uuid;
use crate::governance::entities::{KeyDoc, Member, MemberDoc, OrgMemberDoc, TeamDoc, UserDoc};
use crate::governance::minting::UserDefaults;
use crate::governance::Governance;
use crate::store::{Entity, Kind};

use crate::governance::minting::ROLES;

/// `/user/new` and `/user/update` fields; `None` leaves a field as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserFields {
    user_id: Option<String>,
    user_email: Option<String>,
    user_alias: Option<String>,
    user_role: Option<String>,
    teams: Option<Vec<String>>,
    /// `/user/new`: join this team, and make the user's key a key of it.
    team_id: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    soft_budget: Option<f64>,
    budget_duration: Option<String>,
    tpm_limit: Option<u64>,
    rpm_limit: Option<u64>,
    max_parallel_requests: Option<u64>,
    metadata: Option<Map<String, Value>>,
    blocked: Option<bool>,
    /// `/user/new`: make the user a key (default true).
    auto_create_key: Option<bool>,
}

impl UserFields {
    fn validate(&self) -> Result<(), ApiError> {
        money("max_budget", self.max_budget)?;
        money("soft_budget", self.soft_budget)?;
        period("budget_duration", self.budget_duration.as_deref())?;
        if let Some(r) = &self.user_role {
            if !ROLES.contains(&r.as_str()) {
                return Err(bad(
                    "user_role",
                    format!("user_role must be one of {ROLES:?}"),
                ));
            }
        }
        Ok(())
    }

    /// An internal user's missing fields from the config (`default_internal_user_params`,
    /// `max_internal_user_budget`, `internal_user_budget_duration`), as LiteLLM's `/user/new`.
    fn fill_defaults(&mut self, d: &UserDefaults) {
        fn fill<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(v);
            }
        }
        if self.user_role.is_none() {
            self.user_role.clone_from(&d.user_role);
        }
        if self
            .user_role
            .as_deref()
            .is_some_and(|r| r != "internal_user")
        {
            return;
        }
        fill(&mut self.max_budget, &d.max_budget);
        fill(&mut self.budget_duration, &d.budget_duration);
        fill(&mut self.tpm_limit, &d.tpm_limit);
        fill(&mut self.rpm_limit, &d.rpm_limit);
        fill(&mut self.max_parallel_requests, &d.max_parallel_requests);
        if self.models.as_ref().is_none_or(Vec::is_empty) && d.models.is_some() {
            self.models.clone_from(&d.models);
        }
    }

    /// Every field given except `teams` (joined through the teams' member lists).
    fn apply(self, u: &mut UserDoc) {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        set(&mut u.user_email, self.user_email.map(Some));
        set(&mut u.user_alias, self.user_alias.map(Some));
        set(&mut u.user_role, self.user_role.map(Some));
        set(&mut u.models, self.models);
        set(&mut u.max_budget, self.max_budget.map(Some));
        set(&mut u.soft_budget, self.soft_budget.map(Some));
        set(&mut u.budget_duration, self.budget_duration.map(Some));
        set(&mut u.tpm_limit, self.tpm_limit.map(Some));
        set(&mut u.rpm_limit, self.rpm_limit.map(Some));
        set(
            &mut u.max_parallel_requests,
            self.max_parallel_requests.map(Some),
        );
        set(&mut u.metadata, self.metadata);
        set(&mut u.blocked, self.blocked);
    }
}

/// The user named by id (else by email), created as an `internal_user` when missing, with
/// `team_id` (when given) added to its teams. Written to the store.
pub(crate) async fn ensure_user(
    gov: &Governance,
    user_id: Option<&str>,
    email: Option<&str>,
    team_id: Option<&str>,
) -> Result<UserDoc, ApiError> {
    let found = match (user_id, email) {
        (Some(id), _) => get::<UserDoc>(gov, Kind::User, id).await?.map(|(_, u)| u),
        (None, Some(mail)) => of_kind::<UserDoc>(&load(gov).await?, Kind::User)
            .into_iter()
            .map(|(_, u)| u)
            .find(|u| u.user_email.as_deref() == Some(mail)),
        (None, None) => None,
    };
    let mut u = found.unwrap_or_else(|| UserDoc {
        user_id: user_id.map_or_else(new_uuid, str::to_string),
        user_email: email.map(str::to_string),
        user_role: Some("internal_user".into()),
        created_at: Some(now_iso(gov)),
        ..UserDoc::default()
    });
    if let Some(team_id) = team_id.filter(|t| !u.teams.iter().any(|x| x == t)) {
        u.teams.push(team_id.to_string());
    }
    u.updated_at = Some(now_iso(gov));
    put(gov, Kind::User, &u.user_id, &u).await?;
    Ok(u)
}

async fn user_object(gov: &Governance, e: &Entity, u: &UserDoc) -> Result<Value, ApiError> {
    let mut o = object(u)?;
    o.insert(
        "spend".into(),
        json!(live_spend(gov, e, u.budget_duration.as_deref()).await),
    );
    o.insert("budget_reset_at".into(), super::reset_iso(e));
    Ok(Value::Object(o))
}

async fn existing(gov: &Governance, id: Option<&str>) -> Result<(Entity, UserDoc), ApiError> {
    let id = id.ok_or_else(|| bad("user_id", "user_id is required"))?;
    get(gov, Kind::User, id)
        .await?
        .ok_or_else(|| not_found(format!("User not found: user_id={id}")))
}

/// Add the user to each team's member list (every team must exist).
async fn join_teams(gov: &Governance, user: &UserDoc, teams: &[String]) -> Result<(), ApiError> {
    for id in teams {
        let Some((_, mut t)) = get::<TeamDoc>(gov, Kind::Team, id).await? else {
            return Err(bad("teams", format!("team_id={id} does not exist")));
        };
        if !t
            .members_with_roles
            .iter()
            .any(|m| m.user_id.as_deref() == Some(&user.user_id))
        {
            t.members_with_roles.push(Member {
                user_id: Some(user.user_id.clone()),
                user_email: user.user_email.clone(),
                role: "user".into(),
            });
            put(gov, Kind::Team, id, &t).await?;
        }
    }
    Ok(())
}

/// `POST /user/new`: the user, and a key for it (`key`); with `team_id`, the user joins the
/// team and the key is the team's, as LiteLLM's `new_user` does.
pub(crate) async fn new(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: UserFields = parse(body)?;
    f.fill_defaults(&gov.settings().minting.users);
    f.validate()?;
    let id = f.user_id.take().unwrap_or_else(new_uuid);
    if get::<UserDoc>(gov, Kind::User, &id).await?.is_some() {
        return Err(bad("user_id", format!("User id = {id} already exists.")));
    }
    let mut teams = f.teams.take().unwrap_or_default();
    let team_id = f.team_id.take();
    if let Some(t) = &team_id {
        if !teams.contains(t) {
            teams.push(t.clone());
        }
    }
    let auto_key = f.auto_create_key.take().unwrap_or(true);
    let now = now_iso(gov);
    let mut u = UserDoc {
        user_id: id.clone(),
        user_role: Some("internal_user".into()),
        teams: teams.clone(),
        created_at: Some(now.clone()),
        updated_at: Some(now),
        ..UserDoc::default()
    };
    f.apply(&mut u);
    join_teams(gov, &u, &teams).await?;
    if !super::insert(gov, Kind::User, &id, &u).await? {
        return Err(bad("user_id", format!("User id = {id} already exists.")));
    }
    start_period(gov, Kind::User, &id, u.budget_duration.as_deref()).await?;
    let key = match auto_key {
        true => {
            let f = KeyFields {
                user_id: Some(id.clone()),
                team_id,
                models: Some(u.models.clone()),
                ..KeyFields::default()
            };
            Some(create(gov, f, None).await?)
        }
        false => None,
    };
    reload(gov).await?;
    let mut o = object(&u)?;
    o.insert("spend".into(), json!(0.0));
    let field = |name: &str| key.as_ref().and_then(|k| k.get(name)).cloned();
    o.insert("key".into(), field("key").unwrap_or(Value::Null));
    o.insert("token".into(), field("token").unwrap_or(Value::Null));
    reply(&o)
}

/// `POST /user/update`: the user, also under `data` as LiteLLM answers. An unknown `user_id`
/// is created (LiteLLM upserts the row), with no role unless the request gives one.
pub(crate) async fn update(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: UserFields = parse(body)?;
    f.validate()?;
    let id = f
        .user_id
        .clone()
        .ok_or_else(|| bad("user_id", "user_id is required"))?;
    if get::<UserDoc>(gov, Kind::User, &id).await?.is_none() {
        let now = now_iso(gov);
        let fresh = UserDoc {
            user_id: id.clone(),
            created_at: Some(now.clone()),
            updated_at: Some(now),
            ..UserDoc::default()
        };
        super::insert(gov, Kind::User, &id, &fresh).await?;
    }
    let (e, mut u) = existing(gov, Some(&id)).await?;
    if let Some(teams) = f.teams.take() {
        join_teams(gov, &u, &teams).await?;
        for t in teams {
            if !u.teams.contains(&t) {
                u.teams.push(t);
            }
        }
    }
    let new_period = f.budget_duration.clone();
    f.apply(&mut u);
    u.updated_at = Some(now_iso(gov));
    put(gov, Kind::User, &e.id, &u).await?;
    if new_period.is_some() {
        start_period(gov, Kind::User, &e.id, new_period.as_deref()).await?;
    }
    reload(gov).await?;
    let (e, u) = existing(gov, Some(&e.id)).await?;
    let obj = user_object(gov, &e, &u).await?;
    let mut o = obj.as_object().cloned().unwrap_or_default();
    o.insert("data".into(), obj);
    reply(&o)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserIds {
    user_ids: Vec<String>,
}

/// `POST /user/delete`: the users, their keys, member budgets, team and organization
/// memberships.
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let d: UserIds = parse(body)?;
    if d.user_ids.is_empty() {
        return Err(bad("user_ids", "user_ids is required"));
    }
    let all = load(gov).await?;
    check_all(&all, Kind::User, &d.user_ids, "Users")?;
    for id in &d.user_ids {
        let mine = |u: &Option<String>| u.as_ref() == Some(id);
        for (e, _) in of_kind::<KeyDoc>(&all, Kind::Key)
            .iter()
            .filter(|(_, k)| mine(&k.user_id))
        {
            remove(gov, Kind::Key, &e.id).await?;
        }
        for (e, _) in of_kind::<MemberDoc>(&all, Kind::TeamMember)
            .iter()
            .filter(|(_, m)| &m.user_id == id)
        {
            remove(gov, Kind::TeamMember, &e.id).await?;
        }
        for (e, _) in of_kind::<OrgMemberDoc>(&all, Kind::OrgMember)
            .iter()
            .filter(|(_, m)| &m.user_id == id)
        {
            remove(gov, Kind::OrgMember, &e.id).await?;
        }
        for (e, mut t) in of_kind::<TeamDoc>(&all, Kind::Team) {
            if t.members_with_roles.iter().any(|m| mine(&m.user_id)) {
                t.members_with_roles.retain(|m| !mine(&m.user_id));
                put(gov, Kind::Team, &e.id, &t).await?;
            }
        }
        remove(gov, Kind::User, id).await?;
    }
    reload(gov).await?;
    reply(&json!({ "deleted_users": d.user_ids }))
}

/// `GET /user/info?user_id=`: a non-admin key reads only its own user.
pub(crate) async fn info(gov: &Governance, access: Access<'_>, q: &Query) -> Reply {
    let id = match (q.get("user_id"), access) {
        (Some(id), Access::Own(own)) if own.doc.user_id.as_deref() != Some(id) => {
            return Err(forbidden("a non-admin key may only read its own user"));
        }
        (Some(id), _) => id.to_string(),
        (None, Access::Own(own)) => own
            .doc
            .user_id
            .clone()
            .ok_or_else(|| forbidden("this key belongs to no user"))?,
        (None, Access::Admin) => return Err(bad("user_id", "user_id is required")),
    };
    let (e, u) = existing(gov, Some(&id)).await?;
    let all = load(gov).await?;
    let mut keys = Vec::new();
    for (ke, k) in of_kind::<KeyDoc>(&all, Kind::Key) {
        if k.user_id.as_deref() == Some(&id) {
            keys.push(key_object(gov, ke, &k).await?);
        }
    }
    let mut teams = Vec::new();
    for (_, t) in of_kind::<TeamDoc>(&all, Kind::Team) {
        if u.teams.contains(&t.team_id) {
            teams.push(team_entry(gov, &all, t, &id, access).await?);
        }
    }
    reply(&json!({
        "user_id": id,
        "user_info": user_object(gov, &e, &u).await?,
        "keys": keys,
        "teams": teams,
    }))
}

/// One of a user's teams as LiteLLM's `/user/info` lists it: the team, the user's membership
/// (its spend in the team and its budget there, `litellm_budget_table`) and the team's keys
/// (only the user's own when a non-admin key asks, as `/team/info` answers it).
async fn team_entry(
    gov: &Governance,
    all: &[Entity],
    t: TeamDoc,
    user_id: &str,
    access: Access<'_>,
) -> Result<Value, ApiError> {
    let member_id = format!("{}/{user_id}", t.team_id);
    let member = all
        .iter()
        .find(|e| e.kind == Kind::TeamMember && e.id == member_id);
    let mut memberships = Vec::new();
    if let Some(e) = member {
        let m: MemberDoc = serde_json::from_str(&e.doc).unwrap_or_default();
        let duration = m
            .budget_duration
            .as_deref()
            .or(t.budget_duration.as_deref());
        let budget =
            (m.max_budget_in_team.is_some() || m.tpm_limit.is_some() || m.rpm_limit.is_some())
                .then(|| {
                    json!({"max_budget": m.max_budget_in_team, "budget_duration": m.budget_duration,
                       "tpm_limit": m.tpm_limit, "rpm_limit": m.rpm_limit})
                });
        memberships.push(json!({
            "user_id": user_id,
            "team_id": t.team_id,
            "budget_id": null,
            "spend": live_spend(gov, e, duration).await,
            "litellm_budget_table": budget,
        }));
    }
    let own_only = matches!(access, Access::Own(_));
    let mut keys = Vec::new();
    for (ke, k) in of_kind::<KeyDoc>(all, Kind::Key) {
        let mine = k.user_id.as_deref() == Some(user_id);
        if k.team_id.as_deref() == Some(t.team_id.as_str()) && (mine || !own_only) {
            keys.push(key_object(gov, ke, &k).await?);
        }
    }
    let mut entry = serde_json::to_value(t).unwrap_or_else(|_| json!({}));
    if let Some(o) = entry.as_object_mut() {
        o.insert("team_memberships".into(), Value::Array(memberships));
        o.insert("keys".into(), Value::Array(keys));
    }
    Ok(entry)
}

/// `GET /user/list?page=&page_size=`.
pub(crate) async fn list(gov: &Governance, q: &Query) -> Reply {
    let page = q.number("page", 1)?;
    let size = q.number("page_size", 25)?;
    let all = load(gov).await?;
    let users = of_kind::<UserDoc>(&all, Kind::User);
    let total = users.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (e, u) in users
        .iter()
        .skip(start)
        .take(usize::try_from(size).unwrap_or(usize::MAX))
    {
        out.push(user_object(gov, e, u).await?);
    }
    reply(&json!({
        "users": out,
        "total": total,
        "page": page,
        "page_size": size,
        "total_pages": total.div_ceil(size),
    }))
}
