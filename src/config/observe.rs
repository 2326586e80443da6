//! Logging callbacks and JSON logs from LiteLLM's keys (`litellm_settings.callbacks`,
//! `success_callback`, `failure_callback`, `json_logs`, `generic_logger_headers`, the
//! top-level `callback_settings`, `$GENERIC_LOGGER_ENDPOINT`/`_HEADERS`) into
//! `observe::Settings`. Callbacks this build does not run load with a warning naming them.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

use super::raw::RawConfig;
use super::raw_observe::RawCallback;
use crate::core::config_error::ConfigError;
use crate::core::env::Env;
use crate::observe::settings::{Endpoint, Events, LogFormat, Settings, Webhook};

const QUEUE: usize = 10_000;
const BATCH: usize = 512;
const FLUSH: Duration = Duration::from_secs(5);

/// One callback name and the outcomes it is asked for, merged over the three lists.
struct Wanted {
    name: String,
    events: Events,
    /// Where it was first named, for errors.
    path: String,
}

pub(super) fn settings(
    raw: &RawConfig,
    env: &Env,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    let mut webhooks = Vec::new();
    let wanted = wanted(raw);
    for w in &wanted {
        if let Some(cs) = raw.callback_settings.get(&w.name) {
            let path = format!("callback_settings.{}", w.name);
            match cs.callback_type.as_deref() {
                Some("generic_api") => webhooks.push(webhook(w, cs, &path, None)?),
                _ => warnings.push(format!("{}: \"{}\"", w.path, w.name)),
            }
            continue;
        }
        match w.name.as_str() {
            "generic_api" => {
                let headers = match &raw.litellm_settings.generic_logger_headers {
                    Some(h) => h.clone(),
                    None => env_headers(env.get("GENERIC_LOGGER_HEADERS").as_deref()),
                };
                let defaults = RawCallback {
                    headers: Some(headers),
                    ..RawCallback::default()
                };
                let endpoint = env.get("GENERIC_LOGGER_ENDPOINT");
                webhooks.push(webhook(w, &defaults, &w.path, endpoint)?);
            }
            "langfuse" => webhooks.push(langfuse(w, env)?),
            "datadog" => webhooks.push(datadog(w, env)?),
            // Prometheus metrics are always served at /metrics; naming it turns on the
            // per-key series (read in `config::gov`).
            "prometheus" => {}
            other => warnings.push(format!("{}: \"{other}\"", w.path)),
        }
    }
    for name in raw.callback_settings.keys() {
        if !wanted.iter().any(|w| &w.name == name) {
            warnings.push(format!(
                "callback_settings.{name} (no callbacks list names it)"
            ));
        }
    }
    Ok(Settings {
        json_logs: raw.litellm_settings.json_logs.unwrap_or(false)
            || crate::observe::jsonlog::json_from_env(),
        webhooks,
        queue: QUEUE,
    })
}

/// Every callback name in `callbacks` (both outcomes), `success_callback` and
/// `failure_callback`, in order of first mention.
fn wanted(raw: &RawConfig) -> Vec<Wanted> {
    let ls = &raw.litellm_settings;
    let lists = [
        ("callbacks", &ls.callbacks, true, true),
        ("success_callback", &ls.success_callback, true, false),
        ("failure_callback", &ls.failure_callback, false, true),
    ];
    let mut out: Vec<Wanted> = Vec::new();
    for (key, names, success, failure) in lists {
        for (i, name) in names.iter().flat_map(|n| n.iter()).enumerate() {
            match out.iter_mut().find(|w| w.name == name) {
                Some(w) => {
                    w.events.success |= success;
                    w.events.failure |= failure;
                }
                None => out.push(Wanted {
                    name: name.to_string(),
                    events: Events { success, failure },
                    path: format!("litellm_settings.{key}[{i}]"),
                }),
            }
        }
    }
    out
}

/// A webhook from its settings (`path` names them in errors); `endpoint` stands in for a
/// missing `endpoint` key.
fn webhook(
    w: &Wanted,
    cs: &RawCallback,
    path: &str,
    endpoint: Option<String>,
) -> Result<Webhook, ConfigError> {
    let url = cs.endpoint.clone().or(endpoint).ok_or_else(|| {
        ConfigError::new(
            format!("{path}.endpoint"),
            "the webhook needs an endpoint URL",
        )
        .hint("set callback_settings.<name>.endpoint, or $GENERIC_LOGGER_ENDPOINT for generic_api")
    })?;
    let endpoint =
        Endpoint::parse(&url).map_err(|e| ConfigError::new(format!("{path}.endpoint"), e))?;
    let mut headers = Vec::new();
    for (k, v) in cs.headers.iter().flatten() {
        let at = || format!("{path}.headers.{k}");
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| ConfigError::new(at(), "not a valid header name"))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| ConfigError::new(at(), "not a valid header value"))?;
        headers.push((name, value));
    }
    let events = events(w.events, cs.event_types.as_deref(), path)?;
    let (format, single) = match cs.log_format.as_deref() {
        None | Some("json_array") => (LogFormat::JsonArray, false),
        Some("ndjson") => (LogFormat::Ndjson, false),
        Some("single") => (LogFormat::Single, true),
        Some(other) => {
            return Err(ConfigError::new(
                format!("{path}.log_format"),
                format!("unknown log format \"{other}\""),
            )
            .hint("json_array, ndjson or single"))
        }
    };
    let batch_size = match (single, cs.batch_size) {
        (true, _) => 1,
        (false, Some(0)) => {
            return Err(ConfigError::new(
                format!("{path}.batch_size"),
                "must be at least 1",
            ))
        }
        (false, n) => n.unwrap_or(BATCH),
    };
    let flush_interval = match cs.flush_interval {
        None => FLUSH,
        Some(s) => Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
            .ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.flush_interval"),
                    "seconds between 0 and 3600",
                )
            })?,
    };
    let queue = match cs.max_queue_size {
        Some(0) => {
            return Err(ConfigError::new(
                format!("{path}.max_queue_size"),
                "must be at least 1",
            ))
        }
        n => n.unwrap_or(QUEUE),
    };
    Ok(Webhook {
        queue,
        name: w.name.clone(),
        endpoint,
        headers,
        events,
        format,
        batch_size,
        flush_interval,
    })
}

/// A vendor sink: `url` with `headers`, written in `format`.
fn vendor(
    w: &Wanted,
    url: &str,
    headers: Vec<(&'static str, String)>,
    format: LogFormat,
    flush_interval: Duration,
) -> Result<Webhook, ConfigError> {
    let endpoint = Endpoint::parse(url).map_err(|e| ConfigError::new(&w.path, e))?;
    let headers = headers
        .into_iter()
        .map(|(k, v)| {
            HeaderValue::from_str(&v)
                .map(|v| (HeaderName::from_static(k), v))
                .map_err(|_| ConfigError::new(&w.path, format!("{k}: not a valid header value")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Webhook {
        name: w.name.clone(),
        endpoint,
        headers,
        events: w.events,
        format,
        batch_size: BATCH,
        flush_interval,
        queue: QUEUE,
    })
}

/// An environment variable a sink cannot run without.
fn required(env: &Env, w: &Wanted, var: &str) -> Result<String, ConfigError> {
    env.get(var).ok_or_else(|| {
        ConfigError::new(&w.path, format!("{} needs ${var}", w.name)).hint(format!(
            "export {var}=... or add it under environment_variables"
        ))
    })
}

/// Langfuse: `$LANGFUSE_HOST` (default Langfuse Cloud), basic auth with the public and
/// secret keys; batches sent every second.
fn langfuse(w: &Wanted, env: &Env) -> Result<Webhook, ConfigError> {
    let public = required(env, w, "LANGFUSE_PUBLIC_KEY")?;
    let secret = required(env, w, "LANGFUSE_SECRET_KEY")?;
    let host = env
        .get("LANGFUSE_HOST")
        .unwrap_or_else(|| "https://cloud.langfuse.com".into());
    let url = format!("{}/api/public/ingestion", host.trim_end_matches('/'));
    let basic = openssl::base64::encode_block(format!("{public}:{secret}").as_bytes());
    let headers = vec![("authorization", format!("Basic {basic}"))];
    vendor(
        w,
        &url,
        headers,
        LogFormat::Langfuse,
        Duration::from_secs(1),
    )
}

/// Datadog's logs intake for `$DD_SITE` (default `datadoghq.com`; `$DD_BASE_URL` overrides
/// the whole base), keyed by `$DD_API_KEY`.
fn datadog(w: &Wanted, env: &Env) -> Result<Webhook, ConfigError> {
    let key = required(env, w, "DD_API_KEY")?;
    let base = env.get("DD_BASE_URL").unwrap_or_else(|| {
        let site = env.get("DD_SITE").unwrap_or_else(|| "datadoghq.com".into());
        format!("https://http-intake.logs.{site}")
    });
    let url = format!("{}/api/v2/logs", base.trim_end_matches('/'));
    let service = env
        .get("DD_SERVICE")
        .unwrap_or_else(|| "litellm-server".into());
    let tags = format!(
        "env:{},service:{service},version:{}",
        env.get("DD_ENV").unwrap_or_else(|| "unknown".into()),
        env.get("DD_VERSION").unwrap_or_else(|| "unknown".into()),
    );
    let format = LogFormat::Datadog {
        source: env.get("DD_SOURCE").unwrap_or_else(|| "litellm".into()),
        hostname: env
            .get("HOSTNAME")
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map_or_else(|| "unknown".into(), |h| h.trim().to_string()),
        service,
        tags,
    };
    vendor(w, &url, vec![("dd-api-key", key)], format, FLUSH)
}

/// The outcomes a webhook receives: those its lists ask for, kept to its `event_types`.
fn events(asked: Events, types: Option<&[String]>, path: &str) -> Result<Events, ConfigError> {
    let Some(types) = types else {
        return Ok(asked);
    };
    let mut e = Events {
        success: false,
        failure: false,
    };
    for (i, t) in types.iter().enumerate() {
        match t.as_str() {
            "llm_api_success" => e.success = asked.success,
            "llm_api_failure" => e.failure = asked.failure,
            other => {
                return Err(ConfigError::new(
                    format!("{path}.event_types[{i}]"),
                    format!("unknown event type \"{other}\""),
                )
                .hint("llm_api_success or llm_api_failure"))
            }
        }
    }
    Ok(e)
}

/// `$GENERIC_LOGGER_HEADERS` as LiteLLM reads it: `Name=value,Other=value`.
fn env_headers(text: Option<&str>) -> std::collections::BTreeMap<String, String> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, BuildOptions};

    fn load(extra: &str) -> Result<crate::config::Runtime, String> {
        let yaml = format!(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      api_key: k\n{extra}"
        );
        load_str(&yaml, &BuildOptions::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn callbacks_merge_their_lists_and_unknown_ones_warn() {
        let rt = load(
            "litellm_settings:\n  success_callback: [hook, otel]\n  failure_callback: [hook]\n  callbacks: prometheus\ncallback_settings:\n  hook:\n    callback_type: generic_api\n    endpoint: https://logs.example.com:8443/in?x=1\n    log_format: single\n",
        )
        .unwrap();
        let w = &rt.settings.observe.webhooks;
        assert_eq!(w.len(), 1);
        assert!(w[0].events.success && w[0].events.failure);
        assert_eq!(w[0].batch_size, 1);
        assert_eq!(w[0].endpoint.authority, "logs.example.com:8443");
        assert_eq!(w[0].endpoint.path, "/in?x=1");
        assert!(w[0].endpoint.tls);
        assert!(
            rt.warnings
                .iter()
                .any(|x| x == "litellm_settings.success_callback[1]: \"otel\""),
            "{:?}",
            rt.warnings
        );
        assert!(!rt.warnings.iter().any(|x| x.contains("prometheus")));
    }

    #[test]
    fn bad_webhook_settings_name_their_key() {
        let cases = [
            ("hook:\n    callback_type: generic_api\n", "callback_settings.hook.endpoint"),
            (
                "hook:\n    callback_type: generic_api\n    endpoint: ftp://x\n",
                "callback_settings.hook.endpoint",
            ),
            (
                "hook:\n    callback_type: generic_api\n    endpoint: http://x\n    event_types: [llm_api_start]\n",
                "callback_settings.hook.event_types[0]",
            ),
            (
                "hook:\n    callback_type: generic_api\n    endpoint: http://x\n    log_format: xml\n",
                "callback_settings.hook.log_format",
            ),
            (
                "hook:\n    callback_type: generic_api\n    endpoint: http://x\n    batch_size: 0\n",
                "callback_settings.hook.batch_size",
            ),
        ];
        for (settings, path) in cases {
            let e = load(&format!(
                "litellm_settings:\n  callbacks: [hook]\ncallback_settings:\n  {settings}"
            ))
            .err()
            .unwrap_or_else(|| panic!("{settings} loaded"));
            assert!(e.contains(path), "{settings}: {e}");
        }
        let e = load("litellm_settings:\n  callbacks: [generic_api]\n")
            .err()
            .unwrap();
        assert!(e.contains("litellm_settings.callbacks[0].endpoint"), "{e}");
    }
}
