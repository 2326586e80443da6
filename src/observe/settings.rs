//! What the config asks of observability (validated by `config`, run by [`Hub`](super::Hub)).

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};

/// The sinks to run and their bounds.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `litellm_settings.json_logs` (or `--log-format json`, `JSON_LOGS=true`): application
    /// logs as JSON lines, and one JSON access line per request on stdout.
    pub json_logs: bool,
    /// Generic API webhooks (`generic_api`, or `callback_settings` entries of that type).
    pub webhooks: Vec<Webhook>,
    /// OpenTelemetry (`otel`): request spans over OTLP.
    pub otel: Option<Otel>,
    /// The most records each sink holds waiting (default 10,000).
    pub queue: usize,
    /// `litellm_settings.forward_traceparent_to_llm_provider`: upstream requests carry a
    /// `traceparent` naming their attempt's span (needs `otel`, as in LiteLLM).
    pub forward_traceparent: bool,
    pub privacy: Privacy,
}

/// What the payload may carry (`litellm_settings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privacy {
    /// `turn_off_message_logging`: prompts and answers are written as `redacted-by-litellm`.
    pub turn_off_message_logging: bool,
    /// `redact_messages_in_exceptions`: error messages (which may quote the prompt) are not
    /// logged, only their class.
    pub redact_messages_in_exceptions: bool,
    /// `redact_user_api_key_info`: no key hash, alias, team, user or end user in the payload.
    pub redact_user_api_key_info: bool,
}

/// How spans travel (`OTEL_EXPORTER_OTLP_PROTOCOL`, or LiteLLM's `OTEL_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf` (LiteLLM's `otlp_http`).
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
    /// `grpc` (LiteLLM's `otlp_grpc`).
    Grpc,
}

/// The OpenTelemetry exporter.
#[derive(Debug, Clone)]
pub struct Otel {
    /// The metric label (`otel`).
    pub name: String,
    pub protocol: OtlpProtocol,
    /// Where spans go: the traces URL over HTTP (`.../v1/traces`), the collector over gRPC.
    pub url: String,
    /// The parsed `url`, for the HTTP protocols.
    pub http: Option<Endpoint>,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (or `OTEL_HEADERS`): sent with every export.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `OTEL_SERVICE_NAME` (default `litellm`, as LiteLLM's).
    pub service_name: String,
    pub events: Events,
    /// Requests per export, and how long a partial batch waits.
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub queue: usize,
    /// `callback_settings.otel.message_logging` (default on): prompts and answers as span
    /// attributes.
    pub message_logging: bool,
}

/// Which outcomes a sink receives (`success_callback`, `failure_callback`, `callbacks`, or
/// a webhook's `event_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Events {
    pub success: bool,
    pub failure: bool,
}

/// How a webhook batch is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON array per batch (LiteLLM's default).
    JsonArray,
    /// One JSON object per line.
    Ndjson,
    /// One JSON object per POST.
    Single,
    /// Langfuse's batch ingestion API: a trace and a generation per record.
    Langfuse,
    /// Datadog's logs intake: one log entry per record, the payload as its message.
    Datadog {
        /// `DD_SOURCE` (default `litellm`), `DD_SERVICE` (default `litellm-server`), the
        /// host, and `ddtags` (`env:$DD_ENV,service:...,version:$DD_VERSION`).
        source: String,
        service: String,
        hostname: String,
        tags: String,
    },
}

/// One generic API endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The callback's name (`generic_api`, or its `callback_settings` key): the metric label.
    pub name: String,
    pub endpoint: Endpoint,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub events: Events,
    pub format: LogFormat,
    /// Records per POST (default 512, as LiteLLM's batch logger).
    pub batch_size: usize,
    /// A partial batch is sent this long after its first record (default 5 s).
    pub flush_interval: Duration,
    /// Records waiting for delivery before new ones are dropped.
    pub queue: usize,
}

/// Where a webhook POSTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// The path and query.
    pub path: String,
    /// The `Host` header.
    pub authority: String,
}

impl Endpoint {
    /// An `http://` or `https://` URL with a host.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("invalid URL \"{url}\": {e}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("\"{url}\" must start with http:// or https://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("\"{url}\" has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri
            .authority()
            .map_or_else(|| host.clone(), |a| a.as_str().to_string());
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        Ok(Endpoint {
            host,
            port,
            tls,
            path,
            authority,
        })
    }
}
