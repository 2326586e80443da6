//! How an alert reads: Slack's incoming-webhook body (`{"text": ...}`, LiteLLM's
//! `Level: ... Timestamp: ... Message: ...` layout) and LiteLLM's `WebhookEvent` JSON for
//! budget events.

use serde::Serialize;

use super::settings::{AlertSettings, AlertType};
use crate::core::alert::{Alert, BudgetAlert, BudgetEvent};

/// Nano-USD as LiteLLM's floats.
fn usd(nano: i64) -> f64 {
    nano as f64 / 1e9
}

/// LiteLLM's alert levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Low => "Low",
            Level::Medium => "Medium",
            Level::High => "High",
        }
    }
}

/// The type an alert is routed and counted under: outages go as `outage_alerts` when that
/// type is on (else `cooldown_deployment`), store failures as `failed_tracking_spend` (else
/// `db_exceptions`).
pub fn alert_type(alert: &Alert, s: &AlertSettings) -> AlertType {
    let prefer = |first: AlertType, second: AlertType| {
        if s.wants(first) {
            first
        } else {
            second
        }
    };
    match alert {
        Alert::Budget(_) => AlertType::BudgetAlerts,
        Alert::DeploymentDown { .. } | Alert::DeploymentUp { .. } => {
            prefer(AlertType::OutageAlerts, AlertType::CooldownDeployment)
        }
        Alert::Slow { .. } => AlertType::LlmTooSlow,
        Alert::Hanging { .. } => AlertType::LlmRequestsHanging,
        Alert::StoreDown { .. } | Alert::StoreUp => {
            prefer(AlertType::FailedTrackingSpend, AlertType::DbExceptions)
        }
    }
}

/// The message and its level.
pub fn message(alert: &Alert) -> (Level, String) {
    match alert {
        Alert::Budget(b) => (
            match b.event {
                BudgetEvent::Crossed => Level::High,
                BudgetEvent::SoftCrossed => Level::Medium,
            },
            budget_message(b),
        ),
        Alert::DeploymentDown {
            group,
            deployment,
            api_base,
            reason,
            cooldown,
        } => (
            Level::High,
            format!(
                "🚨 Deployment outage: `{deployment}` of model group `{group}` is cooling down for {}s after {reason} failures.\nAPI Base: `{api_base}`\nOne alert per outage; a recovery alert follows when it serves again.",
                cooldown.as_secs_f64()
            ),
        ),
        Alert::DeploymentUp {
            group,
            deployment,
            api_base,
        } => (
            Level::Low,
            format!(
                "✅ Deployment recovered: `{deployment}` of model group `{group}` is serving requests again.\nAPI Base: `{api_base}`"
            ),
        ),
        Alert::Slow {
            group,
            deployment,
            api_base,
            took,
            stream,
        } => (
            Level::Low,
            format!(
                "`Responses are slow - {:.1}s response time > Alerting threshold`\nModel group: `{group}`\nDeployment: `{deployment}`\nAPI Base: `{api_base}`\nStreaming: `{stream}`",
                took.as_secs_f64()
            ),
        ),
        Alert::Hanging {
            group,
            deployment,
            after,
        } => (
            Level::Medium,
            format!(
                "`Requests are hanging - no response after {:.0}s > Alerting threshold`\nModel group: `{group}`\nDeployment: `{deployment}`",
                after.as_secs_f64()
            ),
        ),
        Alert::StoreDown { error, rows } => (
            Level::High,
            format!(
                "DB write failed: spend rows could not be written ({rows} held, retrying).\nError: `{error}`"
            ),
        ),
        Alert::StoreUp => (
            Level::Low,
            "✅ DB writes recovered: spend rows are written again.".to_string(),
        ),
    }
}

fn budget_message(b: &BudgetAlert) -> String {
    let what = match b.event {
        BudgetEvent::Crossed => "Budget Crossed",
        BudgetEvent::SoftCrossed => "Soft Budget Crossed",
    };
    let mut m = format!("{what}\n{}\n", b.label);
    if let Some(max) = b.max_budget_nano {
        m.push_str(&format!("Total Budget: `${}`\n", usd(max)));
    }
    if let Some(soft) = b.soft_budget_nano {
        m.push_str(&format!("Soft Budget: `${}`\n", usd(soft)));
    }
    m.push_str(&format!("Current Spend: `${}`", usd(b.spend_nano)));
    for (name, v) in [
        ("Key Alias", &b.key_alias),
        ("Token", &b.token),
        ("User ID", &b.user_id),
        ("Team ID", &b.team_id),
        ("Team Alias", &b.team_alias),
        ("Customer ID", &b.customer_id),
    ] {
        if let Some(v) = v {
            m.push_str(&format!("\n{name}: `{v}`"));
        }
    }
    m
}

/// The Slack body for `alert`, stamped with `hms` (the time of day, UTC).
pub fn slack_body(level: Level, message: &str, hms: &str) -> serde_json::Value {
    serde_json::json!({
        "text": format!("Level: `{}`\nTimestamp: `{hms}`\n\nMessage: {message}", level.as_str())
    })
}

/// `HH:MM:SS` (UTC) of unix milliseconds.
pub fn hms(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// LiteLLM's `WebhookEvent` (a `CallInfo` plus the event).
#[derive(Debug, Serialize)]
pub struct WebhookEvent<'a> {
    pub spend: f64,
    pub max_budget: Option<f64>,
    pub soft_budget: Option<f64>,
    pub token: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub team_id: Option<&'a str>,
    pub team_alias: Option<&'a str>,
    pub user_email: Option<&'a str>,
    pub key_alias: Option<&'a str>,
    pub projected_exceeded_date: Option<&'a str>,
    pub projected_spend: Option<f64>,
    pub event: &'static str,
    pub event_group: &'static str,
    pub event_message: String,
}

/// The `WebhookEvent` of a budget alert.
pub fn webhook_event(b: &BudgetAlert) -> WebhookEvent<'_> {
    let group = b.owner.as_str();
    let what = match b.event {
        BudgetEvent::Crossed => "Budget Crossed",
        BudgetEvent::SoftCrossed => "Soft Budget Crossed",
    };
    let title: String = group
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    WebhookEvent {
        spend: usd(b.spend_nano),
        max_budget: b.max_budget_nano.map(usd),
        soft_budget: b.soft_budget_nano.map(usd),
        token: b.token.as_deref(),
        customer_id: b.customer_id.as_deref(),
        user_id: b.user_id.as_deref(),
        team_id: b.team_id.as_deref(),
        team_alias: b.team_alias.as_deref(),
        user_email: None,
        key_alias: b.key_alias.as_deref(),
        projected_exceeded_date: None,
        projected_spend: None,
        event: b.event.as_str(),
        event_group: group,
        event_message: format!("{title} Budget: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::BudgetOwner;

    #[test]
    fn budget_events_read_as_litellm_writes_them() {
        let b = BudgetAlert {
            event: BudgetEvent::Crossed,
            owner: BudgetOwner::TeamMember,
            id: "t/u".into(),
            label: "Team Member=t/u".into(),
            spend_nano: 1_500_000_000,
            max_budget_nano: Some(1_000_000_000),
            soft_budget_nano: None,
            period_end: 0,
            token: Some("abc".into()),
            key_alias: None,
            user_id: Some("u".into()),
            team_id: Some("t".into()),
            team_alias: None,
            customer_id: None,
        };
        let v = serde_json::to_value(webhook_event(&b)).unwrap_or_default();
        assert_eq!(v["event"], "budget_crossed");
        assert_eq!(v["event_group"], "team_member");
        assert_eq!(v["event_message"], "Team Member Budget: Budget Crossed");
        assert_eq!(v["spend"], 1.5);
        assert_eq!(v["max_budget"], 1.0);
        assert_eq!(v["token"], "abc");
        assert!(v["user_email"].is_null() && v.get("projected_spend").is_some());
        let (level, text) = message(&Alert::Budget(Box::new(b)));
        assert_eq!(level, Level::High);
        assert!(
            text.starts_with("Budget Crossed\nTeam Member=t/u\n"),
            "{text}"
        );
        let body = slack_body(level, &text, &hms(3_723_000));
        let t = body["text"].as_str().unwrap_or_default();
        assert!(t.starts_with("Level: `High`\nTimestamp: `01:02:03`\n\nMessage: Budget Crossed"));
    }
}
