//! The sinks LiteLLM configures by name from variables (`langfuse`: `LANGFUSE_PUBLIC_KEY`,
//! `LANGFUSE_SECRET_KEY`, `LANGFUSE_HOST`; `datadog`: `DD_API_KEY`, `DD_SITE`, ...;
//! `generic_api`: `GENERIC_LOGGER_ENDPOINT`, `GENERIC_LOGGER_HEADERS`), read through a lookup:
//! the environment for the gateway's own callbacks, a key's `callback_vars` for its own.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

use super::settings::{Endpoint, Events, LogFormat, Webhook};

/// Records per POST, how long a partial batch waits, records queued per sink.
pub const BATCH: usize = 512;
pub const FLUSH: Duration = Duration::from_secs(5);
pub const QUEUE: usize = 10_000;

/// Why a named sink cannot run.
#[derive(Debug)]
pub struct SinkError {
    pub message: String,
    /// The variable it needs and lacks.
    pub missing: Option<String>,
}

impl SinkError {
    fn new(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            missing: None,
        }
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn required(name: &str, var: &str, lookup: Lookup<'_>) -> Result<String, SinkError> {
    lookup(var).ok_or_else(|| SinkError {
        message: format!("{name} needs ${var}"),
        missing: Some(var.to_string()),
    })
}

/// `name`'s sink (`langfuse`, `datadog`, `generic_api`), its metric label `label`.
pub fn vendor(
    name: &str,
    label: String,
    events: Events,
    lookup: Lookup<'_>,
) -> Result<Webhook, SinkError> {
    match name {
        "langfuse" => langfuse(label, events, lookup),
        "datadog" => datadog(label, events, lookup),
        "generic_api" => {
            let url = required(name, "GENERIC_LOGGER_ENDPOINT", lookup)?;
            let headers = pairs(lookup("GENERIC_LOGGER_HEADERS").as_deref());
            let headers = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            sink(label, events, &url, headers, LogFormat::JsonArray, FLUSH)
        }
        other => Err(SinkError::new(format!(
            "\"{other}\" is not a logging callback this build runs (langfuse, datadog, generic_api)"
        ))),
    }
}

/// `k=v,k2=v2` as LiteLLM reads header lists from the environment.
pub fn pairs(text: Option<&str>) -> std::collections::BTreeMap<String, String> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// A sink POSTing to `url` with `headers`, written in `format`.
fn sink(
    name: String,
    events: Events,
    url: &str,
    headers: Vec<(&str, String)>,
    format: LogFormat,
    flush_interval: Duration,
) -> Result<Webhook, SinkError> {
    let endpoint = Endpoint::parse(url).map_err(SinkError::new)?;
    let headers = headers
        .into_iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes());
            match (name, HeaderValue::from_str(&v)) {
                (Ok(n), Ok(v)) => Ok((n, v)),
                _ => Err(SinkError::new(format!("{k}: not a valid header"))),
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Webhook {
        name,
        endpoint,
        headers,
        events,
        format,
        batch_size: BATCH,
        flush_interval,
        queue: QUEUE,
    })
}

/// Langfuse: `$LANGFUSE_HOST` (default Langfuse Cloud), basic auth with the public and
/// secret keys; batches sent every second.
fn langfuse(label: String, events: Events, lookup: Lookup<'_>) -> Result<Webhook, SinkError> {
    let public = required("langfuse", "LANGFUSE_PUBLIC_KEY", lookup)?;
    let secret = required("langfuse", "LANGFUSE_SECRET_KEY", lookup)?;
    let host = lookup("LANGFUSE_HOST").unwrap_or_else(|| "https://cloud.langfuse.com".into());
    let url = format!("{}/api/public/ingestion", host.trim_end_matches('/'));
    let basic = openssl::base64::encode_block(format!("{public}:{secret}").as_bytes());
    let headers = vec![("authorization", format!("Basic {basic}"))];
    sink(
        label,
        events,
        &url,
        headers,
        LogFormat::Langfuse,
        Duration::from_secs(1),
    )
}

/// Datadog's logs intake for `$DD_SITE` (default `datadoghq.com`; `$DD_BASE_URL` overrides
/// the whole base), keyed by `$DD_API_KEY`.
fn datadog(label: String, events: Events, lookup: Lookup<'_>) -> Result<Webhook, SinkError> {
    let key = required("datadog", "DD_API_KEY", lookup)?;
    let base = lookup("DD_BASE_URL").unwrap_or_else(|| {
        let site = lookup("DD_SITE").unwrap_or_else(|| "datadoghq.com".into());
        format!("https://http-intake.logs.{site}")
    });
    let url = format!("{}/api/v2/logs", base.trim_end_matches('/'));
    let service = lookup("DD_SERVICE").unwrap_or_else(|| "litellm-server".into());
    let tags = format!(
        "env:{},service:{service},version:{}",
        lookup("DD_ENV").unwrap_or_else(|| "unknown".into()),
        lookup("DD_VERSION").unwrap_or_else(|| "unknown".into()),
    );
    let format = LogFormat::Datadog {
        source: lookup("DD_SOURCE").unwrap_or_else(|| "litellm".into()),
        hostname: lookup("HOSTNAME")
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map_or_else(|| "unknown".into(), |h| h.trim().to_string()),
        service,
        tags,
    };
    sink(
        label,
        events,
        &url,
        vec![("dd-api-key", key)],
        format,
        FLUSH,
    )
}
