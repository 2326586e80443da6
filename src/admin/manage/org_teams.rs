//! How a team joins an organization: the checks `/team/new` and `/team/update` make against
//! the organization's models and limits, with LiteLLM 1.109.1's statuses and messages.

use super::key_fields::covers;
use super::{bad, forbidden, get, not_found, org_members};
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::governance::entities::{BudgetDoc, OrgDoc, TeamDoc};
use crate::governance::Governance;
use crate::store::Kind;

/// The model name that stands for every model in an organization's list.
const ALL_PROXY_MODELS: &str = "all-proxy-models";

/// What a team request asks of its organization: the limits and models it sets.
pub(crate) struct TeamAsk<'a> {
    pub max_budget: Option<f64>,
    pub models: Option<&'a [String]>,
    pub tpm_limit: Option<u64>,
    pub rpm_limit: Option<u64>,
}

/// An organization with its budget row (its limits).
pub(crate) struct OrgLimits {
    pub doc: OrgDoc,
    pub budget: Option<BudgetDoc>,
}

impl OrgLimits {
    fn max_budget(&self) -> Option<f64> {
        self.budget.as_ref().and_then(|b| b.max_budget)
    }

    fn tpm_limit(&self) -> Option<u64> {
        self.budget.as_ref().and_then(|b| b.tpm_limit)
    }

    fn rpm_limit(&self) -> Option<u64> {
        self.budget.as_ref().and_then(|b| b.rpm_limit)
    }

    /// Whether the organization limits models at all (`all-proxy-models` does not).
    fn limits_models(&self) -> bool {
        let m = &self.doc.models;
        !m.is_empty() && !m.iter().any(|m| m == ALL_PROXY_MODELS)
    }
}

/// Organization `id` and its budget row, if it exists.
pub(crate) async fn find(gov: &Governance, id: &str) -> Result<Option<OrgLimits>, ApiError> {
    let Some((_, doc)) = get::<OrgDoc>(gov, Kind::Organization, id).await? else {
        return Ok(None);
    };
    let budget = get::<BudgetDoc>(gov, Kind::Budget, &doc.budget_id)
        .await?
        .map(|(_, b)| b);
    Ok(Some(OrgLimits { doc, budget }))
}

/// `/team/new` with `organization_id`: 400 when the organization does not exist or the team
/// asks for more than it has.
pub(crate) async fn check_new(
    gov: &Governance,
    org_id: &str,
    ask: &TeamAsk<'_>,
) -> Result<(), ApiError> {
    let org = find(gov, org_id).await?.ok_or_else(|| {
        bad(
            "organization_id",
            format!("Organization not found for organization_id={org_id}"),
        )
    })?;
    check_fits(&org, ask)
}

/// `/team/update`: the team's organization after the update. `asked` `""` takes the team
/// out of its organization; another id moves it there: 404 when that organization does not
/// exist, 403 when the team as it is does not fit it ([`check_move`]), and the team's members
/// join it as `internal_user`s. The update's own limits must then fit the team's
/// organization (400, [`check_fits`]).
pub(crate) async fn check_update(
    gov: &Governance,
    team: &TeamDoc,
    asked: Option<String>,
    ask: &TeamAsk<'_>,
) -> Result<Option<String>, ApiError> {
    let (org_id, moving) = match asked {
        Some(id) if id.is_empty() => (None, false),
        Some(id) if team.organization_id.as_ref() != Some(&id) => (Some(id), true),
        _ => (team.organization_id.clone(), false),
    };
    let Some(id) = org_id.as_deref() else {
        return Ok(None);
    };
    let Some(org) = find(gov, id).await? else {
        if moving {
            return Err(not_found(format!(
                "Organization not found, passed organization_id={id}"
            )));
        }
        // The organization was deleted under the team: nothing left to fit.
        return Ok(org_id);
    };
    if moving {
        check_move(team, &org)?;
    }
    check_fits(&org, ask)?;
    if moving {
        org_members::join_team_members(gov, id, team).await?;
    }
    Ok(org_id)
}

/// The limits and models a team request sets must be within its organization's (LiteLLM's
/// `_check_org_team_limits`: exact model names, 400).
fn check_fits(org: &OrgLimits, ask: &TeamAsk<'_>) -> Result<(), ApiError> {
    let id = &org.doc.organization_id;
    if let (Some(want), Some(max)) = (ask.max_budget, org.max_budget()) {
        if want > max {
            return Err(bad(
                "max_budget",
                format!(
                    "Team max_budget ({}) exceeds organization's max_budget ({}). Organization: {id}",
                    py_float(want),
                    py_float(max)
                ),
            ));
        }
    }
    if org.limits_models() {
        let models = &org.doc.models;
        if let Some(m) = ask
            .models
            .into_iter()
            .flatten()
            .find(|m| !models.contains(m))
        {
            return Err(bad(
                "models",
                format!(
                    "Model '{m}' not in organization's allowed models. Organization allowed models={}. Organization: {id}",
                    py_list(models)
                ),
            ));
        }
    }
    for (field, want, max) in [
        ("tpm_limit", ask.tpm_limit, org.tpm_limit()),
        ("rpm_limit", ask.rpm_limit, org.rpm_limit()),
    ] {
        if let (Some(want), Some(max)) = (want, max) {
            if want > max {
                return Err(bad(
                    field,
                    format!(
                        "Team {field} ({want}) exceeds organization's {field} ({max}). Organization: {id}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A team moving into an organization must fit it as it is (LiteLLM's
/// `validate_team_org_change`, 403): its models within the organization's (a team with every
/// model cannot join an organization that limits them), its budget and rate limits no higher.
fn check_move(team: &TeamDoc, org: &OrgLimits) -> Result<(), ApiError> {
    let refuse = |why: String| {
        Err(
            forbidden(format!("Cannot move team to organization. {why}"))
                .with_param("organization_id"),
        )
    };
    if org.limits_models() {
        if team.models.is_empty() {
            return refuse(
                "Team has access to all proxy models, but the organization does not.".into(),
            );
        }
        if let Some(m) = team.models.iter().find(|m| !covers(&org.doc.models, m)) {
            return Err(org_model_denied(&org.doc.models, m));
        }
    }
    if let (Some(have), Some(max)) = (team.max_budget, org.max_budget()) {
        if have > max {
            return refuse(format!(
                "Team has max_budget {} that is greater than the organization's max_budget {}.",
                py_float(have),
                py_float(max)
            ));
        }
    }
    for (field, have, max) in [
        ("tpm_limit", team.tpm_limit, org.tpm_limit()),
        ("rpm_limit", team.rpm_limit, org.rpm_limit()),
    ] {
        if let (Some(have), Some(max)) = (have, max) {
            if have > max {
                return refuse(format!(
                    "Team has {field} {have} that is greater than the organization's {field} {max}."
                ));
            }
        }
    }
    Ok(())
}

/// LiteLLM's `org_model_access_denied` (403) for a model outside `models`.
fn org_model_denied(models: &[String], model: &str) -> ApiError {
    ApiError::new(
        403,
        ErrorKind::OrgModelAccessDenied,
        format!(
            "org not allowed to access model. This org can only access models={}. Tried to access {model}",
            py_list(models)
        ),
    )
    .with_param("models")
}

/// A float as Python prints it (`2.0`, `0.5`): LiteLLM's messages are Python f-strings.
pub(crate) fn py_float(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        x.to_string()
    }
}

/// A list of names as Python prints it: `['a', 'b']`.
pub(crate) fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|m| format!("'{m}'")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::{check_fits, check_move, py_float, OrgLimits, TeamAsk};
    use crate::governance::entities::{BudgetDoc, OrgDoc, TeamDoc};

    fn org(models: &[&str], max: Option<f64>, tpm: Option<u64>) -> OrgLimits {
        OrgLimits {
            doc: OrgDoc {
                organization_id: "o".into(),
                models: models.iter().map(|m| m.to_string()).collect(),
                ..OrgDoc::default()
            },
            budget: Some(BudgetDoc {
                max_budget: max,
                tpm_limit: tpm,
                ..BudgetDoc::default()
            }),
        }
    }

    fn ask<'a>(models: Option<&'a [String]>, max: Option<f64>) -> TeamAsk<'a> {
        TeamAsk {
            max_budget: max,
            models,
            tpm_limit: None,
            rpm_limit: None,
        }
    }

    #[test]
    fn a_team_asks_no_more_than_its_organization_has() {
        let o = org(&["a", "b"], Some(1.0), Some(10));
        let err = |r: Result<(), crate::core::error::ApiError>| {
            let e = r.unwrap_err();
            (e.status, e.param.unwrap_or_default(), e.message)
        };
        assert!(check_fits(&o, &ask(None, Some(1.0))).is_ok());
        let (s, p, m) = err(check_fits(&o, &ask(None, Some(2.0))));
        assert_eq!((s, p.as_str()), (400, "max_budget"));
        assert_eq!(
            m,
            "Team max_budget (2.0) exceeds organization's max_budget (1.0). Organization: o"
        );
        let models = ["c".to_string()];
        let (s, p, m) = err(check_fits(&o, &ask(Some(&models), None)));
        assert_eq!((s, p.as_str()), (400, "models"));
        assert!(m.contains("Model 'c' not in organization's allowed models. Organization allowed models=['a', 'b']"), "{m}");
        let every = org(&["all-proxy-models"], None, None);
        assert!(check_fits(&every, &ask(Some(&models), None)).is_ok());
        let tpm = TeamAsk {
            tpm_limit: Some(11),
            ..ask(None, None)
        };
        assert_eq!(err(check_fits(&o, &tpm)).1, "tpm_limit");
    }

    #[test]
    fn a_team_moves_only_into_an_organization_it_fits() {
        let o = org(&["a"], Some(1.0), None);
        let team = |models: &[&str], max: Option<f64>| TeamDoc {
            models: models.iter().map(|m| m.to_string()).collect(),
            max_budget: max,
            ..TeamDoc::default()
        };
        assert!(check_move(&team(&["a"], Some(0.5)), &o).is_ok());
        let e = check_move(&team(&[], None), &o).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(
            e.message.contains("Team has access to all proxy models"),
            "{e}"
        );
        let e = check_move(&team(&["b"], None), &o).unwrap_err();
        assert_eq!(
            (e.status, e.kind.as_str()),
            (403, "org_model_access_denied")
        );
        let e = check_move(&team(&["a"], Some(3.0)), &o).unwrap_err();
        assert!(e.message.contains("max_budget 3.0 that is greater"), "{e}");
        assert_eq!(py_float(0.25), "0.25");
    }
}
