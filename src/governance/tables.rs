//! The in-memory copy of the governed entities that the request path reads: built from the
//! store in one pass, swapped whole, never queried with SQL.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::entities::UserDoc;
use super::entities::{to_nano, BudgetDoc, CustomerDoc, KeyDoc, MemberDoc, OrgDoc, TeamDoc};
use super::minting::UserDefaults;
use super::period::{parse_date, Period};
use crate::store::{Entity, Kind};

/// SHA-256 of a presented key: the lookup key and the stored `token`.
pub fn hash_key(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// Hex back to a hash; `None` for anything that is not 64 hex digits.
pub fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// What one scope (key, team, organization, user, member, customer, global) allows, as
/// configured.
#[derive(Clone, Debug, Default)]
pub struct ScopeSpec {
    pub kind: Option<Kind>,
    /// The entity id in the store (`team_id`, a key's token, `team/user` for members).
    pub id: String,
    /// Stable counter id: `key:…`, `team:…`.
    pub counter: String,
    /// How errors name it: `Key=alias (sk-...abcd)`, `Team=t1`, `Organization=o1`.
    pub label: String,
    /// The team's `team_alias` (metric labels).
    pub alias: Option<String>,
    pub max_budget: Option<i64>,
    pub soft_budget: Option<i64>,
    pub period: Option<Period>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub max_parallel: Option<u64>,
    /// The ledger's spend and the end of the period it belongs to, at the last refresh.
    pub ledger_spent: i64,
    pub ledger_reset_at: Option<i64>,
}

/// A virtual key with everything the request path needs resolved.
#[derive(Debug)]
pub struct KeyView {
    pub doc: KeyDoc,
    pub hash: [u8; 32],
    pub expires_at: Option<i64>,
    /// Blocked itself or through its team.
    pub blocked: bool,
    /// Models the key may call (`None`: every model); a team's list narrows it.
    pub models: Option<Vec<String>>,
    pub team_models: Option<Vec<String>>,
    /// The models of the team's organization (`None`: no organization, or every model).
    pub org_models: Option<Vec<String>>,
    /// A personal key's (no team) user's models, as LiteLLM's `can_user_call_model` (`None`:
    /// a team key, no user, or every model).
    pub user_models: Option<Vec<String>>,
    pub user_role: Option<String>,
    /// Key first, then the keys that made it (parent first), then team, team member,
    /// the team's organization and user (a team key spends its user's budget only when a
    /// non-admin key made it).
    pub scopes: Vec<ScopeSpec>,
    /// Per-model rpm/tpm of this key (`model_rpm_limit`, `model_tpm_limit`).
    pub model_limits: HashMap<String, ScopeSpec>,
    /// The key's per-key Prometheus series, resolved on its first request (when on).
    pub series: arc_swap::ArcSwapOption<crate::metrics::keys::KeyHandles>,
    /// The key's and its team's own logging destinations (`None`: the gateway's sinks only).
    pub logging: Option<Arc<crate::core::key_logging::KeyLogging>>,
}

/// The model list that refused a model: the key's own, its team's, its organization's or
/// (a personal key) its user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denier {
    Key,
    Team,
    Org,
    User,
}

impl KeyView {
    /// Whether a model list (the key's, its team's, its organization's or its user's) limits
    /// this key.
    pub fn lists_models(&self) -> bool {
        self.models.is_some()
            || self.team_models.is_some()
            || self.org_models.is_some()
            || self.user_models.is_some()
    }

    /// Whether this key may call the model group `group` (asked for as `asked`).
    pub fn allows(&self, group: &str, asked: &str) -> bool {
        self.denied_by(group, asked).is_none()
    }

    /// Which list forbids `group` (asked for as `asked`): the key's own, checked first as
    /// LiteLLM does, else its team's, else its organization's, else (a personal key) its
    /// user's; `None` when all allow it.
    pub fn denied_by(&self, group: &str, asked: &str) -> Option<Denier> {
        let ok = |list: &Option<Vec<String>>| {
            list.as_ref().is_none_or(|l| {
                l.iter().any(|m| {
                    m == group
                        || m == asked
                        || m == "*"
                        || m == "all-proxy-models"
                        || m.strip_suffix('*').is_some_and(|p| asked.starts_with(p))
                })
            })
        };
        if !ok(&self.models) {
            Some(Denier::Key)
        } else if !ok(&self.team_models) {
            Some(Denier::Team)
        } else if !ok(&self.org_models) {
            Some(Denier::Org)
        } else if !ok(&self.user_models) {
            Some(Denier::User)
        } else {
            None
        }
    }

    /// `Key=alias (sk-...abcd)` as LiteLLM names keys in errors.
    pub fn label(&self) -> &str {
        self.scopes.first().map_or("", |s| s.label.as_str())
    }

    /// The id of the organization the key's team belongs to.
    pub fn org_id(&self) -> Option<&str> {
        self.scopes
            .iter()
            .find(|s| s.kind == Some(Kind::Organization))
            .map(|s| s.id.as_str())
    }
}

/// A customer (end user) with its budget resolved.
#[derive(Debug)]
pub struct CustomerView {
    pub doc: CustomerDoc,
    pub scope: ScopeSpec,
}

/// Everything cached, by id.
#[derive(Default, Debug)]
pub struct Tables {
    pub keys: HashMap<[u8; 32], Arc<KeyView>>,
    pub customers: HashMap<String, Arc<CustomerView>>,
    /// `litellm_settings.max_budget`, when set.
    pub global: Option<ScopeSpec>,
    /// The change sequence this copy was built at.
    pub seq: i64,
}

fn limits(
    scope: &mut ScopeSpec,
    max_budget: Option<f64>,
    soft: Option<f64>,
    duration: Option<&str>,
    rpm: Option<u64>,
    tpm: Option<u64>,
    parallel: Option<u64>,
) {
    scope.max_budget = max_budget.map(to_nano);
    scope.soft_budget = soft.map(to_nano);
    scope.period = duration.and_then(|d| Period::parse(d).ok());
    scope.rpm = rpm;
    scope.tpm = tpm;
    scope.max_parallel = parallel;
}

fn scope(kind: Kind, id: &str, label: String, ledger: Option<&Entity>) -> ScopeSpec {
    ScopeSpec {
        kind: Some(kind),
        id: id.to_string(),
        counter: format!("{}:{id}", kind.as_str()),
        label,
        ledger_spent: ledger.map_or(0, |e| e.spend_nano),
        ledger_reset_at: ledger.and_then(|e| e.budget_reset_at),
        ..ScopeSpec::default()
    }
}

/// `sk-...abcd` for a key whose last four characters are `abcd`.
pub fn key_name(key: &str) -> String {
    let tail = key.get(key.len().saturating_sub(4)..).unwrap_or("");
    format!("sk-...{tail}")
}

/// Keys a key's chain of parents is followed through (a guard against cycles).
const MAX_ANCESTORS: usize = 8;

/// The stored documents `key_view` joins a key with.
struct Docs<'a, F> {
    teams: HashMap<&'a str, TeamDoc>,
    orgs: HashMap<&'a str, OrgDoc>,
    users: HashMap<&'a str, UserDoc>,
    budgets: HashMap<&'a str, BudgetDoc>,
    user_defaults: &'a UserDefaults,
    entity: F,
}

impl Tables {
    /// Build from every stored entity; `users` fills in an internal user's missing budget.
    pub fn build(
        entities: &[Entity],
        global: Option<ScopeSpec>,
        users: &UserDefaults,
        seq: i64,
    ) -> Tables {
        let mut by: HashMap<(Kind, &str), &Entity> = HashMap::with_capacity(entities.len());
        for e in entities {
            by.insert((e.kind, e.id.as_str()), e);
        }
        let doc = |kind: Kind, id: &str| by.get(&(kind, id)).copied();
        let parse = |e: &Entity| -> Option<serde_json::Value> { serde_json::from_str(&e.doc).ok() };
        let teams: HashMap<&str, TeamDoc> = entities
            .iter()
            .filter(|e| e.kind == Kind::Team)
            .filter_map(|e| Some((e.id.as_str(), serde_json::from_value(parse(e)?).ok()?)))
            .collect();
        let orgs: HashMap<&str, OrgDoc> = entities
            .iter()
            .filter(|e| e.kind == Kind::Organization)
            .filter_map(|e| Some((e.id.as_str(), serde_json::from_value(parse(e)?).ok()?)))
            .collect();
        let users_by_id: HashMap<&str, UserDoc> = entities
            .iter()
            .filter(|e| e.kind == Kind::User)
            .filter_map(|e| Some((e.id.as_str(), serde_json::from_value(parse(e)?).ok()?)))
            .collect();
        let budgets: HashMap<&str, BudgetDoc> = entities
            .iter()
            .filter(|e| e.kind == Kind::Budget)
            .filter_map(|e| Some((e.id.as_str(), serde_json::from_value(parse(e)?).ok()?)))
            .collect();
        let docs = Docs {
            teams,
            orgs,
            users: users_by_id,
            budgets,
            user_defaults: users,
            entity: doc,
        };
        let budgets = &docs.budgets;
        let mut t = Tables {
            global,
            seq,
            ..Tables::default()
        };
        for e in entities {
            match e.kind {
                Kind::Key => {
                    let Some(k) = parse(e).and_then(|v| serde_json::from_value::<KeyDoc>(v).ok())
                    else {
                        log::warn!("stored key {} is unreadable; skipped", e.id);
                        continue;
                    };
                    // The current token: a regenerated key keeps its first record id.
                    let Some(hash) = unhex(&k.token).or_else(|| unhex(&e.id)) else {
                        continue;
                    };
                    let view = key_view(k, hash, e, &docs);
                    t.keys.insert(hash, Arc::new(view));
                }
                Kind::Customer => {
                    let Some(c) =
                        parse(e).and_then(|v| serde_json::from_value::<CustomerDoc>(v).ok())
                    else {
                        continue;
                    };
                    let mut s = scope(Kind::Customer, &e.id, format!("End User={}", e.id), Some(e));
                    let b = c.budget_id.as_deref().and_then(|b| budgets.get(b));
                    limits(
                        &mut s,
                        c.max_budget.or(b.and_then(|b| b.max_budget)),
                        b.and_then(|b| b.soft_budget),
                        c.budget_duration
                            .as_deref()
                            .or(b.and_then(|b| b.budget_duration.as_deref())),
                        c.rpm_limit.or(b.and_then(|b| b.rpm_limit)),
                        c.tpm_limit.or(b.and_then(|b| b.tpm_limit)),
                        b.and_then(|b| b.max_parallel_requests),
                    );
                    t.customers
                        .insert(e.id.clone(), Arc::new(CustomerView { doc: c, scope: s }));
                }
                _ => {}
            }
        }
        t
    }
}

/// A key's own scope: its limits, else its budget tier's (`budget_id`).
fn key_scope(k: &KeyDoc, e: &Entity, budgets: &HashMap<&str, BudgetDoc>) -> ScopeSpec {
    let label = match &k.key_alias {
        Some(a) => format!("Key={a} ({})", k.key_name),
        None => format!("Key={}", k.key_name),
    };
    let mut key = scope(Kind::Key, &e.id, label, Some(e));
    let b = k.budget_id.as_deref().and_then(|b| budgets.get(b));
    limits(
        &mut key,
        k.max_budget.or(b.and_then(|b| b.max_budget)),
        k.soft_budget.or(b.and_then(|b| b.soft_budget)),
        k.budget_duration
            .as_deref()
            .or(b.and_then(|b| b.budget_duration.as_deref())),
        k.rpm_limit.or(b.and_then(|b| b.rpm_limit)),
        k.tpm_limit.or(b.and_then(|b| b.tpm_limit)),
        k.max_parallel_requests
            .or(b.and_then(|b| b.max_parallel_requests)),
    );
    key
}

/// The scopes of the keys that made `k` (a key made by a non-admin key spends its parent's
/// budget and limits too, up the chain), and whether one of them is blocked.
fn ancestors<'a>(
    k: &KeyDoc,
    budgets: &HashMap<&str, BudgetDoc>,
    entity: &impl Fn(Kind, &str) -> Option<&'a Entity>,
) -> (Vec<ScopeSpec>, bool) {
    let mut out: Vec<ScopeSpec> = Vec::new();
    let mut blocked = false;
    let mut next = k.parent_key_id.clone();
    while let Some(id) = next.take() {
        if out.len() >= MAX_ANCESTORS || out.iter().any(|s| s.id == id) {
            break;
        }
        let Some((e, parent)) = entity(Kind::Key, &id)
            .and_then(|e| Some((e, serde_json::from_str::<KeyDoc>(&e.doc).ok()?)))
        else {
            break;
        };
        blocked |= parent.blocked == Some(true);
        out.push(key_scope(&parent, e, budgets));
        next = parent.parent_key_id;
    }
    (out, blocked)
}

/// The user's scope: its own limits, and for an internal user the configured defaults
/// (`max_internal_user_budget`, ...) where it has none.
fn user_scope(
    id: &str,
    u: &UserDoc,
    defaults: &UserDefaults,
    ledger: Option<&Entity>,
) -> ScopeSpec {
    let internal = u.user_role.as_deref().is_none_or(|r| r == "internal_user");
    let fill = |own: Option<f64>, d: Option<f64>| own.or(d.filter(|_| internal));
    let period = u
        .budget_duration
        .clone()
        .or_else(|| defaults.budget_duration.clone().filter(|_| internal));
    let mut s = scope(Kind::User, id, format!("User={id}"), ledger);
    limits(
        &mut s,
        fill(u.max_budget, defaults.max_budget),
        u.soft_budget,
        period.as_deref(),
        u.rpm_limit,
        u.tpm_limit,
        u.max_parallel_requests,
    );
    s
}

/// An organization's scope: the limits of its budget row, the spend of its own ledger.
fn org_scope(
    id: &str,
    o: &OrgDoc,
    budgets: &HashMap<&str, BudgetDoc>,
    ledger: Option<&Entity>,
) -> ScopeSpec {
    let mut s = scope(Kind::Organization, id, format!("Organization={id}"), ledger);
    s.alias = o.organization_alias.clone();
    if let Some(b) = budgets.get(o.budget_id.as_str()) {
        limits(
            &mut s,
            b.max_budget,
            b.soft_budget,
            b.budget_duration.as_deref(),
            b.rpm_limit,
            b.tpm_limit,
            b.max_parallel_requests,
        );
    }
    s
}

#[expect(clippy::too_many_lines, reason = "table refresh, not the request path")]
fn key_view<'a, F: Fn(Kind, &str) -> Option<&'a Entity>>(
    k: KeyDoc,
    hash: [u8; 32],
    e: &Entity,
    docs: &Docs<'_, F>,
) -> KeyView {
    let doc = &docs.entity;
    let (parents, parent_blocked) = ancestors(&k, &docs.budgets, doc);
    let mut scopes = vec![key_scope(&k, e, &docs.budgets)];
    scopes.extend(parents);
    let team = k.team_id.as_deref().and_then(|t| docs.teams.get(t));
    let user = k.user_id.as_deref().and_then(|u| docs.users.get(u));
    if let (Some(id), Some(t)) = (k.team_id.as_deref(), team) {
        let mut s = scope(Kind::Team, id, format!("Team={id}"), doc(Kind::Team, id));
        s.alias = t.team_alias.clone();
        limits(
            &mut s,
            t.max_budget,
            t.soft_budget,
            t.budget_duration.as_deref(),
            t.rpm_limit,
            t.tpm_limit,
            t.max_parallel_requests,
        );
        scopes.push(s);
        if let Some(uid) = k.user_id.as_deref() {
            let mid = format!("{id}/{uid}");
            if let Some(m) = doc(Kind::TeamMember, &mid)
                .and_then(|m| serde_json::from_str::<MemberDoc>(&m.doc).ok())
            {
                let ledger = doc(Kind::TeamMember, &mid);
                let label = format!("Team member={uid} in Team={id}");
                let mut s = scope(Kind::TeamMember, &mid, label, ledger);
                let duration = m
                    .budget_duration
                    .as_deref()
                    .or(t.budget_duration.as_deref());
                limits(
                    &mut s,
                    m.max_budget_in_team,
                    None,
                    duration,
                    m.rpm_limit,
                    m.tpm_limit,
                    None,
                );
                scopes.push(s);
            }
        }
    }
    // Only a key whose team names an organization pays this lookup.
    let org = team
        .and_then(|t| t.organization_id.as_deref())
        .and_then(|id| docs.orgs.get_key_value(id));
    if let Some((&id, o)) = org {
        let ledger = doc(Kind::Organization, id);
        scopes.push(org_scope(id, o, &docs.budgets, ledger));
    }
    // LiteLLM: a key in a team spends the team's budget, not its user's. A key a non-admin
    // key made spends its user's budget in a team too, so that what a user mints is bounded
    // by the user's budget.
    let user_pays = team.is_none() || k.parent_key_id.is_some();
    if let (Some(id), Some(u), true) = (k.user_id.as_deref(), user, user_pays) {
        scopes.push(user_scope(id, u, docs.user_defaults, doc(Kind::User, id)));
    }
    let model_limits = k
        .model_rpm_limit
        .keys()
        .chain(k.model_tpm_limit.keys())
        .map(|m| {
            let s = ScopeSpec {
                counter: format!("key:{}:model:{m}", e.id),
                label: scopes[0].label.clone(),
                rpm: k.model_rpm_limit.get(m).copied(),
                tpm: k.model_tpm_limit.get(m).copied(),
                ..ScopeSpec::default()
            };
            (m.clone(), s)
        })
        .collect();
    let blocked = k.blocked == Some(true)
        || parent_blocked
        || team.is_some_and(|t| t.blocked)
        || user.is_some_and(|u| u.blocked);
    KeyView {
        expires_at: k.expires.as_deref().and_then(parse_date),
        blocked,
        models: (!k.models.is_empty()).then(|| k.models.clone()),
        team_models: team.and_then(|t| (!t.models.is_empty()).then(|| t.models.clone())),
        org_models: org.and_then(|(_, o)| (!o.models.is_empty()).then(|| o.models.clone())),
        user_models: user
            .filter(|_| team.is_none())
            .and_then(|u| (!u.models.is_empty()).then(|| u.models.clone())),
        user_role: user.and_then(|u| u.user_role.clone()),
        hash,
        logging: crate::core::key_logging::parse(&k.metadata, team.map(|t| &t.metadata)),
        doc: k,
        scopes,
        model_limits,
        series: arc_swap::ArcSwapOption::empty(),
    }
}

#[cfg(test)]
mod tests;
