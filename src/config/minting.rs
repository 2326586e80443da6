//! `litellm_settings`' key and user creation settings (`upperbound_key_generate_params`,
//! `default_key_generate_params`, `max_internal_user_budget`, `internal_user_budget_duration`,
//! `default_internal_user_params`) checked into a [`MintingPolicy`].

use super::raw::{RawInternalUserParams, RawKeyBounds, RawKeyDefaults, RawLitellmSettings};
use crate::core::config_error::ConfigError;
use crate::governance::minting::ROLES;
use crate::governance::minting::{seconds, KeyBounds, KeyDefaults, MintingPolicy, UserDefaults};
use crate::governance::period::Period;

const LS: &str = "litellm_settings";

/// Keys of `default_internal_user_params` LiteLLM reads that Switchyard ignores.
const USER_PARAMS_IGNORED: &[&str] = &["available_teams", "teams", "user_email", "metadata"];

fn dollars(path: &str, v: Option<f64>) -> Result<Option<f64>, ConfigError> {
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0) => Err(ConfigError::new(
            path,
            format!("expected a non-negative number of dollars, got {x}"),
        )),
        v => Ok(v),
    }
}

/// A budget period (`budget_duration`): any length budgets accept.
fn period(path: &str, v: &Option<String>) -> Result<Option<String>, ConfigError> {
    match v {
        Some(d) => match Period::parse(d) {
            Ok(_) => Ok(Some(d.clone())),
            Err(e) => Err(ConfigError::new(path, e)),
        },
        None => Ok(None),
    }
}

/// A duration with its length in seconds.
fn timed(path: &str, v: &Option<String>) -> Result<Option<(String, i64)>, ConfigError> {
    match v {
        Some(d) => match seconds(d) {
            Ok(s) => Ok(Some((d.clone(), s))),
            Err(e) => Err(ConfigError::new(path, e)),
        },
        None => Ok(None),
    }
}

fn bounds(b: &RawKeyBounds) -> Result<KeyBounds, ConfigError> {
    let at = |k: &str| format!("{LS}.upperbound_key_generate_params.{k}");
    Ok(KeyBounds {
        max_budget: dollars(&at("max_budget"), b.max_budget)?,
        budget_duration: timed(&at("budget_duration"), &b.budget_duration)?,
        duration: timed(&at("duration"), &b.duration)?,
        max_parallel_requests: b.max_parallel_requests,
        tpm_limit: b.tpm_limit,
        rpm_limit: b.rpm_limit,
    })
}

/// A default above its bound would make every request that leaves the field out fail.
fn check_under(
    field: &str,
    default: Option<f64>,
    bound: Option<f64>,
    shown: impl Fn(f64) -> String,
) -> Result<(), ConfigError> {
    match (default, bound) {
        (Some(d), Some(b)) if d > b => Err(ConfigError::new(
            format!("{LS}.default_key_generate_params.{field}"),
            format!(
                "{} is above upperbound_key_generate_params.{field} ({})",
                shown(d),
                shown(b)
            ),
        )),
        _ => Ok(()),
    }
}

fn defaults(d: &RawKeyDefaults, b: &KeyBounds) -> Result<KeyDefaults, ConfigError> {
    let at = |k: &str| format!("{LS}.default_key_generate_params.{k}");
    let metadata = match &d.metadata {
        Some(m) => match serde_json::to_value(m) {
            Ok(serde_json::Value::Object(o)) => Some(o),
            _ => {
                return Err(ConfigError::new(
                    at("metadata"),
                    "expected a mapping with string keys",
                ))
            }
        },
        None => None,
    };
    let out = KeyDefaults {
        max_budget: dollars(&at("max_budget"), d.max_budget)?,
        budget_duration: period(&at("budget_duration"), &d.budget_duration)?,
        duration: timed(&at("duration"), &d.duration)?.map(|(s, _)| s),
        max_parallel_requests: d.max_parallel_requests,
        tpm_limit: d.tpm_limit,
        rpm_limit: d.rpm_limit,
        user_id: d.user_id.clone(),
        team_id: d.team_id.clone(),
        models: d.models.clone(),
        metadata,
    };
    let n = |v: Option<u64>| v.map(|v| v as f64);
    let secs = |v: &Option<String>| v.as_deref().and_then(|s| seconds(s).ok()).map(|s| s as f64);
    let bound_secs = |v: &Option<(String, i64)>| v.as_ref().map(|(_, s)| *s as f64);
    let plain = |v: f64| v.to_string();
    let as_secs = |v: f64| format!("{v} seconds");
    check_under("max_budget", out.max_budget, b.max_budget, plain)?;
    check_under(
        "max_parallel_requests",
        n(out.max_parallel_requests),
        n(b.max_parallel_requests),
        plain,
    )?;
    check_under("tpm_limit", n(out.tpm_limit), n(b.tpm_limit), plain)?;
    check_under("rpm_limit", n(out.rpm_limit), n(b.rpm_limit), plain)?;
    check_under(
        "budget_duration",
        secs(&out.budget_duration),
        bound_secs(&b.budget_duration),
        as_secs,
    )?;
    check_under(
        "duration",
        secs(&out.duration),
        bound_secs(&b.duration),
        as_secs,
    )?;
    Ok(out)
}

fn users(
    ls: &RawLitellmSettings,
    p: Option<&RawInternalUserParams>,
    warnings: &mut Vec<String>,
) -> Result<UserDefaults, ConfigError> {
    let at = |k: &str| format!("{LS}.default_internal_user_params.{k}");
    let empty = RawInternalUserParams::default();
    let p = p.unwrap_or(&empty);
    for k in p.rest.keys() {
        if USER_PARAMS_IGNORED.contains(&k.as_str()) {
            warnings.push(at(k));
        } else {
            return Err(ConfigError::new(at(k), "unknown key"));
        }
    }
    if let Some(r) = &p.user_role {
        if !ROLES.contains(&r.as_str()) {
            return Err(ConfigError::new(
                at("user_role"),
                format!("\"{r}\" is not a role; use one of {ROLES:?}"),
            ));
        }
    }
    let own = dollars(
        &format!("{LS}.max_internal_user_budget"),
        ls.max_internal_user_budget,
    )?;
    let own_period = period(
        &format!("{LS}.internal_user_budget_duration"),
        &ls.internal_user_budget_duration,
    )?;
    Ok(UserDefaults {
        user_role: p.user_role.clone(),
        max_budget: own.or(dollars(&at("max_budget"), p.max_budget)?),
        budget_duration: own_period.or(period(&at("budget_duration"), &p.budget_duration)?),
        models: p.models.clone(),
        tpm_limit: p.tpm_limit,
        rpm_limit: p.rpm_limit,
        max_parallel_requests: p.max_parallel_requests,
    })
}

/// The key and user creation policy of `litellm_settings`; ignored keys become warnings.
pub(super) fn policy(
    ls: &RawLitellmSettings,
    warnings: &mut Vec<String>,
) -> Result<MintingPolicy, ConfigError> {
    let b = match &ls.upperbound_key_generate_params {
        Some(b) => bounds(b)?,
        None => KeyBounds::default(),
    };
    let d = match &ls.default_key_generate_params {
        Some(d) => defaults(d, &b)?,
        None => KeyDefaults::default(),
    };
    Ok(MintingPolicy {
        users: users(ls, ls.default_internal_user_params.as_ref(), warnings)?,
        bounds: b,
        defaults: d,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::runtime::tests::err;
    use crate::config::{load_str, BuildOptions};

    #[test]
    fn bounds_and_defaults_load_and_are_checked() {
        let y = "litellm_settings:\n  upperbound_key_generate_params:\n    max_budget: 10\n    duration: 30d\n    budget_duration: 30d\n    rpm_limit: '100'\n  default_key_generate_params:\n    max_budget: 1\n    models: [a]\n    metadata: {team: x}\n  max_internal_user_budget: 5\n  default_internal_user_params:\n    budget_duration: 1mo\n    available_teams: [t]\n";
        let rt = load_str(y, &BuildOptions::default()).unwrap();
        let p = &rt.settings.governance.minting;
        assert_eq!(p.bounds.max_budget, Some(10.0));
        assert_eq!(p.bounds.duration, Some(("30d".into(), 30 * 86_400)));
        assert_eq!(p.bounds.rpm_limit, Some(100));
        assert_eq!(p.defaults.max_budget, Some(1.0));
        assert_eq!(p.defaults.metadata.as_ref().unwrap()["team"], "x");
        assert_eq!(p.users.max_budget, Some(5.0));
        assert_eq!(p.users.budget_duration.as_deref(), Some("1mo"));
        assert!(rt
            .warnings
            .contains(&"litellm_settings.default_internal_user_params.available_teams".into()));
        assert!(!rt.warnings.iter().any(|w| w.contains("upperbound")));

        assert_eq!(
            err("litellm_settings:\n  upperbound_key_generate_params:\n    duration: soon\n"),
            "litellm_settings.upperbound_key_generate_params.duration: \"soon\" is not a duration: use a number and s, m, h, d, w or mo (\"30d\")"
        );
        assert!(
            err("litellm_settings:\n  upperbound_key_generate_params:\n    max_budgt: 1\n")
                .starts_with(
                    "litellm_settings.upperbound_key_generate_params.max_budgt: unknown field"
                ),
        );
        assert_eq!(
            err("litellm_settings:\n  upperbound_key_generate_params: {max_budget: 1}\n  default_key_generate_params: {max_budget: 2}\n"),
            "litellm_settings.default_key_generate_params.max_budget: 2 is above upperbound_key_generate_params.max_budget (1)"
        );
        assert_eq!(
            err("litellm_settings:\n  max_internal_user_budget: -1\n"),
            "litellm_settings.max_internal_user_budget: expected a non-negative number of dollars, got -1"
        );
        assert_eq!(
            err("litellm_settings:\n  default_internal_user_params: {user_role: root}\n"),
            "litellm_settings.default_internal_user_params.user_role: \"root\" is not a role; use one of [\"proxy_admin\", \"proxy_admin_viewer\", \"internal_user\", \"internal_user_viewer\"]"
        );
    }
}
