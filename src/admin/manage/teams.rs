//! `/team/*`: teams, their members (`members_with_roles`, per-member budgets), their
//! organization and blocking.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::keys::key_object;
use super::nulls::Cleared;
use super::org_teams::{self, TeamAsk};
use super::users::ensure_user;
use super::Caller;
use super::{bad, get, live_spend, load, money, not_found, now_iso, object, of_kind, parse};
use super::{check_all, forbidden, period, put, reload, remove, reply, start_period, Access};
use super::{ApiError, OneOrMany, Query, Reply};
use crate::core::ids::{hex, new_uuid};
use crate::governance::entities::{KeyDoc, Member, MemberDoc, TeamDoc, UserDoc};
use crate::governance::tables::KeyView;
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// `/team/new` and `/team/update` fields; `None` leaves a field as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TeamFields {
    team_id: Option<String>,
    team_alias: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    soft_budget: Option<f64>,
    budget_duration: Option<String>,
    tpm_limit: Option<u64>,
    rpm_limit: Option<u64>,
    max_parallel_requests: Option<u64>,
    metadata: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
    blocked: Option<bool>,
    members_with_roles: Option<Vec<Member>>,
    /// The organization to join (`""` in `/team/update` leaves it).
    organization_id: Option<String>,
}

impl TeamFields {
    fn validate(&self) -> Result<(), ApiError> {
        money("max_budget", self.max_budget)?;
        money("soft_budget", self.soft_budget)?;
        period("budget_duration", self.budget_duration.as_deref())?;
        for (i, m) in self.members_with_roles.iter().flatten().enumerate() {
            check_member(&format!("members_with_roles[{i}]"), m)?;
        }
        Ok(())
    }

    /// What the team asks of its organization.
    fn ask(&self) -> TeamAsk<'_> {
        TeamAsk {
            max_budget: self.max_budget,
            models: self.models.as_deref(),
            tpm_limit: self.tpm_limit,
            rpm_limit: self.rpm_limit,
        }
    }

    /// Every field given except the members (added through [`add_members`]) and the
    /// organization (checked by [`org_teams`]).
    fn apply(self, t: &mut TeamDoc) {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        set(&mut t.team_alias, self.team_alias.map(Some));
        set(&mut t.models, self.models);
        set(&mut t.max_budget, self.max_budget.map(Some));
        set(&mut t.soft_budget, self.soft_budget.map(Some));
        set(&mut t.budget_duration, self.budget_duration.map(Some));
        set(&mut t.tpm_limit, self.tpm_limit.map(Some));
        set(&mut t.rpm_limit, self.rpm_limit.map(Some));
        set(
            &mut t.max_parallel_requests,
            self.max_parallel_requests.map(Some),
        );
        set(&mut t.metadata, self.metadata);
        set(&mut t.tags, self.tags);
        set(&mut t.blocked, self.blocked);
    }
}

fn check_member(field: &str, m: &Member) -> Result<(), ApiError> {
    if m.user_id.is_none() && m.user_email.is_none() {
        return Err(bad(field, format!("{field}: give user_id or user_email")));
    }
    if !matches!(m.role.as_str(), "" | "admin" | "user") {
        return Err(bad(
            field,
            format!("{field}.role must be \"admin\" or \"user\""),
        ));
    }
    Ok(())
}

/// A team as the API shows it, with its live spend.
pub(crate) async fn team_object(
    gov: &Governance,
    e: &Entity,
    t: &TeamDoc,
) -> Result<Value, ApiError> {
    let mut o = object(t)?;
    o.insert(
        "spend".into(),
        json!(live_spend(gov, e, t.budget_duration.as_deref()).await),
    );
    o.insert("budget_reset_at".into(), super::reset_iso(e));
    Ok(Value::Object(o))
}

async fn existing(gov: &Governance, id: Option<&str>) -> Result<(Entity, TeamDoc), ApiError> {
    let id = id.ok_or_else(|| bad("team_id", "team_id is required"))?;
    get(gov, Kind::Team, id)
        .await?
        .ok_or_else(|| not_found(format!("Team not found: team_id={id}")))
}

/// Add members to `t` (creating users as needed); the users written.
async fn add_members(
    gov: &Governance,
    t: &mut TeamDoc,
    members: Vec<Member>,
) -> Result<Vec<UserDoc>, ApiError> {
    let mut users = Vec::new();
    for mut m in members {
        let user = ensure_user(
            gov,
            m.user_id.as_deref(),
            m.user_email.as_deref(),
            Some(&t.team_id),
        )
        .await?;
        if t.members_with_roles
            .iter()
            .any(|x| x.user_id.as_deref() == Some(&user.user_id))
        {
            return Err(bad(
                "member",
                format!(
                    "User={} is already a member of team={}",
                    user.user_id, t.team_id
                ),
            ));
        }
        m.user_id = Some(user.user_id.clone());
        if m.role.is_empty() {
            m.role = "user".into();
        }
        t.members_with_roles.push(m);
        users.push(user);
    }
    Ok(users)
}

/// The user LiteLLM's master key acts as (`LITELLM_PROXY_ADMIN_NAME`).
pub(crate) const MASTER_USER_ID: &str = "default_user_id";

/// The member a team's creator becomes, as LiteLLM's `_should_auto_add_team_creator`
/// decides: a key with a user (a `proxy_admin` key; only such keys may create teams), or the
/// master key as `default_user_id`, joins its team as `admin`, unless the config says
/// `disable_auto_add_proxy_admin_to_teams`.
fn creator(gov: &Governance, caller: &Caller<'_>) -> Option<Member> {
    if gov.settings().disable_auto_add_proxy_admin_to_teams {
        return None;
    }
    let user_id = match caller {
        Caller::Key(k) => k.doc.user_id.clone()?,
        Caller::Master => MASTER_USER_ID.to_string(),
    };
    Some(Member {
        user_id: Some(user_id),
        user_email: None,
        role: "admin".into(),
    })
}

/// `POST /team/new`: the team, its members and (see [`creator`]) its creator.
pub(crate) async fn new(gov: &Governance, caller: &Caller<'_>, body: &[u8]) -> Reply {
    let mut f: TeamFields = parse(body)?;
    f.validate()?;
    if let Some(org) = &f.organization_id {
        org_teams::check_new(gov, org, &f.ask()).await?;
    }
    let id = f.team_id.take().unwrap_or_else(new_uuid);
    if get::<TeamDoc>(gov, Kind::Team, &id).await?.is_some() {
        return Err(bad(
            "team_id",
            format!("Team id = {id} already exists. Please use a different team id."),
        ));
    }
    let mut members = f.members_with_roles.take().unwrap_or_default();
    if let Some(c) = creator(gov, caller) {
        if !members.iter().any(|m| m.user_id == c.user_id) {
            members.push(c);
        }
    }
    let now = now_iso(gov);
    let mut t = TeamDoc {
        team_id: id.clone(),
        created_at: Some(now.clone()),
        updated_at: Some(now),
        organization_id: f.organization_id.take(),
        ..TeamDoc::default()
    };
    f.apply(&mut t);
    add_members(gov, &mut t, members).await?;
    if !super::insert(gov, Kind::Team, &id, &t).await? {
        return Err(bad("team_id", format!("Team id = {id} already exists.")));
    }
    start_period(gov, Kind::Team, &id, t.budget_duration.as_deref()).await?;
    reload(gov).await?;
    let (e, t) = existing(gov, Some(&id)).await?;
    reply(&team_object(gov, &e, &t).await?)
}

/// `POST /team/update`: as `/key/update` (`null` clears a nullable limit); the team, also under `data` as LiteLLM answers.
pub(crate) async fn update(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: TeamFields = parse(body)?;
    let cleared = Cleared::of(body, "team_alias")?;
    f.validate()?;
    let (e, mut t) = existing(gov, f.team_id.as_deref()).await?;
    t.organization_id =
        org_teams::check_update(gov, &t, f.organization_id.take(), &f.ask()).await?;
    let members = f.members_with_roles.take();
    let new_period = f.budget_duration.clone();
    f.apply(&mut t);
    cleared.apply_team(&mut t);
    if let Some(members) = members {
        t.members_with_roles.clear();
        add_members(gov, &mut t, members).await?;
    }
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    if new_period.is_some() {
        start_period(gov, Kind::Team, &e.id, new_period.as_deref()).await?;
    }
    reload(gov).await?;
    let (e, t) = existing(gov, Some(&e.id)).await?;
    let obj = team_object(gov, &e, &t).await?;
    let mut o = obj.as_object().cloned().unwrap_or_default();
    o.insert("data".into(), obj);
    reply(&o)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TeamIds {
    team_ids: Vec<String>,
}

/// `POST /team/delete`: the teams, their member budgets and their keys (a key left without
/// its team would lose the team's model list and budget).
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let d: TeamIds = parse(body)?;
    if d.team_ids.is_empty() {
        return Err(bad("team_ids", "team_ids is required"));
    }
    let all = load(gov).await?;
    check_all(&all, Kind::Team, &d.team_ids, "Teams")?;
    for id in &d.team_ids {
        remove_team(gov, &all, id).await?;
    }
    reload(gov).await?;
    reply(&json!({ "deleted_teams": d.team_ids }))
}

/// Delete team `id` with its keys and member budgets, and take it off its users (`all`: the
/// store as loaded before). The caller reloads.
pub(crate) async fn remove_team(
    gov: &Governance,
    all: &[Entity],
    id: &str,
) -> Result<(), ApiError> {
    for (e, _) in of_kind::<KeyDoc>(all, Kind::Key)
        .iter()
        .filter(|(_, k)| k.team_id.as_deref() == Some(id))
    {
        remove(gov, Kind::Key, &e.id).await?;
    }
    for (e, _) in of_kind::<MemberDoc>(all, Kind::TeamMember)
        .iter()
        .filter(|(_, m)| m.team_id == id)
    {
        remove(gov, Kind::TeamMember, &e.id).await?;
    }
    for (e, mut u) in of_kind::<UserDoc>(all, Kind::User) {
        if u.teams.iter().any(|t| t == id) {
            u.teams.retain(|t| t != id);
            put(gov, Kind::User, &e.id, &u).await?;
        }
    }
    remove(gov, Kind::Team, id).await?;
    Ok(())
}

/// Whether a non-admin key may read team `t`: its own team, or one its user is a member of
/// (LiteLLM's `validate_membership`).
fn may_read(own: &KeyView, t: &TeamDoc) -> bool {
    own.doc.team_id.as_deref() == Some(t.team_id.as_str())
        || own.doc.user_id.as_ref().is_some_and(|u| {
            t.members_with_roles
                .iter()
                .any(|m| m.user_id.as_ref() == Some(u))
        })
}

/// `GET /team/info?team_id=` (a key's own team when it names none). A non-admin key reads
/// only its own teams, and sees only its own user's keys and membership in them.
pub(crate) async fn info(gov: &Governance, access: Access<'_>, q: &Query) -> Reply {
    let asked = match (q.get("team_id"), access) {
        (Some(id), _) => Some(id.to_string()),
        (None, Access::Own(own)) => own.doc.team_id.clone(),
        (None, Access::Admin) => None,
    };
    let found = existing(gov, asked.as_deref()).await;
    let (e, t) = match (found, access) {
        // A non-admin key learns nothing about teams it may not read, not even that they exist.
        (Ok((_, t)), Access::Own(own)) if !may_read(own, &t) => {
            return Err(forbidden(not_yours(own)));
        }
        (Err(_), Access::Own(own)) if asked.is_some() => return Err(forbidden(not_yours(own))),
        (found, _) => found?,
    };
    let sees = |user: Option<&str>, token: Option<&str>| match access {
        Access::Admin => true,
        Access::Own(own) => {
            (user.is_some() && user == own.doc.user_id.as_deref())
                || token == Some(hex(&own.hash).as_str())
        }
    };
    let all = load(gov).await?;
    let mut keys = Vec::new();
    for (ke, k) in of_kind::<KeyDoc>(&all, Kind::Key) {
        if k.team_id.as_deref() == Some(&t.team_id)
            && sees(k.user_id.as_deref(), Some(k.token.as_str()))
        {
            keys.push(key_object(gov, ke, &k).await?);
        }
    }
    let mut memberships = Vec::new();
    for (me, m) in of_kind::<MemberDoc>(&all, Kind::TeamMember) {
        if m.team_id == t.team_id && sees(Some(m.user_id.as_str()), None) {
            let mut o = object(&m)?;
            let spend = live_spend(gov, me, m.budget_duration.as_deref()).await;
            o.insert("spend".into(), json!(spend));
            memberships.push(Value::Object(o));
        }
    }
    reply(&json!({
        "team_id": t.team_id,
        "team_info": team_object(gov, &e, &t).await?,
        "keys": keys,
        "team_memberships": memberships,
    }))
}

fn not_yours(own: &KeyView) -> String {
    format!(
        "{} may only read its own team, or a team its user is a member of",
        own.label()
    )
}

/// `GET /team/list[?organization_id=]`.
pub(crate) async fn list(gov: &Governance, q: &Query) -> Reply {
    let all = load(gov).await?;
    let org = q.get("organization_id");
    let mut out = Vec::new();
    for (e, t) in of_kind::<TeamDoc>(&all, Kind::Team) {
        if org.is_none() || t.organization_id.as_deref() == org {
            out.push(team_object(gov, e, &t).await?);
        }
    }
    reply(&out)
}

#[derive(Deserialize)]
struct MemberAdd {
    team_id: String,
    member: OneOrMany<Member>,
    #[serde(default)]
    max_budget_in_team: Option<f64>,
}

fn member_doc(team_id: &str, user_id: &str, budget: Option<f64>) -> MemberDoc {
    MemberDoc {
        team_id: team_id.to_string(),
        user_id: user_id.to_string(),
        max_budget_in_team: budget,
        ..MemberDoc::default()
    }
}

/// `POST /team/member_add`.
pub(crate) async fn member_add(gov: &Governance, body: &[u8]) -> Reply {
    let a: MemberAdd = parse(body)?;
    money("max_budget_in_team", a.max_budget_in_team)?;
    let members = a.member.into_vec();
    for (i, m) in members.iter().enumerate() {
        check_member(&format!("member[{i}]"), m)?;
    }
    let (e, mut t) = existing(gov, Some(&a.team_id)).await?;
    let users = add_members(gov, &mut t, members).await?;
    let mut memberships = Vec::new();
    if a.max_budget_in_team.is_some() {
        for u in &users {
            let m = member_doc(&t.team_id, &u.user_id, a.max_budget_in_team);
            put(
                gov,
                Kind::TeamMember,
                &format!("{}/{}", t.team_id, u.user_id),
                &m,
            )
            .await?;
            memberships.push(m);
        }
    }
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    reload(gov).await?;
    let mut o = object(&t)?;
    o.insert(
        "updated_users".into(),
        serde_json::to_value(&users).unwrap_or_default(),
    );
    o.insert(
        "updated_team_memberships".into(),
        serde_json::to_value(&memberships).unwrap_or_default(),
    );
    reply(&o)
}

#[derive(Deserialize)]
struct MemberChange {
    team_id: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_email: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    max_budget_in_team: Option<f64>,
}

/// The index of the member a request names; a user who is not a member is a 400, as
/// LiteLLM's `team_member_delete` and `team_member_update` answer.
fn find_member(t: &TeamDoc, c: &MemberChange) -> Result<usize, ApiError> {
    t.members_with_roles
        .iter()
        .position(|m| {
            (c.user_id.is_some() && m.user_id == c.user_id)
                || (c.user_email.is_some() && m.user_email == c.user_email)
        })
        .ok_or_else(|| {
            let who = c
                .user_id
                .as_deref()
                .or(c.user_email.as_deref())
                .unwrap_or("?");
            bad(
                "user_id",
                format!(
                    "User not found in team: User={who} is not a member of team={}",
                    t.team_id
                ),
            )
        })
}

/// `POST /team/member_update`: role and `max_budget_in_team`.
pub(crate) async fn member_update(gov: &Governance, body: &[u8]) -> Reply {
    let c: MemberChange = parse(body)?;
    money("max_budget_in_team", c.max_budget_in_team)?;
    let (e, mut t) = existing(gov, Some(&c.team_id)).await?;
    let i = find_member(&t, &c)?;
    if let Some(role) = &c.role {
        if !matches!(role.as_str(), "admin" | "user") {
            return Err(bad("role", "role must be \"admin\" or \"user\""));
        }
        t.members_with_roles[i].role = role.clone();
    }
    let member = t.members_with_roles[i].clone();
    let uid = member.user_id.clone().unwrap_or_default();
    let mid = format!("{}/{uid}", t.team_id);
    let mut m = match get::<MemberDoc>(gov, Kind::TeamMember, &mid).await? {
        Some((_, m)) => m,
        None => member_doc(&t.team_id, &uid, None),
    };
    if c.max_budget_in_team.is_some() {
        m.max_budget_in_team = c.max_budget_in_team;
        put(gov, Kind::TeamMember, &mid, &m).await?;
    }
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    reload(gov).await?;
    reply(&json!({
        "team_id": t.team_id,
        "user_id": uid,
        "user_email": member.user_email,
        "role": member.role,
        "max_budget_in_team": m.max_budget_in_team,
    }))
}

/// `POST /team/member_delete`.
pub(crate) async fn member_delete(gov: &Governance, body: &[u8]) -> Reply {
    let c: MemberChange = parse(body)?;
    let (e, mut t) = existing(gov, Some(&c.team_id)).await?;
    let i = find_member(&t, &c)?;
    let member = t.members_with_roles.remove(i);
    if let Some(uid) = &member.user_id {
        remove(gov, Kind::TeamMember, &format!("{}/{uid}", t.team_id)).await?;
        if let Some((ue, mut u)) = get::<UserDoc>(gov, Kind::User, uid).await? {
            u.teams.retain(|x| x != &t.team_id);
            put(gov, Kind::User, &ue.id, &u).await?;
        }
    }
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    reload(gov).await?;
    let (e, t) = existing(gov, Some(&e.id)).await?;
    reply(&team_object(gov, &e, &t).await?)
}

#[derive(Deserialize)]
struct TeamId {
    team_id: String,
}

/// `POST /team/block` and `/team/unblock`.
pub(crate) async fn block(gov: &Governance, body: &[u8], blocked: bool) -> Reply {
    let b: TeamId = parse(body)?;
    let (e, mut t) = existing(gov, Some(&b.team_id)).await?;
    t.blocked = blocked;
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    reload(gov).await?;
    reply(&team_object(gov, &e, &t).await?)
}
