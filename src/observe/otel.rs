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
mod pb;

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
        let result = match self {
            Exporter::Http(connector) => {
                let (body, content_type) = match o.protocol {
                    OtlpProtocol::HttpJson => match serde_json::to_vec(&request(o, batch)) {
                        Ok(v) => (Bytes::from(v), "application/json"),
                        Err(e) => {
                            log::warn!("{}: cannot encode spans: {e}", o.name);
                            return;
                        }
                    },
                    _ => (Bytes::from(encode(o, batch)), "application/x-protobuf"),
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
                Some(c) => grpc(c, o, request(o, batch)).await,
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

/// One attribute's value, borrowed from the payload.
#[derive(Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    F64(f64),
}

/// One span as the payload describes it, borrowing its strings: read once, then written as
/// OpenTelemetry's messages (gRPC, JSON) or straight to protobuf bytes (HTTP).
struct SpanView<'a> {
    trace_id: &'a [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    name: std::borrow::Cow<'a, str>,
    kind: SpanKind,
    start: u64,
    end: u64,
    attrs: Vec<(&'static str, Val<'a>)>,
    failed: bool,
    /// The status message of a failed span.
    message: &'a str,
}

/// The spans of a batch.
fn views<'a>(o: &Otel, batch: &'a [Arc<Payload>]) -> Vec<SpanView<'a>> {
    let mut out = Vec::with_capacity(batch.len() * 3);
    for p in batch {
        if let Some(t) = &p.trace {
            spans_of(p, t, o.message_logging, &mut out);
        }
    }
    out
}

/// The gateway as the resource.
fn resource(o: &Otel) -> [(&'static str, Val<'_>); 4] {
    [
        ("service.name", Val::Str(&o.service_name)),
        ("service.version", Val::Str(env!("CARGO_PKG_VERSION"))),
        ("telemetry.sdk.name", Val::Str("switchyard")),
        ("telemetry.sdk.language", Val::Str("rust")),
    ]
}

/// One export as OpenTelemetry's messages (for gRPC and OTLP/JSON).
fn request(o: &Otel, batch: &[Arc<Payload>]) -> ExportTraceServiceRequest {
    let spans = views(o, batch).iter().map(message).collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource(o).iter().map(|(k, v)| kv(k, *v)).collect(),
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

fn message(v: &SpanView<'_>) -> Span {
    Span {
        trace_id: v.trace_id.to_vec(),
        span_id: v.span_id.to_vec(),
        parent_span_id: v.parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: v.name.to_string(),
        kind: v.kind as i32,
        start_time_unix_nano: v.start,
        end_time_unix_nano: v.end,
        attributes: v.attrs.iter().map(|(k, a)| kv(k, *a)).collect(),
        status: Some(Status {
            code: status_code(v.failed),
            message: v.message.to_string(),
        }),
        ..Default::default()
    }
}

fn status_code(failed: bool) -> i32 {
    if failed {
        StatusCode::Error as i32
    } else {
        StatusCode::Ok as i32
    }
}

fn kv(key: &str, v: Val<'_>) -> KeyValue {
    let value = match v {
        Val::Str(s) => any_value::Value::StringValue(s.to_string()),
        Val::Int(i) => any_value::Value::IntValue(i),
        Val::Bool(b) => any_value::Value::BoolValue(b),
        Val::F64(d) => any_value::Value::DoubleValue(d),
    };
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
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
fn root_attributes<'a>(
    p: &'a Payload,
    op: &'static str,
    messages: bool,
) -> Vec<(&'static str, Val<'a>)> {
    let mut attrs = vec![
        ("gen_ai.operation.name", Val::Str(op)),
        (
            "gen_ai.request.model",
            Val::Str(&p.hidden_params.requested_model),
        ),
        ("gen_ai.response.model", Val::Str(&p.model)),
        (
            "gen_ai.usage.input_tokens",
            Val::Int(p.prompt_tokens as i64),
        ),
        (
            "gen_ai.usage.output_tokens",
            Val::Int(p.completion_tokens as i64),
        ),
        (
            "http.response.status_code",
            Val::Int(i64::from(p.status_code)),
        ),
        ("litellm.call_id", Val::Str(&p.id)),
        ("llm.is_streaming", Val::Bool(p.stream)),
        ("gen_ai.cost.total_cost", Val::F64(p.response_cost)),
    ];
    let m = &p.metadata;
    let optional = [
        ("gen_ai.provider.name", p.custom_llm_provider.as_deref()),
        ("gen_ai.system", p.custom_llm_provider.as_deref()),
        ("metadata.model_group", p.model_group.as_deref()),
        ("metadata.model_id", p.model_id.as_deref()),
        ("metadata.user_api_key_hash", m.user_api_key_hash.as_deref()),
        (
            "metadata.user_api_key_alias",
            m.user_api_key_alias.as_deref(),
        ),
        (
            "metadata.user_api_key_team_id",
            m.user_api_key_team_id.as_deref(),
        ),
        (
            "metadata.user_api_key_user_id",
            m.user_api_key_user_id.as_deref(),
        ),
        (
            "metadata.user_api_key_end_user_id",
            m.user_api_key_end_user_id.as_deref(),
        ),
    ];
    for (k, v) in optional {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.push((k, Val::Str(v)));
        }
    }
    if let Some(b) = p.bodies.as_ref().filter(|b| messages && !b.redacted) {
        // Raw JSON the gateway parsed (the prompt) or read (the answer): text when UTF-8.
        if let Ok(text) = std::str::from_utf8(&b.messages) {
            attrs.push(("gen_ai.input.messages", Val::Str(text)));
        }
        if let Some(text) = b
            .response
            .as_deref()
            .and_then(|r| std::str::from_utf8(r).ok())
        {
            attrs.push(("gen_ai.output.messages", Val::Str(text)));
        }
    }
    if let Some(e) = p
        .error_information
        .as_ref()
        .filter(|e| !e.error_class.is_empty())
    {
        attrs.push(("error.type", Val::Str(&e.error_class)));
    }
    attrs
}

fn spans_of<'a>(p: &'a Payload, t: &'a Trace, messages: bool, out: &mut Vec<SpanView<'a>>) {
    let op = operation(p.call_type);
    let failed = p.status != "success";
    out.push(SpanView {
        trace_id: &t.trace_id,
        span_id: t.span_id,
        parent: t.parent,
        name: ROOT_SPAN.into(),
        kind: SpanKind::Server,
        start: t.start,
        end: t.end,
        attrs: root_attributes(p, op, messages),
        failed,
        message: match &p.error_information {
            Some(e) if failed => &e.error_message,
            _ => "",
        },
    });
    if let Some((start, end, admitted)) = t.admission {
        out.push(SpanView {
            trace_id: &t.trace_id,
            span_id: crate::core::ids::span_id(),
            parent: Some(t.span_id),
            name: "admission".into(),
            kind: SpanKind::Internal,
            start,
            end,
            attrs: Vec::new(),
            failed: !admitted,
            message: "",
        });
    }
    for (i, a) in t.attempts.iter().enumerate() {
        out.push(attempt_span(t, a, op, i));
    }
}

fn attempt_span<'a>(t: &'a Trace, a: &'a AttemptSpan, op: &'static str, i: usize) -> SpanView<'a> {
    let mut attrs = vec![
        ("gen_ai.operation.name", Val::Str(op)),
        ("gen_ai.provider.name", Val::Str(&a.provider)),
        ("gen_ai.request.model", Val::Str(&a.model)),
        ("server.address", Val::Str(&a.host)),
        ("server.port", Val::Int(i64::from(a.port))),
        ("http.response.status_code", Val::Int(i64::from(a.status))),
        ("metadata.model_id", Val::Str(&a.deployment)),
        ("litellm.attempt", Val::Int(i as i64)),
    ];
    if let Some(e) = a.error {
        attrs.push(("error.type", Val::Str(e)));
    }
    SpanView {
        trace_id: &t.trace_id,
        span_id: a.span_id,
        parent: Some(t.span_id),
        name: format!("{op} {}", a.model).into(),
        kind: SpanKind::Client,
        start: a.start,
        end: a.end,
        attrs,
        failed: a.error.is_some() || a.status == 0 || a.status >= 400,
        message: "",
    }
}

/// OTLP/HTTP's protobuf body, written straight from the views with protobuf's wire format
/// (the field numbers of `opentelemetry-proto`'s messages; no message tree, no owned strings).
fn encode(o: &Otel, batch: &[Arc<Payload>]) -> Vec<u8> {
    let views = views(o, batch);
    let mut spans = Vec::with_capacity(views.len() * 512);
    let mut one = Vec::with_capacity(1024);
    for v in &views {
        one.clear();
        pb::span(&mut one, v);
        pb::bytes(&mut spans, 2, &one);
    }
    let mut gateway = Vec::with_capacity(128);
    for (k, v) in resource(o) {
        pb::kv(&mut gateway, 1, k, v);
    }
    let mut scope = Vec::with_capacity(32);
    pb::bytes(&mut scope, 1, b"switchyard");
    pb::bytes(&mut scope, 2, env!("CARGO_PKG_VERSION").as_bytes());
    // ScopeSpans { scope = 1, spans = 2 }
    let scope_len = pb::field_len(1, scope.len()) + spans.len();
    // ResourceSpans { resource = 1, scope_spans = 2 }
    let rs_len = pb::field_len(1, gateway.len()) + pb::field_len(2, scope_len);
    let mut out = Vec::with_capacity(pb::field_len(1, rs_len));
    pb::head(&mut out, 1, rs_len);
    pb::bytes(&mut out, 1, &gateway);
    pb::head(&mut out, 2, scope_len);
    pb::bytes(&mut out, 1, &scope);
    out.extend_from_slice(&spans);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::payload::{ErrorInformation, Trace};
    use crate::observe::settings::Events;

    fn otel() -> Otel {
        Otel {
            name: "otel".into(),
            protocol: OtlpProtocol::HttpProtobuf,
            url: "http://c/v1/traces".into(),
            http: None,
            headers: Vec::new(),
            service_name: "gw".into(),
            events: Events {
                success: true,
                failure: true,
            },
            batch_size: 1,
            flush_interval: std::time::Duration::from_secs(1),
            queue: 1,
            message_logging: true,
        }
    }

    #[test]
    fn the_direct_encoding_decodes_to_the_messages_it_stands_for() {
        let mut p = Payload {
            id: "call-1".into(),
            call_type: "acompletion",
            status: "failure",
            status_code: 503,
            prompt_tokens: 300,
            response_cost: 0.25,
            model: "gpt-x".into(),
            custom_llm_provider: Some("openai".into()),
            error_information: Some(ErrorInformation {
                error_class: "api_error".into(),
                error_message: "upstream down".into(),
                ..ErrorInformation::default()
            }),
            ..Payload::default()
        };
        p.trace = Some(Box::new(Trace {
            trace_id: [7; 16],
            parent: Some([9; 8]),
            span_id: [1; 8],
            start: 1_000,
            end: 2_000_000_000_000,
            admission: None,
            attempts: vec![AttemptSpan {
                span_id: [2; 8],
                start: 1_500,
                end: 1_900,
                model: "gpt-x".into(),
                host: "h".into(),
                port: 443,
                status: 503,
                error: Some("api_error"),
                ..AttemptSpan::default()
            }],
        }));
        let batch = [Arc::new(p)];
        let direct = encode(&otel(), &batch);
        let decoded = <ExportTraceServiceRequest as prost::Message>::decode(&direct[..]);
        assert_eq!(decoded.ok(), Some(request(&otel(), &batch)));
    }
}
