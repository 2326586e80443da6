//! Logging callbacks and JSON logs from LiteLLM's keys (`litellm_settings.callbacks`,
//! `success_callback`, `failure_callback`, `json_logs`, `generic_logger_headers`, the
//! top-level `callback_settings`, `$GENERIC_LOGGER_ENDPOINT`/`_HEADERS`) into
//! `observe::Settings`. Callbacks this build does not run load with a warning naming them.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

use super::raw::RawConfig;
use super::raw_observe::{RawCallback, RawS3Params};
use crate::core::config_error::ConfigError;
use crate::core::env::Env;
use crate::observe::settings::{
    Endpoint, Events, LogFormat, Otel, OtlpProtocol, Privacy, Settings, Webhook, S3,
};

use crate::observe::named::{BATCH, FLUSH, QUEUE};

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
    let mut otel = None;
    let mut s3 = None;
    let wanted = wanted(raw);
    for w in &wanted {
        if w.name == "s3" || w.name == "s3_v2" {
            s3 = Some(self::s3(
                w,
                raw.litellm_settings.s3_callback_params.as_ref(),
                env,
                warnings,
            )?);
            continue;
        }
        if w.name == "otel" {
            otel = Some(self::otel(w, raw.callback_settings.get("otel"), env)?);
            continue;
        }
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
                    None => {
                        crate::observe::named::pairs(env.get("GENERIC_LOGGER_HEADERS").as_deref())
                    }
                };
                let defaults = RawCallback {
                    headers: Some(headers),
                    ..RawCallback::default()
                };
                let endpoint = env.get("GENERIC_LOGGER_ENDPOINT");
                webhooks.push(webhook(w, &defaults, &w.path, endpoint)?);
            }
            "langfuse" | "datadog" => webhooks.push(vendor(w, env)?),
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
    let ls = &raw.litellm_settings;
    Ok(Settings {
        json_logs: raw.litellm_settings.json_logs.unwrap_or(false)
            || crate::observe::jsonlog::json_from_env(),
        webhooks,
        otel,
        s3,
        queue: QUEUE,
        forward_traceparent: ls.forward_traceparent_to_llm_provider.unwrap_or(false),
        privacy: Privacy {
            turn_off_message_logging: ls.turn_off_message_logging.unwrap_or(false),
            redact_messages_in_exceptions: ls.redact_messages_in_exceptions.unwrap_or(false),
            redact_user_api_key_info: ls.redact_user_api_key_info.unwrap_or(false),
        },
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

/// A vendor sink LiteLLM configures from environment variables (`langfuse`, `datadog`).
fn vendor(w: &Wanted, env: &Env) -> Result<Webhook, ConfigError> {
    let vars = |v: &str| env.get(v);
    crate::observe::named::vendor(&w.name, w.name.clone(), w.events, &vars).map_err(|e| {
        let hint = e
            .missing
            .as_ref()
            .map(|v| format!("export {v}=... or add it under environment_variables"));
        let err = ConfigError::new(&w.path, e.message);
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    })
}

/// LiteLLM's `s3` callback from `s3_callback_params`; credentials default to
/// `$AWS_ACCESS_KEY_ID`/`$AWS_SECRET_ACCESS_KEY`/`$AWS_SESSION_TOKEN`, the region to
/// `$AWS_REGION` or `us-east-1`.
fn s3(
    w: &Wanted,
    p: Option<&RawS3Params>,
    env: &Env,
    warnings: &mut Vec<String>,
) -> Result<S3, ConfigError> {
    const AT: &str = "litellm_settings.s3_callback_params";
    let none = RawS3Params::default();
    let p = p.unwrap_or(&none);
    for k in p.rest.keys() {
        warnings.push(format!("{AT}.{k}"));
    }
    let bucket = p.s3_bucket_name.clone().ok_or_else(|| {
        ConfigError::new(
            format!("{AT}.s3_bucket_name"),
            "the s3 callback needs a bucket",
        )
    })?;
    let pick = |own: &Option<String>, var: &str| own.clone().or_else(|| env.get(var));
    let key_id = pick(&p.s3_aws_access_key_id, "AWS_ACCESS_KEY_ID");
    let secret = pick(&p.s3_aws_secret_access_key, "AWS_SECRET_ACCESS_KEY");
    let (Some(access_key_id), Some(secret_access_key)) = (key_id, secret) else {
        return Err(ConfigError::new(
            format!("{AT}.s3_aws_access_key_id"),
            "the s3 callback needs credentials",
        )
        .hint("s3_aws_access_key_id and s3_aws_secret_access_key, or $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY"));
    };
    let region = pick(&p.s3_region_name, "AWS_REGION").unwrap_or_else(|| "us-east-1".into());
    let (url, path_style) = match &p.s3_endpoint_url {
        Some(u) => (u.clone(), true),
        None => (format!("https://{bucket}.s3.{region}.amazonaws.com"), false),
    };
    let endpoint =
        Endpoint::parse(&url).map_err(|e| ConfigError::new(format!("{AT}.s3_endpoint_url"), e))?;
    let flush_interval = match p.s3_flush_interval {
        None => Duration::from_secs(10),
        Some(s) => Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
            .ok_or_else(|| {
                ConfigError::new(
                    format!("{AT}.s3_flush_interval"),
                    "seconds between 0 and 3600",
                )
            })?,
    };
    Ok(S3 {
        name: w.name.clone(),
        events: w.events,
        bucket,
        region,
        credentials: crate::core::sigv4::Credentials {
            access_key_id,
            secret_access_key,
            session_token: pick(&p.s3_aws_session_token, "AWS_SESSION_TOKEN"),
        },
        endpoint,
        path_style,
        prefix: p.s3_path.clone().unwrap_or_default(),
        batch_size: p.s3_batch_size.unwrap_or(BATCH).max(1),
        flush_interval,
        queue: QUEUE,
    })
}

/// The first of `vars` that is set.
fn first_env(env: &Env, vars: &[&str]) -> Option<(String, String)> {
    vars.iter()
        .find_map(|v| env.get(v).map(|value| (v.to_string(), value)))
}

/// OpenTelemetry from the standard `OTEL_EXPORTER_OTLP_*` variables, or LiteLLM's
/// `OTEL_EXPORTER` (`otlp_http`, `otlp_grpc`), `OTEL_ENDPOINT` and `OTEL_HEADERS`; batching
/// from `OTEL_BSP_*` (defaults 512 spans' requests, 5 s, 10,000 queued).
/// The protocol and the URL spans go to.
fn otlp_target(w: &Wanted, env: &Env) -> Result<(OtlpProtocol, String, Endpoint), ConfigError> {
    let protocol = match first_env(
        env,
        &[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER",
        ],
    ) {
        None => OtlpProtocol::HttpProtobuf,
        Some((var, v)) => match v.trim() {
            "http/protobuf" | "otlp_http" | "http" => OtlpProtocol::HttpProtobuf,
            "http/json" => OtlpProtocol::HttpJson,
            "grpc" | "otlp_grpc" => OtlpProtocol::Grpc,
            other => {
                return Err(ConfigError::new(
                    &w.path,
                    format!("${var} is \"{other}\", which this build does not export to"),
                )
                .hint("http/protobuf, http/json or grpc (LiteLLM's otlp_http, otlp_grpc)"))
            }
        },
    };
    let grpc = protocol == OtlpProtocol::Grpc;
    let url = match env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        Some(u) => u.trim().to_string(),
        None => {
            let base = first_env(env, &["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT"])
                .map(|(_, v)| v.trim().to_string());
            let base = base.unwrap_or_else(|| {
                if grpc {
                    "http://localhost:4317"
                } else {
                    "http://localhost:4318"
                }
                .to_string()
            });
            if grpc || base.trim_end_matches('/').ends_with("/v1/traces") {
                base
            } else {
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
        }
    };
    let parsed = Endpoint::parse(&url).map_err(|e| ConfigError::new(&w.path, e))?;
    if grpc && parsed.tls {
        return Err(ConfigError::new(
            &w.path,
            format!("OTLP over gRPC with TLS ({url}) is not in this build"),
        )
        .hint("use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for an https collector, or a plaintext gRPC collector (a local agent)"));
    }
    Ok((protocol, url, parsed))
}

fn otel(w: &Wanted, cs: Option<&RawCallback>, env: &Env) -> Result<Otel, ConfigError> {
    let (protocol, url, parsed) = otlp_target(w, env)?;
    let grpc = protocol == OtlpProtocol::Grpc;
    let mut headers = Vec::new();
    let text = first_env(
        env,
        &[
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_HEADERS",
        ],
    );
    if let Some((var, text)) = &text {
        for (k, v) in crate::observe::named::pairs(Some(text)) {
            let name = HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes());
            let value = HeaderValue::from_str(&percent_decode(&v));
            match (name, value) {
                (Ok(n), Ok(v)) => headers.push((n, v)),
                _ => {
                    return Err(ConfigError::new(
                        &w.path,
                        format!("${var}: \"{k}\" is not a valid header"),
                    ))
                }
            }
        }
    }
    let number = |var: &str, default: u64| -> Result<u64, ConfigError> {
        match env.get(var) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    ConfigError::new(&w.path, format!("${var} must be a positive integer"))
                }),
        }
    };
    let batch_size = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", BATCH as u64)? as usize;
    let flush_ms = number("OTEL_BSP_SCHEDULE_DELAY", FLUSH.as_millis() as u64)?;
    let queue = number("OTEL_BSP_MAX_QUEUE_SIZE", QUEUE as u64)? as usize;
    let message_logging = cs
        .and_then(|c| c.rest.get("message_logging"))
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    Ok(Otel {
        name: w.name.clone(),
        protocol,
        http: (!grpc).then_some(parsed),
        url,
        headers,
        service_name: env
            .get("OTEL_SERVICE_NAME")
            .unwrap_or_else(|| "litellm".into()),
        events: w.events,
        batch_size,
        flush_interval: Duration::from_millis(flush_ms.min(3_600_000)),
        queue,
        message_logging,
    })
}

/// `%XX` escapes decoded (OTLP header values are URL-encoded: `Bearer%20abc`).
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
            "litellm_settings:\n  success_callback: [hook, lunary]\n  failure_callback: [hook]\n  callbacks: prometheus\ncallback_settings:\n  hook:\n    callback_type: generic_api\n    endpoint: https://logs.example.com:8443/in?x=1\n    log_format: single\n",
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
                .any(|x| x == "litellm_settings.success_callback[1]: \"lunary\""),
            "{:?}",
            rt.warnings
        );
        assert!(!rt.warnings.iter().any(|x| x.contains("prometheus")));
    }

    #[test]
    fn otel_reads_the_standard_variables_and_litellm_s_own() {
        use crate::observe::settings::OtlpProtocol;
        let otel = |vars: &str| {
            load(&format!(
                "litellm_settings:\n  callbacks: [otel]\nenvironment_variables:\n{vars}"
            ))
            .map(|rt| rt.settings.observe.otel.unwrap())
        };
        let o = otel("  OTEL_SERVICE_NAME: gw\n").unwrap();
        assert_eq!(o.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(o.url, "http://localhost:4318/v1/traces");
        assert_eq!(o.service_name, "gw");
        let o = otel(
            "  OTEL_EXPORTER: otlp_http\n  OTEL_ENDPOINT: https://api.honeycomb.io/v1/traces\n  OTEL_HEADERS: x-honeycomb-team=a%20b\n",
        )
        .unwrap();
        assert_eq!(o.url, "https://api.honeycomb.io/v1/traces");
        assert_eq!(o.headers[0].1, "a b");
        let o = otel("  OTEL_EXPORTER_OTLP_PROTOCOL: grpc\n").unwrap();
        assert_eq!(
            (o.protocol, o.url.as_str()),
            (OtlpProtocol::Grpc, "http://localhost:4317")
        );
        let e = otel("  OTEL_EXPORTER: console\n").unwrap_err();
        assert!(
            e.contains("litellm_settings.callbacks[0]") && e.contains("console"),
            "{e}"
        );
        let e = otel("  OTEL_EXPORTER: otlp_grpc\n  OTEL_ENDPOINT: https://c:4317\n").unwrap_err();
        assert!(e.contains("TLS"), "{e}");
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
