//! The validated, immutable config snapshot every request reads (`Runtime`), and its builder.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::gov::governance_settings;
use super::known;
use super::raw::{RawConfig, Rest};
use crate::core::config_error::{suggestion, ConfigError};
use crate::core::env::Env;
use crate::core::secret::MasterKey;
use crate::governance::GovSettings;
use crate::router::fallback::Fallbacks;
use crate::router::{Deployment, DeploymentStats, ModelGroup};

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
}

/// One validated config snapshot.
pub struct Runtime {
    groups: HashMap<Arc<str>, Arc<ModelGroup>>,
    /// Group names in config order, for `/v1/models`.
    pub model_names: Vec<Arc<str>>,
    pub master_key: Option<MasterKey>,
    pub settings: Settings,
    /// Keys LiteLLM has that this build ignores, one line each.
    pub warnings: Vec<String>,
    /// Problems that do not stop loading (e.g. a fallback naming no model group).
    pub notes: Vec<String>,
    pub fallbacks: Fallbacks,
    /// `model_group_alias`: alias -> (group, hidden from `/v1/models`).
    pub aliases: HashMap<String, (String, bool)>,
    /// Minimum wait before retrying when no healthy deployment is left.
    pub retry_after: Duration,
}

impl Runtime {
    pub fn group(&self, name: &str) -> Option<&Arc<ModelGroup>> {
        self.groups.get(name)
    }

    /// A wildcard group (`openai/*`, `*`) matching `name`, and the part the `*` matched,
    /// which replaces the `*` in the deployment's model. The most specific pattern wins, as
    /// in LiteLLM's pattern router (`groq/*` before `*`); config order breaks ties.
    pub fn resolve_wildcard(&self, name: &str) -> Option<(&Arc<ModelGroup>, String)> {
        let mut best: Option<((usize, usize), &Arc<ModelGroup>, &str)> = None;
        for pattern in self.model_names.iter().filter(|m| m.contains('*')) {
            let Some((pre, post)) = pattern.split_once('*') else {
                continue;
            };
            let Some(mid) = name.strip_prefix(pre).and_then(|r| r.strip_suffix(post)) else {
                continue;
            };
            let Some(group) = self.groups.get(pattern) else {
                continue;
            };
            let key = pattern_specificity(pattern);
            if best.as_ref().is_none_or(|(k, _, _)| key > *k) {
                best = Some((key, group, mid));
            }
        }
        best.map(|(_, g, mid)| (g, mid.to_string()))
    }

    /// The group a requested model name means: a `model_name`, else an alias.
    pub fn resolve(&self, name: &str) -> Option<&Arc<ModelGroup>> {
        self.groups.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|(g, _)| self.groups.get(g.as_str()))
        })
    }

    /// The group holding a deployment id (fallback to a specific deployment).
    pub fn group_of_deployment(&self, id: &str) -> Option<&Arc<ModelGroup>> {
        self.groups
            .values()
            .find(|g| g.deployments.iter().any(|d| &*d.id == id))
    }

    /// A fallback entry: a model group (or alias), else the group holding that deployment
    /// id, with the id when it named one.
    pub fn fallback_target<'a>(
        &self,
        name: &'a str,
    ) -> Option<(&Arc<ModelGroup>, Option<&'a str>)> {
        match self.resolve(name) {
            Some(g) => Some((g, None)),
            None => self.group_of_deployment(name).map(|g| (g, Some(name))),
        }
    }

    /// Every group a request to `primary` may fall back to (the config lists of every error
    /// class, then the request's own list), at most `max_fallbacks` of each list.
    pub fn fallback_groups<'a>(
        &'a self,
        primary: &'a str,
        per_request: Option<&'a [crate::core::call::Fallback]>,
    ) -> impl Iterator<Item = &'a Arc<ModelGroup>> {
        use crate::core::failure::FallbackClass;
        let f = &self.fallbacks;
        let max = f.max_fallbacks;
        [
            FallbackClass::Other,
            FallbackClass::ContextWindow,
            FallbackClass::ContentPolicy,
        ]
        .into_iter()
        .flat_map(move |class| f.for_error(primary, class).iter().take(max))
        .map(String::as_str)
        .chain(
            per_request
                .into_iter()
                .flatten()
                .take(max)
                .map(|e| e.model.as_str()),
        )
        .filter_map(move |name| self.fallback_target(name).map(|(g, _)| g))
    }

    /// Names `/v1/models` lists: groups in config order, then visible aliases.
    pub fn listed_models(&self) -> Vec<&str> {
        // Wildcard routes are not listed (LiteLLM lists them only on request).
        let mut out: Vec<&str> = self
            .model_names
            .iter()
            .map(|m| &**m)
            .filter(|m| !m.contains('*'))
            .collect();
        let mut aliases: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, (_, hidden))| !hidden)
            .map(|(a, _)| a.as_str())
            .collect();
        aliases.sort_unstable();
        out.extend(aliases);
        out
    }

    /// Every replica pool in this snapshot (deployments with several `api_base`s).
    pub fn replica_pools(&self) -> impl Iterator<Item = &crate::upstream::ReplicaPool> {
        self.groups
            .values()
            .flat_map(|g| g.deployments.iter())
            .filter_map(|d| match &d.backend {
                crate::router::Backend::Http(t) => t.addr.replicas.as_ref(),
                _ => None,
            })
    }

    pub fn deployment_count(&self) -> usize {
        self.groups.values().map(|g| g.deployments.len()).sum()
    }

    pub(super) fn stats(&self, id: &str) -> Option<Arc<DeploymentStats>> {
        self.groups
            .values()
            .flat_map(|g| g.deployments.iter())
            .find(|d| &*d.id == id)
            .map(|d| d.stats.clone())
    }
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
            "drop_params",
            "max_budget",
            "budget_duration",
            "timezone",
            "upperbound_key_generate_params",
            "default_key_generate_params",
            "max_internal_user_budget",
            "internal_user_budget_duration",
            "default_internal_user_params",
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
    let mut groups: HashMap<Arc<str>, Vec<Arc<Deployment>>> = HashMap::new();
    let mut model_names: Vec<Arc<str>> = Vec::new();
    for (i, m) in raw.model_list.iter().enumerate() {
        let path = format!("model_list[{i}]");
        let d = super::deployment::deployment(
            m,
            &path,
            env,
            opts,
            &settings,
            &cooldown_defaults.cooldown,
            &mut check,
        )?;
        match groups.get_mut(&d.group) {
            Some(v) => v.push(Arc::new(d)),
            None => {
                model_names.push(d.group.clone());
                groups.insert(d.group.clone(), vec![Arc::new(d)]);
            }
        }
    }
    if !check.unsupported.is_empty() {
        let list = check.unsupported.join(", ");
        check.warnings.push(format!(
            "providers not implemented yet (requests to them get 501): {list}"
        ));
    }
    let groups = groups
        .into_iter()
        .map(|(name, deps)| {
            let policy = cooldown_defaults
                .group_retry_policy
                .get(&*name)
                .unwrap_or(&cooldown_defaults.retry_policy)
                .clone();
            let mut group = ModelGroup::new(name.clone(), deps, cooldown_defaults.strategy)
                .with_retry_policy(policy);
            group.health_routing = rs.enable_health_check_routing.unwrap_or(false);
            group.pre_call_checks = rs.enable_pre_call_checks.unwrap_or(false);
            group.enforce_rate_limits = rs
                .optional_pre_call_checks
                .iter()
                .flatten()
                .any(|c| c == "enforce_model_rate_limits");
            (name, Arc::new(group))
        })
        .collect();
    Ok(Runtime {
        groups,
        model_names,
        master_key,
        settings,
        warnings: check.warnings,
        notes: cooldown_defaults.notes,
        fallbacks: cooldown_defaults.fallbacks,
        aliases: cooldown_defaults.aliases,
        retry_after: cooldown_defaults.retry_after,
    })
}

/// LiteLLM's specificity of a wildcard pattern: the length of the regex it becomes (Python's
/// `re.escape`, then each `*` as `(.*)`) and how many regex metacharacters that regex holds.
/// A larger key is more specific.
fn pattern_specificity(pattern: &str) -> (usize, usize) {
    const ESCAPED: &str = "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c";
    const COMPLEX: &str = "*+?\\^$|()";
    let (mut len, mut complexity) = (0, 0);
    for c in pattern.chars() {
        if c == '*' {
            // `(.*)`: four characters, three of them metacharacters.
            len += 4;
            complexity += 3;
        } else if ESCAPED.contains(c) {
            // A backslash before the character.
            len += 2;
            complexity += 1 + usize::from(COMPLEX.contains(c));
        } else {
            len += 1;
        }
    }
    (len, complexity)
}

#[cfg(test)]
pub(super) mod tests;
