//! OpenTelemetry through the real binary, against in-test OTLP collectors that decode
//! OpenTelemetry's own protobufs (HTTP/protobuf with `prost`, gRPC with the generated tonic
//! server): the span tree and `gen_ai.*` attributes of a streamed chat with a retry and a
//! fallback, the client's `traceparent` continued and forwarded upstream, headers and service
//! name from the environment; and what logging payloads carry of prompts and keys under
//! LiteLLM's privacy switches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly; one test reads one whole span tree"
)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::config::{openai, Config};
use common::gov::poll;
use common::{chat_body, client, Gateway, MASTER_KEY};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Value};
use switchyard_mock::{server_error, Behavior, MockUpstream, Script};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// One export: its headers, resource attributes and spans.
type Export = (http::HeaderMap, HashMap<String, String>, Vec<Span>);

/// What a collector received.
#[derive(Clone, Default)]
struct Received {
    exports: Arc<Mutex<Vec<Export>>>,
}

impl Received {
    fn take(&self, req: ExportTraceServiceRequest, headers: http::HeaderMap) {
        for rs in req.resource_spans {
            let resource = rs
                .resource
                .map(|r| {
                    r.attributes
                        .into_iter()
                        .map(|kv| (kv.key, text(kv.value.and_then(|v| v.value))))
                        .collect()
                })
                .unwrap_or_default();
            let spans = rs.scope_spans.into_iter().flat_map(|s| s.spans).collect();
            self.exports
                .lock()
                .unwrap()
                .push((headers.clone(), resource, spans));
        }
    }

    fn spans(&self) -> Vec<Span> {
        let e = self.exports.lock().unwrap();
        e.iter().flat_map(|(_, _, s)| s.clone()).collect()
    }

    async fn await_spans(&self, n: usize) -> Vec<Span> {
        poll(&format!("{n} spans"), Duration::from_secs(20), async || {
            let s = self.spans();
            (s.len() >= n).then_some(s)
        })
        .await
    }
}

fn text(v: Option<Any>) -> String {
    match v {
        Some(Any::StringValue(s)) => s,
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attrs(s: &Span) -> HashMap<String, String> {
    s.attributes
        .iter()
        .map(|kv| (kv.key.clone(), text(kv.value.clone().and_then(|v| v.value))))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An OTLP/HTTP collector: `POST /v1/traces` with a protobuf body.
async fn http_collector() -> (SocketAddr, Received) {
    let got = Received::default();
    let seen = got.clone();
    let addr = common::http::serve(move |parts: http::request::Parts, bytes: Bytes| {
        let seen = seen.clone();
        async move {
            assert_eq!(parts.uri.path(), "/v1/traces");
            assert_eq!(parts.headers["content-type"], "application/x-protobuf");
            seen.take(
                ExportTraceServiceRequest::decode(bytes).unwrap(),
                parts.headers,
            );
            common::http::status(200)
        }
    })
    .await;
    (addr, got)
}

struct Grpc(Received);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = req.metadata().clone().into_headers();
        self.0.take(req.into_inner(), headers);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC collector: OpenTelemetry's generated trace service.
async fn grpc_collector() -> (SocketAddr, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Received::default();
    let service = TraceServiceServer::new(Grpc(got.clone()));
    tokio::spawn(async move {
        let incoming = tokio_stream_of(listener);
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await
            .unwrap();
    });
    (addr, got)
}

/// The listener's connections as the stream tonic serves.
fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        let conn = l.accept().await.map(|(s, _)| s);
        Some((conn, l))
    })
}

async fn mock(name: &str) -> MockUpstream {
    MockUpstream::start(Script {
        default: Behavior::Ok,
        ..Script::named(name)
    })
    .await
    .unwrap()
}

// The collector answers while the gateway exports: a second worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_with_a_retry_and_a_fallback_is_one_span_tree_with_gen_ai_attributes() {
    let primary = mock("primary").await;
    let backup = mock("backup").await;
    backup.set_recording(true);
    primary.push(server_error(500));
    primary.push(server_error(500));
    let (collector, got) = http_collector().await;
    let yaml = Config::with([
        openai("primary", &primary.base_url()),
        openai("backup", &backup.base_url()),
    ])
    .router(|r| {
        r.num_retries(1)
            .fallbacks(json!([{"primary": ["backup"]}]))
            .disable_cooldowns(true)
    })
    .litellm(|l| {
        l.callbacks(&["otel"])
            .untyped("forward_traceparent_to_llm_provider", true)
    })
    .yaml();
    let endpoint = format!("http://{collector}");
    let gw = Gateway::start_env(
        &yaml,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret%20one"),
            ("OTEL_SERVICE_NAME", "gateway-under-test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let mut body = chat_body("primary");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let call_id = r.headers()["x-litellm-call-id"]
        .to_str()
        .unwrap()
        .to_string();
    let text = r.text().await.unwrap();
    assert!(text.contains("[DONE]"), "{text}");

    // Root, admission, two failed attempts on primary, one on backup.
    let spans = got.await_spans(5).await;
    assert_eq!(spans.len(), 5, "{spans:#?}");
    assert!(
        spans.iter().all(|s| hex(&s.trace_id) == TRACE),
        "one trace, the client's"
    );
    let root = spans
        .iter()
        .find(|s| s.name == "Received Proxy Server Request")
        .unwrap();
    assert_eq!(hex(&root.parent_span_id), CLIENT_SPAN);
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Ok as i32);
    let a = attrs(root);
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.request.model"], "primary");
    assert_eq!(a["gen_ai.response.model"], "upstream-backup");
    assert_eq!(a["gen_ai.provider.name"], "openai");
    assert_eq!(a["llm.is_streaming"], "true");
    assert_eq!(a["litellm.call_id"], call_id);
    assert!(
        a["gen_ai.usage.input_tokens"].parse::<u64>().unwrap() > 0,
        "{a:?}"
    );
    assert!(
        a["gen_ai.usage.output_tokens"].parse::<u64>().unwrap() > 0,
        "{a:?}"
    );
    assert!(a["gen_ai.input.messages"].contains("\"role\""), "{a:?}");

    let children: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_id)
        .collect();
    assert_eq!(children.len(), 4, "every other span is the request's child");
    let admission = children.iter().find(|s| s.name == "admission").unwrap();
    assert!(admission.start_time_unix_nano >= root.start_time_unix_nano);
    assert!(admission.end_time_unix_nano <= root.end_time_unix_nano);
    let mut attempts: Vec<&&Span> = children
        .iter()
        .filter(|s| s.name.starts_with("chat "))
        .collect();
    attempts.sort_by_key(|s| s.start_time_unix_nano);
    let names: Vec<&str> = attempts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "chat upstream-primary",
            "chat upstream-primary",
            "chat upstream-backup"
        ]
    );
    for failed in &attempts[..2] {
        let a = attrs(failed);
        assert_eq!(failed.kind, SpanKind::Client as i32);
        assert_eq!(
            failed.status.as_ref().unwrap().code,
            StatusCode::Error as i32
        );
        assert_eq!(a["http.response.status_code"], "500");
        assert!(a.contains_key("error.type"), "{a:?}");
        assert_eq!(a["server.address"], "127.0.0.1");
    }
    let served = attrs(attempts[2]);
    assert_eq!(served["http.response.status_code"], "200");
    assert_eq!(served["server.port"], backup.addr().port().to_string());
    assert!(attempts[0].end_time_unix_nano <= attempts[1].start_time_unix_nano);

    // The upstream saw a traceparent naming its own attempt's span, in the client's trace.
    let sent = backup.requests();
    let tp = sent[0].header("traceparent").unwrap();
    assert_eq!(tp, format!("00-{TRACE}-{}-01", hex(&attempts[2].span_id)));

    let exports = got.exports.lock().unwrap().clone();
    let (headers, resource, _) = &exports[0];
    assert_eq!(headers["x-api-key"], "secret one");
    assert_eq!(resource["service.name"], "gateway-under-test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_over_grpc_and_a_new_trace_starts_without_a_traceparent() {
    let m = mock("gpt").await;
    m.set_recording(true);
    let (collector, got) = grpc_collector().await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.callbacks(&["otel"]))
        .yaml();
    let endpoint = format!("http://{collector}");
    let gw = Gateway::start_env(
        &yaml,
        &[
            ("OTEL_EXPORTER", "otlp_grpc"),
            ("OTEL_ENDPOINT", endpoint.as_str()),
            ("OTEL_HEADERS", "authorization=Bearer%20tok"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(&chat_body("gpt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let spans = got.await_spans(3).await;
    assert_eq!(spans.len(), 3, "root, admission, one attempt: {spans:#?}");
    let root = spans
        .iter()
        .find(|s| s.name == "Received Proxy Server Request")
        .unwrap();
    assert!(root.parent_span_id.is_empty(), "a trace of its own");
    assert_eq!(root.trace_id.len(), 16);
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id));
    assert_eq!(attrs(root)["gen_ai.response.model"], "upstream-gpt");
    // Without forward_traceparent_to_llm_provider, nothing goes upstream.
    assert!(m.requests()[0].header("traceparent").is_none());
    let exports = got.exports.lock().unwrap().clone();
    assert_eq!(exports[0].0["authorization"], "Bearer tok");
    assert_eq!(exports[0].1["service.name"], "litellm");
}

/// One chat through a gateway logging to a webhook with `privacy` switches on; the record.
async fn logged_with(privacy: &[&str]) -> Value {
    let m = mock("gpt").await;
    let hook = common::http::Recorder::start(false).await;
    let url = format!("http://{}/logs", hook.addr);
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|mut l| {
            l = l.callbacks(&["hook"]);
            for p in privacy {
                l = l.untyped(p, true);
            }
            l
        })
        .callback_settings(
            "hook",
            json!({"callback_type": "generic_api", "endpoint": url, "flush_interval": 0.1}),
        )
        .yaml();
    let gw = Gateway::start(&yaml);
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(&chat_body("gpt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    poll("a record", Duration::from_secs(20), async || {
        let first = hook.received().into_iter().next()?;
        let batch: Vec<Value> = serde_json::from_slice(&first.body).unwrap();
        batch.into_iter().next()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_carry_the_prompt_and_answer_unless_message_logging_is_off() {
    let on = logged_with(&[]).await;
    assert_eq!(on["messages"], chat_body("gpt")["messages"], "{on}");
    assert_eq!(on["response"]["object"], "chat.completion", "{on}");
    assert!(on["response"]["choices"][0]["message"]["content"].is_string());
    assert!(on["metadata"]["user_api_key_hash"].is_string(), "{on}");

    let off = logged_with(&["turn_off_message_logging", "redact_user_api_key_info"]).await;
    assert_eq!(off["messages"], "redacted-by-litellm", "{off}");
    assert_eq!(off["response"], "redacted-by-litellm", "{off}");
    assert!(off["metadata"]["user_api_key_hash"].is_null(), "{off}");
    // Everything else is still there.
    assert_eq!(off["status"], "success");
    assert!(off["total_tokens"].as_u64().unwrap() > 0);
}
