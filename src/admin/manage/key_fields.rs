//! The fields `/key/generate`, `/key/update` and `/key/regenerate` accept, their checks, and
//! what a non-admin key may ask for when it makes a key for itself.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{bad, forbidden, money, period};
use crate::core::error::ApiError;
use crate::governance::entities::{to_nano, KeyDoc};
use crate::governance::minting::{period_secs, period_text, seconds};
use crate::governance::period::{iso, Period};
use crate::governance::tables::KeyView;

/// LiteLLM's key types.
const KEY_TYPES: &[&str] = &["default", "llm_api", "management", "read_only"];

/// A key request's fields; `None` (absent or null) leaves a field as it is.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct KeyFields {
    /// generate: a custom key (`sk-...`); update, block, regenerate: the key to change.
    pub key: Option<String>,
    /// regenerate: the new key, instead of a random one.
    pub new_key: Option<String>,
    pub key_alias: Option<String>,
    /// `30s`, `1h`, `30d`: the key expires that long from now.
    pub duration: Option<String>,
    pub models: Option<Vec<String>>,
    pub aliases: Option<Map<String, Value>>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub budget_id: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
    pub model_rpm_limit: Option<BTreeMap<String, u64>>,
    pub model_tpm_limit: Option<BTreeMap<String, u64>>,
    pub metadata: Option<Map<String, Value>>,
    pub tags: Option<Vec<String>>,
    pub blocked: Option<bool>,
    pub key_type: Option<String>,
    pub allowed_routes: Option<Vec<String>>,
    /// Not a key field: accepted only to refuse it from non-admin keys.
    pub user_role: Option<String>,
    /// The latest the key may expire (unix seconds): a non-admin caller's own expiry. A key
    /// without `duration` expires then.
    #[serde(skip)]
    pub not_after: Option<i64>,
    /// The record id of the non-admin key making this one.
    #[serde(skip)]
    pub parent: Option<String>,
}

/// The fields a non-admin key may send to `/key/generate`; any other field with a value is
/// refused (mass assignment: `permissions`, `spend`, `budget_id`, `organization_id`, ...).
const SELF_SERVICE_FIELDS: &[&str] = &[
    "key",
    "key_alias",
    "duration",
    "models",
    "aliases",
    "max_budget",
    "soft_budget",
    "budget_duration",
    "user_id",
    "team_id",
    "tpm_limit",
    "rpm_limit",
    "max_parallel_requests",
    "model_rpm_limit",
    "model_tpm_limit",
    "metadata",
    "tags",
    "allowed_routes",
];

/// LiteLLM's `duration` that never expires (deprecated there in favour of `null`).
pub(crate) const FOREVER: &str = "-1";

/// Seconds in a `duration` (`30s`, `1h`, `30d`; months count 30 days); `"-1"` (never
/// expires) is longer than any.
pub(crate) fn duration_secs(d: &str) -> Result<i64, ApiError> {
    if d == FOREVER {
        return Ok(i64::MAX);
    }
    let p = Period::parse(d).map_err(|e| bad("duration", format!("duration: {e}")))?;
    Ok(period_secs(p))
}

/// A custom key must look like one.
pub(crate) fn check_custom_key(field: &str, key: &str) -> Result<(), ApiError> {
    if !key.starts_with("sk-") || key.len() < 8 {
        return Err(bad(
            field,
            format!("{field} must start with \"sk-\" (and be 8+ characters)"),
        ));
    }
    Ok(())
}

impl KeyFields {
    /// Values that are wrong whoever asks.
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        money("max_budget", self.max_budget)?;
        money("soft_budget", self.soft_budget)?;
        period("budget_duration", self.budget_duration.as_deref())?;
        if let Some(d) = &self.duration {
            duration_secs(d)?;
        }
        if let Some(t) = &self.key_type {
            if !KEY_TYPES.contains(&t.as_str()) {
                return Err(bad(
                    "key_type",
                    format!("key_type must be one of {KEY_TYPES:?}"),
                ));
            }
        }
        if let Some(k) = &self.new_key {
            check_custom_key("new_key", k)?;
        }
        Ok(())
    }

    /// Copy every field that was given onto `doc` (`key` and `new_key` excepted).
    pub(crate) fn apply(self, doc: &mut KeyDoc, now: i64) -> Result<(), ApiError> {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        let by_duration = match self.duration.as_deref() {
            Some(FOREVER) => {
                doc.expires = None;
                None
            }
            Some(d) => Some(now.saturating_add(duration_secs(d)?)),
            None => None,
        };
        let expires = match (by_duration, self.not_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = expires {
            doc.expires = Some(iso(at));
        }
        if self.parent.is_some() {
            doc.parent_key_id = self.parent;
        }
        let opt = |v: Option<String>| v.map(Some);
        set(&mut doc.key_alias, opt(self.key_alias));
        set(&mut doc.models, self.models);
        set(&mut doc.aliases, self.aliases);
        set(&mut doc.max_budget, self.max_budget.map(Some));
        set(&mut doc.soft_budget, self.soft_budget.map(Some));
        set(&mut doc.budget_duration, opt(self.budget_duration));
        set(&mut doc.user_id, opt(self.user_id));
        set(&mut doc.team_id, opt(self.team_id));
        set(&mut doc.budget_id, opt(self.budget_id));
        set(&mut doc.tpm_limit, self.tpm_limit.map(Some));
        set(&mut doc.rpm_limit, self.rpm_limit.map(Some));
        set(
            &mut doc.max_parallel_requests,
            self.max_parallel_requests.map(Some),
        );
        set(&mut doc.model_rpm_limit, self.model_rpm_limit);
        set(&mut doc.model_tpm_limit, self.model_tpm_limit);
        set(&mut doc.metadata, self.metadata);
        set(&mut doc.tags, self.tags);
        set(&mut doc.blocked, self.blocked.map(Some));
        set(&mut doc.key_type, opt(self.key_type));
        set(&mut doc.allowed_routes, self.allowed_routes);
        Ok(())
    }
}

/// Whether a model list allows `model` (empty: every model; `*` and `prefix*` patterns).
pub(crate) fn covers(allowed: &[String], model: &str) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|a| {
            a == model
                || a == "*"
                || a == "all-proxy-models"
                || a.strip_suffix('*').is_some_and(|p| model.starts_with(p))
        })
}

fn denied(field: &str, why: String) -> ApiError {
    forbidden(format!("{field}: {why}")).with_param(field)
}

/// `user_id` / `team_id`: a non-admin key makes keys only for its own user and team.
fn force_own(
    field: &str,
    asked: &mut Option<String>,
    own: &Option<String>,
) -> Result<(), ApiError> {
    if let Some(a) = asked.as_deref() {
        if own.as_deref() != Some(a) {
            return Err(denied(
                field,
                format!("a non-admin key may only use its own {field}"),
            ));
        }
    }
    asked.clone_from(own);
    Ok(())
}

/// A limit no larger than the caller's own; unset means the caller's (never unlimited).
fn cap<T: PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    asked: &mut Option<T>,
    own: Option<T>,
) -> Result<(), ApiError> {
    let Some(o) = own else { return Ok(()) };
    match *asked {
        Some(a) if a > o => Err(denied(
            field,
            format!("{a} is more than this key's own {o}"),
        )),
        Some(_) => Ok(()),
        None => {
            *asked = Some(o);
            Ok(())
        }
    }
}

/// A non-admin key sends only the fields it may set: any other field with a value (not
/// null, `{}`, `[]` or `""`) is a 403 naming it.
pub(crate) fn check_self_service(body: &Map<String, Value>) -> Result<(), ApiError> {
    let set = |v: &Value| match v {
        Value::Null => false,
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    };
    let refused = body
        .iter()
        .find(|(k, v)| set(v) && !SELF_SERVICE_FIELDS.contains(&k.as_str()));
    match refused {
        Some((field, _)) => Err(denied(field, "only an admin may set it".into())),
        None => Ok(()),
    }
}

/// `duration` and `budget_duration` against the caller's own: the new key expires no later
/// than the caller, and its budget period is no shorter (a key with a budget but no period
/// makes only keys without one). `now` is unix seconds.
fn restrict_time(own: &KeyView, f: &mut KeyFields, now: i64) -> Result<(), ApiError> {
    if let (Some(d), Some(at)) = (&f.duration, own.expires_at) {
        let until = now.saturating_add(duration_secs(d)?);
        if until > at {
            let why = format!(
                "\"{d}\" would outlive this key, which expires at {}",
                iso(at)
            );
            return Err(denied("duration", why));
        }
    }
    f.not_after = own.expires_at;
    let scope = own.scopes.first();
    if scope.and_then(|s| s.max_budget).is_none() {
        return Ok(());
    }
    let mine = scope.and_then(|s| s.period);
    match (&f.budget_duration, mine) {
        (None, _) => {
            // The caller's own text (`30d`), else its budget tier's period.
            let own_text = own.doc.budget_duration.clone().filter(|_| mine.is_some());
            f.budget_duration = own_text.or_else(|| mine.map(period_text));
            Ok(())
        }
        (Some(asked), None) => Err(denied(
            "budget_duration",
            format!("\"{asked}\" is shorter than this key's budget, which never resets"),
        )),
        (Some(asked), Some(p)) => {
            let secs = seconds(asked).map_err(|e| bad("budget_duration", e))?;
            if secs < period_secs(p) {
                let why = format!(
                    "\"{asked}\" is shorter than this key's budget_duration \"{}\"",
                    period_text(p)
                );
                return Err(denied("budget_duration", why));
            }
            Ok(())
        }
    }
}

/// What a non-admin key may ask for when it makes a key: nothing it does not have itself.
/// Fields left out are narrowed to the caller's own, so the new key is never wider; the new
/// key also spends the caller's budget and limits (`parent`). `now` is unix seconds.
pub(crate) fn restrict_own(own: &KeyView, f: &mut KeyFields, now: i64) -> Result<(), ApiError> {
    let admin_only = [
        ("key_type", f.key_type.is_some()),
        ("user_role", f.user_role.is_some()),
        ("blocked", f.blocked.is_some()),
        ("budget_id", f.budget_id.is_some()),
    ];
    if let Some((field, _)) = admin_only.into_iter().find(|(_, set)| *set) {
        return Err(denied(field, "only an admin may set it".into()));
    }
    restrict_time(own, f, now)?;
    f.parent = own.scopes.first().map(|s| s.id.clone());
    force_own("user_id", &mut f.user_id, &own.doc.user_id)?;
    force_own("team_id", &mut f.team_id, &own.doc.team_id)?;
    let mine = &own.doc.models;
    match f.models.as_deref() {
        Some(asked) if !asked.is_empty() => {
            if let Some(m) = asked.iter().find(|m| !covers(mine, m)) {
                return Err(denied(
                    "models",
                    format!("\"{m}\" is not one of this key's models"),
                ));
            }
        }
        _ => f.models = Some(mine.clone()),
    }
    if let Some(aliases) = &f.aliases {
        let target = aliases
            .values()
            .filter_map(Value::as_str)
            .find(|m| !covers(mine, m));
        if let Some(m) = target {
            return Err(denied(
                "aliases",
                format!("\"{m}\" is not one of this key's models"),
            ));
        }
    }
    let routes = &own.doc.allowed_routes;
    match f.allowed_routes.as_deref() {
        Some(asked) if !asked.is_empty() => {
            if let Some(r) = asked.iter().find(|r| !routes.contains(r)) {
                return Err(denied(
                    "allowed_routes",
                    format!("\"{r}\" is not one of this key's allowed_routes"),
                ));
            }
        }
        _ => f.allowed_routes = Some(routes.clone()),
    }
    let scope = own.scopes.first();
    let own_budget = scope.and_then(|s| s.max_budget);
    if let (Some(a), Some(o)) = (f.max_budget, own_budget) {
        if to_nano(a) > o {
            let why = format!("{a} is more than this key's own {}", o as f64 / 1e9);
            return Err(denied("max_budget", why));
        }
    }
    if f.max_budget.is_none() {
        f.max_budget = own_budget.map(|o| o as f64 / 1e9);
    }
    cap("rpm_limit", &mut f.rpm_limit, scope.and_then(|s| s.rpm))?;
    cap("tpm_limit", &mut f.tpm_limit, scope.and_then(|s| s.tpm))?;
    let parallel = scope.and_then(|s| s.max_parallel);
    cap(
        "max_parallel_requests",
        &mut f.max_parallel_requests,
        parallel,
    )?;
    Ok(())
}
