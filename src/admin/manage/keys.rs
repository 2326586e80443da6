//! `/key/*`: generate, update, delete, info, list, block and regenerate virtual keys. Only
//! the SHA-256 of a key is stored; the key itself is shown once, when it is made.

use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::key_bounds::{enforce_bounds, fill_defaults};
use super::key_fields::{check_custom_key, check_self_service, covers, restrict_own, KeyFields};
use super::nulls::Cleared;
use super::{bad, forbidden, get, load, not_found, now_iso, object, of_kind, parse, put};
use super::{live_spend, reload, remove, reply, reset_iso, start_period, Access, Query};
use super::{ApiError, Reply};
use crate::core::ids::hex;
use crate::governance::entities::{BudgetDoc, KeyDoc, TeamDoc};
use crate::governance::tables::{hash_key, key_name, unhex};
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// A new random key: `sk-` and 32 letters and digits.
pub(crate) fn new_key() -> String {
    format!(
        "sk-{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
    )
}

/// The stored id of a key given as the key (`sk-...`) or as its token (64 hex digits).
pub(crate) fn token_of(key: &str) -> String {
    match unhex(key) {
        Some(_) if !key.starts_with("sk-") => key.to_ascii_lowercase(),
        _ => hex(&hash_key(key.as_bytes())),
    }
}

/// A key as the API shows it: the document, its live spend and budget reset time.
pub(crate) async fn key_object(
    gov: &Governance,
    e: &Entity,
    doc: &KeyDoc,
) -> Result<Value, ApiError> {
    let mut o = object(doc)?;
    o.insert("token_id".into(), Value::String(doc.token.clone()));
    o.insert("blocked".into(), Value::Bool(doc.blocked == Some(true)));
    let spend = live_spend(gov, e, doc.budget_duration.as_deref()).await;
    o.insert("spend".into(), json!(spend));
    o.insert("budget_reset_at".into(), reset_iso(e));
    let tables = gov.tables();
    let view = unhex(&doc.token).and_then(|h| tables.keys.get(&h));
    let org = view.and_then(|k| k.org_id()).map(str::to_string);
    o.insert("org_id".into(), json!(org));
    Ok(Value::Object(o))
}

/// `team_id` names a team, and the key's models are within the team's.
async fn check_team(
    gov: &Governance,
    team_id: Option<&str>,
    models: &[String],
) -> Result<(), ApiError> {
    let Some(id) = team_id else { return Ok(()) };
    let Some((_, team)) = get::<TeamDoc>(gov, Kind::Team, id).await? else {
        return Err(bad(
            "team_id",
            format!("team_id={id} does not exist; create it with /team/new"),
        ));
    };
    let outside = models
        .iter()
        .filter(|m| m.as_str() != "all-team-models")
        .find(|m| !covers(&team.models, m));
    match outside {
        Some(m) => Err(bad(
            "models",
            format!(
                "model \"{m}\" is not in team {id}'s models {:?}",
                team.models
            ),
        )),
        None => Ok(()),
    }
}

async fn check_budget(gov: &Governance, budget_id: Option<&str>) -> Result<(), ApiError> {
    let Some(id) = budget_id else { return Ok(()) };
    match get::<BudgetDoc>(gov, Kind::Budget, id).await? {
        Some(_) => Ok(()),
        None => Err(bad("budget_id", format!("budget_id={id} does not exist"))),
    }
}

/// `key_alias` is not used by another key.
fn check_alias(all: &[Entity], alias: Option<&str>, except: &str) -> Result<(), ApiError> {
    let Some(alias) = alias else { return Ok(()) };
    let taken = of_kind::<KeyDoc>(all, Kind::Key)
        .into_iter()
        .any(|(e, k)| e.id != except && k.key_alias.as_deref() == Some(alias));
    if taken {
        return Err(bad(
            "key_alias",
            format!("Key with alias '{alias}' already exists."),
        ));
    }
    Ok(())
}

/// Make a key from `f` (already checked against the caller): store it, start its budget
/// period, and answer with the key shown once.
pub(crate) async fn create(
    gov: &Governance,
    f: KeyFields,
    created_by: Option<String>,
) -> Result<Value, ApiError> {
    f.validate()?;
    let models = f.models.clone().unwrap_or_default();
    check_team(gov, f.team_id.as_deref(), &models).await?;
    check_budget(gov, f.budget_id.as_deref()).await?;
    check_alias(&load(gov).await?, f.key_alias.as_deref(), "")?;
    let raw = match &f.key {
        Some(k) => {
            check_custom_key("key", k)?;
            k.clone()
        }
        None => new_key(),
    };
    let hash = hash_key(raw.as_bytes());
    if gov.tables().keys.contains_key(&hash) {
        return Err(bad("key", "this key already exists"));
    }
    let token = hex(&hash);
    let now = iso_now_pair(gov);
    let mut doc = KeyDoc {
        token: token.clone(),
        key_name: key_name(&raw),
        created_at: Some(now.1.clone()),
        updated_at: Some(now.1),
        created_by,
        ..KeyDoc::default()
    };
    f.apply(&mut doc, now.0)?;
    if !super::insert(gov, Kind::Key, &token, &doc).await? {
        return Err(bad("key", "this key already exists"));
    }
    let reset = start_period(gov, Kind::Key, &token, doc.budget_duration.as_deref()).await?;
    reload(gov).await?;
    let mut o = object(&doc)?;
    o.insert("key".into(), Value::String(raw));
    o.insert("token_id".into(), Value::String(token));
    o.insert("blocked".into(), Value::Bool(doc.blocked == Some(true)));
    o.insert("spend".into(), json!(0.0));
    o.insert("budget_reset_at".into(), iso_opt(reset));
    Ok(Value::Object(o))
}

fn iso_now_pair(gov: &Governance) -> (i64, String) {
    let now = gov.now_secs();
    (now, crate::governance::period::iso(now))
}

fn iso_opt(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(crate::governance::period::iso(t))
    })
}

/// `POST /key/generate`: a non-admin key's request is narrowed to the caller first (see
/// `restrict_own`), then the configured defaults fill what is still unset, then the
/// configured upper bounds apply to every caller.
pub(crate) async fn generate(gov: &Governance, access: Access<'_>, body: &[u8]) -> Reply {
    let mut f: KeyFields = parse(body)?;
    let asked = f.clone();
    let policy = &gov.settings().minting;
    let by = match access {
        Access::Admin => None,
        Access::Own(own) => {
            check_self_service(&parse::<Map<String, Value>>(body)?)?;
            restrict_own(own, &mut f, gov.now_secs())?;
            own.doc.user_id.clone()
        }
    };
    fill_defaults(&policy.defaults, &mut f, matches!(access, Access::Admin));
    enforce_bounds(&policy.bounds, &mut f, &asked, true)?;
    reply(&create(gov, f, by).await?)
}

/// The record id of the key whose current token is `token`. A key keeps the record (and
/// its spend counters) it was created with; regenerating changes only its token.
fn record_of(gov: &Governance, token: &str) -> String {
    let tables = gov.tables();
    unhex(token)
        .and_then(|h| tables.keys.get(&h).and_then(|k| k.scopes.first()))
        .map_or_else(|| token.to_string(), |s| s.id.clone())
}

/// The stored key a request names (by its raw key or current token), or 404.
async fn existing(gov: &Governance, key: Option<&str>) -> Result<(Entity, KeyDoc), ApiError> {
    let key = key.ok_or_else(|| bad("key", "key is required"))?;
    let token = token_of(key);
    get::<KeyDoc>(gov, Kind::Key, &record_of(gov, &token))
        .await?
        .filter(|(_, doc)| doc.token == token)
        .ok_or_else(|| not_found(format!("Key not found: {}", key_name(key))))
}

/// `POST /key/update`: the fields given change, a nullable limit set to `null` is cleared
/// (see [`Cleared`]), the rest stay.
pub(crate) async fn update(gov: &Governance, body: &[u8]) -> Reply {
    let mut f: KeyFields = parse(body)?;
    let cleared = Cleared::of(body, "key_alias")?;
    let asked = f.clone();
    cleared.check_bounds(&gov.settings().minting.bounds)?;
    enforce_bounds(&gov.settings().minting.bounds, &mut f, &asked, false)?;
    f.validate()?;
    let (e, mut doc) = existing(gov, f.key.as_deref()).await?;
    if f.team_id.is_some() || f.models.is_some() {
        let team = f.team_id.as_deref().or(doc.team_id.as_deref());
        check_team(gov, team, f.models.as_deref().unwrap_or(&doc.models)).await?;
    }
    check_budget(gov, f.budget_id.as_deref()).await?;
    check_alias(&load(gov).await?, f.key_alias.as_deref(), &e.id)?;
    let new_period = f.budget_duration.clone();
    f.apply(&mut doc, gov.now_secs())?;
    cleared.apply_key(&mut doc);
    doc.updated_at = Some(now_iso(gov));
    put(gov, Kind::Key, &e.id, &doc).await?;
    if new_period.is_some() {
        start_period(gov, Kind::Key, &e.id, new_period.as_deref()).await?;
    }
    reload(gov).await?;
    let (e, doc) = existing(gov, Some(&doc.token)).await?;
    reply(&key_object(gov, &e, &doc).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteKeys {
    keys: Option<Vec<String>>,
    key_aliases: Option<Vec<String>>,
}

/// `POST /key/delete`: every key named must exist, or nothing is deleted.
pub(crate) async fn delete(gov: &Governance, body: &[u8]) -> Reply {
    let d: DeleteKeys = parse(body)?;
    let all = load(gov).await?;
    let keys = of_kind::<KeyDoc>(&all, Kind::Key);
    let mut tokens = Vec::new();
    let mut missing = Vec::new();
    let given: Vec<String> = match (d.keys, d.key_aliases) {
        (Some(ks), _) if !ks.is_empty() => {
            for k in &ks {
                let t = token_of(k);
                match keys.iter().find(|(_, doc)| doc.token == t) {
                    Some((e, _)) => tokens.push(e.id.clone()),
                    None => missing.push(key_name(k)),
                }
            }
            ks
        }
        (_, Some(aliases)) if !aliases.is_empty() => {
            for a in &aliases {
                match keys
                    .iter()
                    .find(|(_, k)| k.key_alias.as_deref() == Some(a.as_str()))
                {
                    Some((e, _)) => tokens.push(e.id.clone()),
                    None => missing.push(a.clone()),
                }
            }
            aliases
        }
        _ => return Err(bad("keys", "give keys or key_aliases to delete")),
    };
    if !missing.is_empty() {
        return Err(not_found(format!("Keys not found: {}", missing.join(", "))));
    }
    for t in &tokens {
        remove(gov, Kind::Key, t).await?;
    }
    reload(gov).await?;
    reply(&json!({ "deleted_keys": given }))
}

/// `GET /key/info?key=`: a non-admin key sees itself and its user's keys.
pub(crate) async fn info(gov: &Governance, access: Access<'_>, q: &Query) -> Reply {
    let asked = match (q.get("key"), access) {
        (Some(k), _) => k.to_string(),
        (None, Access::Own(own)) => hex(&own.hash),
        (None, Access::Admin) => return Err(bad("key", "key is required")),
    };
    // An unknown key is a 404 for every caller, as LiteLLM 1.109.1 answers (existence first):
    // a key's hash cannot be guessed, so this tells a caller nothing about keys it lacks.
    let (e, doc) = existing(gov, Some(&asked)).await?;
    if let Access::Own(own) = access {
        let same_user = own.doc.user_id.is_some() && own.doc.user_id == doc.user_id;
        if !(same_user || hex(&own.hash) == doc.token) {
            return Err(forbidden(
                "a non-admin key may only read keys of its own user",
            ));
        }
    }
    reply(&json!({ "key": asked, "info": key_object(gov, &e, &doc).await? }))
}

/// `GET /key/list`.
pub(crate) async fn list(gov: &Governance, q: &Query) -> Reply {
    let page = q.number("page", 1)?;
    let size = q.number("size", 10)?;
    let full = q.get("return_full_object") == Some("true");
    let all = load(gov).await?;
    let mut keys: Vec<(&Entity, KeyDoc)> = of_kind::<KeyDoc>(&all, Kind::Key)
        .into_iter()
        .filter(|(_, k)| {
            q.get("user_id")
                .is_none_or(|u| k.user_id.as_deref() == Some(u))
        })
        .filter(|(_, k)| {
            q.get("team_id")
                .is_none_or(|t| k.team_id.as_deref() == Some(t))
        })
        .filter(|(_, k)| {
            q.get("key_alias")
                .is_none_or(|a| k.key_alias.as_deref() == Some(a))
        })
        .collect();
    keys.sort_by(|a, b| (&a.1.created_at, &a.0.id).cmp(&(&b.1.created_at, &b.0.id)));
    let total = keys.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (e, k) in keys
        .iter()
        .skip(start)
        .take(usize::try_from(size).unwrap_or(usize::MAX))
    {
        out.push(match full {
            true => key_object(gov, e, k).await?,
            false => Value::String(k.token.clone()),
        });
    }
    reply(&json!({
        "keys": out,
        "total_count": total,
        "current_page": page,
        "total_pages": total.div_ceil(size),
    }))
}

/// `POST /key/block` and `/key/unblock`.
pub(crate) async fn block(gov: &Governance, body: &[u8], blocked: bool) -> Reply {
    let f: KeyFields = parse(body)?;
    let (e, mut doc) = existing(gov, f.key.as_deref()).await?;
    doc.blocked = Some(blocked);
    doc.updated_at = Some(now_iso(gov));
    put(gov, Kind::Key, &e.id, &doc).await?;
    reload(gov).await?;
    reply(&key_object(gov, &e, &doc).await?)
}

/// `POST /key/regenerate` and `/key/{key}/regenerate`: a new key for the same record (its
/// spend kept); the old key stops working.
pub(crate) async fn regenerate(gov: &Governance, path_key: Option<&str>, body: &[u8]) -> Reply {
    let mut f: KeyFields = parse(body)?;
    let asked = f.clone();
    enforce_bounds(&gov.settings().minting.bounds, &mut f, &asked, false)?;
    f.validate()?;
    let (e, mut doc) = existing(gov, path_key.or(f.key.as_deref())).await?;
    if f.team_id.is_some() || f.models.is_some() {
        let team = f.team_id.as_deref().or(doc.team_id.as_deref());
        check_team(gov, team, f.models.as_deref().unwrap_or(&doc.models)).await?;
    }
    check_budget(gov, f.budget_id.as_deref()).await?;
    check_alias(&load(gov).await?, f.key_alias.as_deref(), &e.id)?;
    let raw = f.new_key.take().unwrap_or_else(new_key);
    let token = hex(&hash_key(raw.as_bytes()));
    let new_period = f.budget_duration.clone();
    f.apply(&mut doc, gov.now_secs())?;
    doc.token = token.clone();
    doc.key_name = key_name(&raw);
    doc.updated_at = Some(now_iso(gov));
    let taken = unhex(&token).is_some_and(|h| gov.tables().keys.contains_key(&h))
        || get::<KeyDoc>(gov, Kind::Key, &token).await?.is_some();
    if taken {
        return Err(bad("new_key", "the new key is already in use"));
    }
    // Same record, new token: spend, counters and limits carry over; the old key is gone
    // from the in-memory table at the reload below.
    put(gov, Kind::Key, &e.id, &doc).await?;
    if new_period.is_some() {
        start_period(gov, Kind::Key, &e.id, new_period.as_deref()).await?;
    }
    reload(gov).await?;
    let (e, doc) = existing(gov, Some(&token)).await?;
    let mut o = match key_object(gov, &e, &doc).await? {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    o.insert("key".into(), Value::String(raw));
    reply(&Value::Object(o))
}
