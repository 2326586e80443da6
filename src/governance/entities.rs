//! The governed entities as LiteLLM's management API reads and writes them: keys, teams,
//! members, users, customers, budgets and organizations, stored as JSON documents.
//!
//! Money crosses the API as LiteLLM's float dollars and is kept as integer nano-USD
//! everywhere else (`to_nano`, `from_nano`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Nano-USD per dollar.
pub const NANO: f64 = 1e9;

/// Dollars (float, as the API speaks) to nano-USD, saturating; negative and NaN become 0.
pub fn to_nano(usd: f64) -> i64 {
    if usd.is_nan() || usd <= 0.0 {
        return 0;
    }
    let n = (usd * NANO).round();
    if n >= i64::MAX as f64 {
        i64::MAX
    } else {
        n as i64
    }
}

/// Nano-USD to dollars for API answers.
pub fn from_nano(nano: i64) -> f64 {
    nano as f64 / NANO
}

/// A virtual key. `token` is the SHA-256 (hex) of the key; the key itself is never stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct KeyDoc {
    pub token: String,
    /// `sk-...abcd`: enough to recognise a key in a list.
    pub key_name: String,
    pub key_alias: Option<String>,
    /// Expiry as RFC 3339 UTC; `None` never expires.
    pub expires: Option<String>,
    pub models: Vec<String>,
    pub aliases: Map<String, Value>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub budget_id: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
    pub model_rpm_limit: BTreeMap<String, u64>,
    pub model_tpm_limit: BTreeMap<String, u64>,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
    pub blocked: Option<bool>,
    /// `default`, `llm_api`, `management` or `read_only` (LiteLLM's key types).
    pub key_type: Option<String>,
    pub allowed_routes: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub created_by: Option<String>,
    /// Switchyard: the record id (`token_id` when it was made) of the non-admin key that
    /// made this one; the key also spends that key's budget and limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_key_id: Option<String>,
}

/// A team: shared budget and limits for its keys.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TeamDoc {
    pub team_id: String,
    pub team_alias: Option<String>,
    pub models: Vec<String>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
    pub blocked: bool,
    pub members_with_roles: Vec<Member>,
    /// The organization the team belongs to: its keys also spend the organization's budget
    /// and may call only its models.
    pub organization_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A team member as `members_with_roles` lists them.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Member {
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    /// `admin` or `user`.
    pub role: String,
}

/// A member's own budget inside one team (`max_budget_in_team`); id `team_id/user_id`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MemberDoc {
    pub team_id: String,
    pub user_id: String,
    pub max_budget_in_team: Option<f64>,
    pub budget_duration: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
}

/// An internal user (a person or service owning keys).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct UserDoc {
    pub user_id: String,
    pub user_email: Option<String>,
    pub user_alias: Option<String>,
    /// `proxy_admin`, `proxy_admin_viewer`, `internal_user` or `internal_user_viewer`.
    pub user_role: Option<String>,
    pub teams: Vec<String>,
    pub models: Vec<String>,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub max_parallel_requests: Option<u64>,
    pub metadata: Map<String, Value>,
    pub blocked: bool,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An end user of the calling application (`user` in the body or the customer header).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CustomerDoc {
    pub user_id: String,
    pub alias: Option<String>,
    pub blocked: bool,
    pub max_budget: Option<f64>,
    pub budget_duration: Option<String>,
    pub budget_id: Option<String>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub allowed_model_region: Option<String>,
    pub default_model: Option<String>,
    pub metadata: Map<String, Value>,
    pub created_at: Option<String>,
}

/// A reusable budget (`/budget/new`) that customers and keys can point at by `budget_id`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BudgetDoc {
    pub budget_id: String,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub max_parallel_requests: Option<u64>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
    pub budget_duration: Option<String>,
    pub model_max_budget: Map<String, Value>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An organization: teams under one budget and model list. Its limits live in the budget
/// row `budget_id` (LiteLLM's `litellm_budget_table`); its spend in its own ledger.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrgDoc {
    pub organization_id: String,
    pub organization_alias: Option<String>,
    pub budget_id: String,
    /// Models its teams' keys may call (empty: every model).
    pub models: Vec<String>,
    pub metadata: Map<String, Value>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A user's membership of an organization; id `organization_id/user_id`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrgMemberDoc {
    pub organization_id: String,
    pub user_id: String,
    /// `org_admin`, `internal_user` or `internal_user_viewer`.
    pub user_role: String,
    /// The budget row of `max_budget_in_organization`, when one was given.
    pub budget_id: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips_through_nano() {
        assert_eq!(to_nano(1.5), 1_500_000_000);
        assert_eq!(to_nano(0.000_000_001), 1);
        assert_eq!(to_nano(-3.0), 0);
        assert_eq!(to_nano(f64::NAN), 0);
        assert_eq!(to_nano(1e300), i64::MAX);
        assert_eq!(from_nano(2_500_000_000), 2.5);
    }

    #[test]
    fn documents_read_litellm_fields_and_ignore_the_rest() {
        let k: KeyDoc = serde_json::from_str(
            r#"{"token":"ab","models":["gpt-4o"],"max_budget":10.5,"rpm_limit":3,
                "model_rpm_limit":{"gpt-4o":2},"whatever":1}"#,
        )
        .unwrap();
        assert_eq!(k.models, ["gpt-4o"]);
        assert_eq!(k.max_budget, Some(10.5));
        assert_eq!(k.model_rpm_limit.get("gpt-4o"), Some(&2));
    }
}
