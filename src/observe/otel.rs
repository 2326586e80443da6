//! OpenTelemetry: each request as a span tree, exported over OTLP (HTTP/protobuf, HTTP/JSON
//! or gRPC) in batches with OpenTelemetry's own protobuf types (`opentelemetry-proto`) and,
//! for gRPC, its generated client.
//!
//! The tree, from data the request left (no span is open while it runs):
//!
//! ```text
//! Received Proxy Server Request   SERVER  the request; gen_ai.* and the key's metadata
//! ├── admission                    INTERNAL auth, limits and budgets
//! └── chat gpt-4o                  CLIENT  one per upstream attempt (retries, fallbacks)
//! ```
//!
//! Attributes follow the OpenTelemetry GenAI semantic conventions (`gen_ai.operation.name`,
//! `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`,
//! `gen_ai.usage.input_tokens`, ...); the root span is named as LiteLLM names its own.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use pingora_core::connectors::http::Connector;

use super::hub::{Inbox, FAILED, SENT};
use super::payload::{AttemptSpan, Trace};
use super::settings::{Otel, OtlpProtocol};
use super::Payload;

/// The name LiteLLM gives the span of a proxied request.
pub const ROOT_SPAN: &str = "Received Proxy Server Request";

pub(super) async fn run(o: Otel, mut inbox: Inbox) {
    let mut out = Exporter::new(&o);
    let size = o.batch_size.max(1);
    let mut batch: Vec<Arc<Payload>> = Vec::with_capacity(size.min(1024));
    loop {
        let open = inbox.fill(&mut batch, size, o.flush_interval).await;
        out.export(&o, &batch).await;
        batch.clear();
        if !open {
            break;
        }
    }
    for chunk in inbox.rest().chunks(size) {
        out.export(&o, chunk).await;
    }
}

/// The transport of one exporter.
enum Exporter {
    Http(Box<Connector>),
    Grpc(Option<TraceServiceClient<tonic::transport::Channel>>),
}

impl Exporter {
    fn new(o: &Otel) -> Exporter {
        match o.protocol {
            OtlpProtocol::Grpc => Exporter::Grpc(
                tonic::transport::Endpoint::from_shared(o.url.clone())
                    .map(|e| e.timeout(super::post::TIMEOUT).connect_lazy())
                    .map(TraceServiceClient::new)
                    .inspect_err(|e| log::warn!("{}: invalid OTLP endpoint {}: {e}", o.name, o.url))
                    .ok(),
            ),
            _ => Exporter::Http(Box::new(Connector::new(None))),
        }
    }

    async fn export(&mut self, o: &Otel, batch: &[Arc<Payload>]) {
        if batch.is_empty() {
            return;
        }
        let request = request(o, batch);
        let result = match self {
            Exporter::Http(connector) => {
                let (body, content_type) = match o.protocol {
                    OtlpProtocol::HttpJson => match serde_json::to_vec(&request) {
                        Ok(v) => (Bytes::from(v), "application/json"),
                        Err(e) => {
                            log::warn!("{}: cannot encode spans: {e}", o.name);
                            return;
                        }
                    },
                    _ => (
                        Bytes::from(prost::Message::encode_to_vec(&request)),
                        "application/x-protobuf",
                    ),
                };
                match &o.http {
                    Some(to) => super::post::post(connector, to, &o.headers, content_type, body)
                        .await
                        .and_then(|s| {
                            (200..300)
                                .contains(&s)
                                .then_some(())
                                .ok_or_else(|| format!("{} answered {s}", to.authority))
                        }),
                    None => Err("no endpoint".into()),
                }
            }
            Exporter::Grpc(client) => match client {
                Some(c) => grpc(c, o, request).await,
                None => Err("no endpoint".into()),
            },
        };
        let n = batch.len() as u64;
        match result {
            Ok(()) => SENT.with_label_values(&[&o.name]).inc_by(n),
            Err(e) => {
                FAILED.with_label_values(&[&o.name]).inc_by(n);
                log::warn!("{}: {e}; {n} requests' spans lost", o.name);
            }
        }
    }
}

async fn grpc(
    client: &mut TraceServiceClient<tonic::transport::Channel>,
    o: &Otel,
    request: ExportTraceServiceRequest,
) -> Result<(), String> {
    let mut req = tonic::Request::new(request);
    for (k, v) in &o.headers {
        let key = tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes());
        let value = tonic::metadata::MetadataValue::try_from(v.as_bytes());
        if let (Ok(k), Ok(v)) = (key, value) {
            req.metadata_mut().insert(k, v);
        }
    }
    match tokio::time::timeout(super::post::TIMEOUT, client.export(req)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(status)) => Err(format!("{}: {}", o.url, status.message())),
        Err(_) => Err(format!(
            "{}: no answer within {:?}",
            o.url,
            super::post::TIMEOUT
        )),
    }
}

/// One export: the gateway as the resource, its spans under one scope.
fn request(o: &Otel, batch: &[Arc<Payload>]) -> ExportTraceServiceRequest {
    let mut spans = Vec::with_capacity(batch.len() * 3);
    for p in batch {
        if let Some(t) = &p.trace {
            spans_of(p, t, o.message_logging, &mut spans);
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", o.service_name.as_str()),
                    kv("service.version", env!("CARGO_PKG_VERSION")),
                    kv("telemetry.sdk.name", "switchyard"),
                    kv("telemetry.sdk.language", "rust"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "switchyard".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// GenAI's `gen_ai.operation.name` of a LiteLLM call type.
fn operation(call_type: &str) -> &'static str {
    match call_type {
        "acompletion" | "anthropic_messages" | "aresponses" => "chat",
        "atext_completion" => "text_completion",
        "aembedding" => "embeddings",
        _ => "other",
    }
}

/// The request span's attributes: GenAI's, and the key's metadata as LiteLLM names it.
fn root_attributes(p: &Payload, op: &str, messages: bool) -> Vec<KeyValue> {
    let mut attrs = vec![
        kv("gen_ai.operation.name", op),
        kv(
            "gen_ai.request.model",
            p.hidden_params.requested_model.as_str(),
        ),
        kv("gen_ai.response.model", p.model.as_str()),
        int("gen_ai.usage.input_tokens", p.prompt_tokens),
        int("gen_ai.usage.output_tokens", p.completion_tokens),
        int("http.response.status_code", u64::from(p.status_code)),
        kv("litellm.call_id", p.id.as_str()),
        KeyValue {
            key: "llm.is_streaming".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::BoolValue(p.stream)),
            }),
            ..Default::default()
        },
        KeyValue {
            key: "gen_ai.cost.total_cost".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::DoubleValue(p.response_cost)),
            }),
            ..Default::default()
        },
    ];
    let optional = [
        ("gen_ai.provider.name", p.custom_llm_provider.as_deref()),
        ("gen_ai.system", p.custom_llm_provider.as_deref()),
        ("metadata.model_group", p.model_group.as_deref()),
        ("metadata.model_id", p.model_id.as_deref()),
        (
            "metadata.user_api_key_hash",
            p.metadata.user_api_key_hash.as_deref(),
        ),
        (
            "metadata.user_api_key_alias",
            p.metadata.user_api_key_alias.as_deref(),
        ),
        (
            "metadata.user_api_key_team_id",
            p.metadata.user_api_key_team_id.as_deref(),
        ),
        (
            "metadata.user_api_key_user_id",
            p.metadata.user_api_key_user_id.as_deref(),
        ),
        (
            "metadata.user_api_key_end_user_id",
            p.metadata.user_api_key_end_user_id.as_deref(),
        ),
    ];
    for (k, v) in optional {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.push(kv(k, v));
        }
    }
    if let Some(b) = p.bodies.as_ref().filter(|b| messages && !b.redacted) {
        attrs.push(kv(
            "gen_ai.input.messages",
            String::from_utf8_lossy(&b.messages),
        ));
        if let Some(r) = &b.response {
            attrs.push(kv("gen_ai.output.messages", String::from_utf8_lossy(r)));
        }
    }
    attrs
}

fn spans_of(p: &Payload, t: &Trace, messages: bool, out: &mut Vec<Span>) {
    let op = operation(p.call_type);
    let failed = p.status != "success";
    let mut attrs = root_attributes(p, op, messages);
    let error = p.error_information.as_ref();
    if let Some(e) = error.filter(|e| !e.error_class.is_empty()) {
        attrs.push(kv("error.type", e.error_class.as_str()));
    }
    out.push(Span {
        trace_id: t.trace_id.to_vec(),
        span_id: t.span_id.to_vec(),
        parent_span_id: t.parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: ROOT_SPAN.into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: t.start,
        end_time_unix_nano: t.end,
        attributes: attrs,
        status: Some(status(failed, error.map(|e| e.error_message.as_str()))),
        ..Default::default()
    });
    if let Some((start, end, admitted)) = t.admission {
        out.push(Span {
            trace_id: t.trace_id.to_vec(),
            span_id: crate::core::ids::span_id().to_vec(),
            parent_span_id: t.span_id.to_vec(),
            name: "admission".into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes: Vec::new(),
            status: Some(status(!admitted, None)),
            ..Default::default()
        });
    }
    for (i, a) in t.attempts.iter().enumerate() {
        out.push(attempt_span(t, a, op, i));
    }
}

fn attempt_span(t: &Trace, a: &AttemptSpan, op: &str, i: usize) -> Span {
    let failed = a.error.is_some() || a.status == 0 || a.status >= 400;
    let mut attrs = vec![
        kv("gen_ai.operation.name", op),
        kv("gen_ai.provider.name", a.provider.as_str()),
        kv("gen_ai.request.model", a.model.as_str()),
        kv("server.address", a.host.as_str()),
        int("server.port", u64::from(a.port)),
        int("http.response.status_code", u64::from(a.status)),
        kv("metadata.model_id", a.deployment.as_str()),
        int("litellm.attempt", i as u64),
    ];
    if let Some(e) = a.error {
        attrs.push(kv("error.type", e));
    }
    Span {
        trace_id: t.trace_id.to_vec(),
        span_id: a.span_id.to_vec(),
        parent_span_id: t.span_id.to_vec(),
        name: format!("{op} {}", a.model),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: a.start,
        end_time_unix_nano: a.end,
        attributes: attrs,
        status: Some(status(failed, None)),
        ..Default::default()
    }
}

fn status(failed: bool, message: Option<&str>) -> Status {
    Status {
        code: if failed {
            StatusCode::Error as i32
        } else {
            StatusCode::Ok as i32
        },
        message: message.filter(|_| failed).unwrap_or_default().to_string(),
    }
}

fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: u64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value as i64)),
        }),
        ..Default::default()
    }
}
