//! The validated, immutable config snapshot every request reads (`Runtime`), and its builder.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::gov::governance_settings;
use super::known;
use super::raw::{RawConfig, RawRouterSettings, Rest};
use super::routing::RoutingConfig;
use crate::core::config_error::{suggestion, ConfigError};
use crate::core::env::Env;
use crate::core::secret::MasterKey;
use crate::governance::GovSettings;
use crate::router::{Deployment, ModelGroup, Router};

/// Keys that are well-known defaults from docs and examples.
const INSECURE_KEYS: &[&str] = &[
    "sk-1234",
    "sk-12345",
    "sk-123456",
    "sk-1234567890",
    "sk-master",
    "sk-admin",
    "sk-test",
    "sk-xxx",
    "sk-change-me",
    "sk-changeme",
    "changeme",
    "password",
    "admin",
    "master",
];

/// Gateway-wide settings resolved from the four sections.
pub struct Settings {
    pub num_retries: u32,
    pub timeout: Duration,
    pub stream_timeout: Option<Duration>,
    pub max_body_bytes: usize,
    /// `general_settings.max_client_connections`: connections over it get a 503 and are
    /// closed (default 10000).
    pub max_client_connections: usize,
    /// `general_settings.client_header_timeout`: a request header must be whole this long
    /// after its first byte, or after accept (default 10 s, at most a day).
    pub client_header_timeout: Duration,
    pub metrics_require_auth: bool,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    /// `router_settings.default_max_parallel_requests` for deployments without their own.
    pub default_max_parallel: Option<u32>,
    /// `general_settings.background_health_checks`: probe every deployment this often.
    pub health_check_interval: Option<Duration>,
    /// `general_settings.health_check_cache_seconds`: `/health` reuses a probe round this long.
    pub health_cache: Duration,
    /// `litellm_settings.drop_params`: leave out parameters a provider does not support.
    pub drop_params: bool,
    /// `general_settings.forward_openai_org_id`: pass-through calls carry the client's
    /// `openai-organization` / `openai-project` (default off: the deployment's own are used).
    pub forward_openai_org: bool,
    pub governance: GovSettings,
    /// Logging sinks and JSON logs.
    pub observe: crate::observe::Settings,
    /// `general_settings.alerting` and its keys (started once, at startup).
    pub alerting: crate::observe::alert::settings::AlertSettings,
}

/// One validated config snapshot.
pub struct Runtime {
    /// The model groups, their aliases and fallback lists: what a model name resolves to.
    pub router: Router,
    pub master_key: Option<MasterKey>,
    pub settings: Settings,
    /// Keys LiteLLM has that this build ignores, one line each.
    pub warnings: Vec<String>,
    /// Problems that do not stop loading (e.g. a fallback naming no model group).
    pub notes: Vec<String>,
    /// Minimum wait before retrying when no healthy deployment is left.
    pub retry_after: Duration,
}

/// How to build: what to check beyond the file itself.
#[derive(Default)]
pub struct BuildOptions<'a> {
    /// Resolve upstream hosts now (off for `--validate`).
    pub resolve_dns: bool,
    pub allow_insecure_master_key: bool,
    /// The snapshot being replaced: per-deployment state carries over by id.
    pub previous: Option<&'a Runtime>,
}

pub(super) fn secs(v: f64, path: &str) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ConfigError::new(
                path,
                format!("expected a positive number of seconds, got {v}"),
            )
        })
}

pub(super) struct Checker {
    pub(super) warnings: Vec<String>,
    /// `group=provider/model` of deployments whose provider is not implemented yet.
    pub(super) unsupported: Vec<String>,
}

impl Checker {
    /// Known-but-unimplemented keys become warnings; keys nobody has are errors.
    fn section(
        &mut self,
        section: &str,
        rest: &Rest,
        known: &[&str],
        ours: &[&str],
    ) -> Result<(), ConfigError> {
        for key in rest.keys() {
            if known.contains(&key.as_str()) {
                self.warnings.push(format!(
                    "{section}{}{key}",
                    if section.is_empty() { "" } else { "." }
                ));
                continue;
            }
            let path = if section.is_empty() {
                key.clone()
            } else {
                format!("{section}.{key}")
            };
            let mut e = ConfigError::new(path, "unknown key");
            if let Some(s) = suggestion(key, ours.iter().chain(known.iter()).copied()) {
                e = e.hint(s);
            }
            return Err(e);
        }
        Ok(())
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "config load, not the request path: the Runtime built in one place"
)]
pub fn build(raw: RawConfig, env: &Env, opts: &BuildOptions<'_>) -> Result<Runtime, ConfigError> {
    let mut check = Checker {
        warnings: Vec::new(),
        unsupported: Vec::new(),
    };
    check.section(
        "",
        &raw.rest,
        known::TOP_LEVEL,
        &[
            "model_list",
            "litellm_settings",
            "router_settings",
            "general_settings",
            "environment_variables",
            "callback_settings",
        ],
    )?;
    let ls = &raw.litellm_settings;
    check.section(
        "litellm_settings",
        &ls.rest,
        known::LITELLM_SETTINGS,
        &[
            "num_retries",
            "request_timeout",
            "require_auth_for_metrics_endpoint",
            "set_verbose",
            "json_logs",
            "callbacks",
            "success_callback",
            "failure_callback",
            "generic_logger_headers",
            "drop_params",
            "max_budget",
            "budget_duration",
            "timezone",
            "upperbound_key_generate_params",
            "default_key_generate_params",
            "max_internal_user_budget",
            "internal_user_budget_duration",
            "default_internal_user_params",
            "prometheus_max_key_series",
            "store_audit_logs",
        ],
    )?;
    let rs = &raw.router_settings;
    check.section(
        "router_settings",
        &rs.rest,
        known::ROUTER_SETTINGS,
        &[
            "routing_strategy",
            "num_retries",
            "timeout",
            "stream_timeout",
            "redis_host",
            "redis_port",
            "redis_password",
            "redis_url",
        ],
    )?;
    let gs = &raw.general_settings;
    check.section(
        "general_settings",
        &gs.rest,
        known::GENERAL_SETTINGS,
        &[
            "master_key",
            "database_url",
            "max_request_size_mb",
            "database_connection_pool_limit",
            "database_connection_pool_timeout",
            "allow_requests_on_db_unavailable",
            "proxy_batch_write_at",
            "disable_spend_logs",
            "budget_fail_open",
            "reject_unpriced_models",
            "disable_auto_add_proxy_admin_to_teams",
            "max_client_connections",
            "client_header_timeout",
            "health_check_cache_seconds",
            "forward_openai_org_id",
            "alerting",
            "alerting_threshold",
            "alert_types",
            "alert_to_webhook_url",
            "alerting_args",
            "maximum_spend_logs_retention_period",
            "maximum_spend_logs_retention_interval",
        ],
    )?;

    let timeout = match rs.timeout.or(ls.request_timeout) {
        Some(v) => secs(
            v,
            if rs.timeout.is_some() {
                "router_settings.timeout"
            } else {
                "litellm_settings.request_timeout"
            },
        )?,
        None => Duration::from_secs(600),
    };
    let stream_timeout = rs
        .stream_timeout
        .map(|v| secs(v, "router_settings.stream_timeout"))
        .transpose()?;
    let max_body_bytes = match gs.max_request_size_mb {
        Some(mb) if mb > 0.0 && mb.is_finite() => (mb * 1024.0 * 1024.0) as usize,
        Some(mb) => {
            return Err(ConfigError::new(
                "general_settings.max_request_size_mb",
                format!("expected a positive size, got {mb}"),
            ))
        }
        None => 16 * 1024 * 1024,
    };
    let max_client_connections = match gs.max_client_connections {
        Some(0) => {
            return Err(ConfigError::new(
                "general_settings.max_client_connections",
                "expected at least 1 connection, got 0",
            ))
        }
        Some(n) => n,
        None => 10_000,
    };
    let client_header_timeout = match gs.client_header_timeout {
        Some(v) if v > 86_400.0 => {
            return Err(ConfigError::new(
                "general_settings.client_header_timeout",
                format!("expected at most 86400 seconds, got {v}"),
            ))
        }
        Some(v) => secs(v, "general_settings.client_header_timeout")?,
        None => Duration::from_secs(10),
    };
    let settings = Settings {
        num_retries: rs.num_retries.or(ls.num_retries).unwrap_or(2),
        timeout,
        stream_timeout,
        max_body_bytes,
        max_client_connections,
        client_header_timeout,
        default_max_parallel: rs.default_max_parallel_requests,
        // LiteLLM's default interval is 300 s.
        health_check_interval: match (gs.background_health_checks, gs.health_check_interval) {
            (Some(true), v) => Some(secs(
                v.unwrap_or(300.0),
                "general_settings.health_check_interval",
            )?),
            _ => None,
        },
        health_cache: match gs.health_check_cache_seconds {
            Some(0.0) => Duration::ZERO,
            Some(v) => secs(v, "general_settings.health_check_cache_seconds")?,
            None => Duration::from_secs(10),
        },
        metrics_require_auth: ls.require_auth_for_metrics_endpoint.unwrap_or(false),
        drop_params: ls.drop_params.unwrap_or(false),
        forward_openai_org: gs.forward_openai_org_id.unwrap_or(false),
        database_url: gs.database_url.clone().or_else(|| env.get("DATABASE_URL")),
        redis_url: rs
            .redis_url
            .clone()
            .or_else(|| env.get("REDIS_URL"))
            .or_else(|| {
                let host = rs.redis_host.clone().or_else(|| env.get("REDIS_HOST"))?;
                let port = rs
                    .redis_port
                    .map(|p| p.to_string())
                    .or_else(|| env.get("REDIS_PORT"))
                    .unwrap_or_else(|| "6379".into());
                let password = rs
                    .redis_password
                    .clone()
                    .or_else(|| env.get("REDIS_PASSWORD"));
                Some(match password {
                    Some(p) => format!("redis://:{p}@{host}:{port}"),
                    None => format!("redis://{host}:{port}"),
                })
            }),
        governance: governance_settings(ls, gs, &mut check.warnings)?,
        observe: super::observe::settings(&raw, env, &mut check.warnings)?,
        alerting: super::alerting::settings(gs, env, &mut check.warnings)?,
    };

    let master_key = match gs
        .master_key
        .clone()
        .or_else(|| env.get("LITELLM_MASTER_KEY"))
    {
        Some(k) if k.trim().is_empty() => None,
        Some(k) => {
            if INSECURE_KEYS.contains(&k.as_str()) && !opts.allow_insecure_master_key {
                return Err(ConfigError::new("general_settings.master_key", format!("\"{k}\" is a well-known default key and would let anyone in"))
                    .hint("set a random key, e.g. sk-$(openssl rand -hex 16), or pass --allow-insecure-master-key for local testing"));
            }
            Some(MasterKey::new(k))
        }
        None => None,
    };

    let cooldown_defaults = {
        let names: Vec<&str> = raw
            .model_list
            .iter()
            .map(|m| m.model_name.as_str())
            .collect();
        let ids: Vec<&str> = raw
            .model_list
            .iter()
            .filter_map(|m| m.model_info.id.as_deref())
            .collect();
        super::routing::build(rs, ls, &names, &ids)?
    };
    let mut deployments = Vec::with_capacity(raw.model_list.len());
    for (i, m) in raw.model_list.iter().enumerate() {
        let path = format!("model_list[{i}]");
        deployments.push(super::deployment::deployment(
            m,
            &path,
            env,
            opts,
            &settings,
            &cooldown_defaults.cooldown,
            &mut check,
        )?);
    }
    if !check.unsupported.is_empty() {
        let list = check.unsupported.join(", ");
        check.warnings.push(format!(
            "providers not implemented yet (requests to them get 501): {list}"
        ));
    }
    let groups = model_groups(deployments, rs, &cooldown_defaults);
    Ok(Runtime {
        router: Router::new(
            groups,
            cooldown_defaults.aliases,
            cooldown_defaults.fallbacks,
        ),
        master_key,
        settings,
        warnings: check.warnings,
        notes: cooldown_defaults.notes,
        retry_after: cooldown_defaults.retry_after,
    })
}

/// The deployments grouped by `model_name`, groups in config order, each with its retry
/// policy and the router-wide switches of `router_settings`.
fn model_groups(
    deployments: Vec<Deployment>,
    rs: &RawRouterSettings,
    routing: &RoutingConfig,
) -> Vec<ModelGroup> {
    let mut grouped: Vec<(Arc<str>, Vec<Arc<Deployment>>)> = Vec::new();
    let mut index: HashMap<Arc<str>, usize> = HashMap::new();
    for d in deployments {
        match index.get(&d.group) {
            Some(&i) => grouped[i].1.push(Arc::new(d)),
            None => {
                index.insert(d.group.clone(), grouped.len());
                grouped.push((d.group.clone(), vec![Arc::new(d)]));
            }
        }
    }
    let enforce_rate_limits = rs
        .optional_pre_call_checks
        .iter()
        .flatten()
        .any(|c| c == "enforce_model_rate_limits");
    grouped
        .into_iter()
        .map(|(name, deps)| {
            let policy = routing
                .group_retry_policy
                .get(&*name)
                .unwrap_or(&routing.retry_policy)
                .clone();
            let mut group = ModelGroup::new(name, deps, routing.strategy).with_retry_policy(policy);
            group.health_routing = rs.enable_health_check_routing.unwrap_or(false);
            group.pre_call_checks = rs.enable_pre_call_checks.unwrap_or(false);
            group.enforce_rate_limits = enforce_rate_limits;
            group
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests;
