//! The limits `/key/update`, `/team/update` and `/organization/update` clear when a request
//! sets them to `null` (LiteLLM updates every field the request sets, `null` included);
//! absent ones stay.

use serde_json::{Map, Value};

use super::{bad, parse};
use crate::core::error::ApiError;
use crate::governance::entities::{BudgetDoc, KeyDoc, TeamDoc};
use crate::governance::minting::KeyBounds;

/// Which nullable fields a request sets to `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Cleared {
    pub alias: bool,
    pub max_budget: bool,
    pub soft_budget: bool,
    pub tpm_limit: bool,
    pub rpm_limit: bool,
    pub max_parallel_requests: bool,
    /// `duration: null` on a key: it no longer expires.
    pub duration: bool,
}

impl Cleared {
    /// The fields of `body` that are `null`; `alias` is the entity's alias field
    /// (`key_alias`, `team_alias`).
    pub(crate) fn of(body: &[u8], alias: &str) -> Result<Cleared, ApiError> {
        let m: Map<String, Value> = parse(body)?;
        let null = |k: &str| m.get(k).is_some_and(Value::is_null);
        Ok(Cleared {
            alias: null(alias),
            max_budget: null("max_budget"),
            soft_budget: null("soft_budget"),
            tpm_limit: null("tpm_limit"),
            rpm_limit: null("rpm_limit"),
            max_parallel_requests: null("max_parallel_requests"),
            duration: null("duration"),
        })
    }

    /// A key limit the config bounds (`upperbound_key_generate_params`) cannot be cleared:
    /// unlimited is above every bound. LiteLLM clears it anyway; Switchyard keeps the bound.
    pub(crate) fn check_bounds(&self, b: &KeyBounds) -> Result<(), ApiError> {
        let bounded = [
            ("max_budget", self.max_budget && b.max_budget.is_some()),
            ("tpm_limit", self.tpm_limit && b.tpm_limit.is_some()),
            ("rpm_limit", self.rpm_limit && b.rpm_limit.is_some()),
            (
                "max_parallel_requests",
                self.max_parallel_requests && b.max_parallel_requests.is_some(),
            ),
            ("duration", self.duration && b.duration.is_some()),
        ];
        match bounded.into_iter().find(|(_, refused)| *refused) {
            Some((field, _)) => Err(bad(
                field,
                format!("{field} cannot be null: upperbound_key_generate_params bounds it"),
            )),
            None => Ok(()),
        }
    }

    pub(crate) fn apply_key(&self, k: &mut KeyDoc) {
        clear(self.alias, &mut k.key_alias);
        clear(self.max_budget, &mut k.max_budget);
        clear(self.soft_budget, &mut k.soft_budget);
        clear(self.tpm_limit, &mut k.tpm_limit);
        clear(self.rpm_limit, &mut k.rpm_limit);
        clear(self.max_parallel_requests, &mut k.max_parallel_requests);
        clear(self.duration, &mut k.expires);
    }

    pub(crate) fn apply_team(&self, t: &mut TeamDoc) {
        clear(self.alias, &mut t.team_alias);
        clear(self.max_budget, &mut t.max_budget);
        clear(self.soft_budget, &mut t.soft_budget);
        clear(self.tpm_limit, &mut t.tpm_limit);
        clear(self.rpm_limit, &mut t.rpm_limit);
        clear(self.max_parallel_requests, &mut t.max_parallel_requests);
    }

    /// An organization's budget row (the alias is the organization's own field).
    pub(crate) fn apply_budget(&self, b: &mut BudgetDoc) {
        clear(self.max_budget, &mut b.max_budget);
        clear(self.soft_budget, &mut b.soft_budget);
        clear(self.tpm_limit, &mut b.tpm_limit);
        clear(self.rpm_limit, &mut b.rpm_limit);
        clear(self.max_parallel_requests, &mut b.max_parallel_requests);
    }
}

fn clear<T>(yes: bool, slot: &mut Option<T>) {
    if yes {
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::Cleared;

    #[test]
    fn only_null_fields_are_cleared() {
        let c = Cleared::of(
            br#"{"max_budget": null, "tpm_limit": 5, "key_alias": null}"#,
            "key_alias",
        )
        .unwrap_or_default();
        assert!(c.max_budget && c.alias);
        assert!(!c.tpm_limit && !c.rpm_limit && !c.soft_budget && !c.duration);
        assert_eq!(Cleared::of(b"", "key_alias").ok(), Some(Cleared::default()));
    }
}
