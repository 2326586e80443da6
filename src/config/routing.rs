//! The router's config: strategy, cooldowns, fallbacks and aliases, from `router_settings`
//! (which wins) and `litellm_settings` (LiteLLM accepts the router keys in both).

use std::collections::HashMap;
use std::time::Duration;

use serde_yaml::Value;

use super::raw::{RawAlias, RawLitellmSettings, RawRetryPolicy, RawRouterSettings};
use crate::core::config_error::{suggestion, ConfigError};
use crate::router::cooldown::{AllowedFailsPolicy, CooldownPolicy};
use crate::router::fallback::Fallbacks;
use crate::router::retry::RetryPolicy;
use crate::router::Strategy;

const ROUTING_STRATEGIES: &[&str] = &[
    "simple-shuffle",
    "least-busy",
    "usage-based-routing",
    "usage-based-routing-v2",
    "latency-based-routing",
    "cost-based-routing",
];

/// Router-wide settings resolved from the file.
pub struct RoutingConfig {
    pub strategy: Strategy,
    pub cooldown: CooldownPolicy,
    pub fallbacks: Fallbacks,
    /// alias -> (group, hidden from `/v1/models`)
    pub aliases: HashMap<String, (String, bool)>,
    /// Minimum wait before a retry when no healthy deployment is left (`retry_after`).
    pub retry_after: Duration,
    /// Problems that do not stop loading (LiteLLM loads them too), one line each.
    pub notes: Vec<String>,
    pub retry_policy: RetryPolicy,
    pub group_retry_policy: HashMap<String, RetryPolicy>,
}

fn retry_policy(p: &RawRetryPolicy) -> RetryPolicy {
    RetryPolicy {
        bad_request: p.bad_request,
        auth: p.auth,
        timeout: p.timeout,
        rate_limit: p.rate_limit,
        content_policy: p.content_policy,
        server: p.server,
    }
}

/// Parse LiteLLM's fallback shapes: `[{"a": ["b"]}, ...]` or `{"a": ["b"]}`.
fn fallback_map(v: &Value, path: &str) -> Result<HashMap<String, Vec<String>>, ConfigError> {
    let mut out = HashMap::new();
    let mut add = |m: &serde_yaml::Mapping, path: &str| -> Result<(), ConfigError> {
        for (k, v) in m {
            let Some(k) = k.as_str() else {
                return Err(ConfigError::new(path, "model group names must be strings"));
            };
            let list: Vec<String> = match v {
                Value::String(s) => vec![s.clone()],
                Value::Sequence(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        ConfigError::new(
                            format!("{path}.{k}"),
                            "expected a list of model group names",
                        )
                    })?,
                _ => {
                    return Err(ConfigError::new(
                        format!("{path}.{k}"),
                        "expected a list of model group names",
                    ))
                }
            };
            out.insert(k.to_string(), list);
        }
        Ok(())
    };
    match v {
        Value::Null => {}
        Value::Mapping(m) => add(m, path)?,
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Mapping(m) => add(m, &format!("{path}[{i}]"))?,
                    _ => {
                        return Err(ConfigError::new(
                            format!("{path}[{i}]"),
                            "expected {group: [fallback groups]}",
                        )
                        .hint("e.g. fallbacks: [{\"gpt-4o\": [\"claude-sonnet\"]}]"))
                    }
                }
            }
        }
        _ => {
            return Err(ConfigError::new(
                path,
                "expected a list like [{\"gpt-4o\": [\"claude-sonnet\"]}]",
            ))
        }
    }
    Ok(out)
}

fn pick<'a, T>(rs: &'a Option<T>, ls: &'a Option<T>, key: &str) -> (Option<&'a T>, String) {
    match (rs, ls) {
        (Some(v), _) => (Some(v), format!("router_settings.{key}")),
        (None, Some(v)) => (Some(v), format!("litellm_settings.{key}")),
        (None, None) => (None, String::new()),
    }
}

#[expect(clippy::too_many_lines, reason = "config load, not the request path")]
pub fn build(
    rs: &RawRouterSettings,
    ls: &RawLitellmSettings,
    groups: &[&str],
    ids: &[&str],
) -> Result<RoutingConfig, ConfigError> {
    let args = rs.routing_strategy_args.as_ref();
    let buffer = (
        args.and_then(|a| a.lowest_latency_buffer),
        args.and_then(|a| a.max_latency_list_size),
        args.and_then(|a| a.ttl),
    );
    let strategy = match &rs.routing_strategy {
        None => Strategy::SimpleShuffle,
        Some(s) => Strategy::parse(s, buffer).ok_or_else(|| {
            let e = ConfigError::new(
                "router_settings.routing_strategy",
                format!("unknown routing strategy \"{s}\""),
            );
            match suggestion(s, ROUTING_STRATEGIES.iter().copied()) {
                Some(h) => e.hint(h),
                None => e.hint(format!("one of: {}", ROUTING_STRATEGIES.join(", "))),
            }
        })?,
    };

    let (r, l) = (&rs.routing, &ls.routing);
    let mut cooldown = CooldownPolicy::default();
    if let (Some(v), _) = pick(&r.allowed_fails, &l.allowed_fails, "allowed_fails") {
        cooldown.allowed_fails = *v;
    }
    if let (Some(v), path) = pick(&r.cooldown_time, &l.cooldown_time, "cooldown_time") {
        cooldown.cooldown = Duration::try_from_secs_f64(*v)
            .map_err(|_| ConfigError::new(path, format!("expected seconds, got {v}")))?;
    }
    cooldown.disabled = r.disable_cooldowns.or(l.disable_cooldowns).unwrap_or(false);
    if let Some(p) = &rs.allowed_fails_policy {
        cooldown.policy = AllowedFailsPolicy {
            rate_limit: p.rate_limit,
            timeout: p.timeout,
            auth: p.auth,
            bad_request: p.bad_request,
            content_policy: p.content_policy,
            server: p.server,
        };
    }

    let list = |rv: &Option<Value>,
                lv: &Option<Value>,
                key: &str|
     -> Result<HashMap<String, Vec<String>>, ConfigError> {
        match pick(rv, lv, key) {
            (Some(v), path) => fallback_map(v, &path),
            (None, _) => Ok(HashMap::new()),
        }
    };
    let fallbacks = Fallbacks {
        generic: list(&r.fallbacks, &l.fallbacks, "fallbacks")?,
        context_window: list(
            &r.context_window_fallbacks,
            &l.context_window_fallbacks,
            "context_window_fallbacks",
        )?,
        content_policy: list(
            &r.content_policy_fallbacks,
            &l.content_policy_fallbacks,
            "content_policy_fallbacks",
        )?,
        default: r
            .default_fallbacks
            .clone()
            .or_else(|| l.default_fallbacks.clone())
            .unwrap_or_default(),
        max_fallbacks: r.max_fallbacks.or(l.max_fallbacks).unwrap_or(5) as usize,
    };
    // Every name in a fallback list should be a group or a deployment id.
    let mut notes = Vec::new();
    let known = |name: &str| groups.contains(&name) || ids.contains(&name);
    for (key, map) in [
        ("fallbacks", &fallbacks.generic),
        ("context_window_fallbacks", &fallbacks.context_window),
        ("content_policy_fallbacks", &fallbacks.content_policy),
    ] {
        for (from, to) in map {
            for name in std::iter::once(from).chain(to.iter()) {
                if !known(name) {
                    // LiteLLM loads these and fails at request time; say so now.
                    let mut note = format!("{key}: \"{name}\" is not a model_name or deployment id in model_list; it will be skipped");
                    if let Some(h) = suggestion(name, groups.iter().copied()) {
                        note.push_str(&format!(" ({h})"));
                    }
                    notes.push(note);
                }
            }
        }
    }
    for name in &fallbacks.default {
        if !known(name) {
            notes.push(format!(
                "default_fallbacks: \"{name}\" is not a model_name in model_list; it will be skipped"
            ));
        }
    }

    let mut aliases = HashMap::new();
    let legacy = ls
        .model_alias_map
        .iter()
        .flatten()
        .map(|(a, g)| ("litellm_settings.model_alias_map", a, (g.clone(), false)));
    let current = rs.model_group_alias.iter().flatten().map(|(a, t)| {
        let target = match t {
            RawAlias::Name(g) => (g.clone(), false),
            RawAlias::Full { model, hidden } => (model.clone(), *hidden),
        };
        ("router_settings.model_group_alias", a, target)
    });
    for (key, alias, (group, hidden)) in legacy.chain(current) {
        if !groups.contains(&group.as_str()) {
            let e = ConfigError::new(
                format!("{key}.{alias}"),
                format!("\"{group}\" is not a model_name in model_list"),
            );
            return Err(match suggestion(&group, groups.iter().copied()) {
                Some(h) => e.hint(h),
                None => e,
            });
        }
        aliases.insert(alias.clone(), (group, hidden));
    }

    let retry_after = match pick(&r.retry_after, &l.retry_after, "retry_after") {
        (Some(v), path) => Duration::try_from_secs_f64(*v)
            .map_err(|_| ConfigError::new(path, format!("expected seconds, got {v}")))?,
        (None, _) => Duration::ZERO,
    };
    Ok(RoutingConfig {
        strategy,
        cooldown,
        fallbacks,
        aliases,
        retry_after,
        notes,
        retry_policy: rs
            .retry_policy
            .as_ref()
            .map(retry_policy)
            .unwrap_or_default(),
        group_retry_policy: rs
            .model_group_retry_policy
            .iter()
            .flatten()
            .map(|(g, p)| (g.clone(), retry_policy(p)))
            .collect(),
    })
}
