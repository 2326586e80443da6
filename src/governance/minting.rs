//! What keys and users are made with when the caller leaves a field out, and the most any
//! `/key/*` request may ask for: LiteLLM's `default_key_generate_params`,
//! `upperbound_key_generate_params`, `max_internal_user_budget`,
//! `internal_user_budget_duration` and `default_internal_user_params`, validated.

use serde_json::{Map, Value};

use super::period::Period;

/// LiteLLM's user roles.
pub const ROLES: &[&str] = &[
    "proxy_admin",
    "proxy_admin_viewer",
    "internal_user",
    "internal_user_viewer",
];

/// `litellm_settings.upperbound_key_generate_params`: the most a `/key/generate`,
/// `/key/update` or `/key/regenerate` request may set, whoever calls. A generated key that
/// leaves a field out gets the bound.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyBounds {
    pub max_budget: Option<f64>,
    /// The longest budget period (`budget_duration`), as given and in seconds.
    pub budget_duration: Option<(String, i64)>,
    /// The longest key lifetime (`duration`), as given and in seconds.
    pub duration: Option<(String, i64)>,
    pub max_parallel_requests: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
}

/// `litellm_settings.default_key_generate_params`: what `/key/generate` fills in for fields
/// the request left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyDefaults {
    pub max_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub duration: Option<String>,
    pub max_parallel_requests: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub models: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
}

/// What an `internal_user` gets when it has no value of its own: `max_internal_user_budget`
/// (else `default_internal_user_params.max_budget`), `internal_user_budget_duration` (else
/// `default_internal_user_params.budget_duration`), and the other defaults of
/// `default_internal_user_params`, filled in by `/user/new`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserDefaults {
    /// The role `/user/new` gives when the request names none (default `internal_user`).
    pub user_role: Option<String>,
    pub max_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub models: Option<Vec<String>>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
}

/// Everything key and user creation reads from the config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MintingPolicy {
    pub bounds: KeyBounds,
    pub defaults: KeyDefaults,
    pub users: UserDefaults,
}

/// Seconds in a duration string (`30s`, `1h`, `30d`, `1mo`; a month counts 30 days), as
/// LiteLLM compares durations.
pub fn seconds(d: &str) -> Result<i64, String> {
    Ok(period_secs(Period::parse(d)?))
}

/// A period's length in seconds (a month counts 30 days).
pub fn period_secs(p: Period) -> i64 {
    match p {
        Period::Every(n) => n,
        Period::Week => 7 * 86_400,
        Period::Months(n) => n.saturating_mul(30 * 86_400),
    }
}

/// A period as a `budget_duration` string that parses back to it.
pub fn period_text(p: Period) -> String {
    match p {
        Period::Every(n) if n % 86_400 == 0 => format!("{}d", n / 86_400),
        Period::Every(n) => format!("{n}s"),
        Period::Week => "7d".into(),
        Period::Months(n) => format!("{n}mo"),
    }
}

impl KeyBounds {
    /// Whether any bound is set (none: nothing to check).
    pub fn is_empty(&self) -> bool {
        *self == KeyBounds::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_compare_in_seconds() {
        assert_eq!(seconds("1s"), Ok(1));
        assert_eq!(seconds("30d"), Ok(30 * 86_400));
        assert_eq!(seconds("7d"), Ok(7 * 86_400));
        assert_eq!(seconds("1mo"), Ok(30 * 86_400));
        assert_eq!(seconds("2h"), Ok(7_200));
        assert!(seconds("soon").is_err());
        for d in ["30s", "2h", "1d", "7d", "30d", "3mo", "2w"] {
            let p = Period::parse(d).unwrap();
            assert_eq!(Period::parse(&period_text(p)), Ok(p), "{d}");
        }
        assert!(KeyBounds::default().is_empty());
    }
}
