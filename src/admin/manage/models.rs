//! `/model/info` and `/model_group/info`: the configured deployments and groups, with
//! prices and limits, never credentials.

use serde_json::{json, Value};

use super::{reply, Access, Reply};
use crate::config::Runtime;
use crate::pricing;
use crate::router::{Backend, Deployment, ModelGroup};

/// Nano-USD per token to dollars per token (`null` when no price is known).
fn usd(d: &Deployment, nano: f64) -> Value {
    if d.price.known {
        json!(nano / 1e9)
    } else {
        Value::Null
    }
}

fn api_base(d: &Deployment) -> Value {
    match &d.backend {
        Backend::Http(t) => Value::String(format!("{}{}", t.display, t.base_path)),
        _ => Value::Null,
    }
}

fn provider_model(d: &Deployment) -> String {
    format!("{}/{}", d.backend.provider_label(), d.upstream_model)
}

/// Every group the caller may call, in config order.
fn groups<'a>(
    rt: &'a Runtime,
    access: Access<'a>,
) -> impl Iterator<Item = &'a std::sync::Arc<crate::router::ModelGroup>> {
    rt.router.groups().filter(move |g| match access {
        Access::Admin => true,
        Access::Own(k) => k.allows(&g.name, &g.name),
    })
}

/// `GET /model/info` (and `/v1/model/info`): the deployments of the groups the caller may
/// call.
pub(crate) fn info(rt: &Runtime, access: Access<'_>) -> Reply {
    let data: Vec<Value> = groups(rt, access)
        .flat_map(|g| g.deployments.iter())
        .map(|d| {
            let mut model_info = json!({
                "id": &*d.id,
                "mode": d.mode.as_deref().unwrap_or("chat"),
                "max_input_tokens": d.max_input_tokens,
                "max_output_tokens": d.price.max_output,
                "input_cost_per_token": usd(d, d.price.input),
                "output_cost_per_token": usd(d, d.price.output),
                "litellm_provider": d.backend.provider_label(),
                "db_model": false,
            });
            // The config's own keys win over the computed ones, as in LiteLLM.
            if let Value::Object(o) = &mut model_info {
                o.extend(d.model_info.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            json!({
                "model_name": &*d.group,
                "litellm_params": {
                    "model": provider_model(d),
                    "api_base": api_base(d),
                    "rpm": d.rpm,
                    "tpm": d.tpm,
                    "order": d.order,
                    "max_parallel_requests": d.max_parallel,
                    "timeout": d.timeout.as_secs_f64(),
                },
                "model_info": model_info,
            })
        })
        .collect();
    reply(&json!({ "data": data }))
}

/// The models a wildcard group stands for, as LiteLLM's `get_known_models_from_wildcard`
/// lists them: `anthropic/*` (or `anthropic/claude-*`) gives every model the price table
/// knows for its deployments' provider (starting with the part before `*`), named under the
/// wildcard's prefix. A bare `*` names no provider and gives none.
fn wildcard_entries(g: &ModelGroup) -> Vec<Value> {
    let Some((prefix, rest)) = g.name.split_once('/') else {
        return Vec::new();
    };
    let Some((stem, _)) = rest.split_once('*') else {
        return Vec::new();
    };
    let mut providers: Vec<&str> = g
        .deployments
        .iter()
        .map(|d| d.backend.provider_label())
        .collect();
    providers.dedup();
    let mut seen = std::collections::HashSet::new();
    providers
        .into_iter()
        .flat_map(|p| pricing::models_of(p).iter().map(move |m| (p, m)))
        .filter(|(_, m)| {
            // The stem is matched after the provider prefix some table keys carry.
            let bare = m
                .name
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('/'));
            bare.unwrap_or(&m.name).starts_with(stem)
        })
        .filter_map(|(provider, m)| {
            let name = if m.name.starts_with(prefix) {
                m.name.clone()
            } else {
                format!("{prefix}/{}", m.name)
            };
            seen.insert(name.clone()).then(|| {
                json!({
                    "model_group": name,
                    "providers": [provider],
                    "max_input_tokens": m.price.max_input_tokens,
                    "max_output_tokens": m.price.max_output_tokens,
                    "input_cost_per_token": m.price.input_cost_per_token,
                    "output_cost_per_token": m.price.output_cost_per_token,
                    "mode": m.mode.as_deref().unwrap_or("chat"),
                    "tpm": Value::Null,
                    "rpm": Value::Null,
                })
            })
        })
        .collect()
}

/// `GET /model_group/info`: per group, the widest limits and the highest prices of its
/// deployments, and the sum of their rpm/tpm; a wildcard group is listed as the known models
/// it expands to, not as itself.
pub(crate) fn group_info(rt: &Runtime, access: Access<'_>) -> Reply {
    let data: Vec<Value> = groups(rt, access)
        .flat_map(|g| {
            let ds = &g.deployments;
            let mut providers: Vec<&str> = ds.iter().map(|d| d.backend.provider_label()).collect();
            providers.dedup();
            let max_in = ds.iter().filter_map(|d| d.max_input_tokens).max();
            let max_out = ds.iter().filter_map(|d| d.price.max_output).max();
            let priced: Vec<_> = ds.iter().filter(|d| d.price.known).collect();
            let top = |f: fn(&Deployment) -> f64| {
                priced
                    .iter()
                    .map(|d| f(d))
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
            };
            let sum = |f: fn(&Deployment) -> Option<u64>| {
                ds.iter()
                    .map(|d| f(d))
                    .try_fold(0u64, |acc, v| v.map(|v| acc.saturating_add(v)))
            };
            let own = json!({
                "model_group": &*g.name,
                "providers": providers,
                "max_input_tokens": max_in,
                "max_output_tokens": max_out,
                "input_cost_per_token": top(|d| d.price.input).map(|v| v / 1e9),
                "output_cost_per_token": top(|d| d.price.output).map(|v| v / 1e9),
                "mode": ds.iter().find_map(|d| d.mode.clone()).unwrap_or_else(|| "chat".into()),
                "tpm": sum(|d| d.tpm),
                "rpm": sum(|d| d.rpm),
            });
            // A wildcard pattern is listed as the models it stands for, never as itself.
            if g.name.contains('*') {
                wildcard_entries(g)
            } else {
                vec![own]
            }
        })
        .collect();
    reply(&json!({ "data": data }))
}
