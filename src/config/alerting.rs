//! Alerting from LiteLLM's keys (`general_settings.alerting`, `alerting_threshold`,
//! `alert_types`, `alert_to_webhook_url`, `alerting_args`; `$SLACK_WEBHOOK_URL`,
//! `$WEBHOOK_URL`) into `observe::alert::settings::AlertSettings`.

use std::time::Duration;

use super::raw::RawGeneralSettings;
use crate::core::config_error::{suggestion, ConfigError};
use crate::core::env::Env;
use crate::observe::alert::settings::{AlertSettings, AlertType, AlertingArgs};
use crate::observe::settings::Endpoint;

/// Alerts (and posts) waiting before new ones are dropped.
const QUEUE: usize = 1000;

/// `alerting_args` keys LiteLLM has that this build does not act on.
const KNOWN_ARGS: &[&str] = &[
    "region_outage_alert_ttl",
    "minor_outage_alert_threshold",
    "major_outage_alert_threshold",
    "max_outage_alert_list_size",
    "log_to_console",
];

fn seconds(v: Option<f64>, default: Duration, path: &str) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(v) => Duration::try_from_secs_f64(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                ConfigError::new(
                    path,
                    format!("expected a positive number of seconds, got {v}"),
                )
            }),
    }
}

fn url(text: &str, path: String) -> Result<Endpoint, ConfigError> {
    Endpoint::parse(text).map_err(|e| ConfigError::new(path, e))
}

pub(super) fn settings(
    gs: &RawGeneralSettings,
    env: &Env,
    warnings: &mut Vec<String>,
) -> Result<AlertSettings, ConfigError> {
    let mut s = AlertSettings {
        queue: QUEUE,
        threshold: seconds(
            gs.alerting_threshold,
            Duration::from_secs(300),
            "general_settings.alerting_threshold",
        )?,
        types: types(gs.alert_types.as_deref())?,
        args: args(gs)?,
        ..AlertSettings::default()
    };
    for (t, urls) in gs.alert_to_webhook_url.iter().flatten() {
        let at = format!("general_settings.alert_to_webhook_url.{t}");
        let Some(kind) = AlertType::parse(t) else {
            let mut e = ConfigError::new(at, "unknown alert type");
            if let Some(h) = suggestion(t, AlertType::ALL.iter().map(|t| t.as_str())) {
                e = e.hint(h);
            }
            return Err(e);
        };
        let list = urls
            .iter()
            .enumerate()
            .map(|(i, u)| url(u, format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        s.routes.push((kind, list));
    }
    for (i, dest) in gs.alerting.iter().flat_map(|n| n.iter()).enumerate() {
        let at = format!("general_settings.alerting[{i}]");
        match dest {
            "slack" => {
                s.slack = true;
                // LiteLLM reads `$ALERTING_WEBHOOK_URL` when `$SLACK_WEBHOOK_URL` is unset.
                let env_url = env
                    .get("SLACK_WEBHOOK_URL")
                    .or_else(|| env.get("ALERTING_WEBHOOK_URL"));
                match env_url {
                    Some(u) => s.slack_url = Some(url(&u, at)?),
                    None if s.routes.is_empty() => {
                        return Err(ConfigError::new(at, "slack alerting needs $SLACK_WEBHOOK_URL")
                            .hint("export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/..., or set general_settings.alert_to_webhook_url"));
                    }
                    None => {}
                }
            }
            "webhook" => {
                let u = env.get("WEBHOOK_URL").ok_or_else(|| {
                    ConfigError::new(&at, "webhook alerting needs $WEBHOOK_URL").hint(
                        "export WEBHOOK_URL=https://... (it receives LiteLLM's budget events)",
                    )
                })?;
                s.webhook_url = Some(url(&u, at)?);
            }
            other => warnings.push(format!("{at}: \"{other}\"")),
        }
    }
    Ok(s)
}

fn types(names: Option<&[String]>) -> Result<Vec<AlertType>, ConfigError> {
    let Some(names) = names else {
        return Ok(AlertType::ALL.to_vec());
    };
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            AlertType::parse(n).ok_or_else(|| {
                let mut e = ConfigError::new(
                    format!("general_settings.alert_types[{i}]"),
                    format!("unknown alert type \"{n}\""),
                );
                if let Some(h) = suggestion(n, AlertType::ALL.iter().map(|t| t.as_str())) {
                    e = e.hint(h);
                }
                e
            })
        })
        .collect()
}

fn args(gs: &RawGeneralSettings) -> Result<AlertingArgs, ConfigError> {
    let d = AlertingArgs::default();
    let Some(a) = &gs.alerting_args else {
        return Ok(d);
    };
    for key in a.rest.keys() {
        if !KNOWN_ARGS.contains(&key.as_str()) {
            return Err(ConfigError::new(
                format!("general_settings.alerting_args.{key}"),
                "unknown key",
            ));
        }
    }
    let at = |k: &str| format!("general_settings.alerting_args.{k}");
    Ok(AlertingArgs {
        daily_report_frequency: seconds(
            a.daily_report_frequency,
            d.daily_report_frequency,
            &at("daily_report_frequency"),
        )?,
        report_check_interval: seconds(
            a.report_check_interval,
            d.report_check_interval,
            &at("report_check_interval"),
        )?,
        budget_alert_ttl: seconds(
            a.budget_alert_ttl,
            d.budget_alert_ttl,
            &at("budget_alert_ttl"),
        )?,
        outage_alert_ttl: seconds(
            a.outage_alert_ttl,
            d.outage_alert_ttl,
            &at("outage_alert_ttl"),
        )?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, BuildOptions};
    use crate::core::alert::AlertKind;
    use crate::observe::alert::settings::AlertType;

    fn load(general: &str) -> Result<crate::config::Runtime, String> {
        let yaml = format!(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      api_key: k\ngeneral_settings:\n{general}"
        );
        load_str(&yaml, &BuildOptions::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn slack_routes_and_types_load() {
        let rt = load(
            "  alerting: [slack, email]\n  alerting_threshold: 5\n  alert_types: [budget_alerts, outage_alerts, llm_exceptions]\n  alert_to_webhook_url:\n    budget_alerts: [http://a.example/1, http://b.example/2]\n    outage_alerts: http://c.example/3\n  alerting_args:\n    budget_alert_ttl: 60\n    log_to_console: true\n",
        )
        .unwrap();
        let a = &rt.settings.alerting;
        assert!(a.enabled() && a.slack && a.slack_url.is_none());
        assert_eq!(a.threshold.as_secs(), 5);
        assert_eq!(a.args.budget_alert_ttl.as_secs(), 60);
        assert_eq!(a.slack_urls(AlertType::BudgetAlerts).len(), 2);
        assert_eq!(a.slack_urls(AlertType::OutageAlerts)[0].host, "c.example");
        assert!(a.slack_urls(AlertType::LlmTooSlow).is_empty());
        assert_eq!(a.kinds(), vec![AlertKind::Budget, AlertKind::Deployment]);
        assert!(
            rt.warnings
                .iter()
                .any(|w| w == "general_settings.alerting[1]: \"email\""),
            "{:?}",
            rt.warnings
        );
    }

    #[test]
    fn bad_alerting_keys_name_their_path() {
        let cases = [
            ("  alerting: [slack]\n", "general_settings.alerting[0]"),
            ("  alerting: [webhook]\n", "general_settings.alerting[0]"),
            (
                "  alert_types: [budget_alert]\n",
                "general_settings.alert_types[0]",
            ),
            (
                "  alert_to_webhook_url: {nope: http://x}\n",
                "general_settings.alert_to_webhook_url.nope",
            ),
            (
                "  alert_to_webhook_url: {budget_alerts: [ftp://x]}\n",
                "general_settings.alert_to_webhook_url.budget_alerts[0]",
            ),
            (
                "  alerting_threshold: 0\n",
                "general_settings.alerting_threshold",
            ),
            (
                "  alerting_args: {budget_alert_ttl: -1}\n",
                "general_settings.alerting_args.budget_alert_ttl",
            ),
            (
                "  alerting_args: {typo_ttl: 1}\n",
                "general_settings.alerting_args.typo_ttl",
            ),
        ];
        for (general, path) in cases {
            let e = load(general)
                .err()
                .unwrap_or_else(|| panic!("{general} loaded"));
            assert!(e.contains(path), "{general}: {e}");
        }
        let e = load("  alert_types: [budget_alert]\n").err().unwrap();
        assert!(e.contains("budget_alerts"), "a suggestion: {e}");
    }

    #[test]
    fn no_alerting_runs_nothing() {
        let rt = load("  alerting_threshold: 10\n").unwrap();
        assert!(!rt.settings.alerting.enabled());
    }
}
