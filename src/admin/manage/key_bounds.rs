//! The config's `default_key_generate_params` and `upperbound_key_generate_params` applied
//! to one `/key/*` request, as LiteLLM applies them.

use super::bad;
use super::key_fields::KeyFields;
use crate::core::error::ApiError;
use crate::governance::minting::{seconds, KeyBounds, KeyDefaults};

/// `/key/generate`: fill in the configured defaults for fields still unset. A non-admin
/// caller's `user_id` and `team_id` are its own already, so only an admin's are filled.
pub(crate) fn fill_defaults(d: &KeyDefaults, f: &mut KeyFields, admin: bool) {
    fn fill<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
        if slot.is_none() {
            slot.clone_from(v);
        }
    }
    fill(&mut f.max_budget, &d.max_budget);
    fill(&mut f.budget_duration, &d.budget_duration);
    fill(&mut f.duration, &d.duration);
    fill(&mut f.max_parallel_requests, &d.max_parallel_requests);
    fill(&mut f.tpm_limit, &d.tpm_limit);
    fill(&mut f.rpm_limit, &d.rpm_limit);
    if admin {
        fill(&mut f.user_id, &d.user_id);
        fill(&mut f.team_id, &d.team_id);
    }
    if f.models.as_ref().is_none_or(Vec::is_empty) && d.models.is_some() {
        f.models.clone_from(&d.models);
    }
    if f.metadata.as_ref().is_none_or(|m| m.is_empty()) && d.metadata.is_some() {
        f.metadata.clone_from(&d.metadata);
    }
}

/// LiteLLM's refusal: a 400 naming the field, the value asked for and the bound.
fn over(field: &str, asked: impl std::fmt::Display, bound: impl std::fmt::Display) -> ApiError {
    bad(
        field,
        format!("{field} is over max limit set in config - user_value={asked}; max_value={bound}"),
    )
}

/// One numeric field against its bound: a value the caller sent above it is refused; one
/// it did not send (a default, or inherited from the calling key) is lowered to it; a
/// missing one takes the bound when `fill`.
fn number<T: PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    value: &mut Option<T>,
    sent: bool,
    bound: Option<T>,
    fill: bool,
) -> Result<(), ApiError> {
    let Some(b) = bound else { return Ok(()) };
    match *value {
        Some(v) if v > b && sent => Err(over(field, v, b)),
        Some(v) if v > b => {
            *value = Some(b);
            Ok(())
        }
        None if fill => {
            *value = Some(b);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One duration field (`duration`, `budget_duration`) against its bound, as [`number`].
fn duration(
    field: &str,
    value: &mut Option<String>,
    sent: bool,
    bound: &Option<(String, i64)>,
    fill: bool,
) -> Result<(), ApiError> {
    let Some((text, secs)) = bound else {
        return Ok(());
    };
    let asked = match value.as_deref() {
        // A key that never expires outlives every bound.
        Some(super::key_fields::FOREVER) if field == "duration" => Some(i64::MAX),
        Some(v) => Some(seconds(v).map_err(|e| bad(field, format!("{field}: {e}")))?),
        None => None,
    };
    match asked {
        Some(a) if a > *secs && sent => Err(over(field, value.as_deref().unwrap_or(""), text)),
        Some(a) if a > *secs => {
            *value = Some(text.clone());
            Ok(())
        }
        None if fill => {
            *value = Some(text.clone());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Check `f` against the configured upper bounds. `asked` is the request as sent (before
/// defaults and inheritance); `fill` gives a missing field its bound (`/key/generate`, not
/// `/key/update` and `/key/regenerate`, where a missing field means "unchanged").
pub(crate) fn enforce_bounds(
    b: &KeyBounds,
    f: &mut KeyFields,
    asked: &KeyFields,
    fill: bool,
) -> Result<(), ApiError> {
    if b.is_empty() {
        return Ok(());
    }
    number(
        "max_budget",
        &mut f.max_budget,
        asked.max_budget.is_some(),
        b.max_budget,
        fill,
    )?;
    number(
        "max_parallel_requests",
        &mut f.max_parallel_requests,
        asked.max_parallel_requests.is_some(),
        b.max_parallel_requests,
        fill,
    )?;
    number(
        "tpm_limit",
        &mut f.tpm_limit,
        asked.tpm_limit.is_some(),
        b.tpm_limit,
        fill,
    )?;
    number(
        "rpm_limit",
        &mut f.rpm_limit,
        asked.rpm_limit.is_some(),
        b.rpm_limit,
        fill,
    )?;
    duration(
        "budget_duration",
        &mut f.budget_duration,
        asked.budget_duration.is_some(),
        &b.budget_duration,
        fill,
    )?;
    duration(
        "duration",
        &mut f.duration,
        asked.duration.is_some(),
        &b.duration,
        fill,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: serde_json::Value) -> KeyFields {
        super::super::parse(v.to_string().as_bytes()).unwrap()
    }

    fn bounds() -> KeyBounds {
        KeyBounds {
            max_budget: Some(10.0),
            budget_duration: Some(("30d".into(), 30 * 86_400)),
            duration: Some(("7d".into(), 7 * 86_400)),
            max_parallel_requests: Some(5),
            tpm_limit: None,
            rpm_limit: Some(100),
        }
    }

    #[test]
    fn sent_values_over_the_bound_are_refused_naming_the_field() {
        for (body, field) in [
            (json!({"max_budget": 10.5}), "max_budget"),
            (json!({"rpm_limit": 101}), "rpm_limit"),
            (json!({"max_parallel_requests": 6}), "max_parallel_requests"),
            (json!({"duration": "8d"}), "duration"),
            (json!({"duration": "-1"}), "duration"),
            (json!({"budget_duration": "1mo"}), "<ok>"),
            (json!({"budget_duration": "2mo"}), "budget_duration"),
        ] {
            let mut f = fields(body.clone());
            let asked = f.clone();
            let got = match enforce_bounds(&bounds(), &mut f, &asked, true) {
                Ok(()) => "<ok>".to_string(),
                Err(e) => {
                    assert_eq!(e.status, 400);
                    assert!(e.message.contains("is over max limit set in config"), "{e}");
                    e.param.unwrap_or_default()
                }
            };
            assert_eq!(got, field, "{body}");
        }
    }

    #[test]
    fn missing_values_take_the_bound_and_unsent_ones_are_lowered() {
        let mut f = fields(json!({"rpm_limit": 5}));
        let asked = f.clone();
        f.max_budget = Some(50.0); // inherited, not sent
        enforce_bounds(&bounds(), &mut f, &asked, true).unwrap();
        assert_eq!(f.max_budget, Some(10.0));
        assert_eq!(f.rpm_limit, Some(5));
        assert_eq!(f.max_parallel_requests, Some(5));
        assert_eq!(f.duration.as_deref(), Some("7d"));
        assert_eq!(f.budget_duration.as_deref(), Some("30d"));
        assert_eq!(f.tpm_limit, None, "no bound, nothing filled");

        let mut update = fields(json!({"rpm_limit": 5}));
        let asked = update.clone();
        enforce_bounds(&bounds(), &mut update, &asked, false).unwrap();
        assert_eq!(
            update.max_budget, None,
            "an update leaves missing fields alone"
        );
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let d = KeyDefaults {
            max_budget: Some(1.0),
            team_id: Some("t".into()),
            models: Some(vec!["a".into()]),
            ..KeyDefaults::default()
        };
        let mut f = fields(json!({"max_budget": 2.0, "models": []}));
        fill_defaults(&d, &mut f, true);
        assert_eq!(f.max_budget, Some(2.0));
        assert_eq!(f.team_id.as_deref(), Some("t"));
        assert_eq!(f.models, Some(vec!["a".to_string()]));
        let mut own = fields(json!({}));
        fill_defaults(&d, &mut own, false);
        assert_eq!(own.team_id, None, "a non-admin key's team is its own");
    }
}
