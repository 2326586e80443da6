//! One deployment from a `model_list` entry: provider, target URL, credentials, policies.

use std::net::ToSocketAddrs;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use serde_json::value::RawValue;

use super::known;
use super::raw::RawModel;
use super::runtime::{secs, BuildOptions, Checker, Settings};
use crate::core::call::json_string;
use crate::core::call::MockSpec;
use crate::core::config_error::{suggestion, ConfigError};
use crate::core::endpoint::Endpoint;
use crate::core::env::Env;
use crate::core::ids::PROVIDERS;
use crate::metrics::{DeploymentLabels, DeploymentMetrics};
use crate::pricing::cost::{Price, TablePricing, UsdPrices};
use crate::providers::{provider, ProviderKind};
use crate::router::cooldown::CooldownPolicy;
use crate::router::{Backend, Deployment, HttpTarget};

/// FNV-1a, for deployment ids that are stable across restarts.
fn stable_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

const OURS_PARAMS: &[&str] = &[
    "model",
    "api_key",
    "api_base",
    "api_version",
    "rpm",
    "tpm",
    "timeout",
    "stream_timeout",
    "max_retries",
    "max_parallel_requests",
    "num_retries",
    "weight",
    "order",
    "mock_response",
    "extra_headers",
    "organization",
    "cooldown_time",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "input_cost_per_second",
    "output_cost_per_second",
];

#[expect(
    clippy::too_many_lines,
    reason = "config load, not the request path: one pass over a model entry"
)]
pub(super) fn deployment(
    m: &RawModel,
    path: &str,
    env: &Env,
    opts: &BuildOptions<'_>,
    settings: &Settings,
    cooldown: &CooldownPolicy,
    check: &mut Checker,
) -> Result<Deployment, ConfigError> {
    if let Some(k) = m.rest.keys().next() {
        let mut e = ConfigError::new(format!("{path}.{k}"), "unknown key");
        if let Some(s) = suggestion(k, ["model_name", "litellm_params", "model_info"]) {
            e = e.hint(s);
        }
        return Err(e);
    }
    if m.model_name.trim().is_empty() {
        return Err(ConfigError::new(
            format!("{path}.model_name"),
            "must not be empty",
        ));
    }
    let p = &m.litellm_params;
    let pp = format!("{path}.litellm_params");
    let (prefix, name) = match p.model.split_once('/') {
        Some((prefix, name)) => (prefix, name),
        None => ("openai", p.model.as_str()),
    };
    if name.is_empty() {
        return Err(
            ConfigError::new(format!("{pp}.model"), "model name is empty")
                .hint("write it as provider/model, e.g. openai/gpt-4o"),
        );
    }
    if !PROVIDERS.contains(&prefix) {
        let mut e = ConfigError::new(
            format!("{pp}.model"),
            format!("unknown provider \"{prefix}\""),
        );
        if let Some(s) = suggestion(prefix, PROVIDERS.iter().copied()) {
            e = e.hint(s);
        }
        return Err(e);
    }

    // Extra litellm_params: LiteLLM forwards unknown kwargs to the provider, so they become
    // request defaults, unless one looks like a typo of a key we know.
    let mut defaults: Vec<(String, Box<RawValue>)> = Vec::new();
    for (k, v) in &p.rest {
        if known::LITELLM_PARAMS.contains(&k.as_str()) {
            check.warnings.push(format!("{pp}.{k}"));
            continue;
        }
        if !known::DEFAULT_PARAMS.contains(&k.as_str()) {
            if let Some(s) = suggestion(k, OURS_PARAMS.iter().chain(known::LITELLM_PARAMS).copied())
            {
                return Err(ConfigError::new(format!("{pp}.{k}"), "unknown key").hint(s));
            }
        }
        let json = serde_json::to_string(v)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .ok_or_else(|| ConfigError::new(format!("{pp}.{k}"), "value cannot be sent as JSON"))?;
        defaults.push((k.clone(), json));
    }

    let group: Arc<str> = Arc::from(m.model_name.as_str());
    let key_material = p
        .api_key
        .as_deref()
        .map(|k| stable_id(&[k]))
        .unwrap_or_default();
    let id: Arc<str> = Arc::from(m.model_info.id.clone().unwrap_or_else(|| {
        stable_id(&[
            &m.model_name,
            &p.model,
            p.api_base.as_ref().and_then(|b| b.first()).unwrap_or(""),
            p.api_version.as_deref().unwrap_or(""),
            &key_material,
        ])
    }));

    let backend = if let Some(mock) = &p.mock_response {
        match mock {
            serde_yaml::Value::String(s) => Backend::Mock(MockSpec::parse(s)),
            _ => {
                return Err(ConfigError::new(
                    format!("{pp}.mock_response"),
                    "expected a string",
                ))
            }
        }
    } else {
        match ProviderKind::from_prefix(prefix) {
            Some(kind) => Backend::Http(Box::new(http_target(kind, name, p, &pp, env, opts)?)),
            None => {
                check
                    .unsupported
                    .push(format!("{}={}", m.model_name, p.model));
                Backend::Unsupported(prefix.to_string())
            }
        }
    };

    let timeout = match p.timeout {
        Some(v) => secs(v, &format!("{pp}.timeout"))?,
        None => settings.timeout,
    };
    let stream_timeout = match p.stream_timeout {
        Some(v) => Some(secs(v, &format!("{pp}.stream_timeout"))?),
        None => settings.stream_timeout,
    };
    if let Some(w) = p.weight {
        if !(w >= 0.0 && w.is_finite()) {
            return Err(ConfigError::new(
                format!("{pp}.weight"),
                format!("expected a non-negative number, got {w}"),
            ));
        }
    }
    let stats = opts
        .previous
        .and_then(|r| r.router.stats(&id))
        .unwrap_or_default();
    let api_base = match &backend {
        Backend::Http(t) => format!("{}{}", t.display, t.base_path),
        Backend::Mock(_) | Backend::Unsupported(_) => String::new(),
    };
    let metrics = DeploymentMetrics::new(DeploymentLabels {
        group: &group,
        id: &id,
        provider: backend.provider_label(),
        model: name,
        api_base: &api_base,
    });
    // The bundled table fills in what model_info does not say (LiteLLM's model cost map).
    let table = crate::pricing::lookup(prefix, name, m.model_info.base_model.as_deref());
    let i = &m.model_info;
    let configured = p.prices.usd().or(i.prices.usd());
    let prices = configured.or(table.map(UsdPrices::of_table).unwrap_or_default());
    let max_output = i
        .max_output_tokens
        .or(table.and_then(|t| t.max_output_tokens));
    // A wildcard (`openai/*`) priced nowhere in the config: each request is priced by the
    // model it asks for.
    let table_pricing = (name.contains('*') && !configured.any() && table.is_none()).then(|| {
        Box::new(TablePricing {
            provider: prefix.to_string(),
            pattern: m.model_name.clone(),
            template: name.to_string(),
            max_output: i.max_output_tokens,
        })
    });
    Ok(Deployment {
        id,
        group,
        upstream_model: Arc::from(name),
        model_json: json_string(name),
        backend,
        weight: p.weight,
        rpm: p.rpm,
        tpm: p.tpm,
        order: p.order,
        cost_per_token: match (prices.input_per_token, prices.output_per_token) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0.0) + o.unwrap_or(0.0)),
        },
        price: Price::from_prices(prices, max_output),
        table_pricing,
        max_parallel: p.max_parallel_requests.or(settings.default_max_parallel),
        use_in_pass_through: p.use_in_pass_through.unwrap_or(false),
        region: p.region_name.as_deref().map(Box::from),
        mode: m.model_info.mode.clone(),
        model_info: m.model_info.to_json(),
        health_check_model: m
            .model_info
            .health_check_model
            .as_deref()
            .map(|h| h.split_once('/').map_or(h, |(_, n)| n).to_string()),
        max_input_tokens: m
            .model_info
            .max_input_tokens
            .or(table.and_then(|t| t.max_input_tokens)),
        tokenizer: crate::router::precall::Tokenizer::for_model(prefix, name),
        cooldown: CooldownPolicy {
            cooldown: match p.cooldown_time {
                Some(v) => secs(v, &format!("{pp}.cooldown_time"))?,
                None => cooldown.cooldown,
            },
            ..cooldown.clone()
        },
        timeout,
        timeout_header: crate::router::deployment::python_float(timeout.as_secs_f64()),
        stream_timeout,
        num_retries: p.num_retries,
        defaults,
        drop_params: p.drop_params.unwrap_or(settings.drop_params),
        additional_drop_params: p.additional_drop_params.clone().unwrap_or_default(),
        metrics,
        stats,
    })
}

fn header_pair(
    name: &str,
    value: &str,
    path: &str,
) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::new(path, format!("invalid header name \"{name}\"")))?;
    let v = HeaderValue::from_str(value)
        .map_err(|_| ConfigError::new(path, format!("invalid value for header \"{name}\"")))?;
    Ok((n, v))
}

#[expect(
    clippy::too_many_lines,
    reason = "config load, not the request path: one pass over a deployment's params"
)]
fn http_target(
    kind: ProviderKind,
    model: &str,
    p: &super::raw::RawLitellmParams,
    pp: &str,
    env: &Env,
    opts: &BuildOptions<'_>,
) -> Result<HttpTarget, ConfigError> {
    let defaults = kind.defaults();
    let first_env = |names: &[&str]| names.iter().find_map(|n| env.get(n));
    let prov = provider(kind);
    let api_key = p
        .api_key
        .clone()
        .or_else(|| first_env(defaults.key_env))
        .or_else(|| defaults.fallback_key.map(str::to_string));
    let params = crate::providers::Params {
        path: pp,
        model,
        has_api_key: api_key.is_some(),
        aws_region_name: p.aws_region_name.as_deref(),
        aws_access_key_id: p.aws_access_key_id.as_deref(),
        aws_secret_access_key: p.aws_secret_access_key.as_deref(),
        aws_session_token: p.aws_session_token.as_deref(),
        vertex_project: p.vertex_project.as_deref(),
        vertex_location: p.vertex_location.as_deref(),
        vertex_credentials: p.vertex_credentials.as_ref(),
    };
    let mut placed = prov.place(&params, env)?;
    let base = p
        .api_base
        .as_ref()
        .and_then(|b| b.first())
        .map(str::to_string)
        .or_else(|| first_env(defaults.base_env))
        .or_else(|| placed.default_base.take())
        .or_else(|| defaults.api_base.map(str::to_string))
        .ok_or_else(|| {
            ConfigError::new(
                format!("{pp}.api_base"),
                format!("api_base is required for {}/ models", kind.as_str()),
            )
            .hint(match defaults.base_env.first() {
                Some(v) => format!("set api_base or the {v} environment variable"),
                None => "set api_base".to_string(),
            })
        })?;
    let uri: http::Uri = base.trim().parse().map_err(|e| {
        ConfigError::new(
            format!("{pp}.api_base"),
            format!("invalid URL \"{base}\": {e}"),
        )
    })?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(ConfigError::new(
                format!("{pp}.api_base"),
                format!("\"{base}\" must start with http:// or https://"),
            ))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| {
            ConfigError::new(format!("{pp}.api_base"), format!("\"{base}\" has no host"))
        })?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let base_path = uri.path().trim_end_matches('/').to_string();
    let api_version = p
        .api_version
        .clone()
        .or_else(|| first_env(defaults.version_env));
    let model = placed.path_model.as_deref().unwrap_or(model);
    let paths = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Embeddings,
    ]
    .map(|e| prov.path(&base_path, e, model, api_version.as_deref()));
    let stream_path = prov.stream_path(&base_path, model, api_version.as_deref());
    let auth = match &api_key {
        Some(k) => Some(prov.auth_header(k).ok_or_else(|| {
            ConfigError::new(
                format!("{pp}.api_key"),
                "contains characters not allowed in a header",
            )
        })?),
        None => None,
    };
    let mut extra_headers = Vec::new();
    if let Some(org) = &p.organization {
        extra_headers.push(header_pair(
            "openai-organization",
            org,
            &format!("{pp}.organization"),
        )?);
    }
    for (k, v) in p.extra_headers.iter().flatten() {
        extra_headers.push(header_pair(k, v, &format!("{pp}.extra_headers.{k}"))?);
    }
    let authority = match uri.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let host_header = HeaderValue::from_str(&authority).map_err(|_| {
        ConfigError::new(format!("{pp}.api_base"), "host is not a valid header value")
    })?;
    let peer = if opts.resolve_dns {
        match (host.as_str(), port)
            .to_socket_addrs()
            .map(|mut a| a.next())
        {
            Ok(Some(addr)) => Some(crate::core::net::make_peer(addr, tls, &host)),
            _ => {
                log::warn!("{pp}.api_base: cannot resolve {host} now; will retry per request");
                None
            }
        }
    } else {
        None
    };
    let replicas = match p.api_base.as_ref().map(|b| b.all()) {
        Some(all) if all.len() > 1 => replica_pool(&all, tls, &host, &uri, pp, opts)?,
        _ => None,
    };
    Ok(HttpTarget {
        kind,
        display: format!("{}://{authority}", if tls { "https" } else { "http" }),
        addr: crate::upstream::Address {
            peer,
            replicas,
            host,
            port,
            tls,
        },
        host_header,
        paths,
        stream_path,
        base_path,
        api_version,
        path_model: model.to_string(),
        auth,
        credentials: placed.credentials.map(|mut c| {
            c.bind(&authority);
            c
        }),
        extra_headers,
    })
}

/// A pool from several `api_base`s: same scheme and path, any hosts; resolved now.
fn replica_pool(
    all: &[&str],
    tls: bool,
    host: &str,
    first: &http::Uri,
    pp: &str,
    opts: &BuildOptions<'_>,
) -> Result<Option<crate::upstream::ReplicaPool>, ConfigError> {
    let mut addrs = Vec::with_capacity(all.len());
    for (i, base) in all.iter().enumerate() {
        let path = format!("{pp}.api_base[{i}]");
        let uri: http::Uri = base
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(&path, format!("invalid URL \"{base}\": {e}")))?;
        if uri.scheme() != first.scheme()
            || uri.path().trim_end_matches('/') != first.path().trim_end_matches('/')
        {
            return Err(ConfigError::new(
                path,
                "every replica needs the same scheme and path as the first",
            )
            .hint(format!(
                "e.g. {}://other-host:port{}",
                first.scheme_str().unwrap_or("http"),
                first.path()
            )));
        }
        let h = uri
            .host()
            .ok_or_else(|| ConfigError::new(&path, format!("\"{base}\" has no host")))?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if opts.resolve_dns {
            let addr = (h.trim_start_matches('[').trim_end_matches(']'), port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| ConfigError::new(&path, format!("cannot resolve {h}")))?;
            addrs.push(addr);
        }
    }
    if !opts.resolve_dns {
        return Ok(None);
    }
    crate::upstream::ReplicaPool::new(&addrs, tls, host)
        .map(Some)
        .map_err(|e| ConfigError::new(format!("{pp}.api_base"), format!("replica pool: {e}")))
}
