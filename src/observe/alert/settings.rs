//! What the config asks of alerting (validated by `config::alerting`, run by
//! [`super::start`]): LiteLLM's alert types, where each goes, and the dedup windows.

use std::time::Duration;

use crate::core::alert::AlertKind;
use crate::observe::settings::Endpoint;

/// LiteLLM's `alert_types`, by their names. Only some are raised by this build (see
/// [`AlertType::kind`]); the rest are accepted so a LiteLLM config loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertType {
    LlmExceptions,
    LlmTooSlow,
    LlmRequestsHanging,
    BudgetAlerts,
    SpendReports,
    FailedTrackingSpend,
    DbExceptions,
    DailyReports,
    CooldownDeployment,
    NewModelAdded,
    OutageAlerts,
    RegionOutageAlerts,
    FallbackReports,
    NewVirtualKeyCreated,
    VirtualKeyUpdated,
    VirtualKeyDeleted,
    NewTeamCreated,
    TeamUpdated,
    TeamDeleted,
    NewInternalUserCreated,
    InternalUserUpdated,
    InternalUserDeleted,
}

impl AlertType {
    /// Every type, in LiteLLM's order (its default `alert_types`).
    pub const ALL: [AlertType; 22] = [
        AlertType::LlmExceptions,
        AlertType::LlmTooSlow,
        AlertType::LlmRequestsHanging,
        AlertType::BudgetAlerts,
        AlertType::SpendReports,
        AlertType::FailedTrackingSpend,
        AlertType::DbExceptions,
        AlertType::DailyReports,
        AlertType::CooldownDeployment,
        AlertType::NewModelAdded,
        AlertType::OutageAlerts,
        AlertType::RegionOutageAlerts,
        AlertType::FallbackReports,
        AlertType::NewVirtualKeyCreated,
        AlertType::VirtualKeyUpdated,
        AlertType::VirtualKeyDeleted,
        AlertType::NewTeamCreated,
        AlertType::TeamUpdated,
        AlertType::TeamDeleted,
        AlertType::NewInternalUserCreated,
        AlertType::InternalUserUpdated,
        AlertType::InternalUserDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::LlmExceptions => "llm_exceptions",
            AlertType::LlmTooSlow => "llm_too_slow",
            AlertType::LlmRequestsHanging => "llm_requests_hanging",
            AlertType::BudgetAlerts => "budget_alerts",
            AlertType::SpendReports => "spend_reports",
            AlertType::FailedTrackingSpend => "failed_tracking_spend",
            AlertType::DbExceptions => "db_exceptions",
            AlertType::DailyReports => "daily_reports",
            AlertType::CooldownDeployment => "cooldown_deployment",
            AlertType::NewModelAdded => "new_model_added",
            AlertType::OutageAlerts => "outage_alerts",
            AlertType::RegionOutageAlerts => "region_outage_alerts",
            AlertType::FallbackReports => "fallback_reports",
            AlertType::NewVirtualKeyCreated => "new_virtual_key_created",
            AlertType::VirtualKeyUpdated => "virtual_key_updated",
            AlertType::VirtualKeyDeleted => "virtual_key_deleted",
            AlertType::NewTeamCreated => "new_team_created",
            AlertType::TeamUpdated => "team_updated",
            AlertType::TeamDeleted => "team_deleted",
            AlertType::NewInternalUserCreated => "new_internal_user_created",
            AlertType::InternalUserUpdated => "internal_user_updated",
            AlertType::InternalUserDeleted => "internal_user_deleted",
        }
    }

    pub fn parse(name: &str) -> Option<AlertType> {
        AlertType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// What a part of the gateway raises for this type; `None` for types this build accepts
    /// but never raises (and `daily_reports`, which the alert task makes itself).
    pub fn kind(self) -> Option<AlertKind> {
        match self {
            AlertType::BudgetAlerts => Some(AlertKind::Budget),
            AlertType::CooldownDeployment | AlertType::OutageAlerts => Some(AlertKind::Deployment),
            AlertType::LlmTooSlow => Some(AlertKind::Slow),
            AlertType::LlmRequestsHanging => Some(AlertKind::Hanging),
            AlertType::FailedTrackingSpend | AlertType::DbExceptions => Some(AlertKind::Store),
            _ => None,
        }
    }
}

/// LiteLLM's `alerting_args`, with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertingArgs {
    /// How often the daily spend report goes out (default 12 h, `daily_report_frequency`).
    pub daily_report_frequency: Duration,
    /// How often the report's due time is checked (default 1 h, `report_check_interval`).
    pub report_check_interval: Duration,
    /// One budget alert per entity, event and period within this (default 24 h,
    /// `budget_alert_ttl`).
    pub budget_alert_ttl: Duration,
    /// One slow-request alert per deployment within this (default 60 s, `outage_alert_ttl`).
    pub outage_alert_ttl: Duration,
}

impl Default for AlertingArgs {
    fn default() -> Self {
        AlertingArgs {
            daily_report_frequency: Duration::from_secs(43_200),
            report_check_interval: Duration::from_secs(3600),
            budget_alert_ttl: Duration::from_secs(86_400),
            outage_alert_ttl: Duration::from_secs(60),
        }
    }
}

/// Alerting as configured; `enabled` false (no `general_settings.alerting`) runs nothing.
#[derive(Clone, Debug, Default)]
pub struct AlertSettings {
    /// `alerting: ["slack"]`: Slack incoming-webhook posts (`{"text": ...}`).
    pub slack: bool,
    /// `$SLACK_WEBHOOK_URL`: where Slack alerts go unless `alert_to_webhook_url` names a type.
    pub slack_url: Option<Endpoint>,
    /// `alert_to_webhook_url`: Slack URLs per alert type.
    pub routes: Vec<(AlertType, Vec<Endpoint>)>,
    /// `alerting: ["webhook"]` with `$WEBHOOK_URL`: LiteLLM's `WebhookEvent` JSON for budget
    /// events.
    pub webhook_url: Option<Endpoint>,
    /// `alert_types` (default: all of them).
    pub types: Vec<AlertType>,
    /// `alerting_threshold` (default 300 s): slow and hanging requests.
    pub threshold: Duration,
    pub args: AlertingArgs,
    /// Alerts waiting for dedup, and posts waiting for delivery, before new ones are dropped.
    pub queue: usize,
}

impl AlertSettings {
    /// Whether any destination is configured.
    pub fn enabled(&self) -> bool {
        (self.slack && (self.slack_url.is_some() || !self.routes.is_empty()))
            || self.webhook_url.is_some()
    }

    pub fn wants(&self, t: AlertType) -> bool {
        self.types.contains(&t)
    }

    /// The kinds the gateway's parts should raise.
    pub fn kinds(&self) -> Vec<AlertKind> {
        let mut kinds: Vec<AlertKind> = Vec::new();
        for k in self.types.iter().filter_map(|t| t.kind()) {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        if !self.slack {
            // The "webhook" destination carries budget events only (as LiteLLM's).
            kinds.retain(|k| *k == AlertKind::Budget);
        }
        kinds
    }

    /// The Slack URLs for an alert of type `t`.
    pub fn slack_urls(&self, t: AlertType) -> &[Endpoint] {
        if !self.slack {
            return &[];
        }
        match self.routes.iter().find(|(rt, _)| *rt == t) {
            Some((_, urls)) => urls,
            None => self.slack_url.as_slice(),
        }
    }
}
