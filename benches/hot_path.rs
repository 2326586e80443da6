//! Per-request hot-path costs: body parse and splice, SSE framing, routing, auth, mock bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pingora_http::RequestHeader;
use serde_json::value::RawValue;
use switchyard::auth::authenticate;
use switchyard::config::{load_str, BuildOptions};
use switchyard::core::call::{json_string, ModelCall};
use switchyard::core::endpoint::Endpoint;
use switchyard::providers::mock;
use switchyard::wire::sse::{classify, data, ChunkKind, SseFramer};

/// The ~1 KB chat body the load tests send.
const CHAT_BODY: &[u8] = include_bytes!("../loadtest/body-chat.json");

/// A ~100 KB chat body: a long conversation of realistic turns.
fn large_body() -> Bytes {
    let turn = "Please summarise the following paragraph about shipping policies, keeping every \
                order number and date intact, and flag anything that contradicts the 30-day \
                refund policy. \\\"Quoted\\\" text and unicode \\u00e9 are kept as written. ";
    let mut messages = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < 100 * 1024 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        let msg = format!(r#"{{"role":"{role}","content":"{}"}}"#, turn.repeat(3));
        len += msg.len() + 1;
        messages.push(msg);
        i += 1;
    }
    let body = format!(
        r#"{{"model":"gpt-4o","messages":[{}],"temperature":0.2,"max_tokens":256,"stream":false,"user":"bench"}}"#,
        messages.join(",")
    );
    Bytes::from(body)
}

fn chat_body_streaming() -> Bytes {
    let text = std::str::from_utf8(CHAT_BODY).unwrap();
    assert!(text.contains(r#""stream": false"#));
    Bytes::from(text.replace(r#""stream": false"#, r#""stream": true"#))
}

fn request_body(c: &mut Criterion) {
    let small = Bytes::from_static(CHAT_BODY);
    let large = large_body();
    let mut g = c.benchmark_group("request");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("parse_chat_1k", |b| {
        b.iter(|| ModelCall::parse(Endpoint::ChatCompletions, black_box(small.clone())).unwrap())
    });
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("parse_chat_100k", |b| {
        b.iter(|| ModelCall::parse(Endpoint::ChatCompletions, black_box(large.clone())).unwrap())
    });

    let model_json = json_string("gpt-4o-2024-08-06");
    let defaults: Vec<(String, Box<RawValue>)> = vec![
        // Set by the client, so skipped.
        (
            "temperature".into(),
            RawValue::from_string("0.7".into()).unwrap(),
        ),
        // Not set by the client, so inserted.
        ("seed".into(), RawValue::from_string("42".into()).unwrap()),
    ];
    let call = ModelCall::parse(Endpoint::ChatCompletions, small.clone()).unwrap();
    let stream_call = ModelCall::parse(Endpoint::ChatCompletions, chat_body_streaming()).unwrap();
    assert!(stream_call.stream && !stream_call.include_usage);
    let spliced = stream_call.splice(Some(&model_json), &defaults, &[]);
    assert!(spliced.windows(13).any(|w| w == b"include_usage"));
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("splice_chat_1k", |b| {
        b.iter(|| black_box(&call).splice(Some(&model_json), &defaults, &[]))
    });
    g.bench_function("splice_chat_1k_stream", |b| {
        b.iter(|| black_box(&stream_call).splice(Some(&model_json), &defaults, &[]))
    });
    g.finish();

    c.bench_function("request/json_string", |b| {
        b.iter(|| json_string(black_box("gpt-4o-2024-08-06")))
    });
}

/// An OpenAI chat stream: role chunk, 22 content chunks, finish chunk, usage chunk, `[DONE]`.
fn chat_stream() -> (Vec<u8>, u64) {
    let head = r#"{"id":"chatcmpl-AaBbCcDdEeFfGgHhIiJj","object":"chat.completion.chunk","created":1763800000,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7b9a1c2d3e","choices":"#;
    let mut events = vec![format!(
        r#"{head}[{{"index":0,"delta":{{"role":"assistant","content":"","refusal":null}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
    )];
    let words = "Your order #A-1029384 is not lost: a label-created status means the carrier \
                 has not scanned it yet, and the address can still change."
        .split_inclusive(' ');
    for w in words.take(22) {
        events.push(format!(
            r#"{head}[{{"index":0,"delta":{{"content":"{w}"}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
        ));
    }
    events.push(format!(
        r#"{head}[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],"usage":null}}"#
    ));
    events.push(format!(
        r#"{head}[],"usage":{{"prompt_tokens":187,"completion_tokens":22,"total_tokens":209,"prompt_tokens_details":{{"cached_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0}}}}}}"#
    ));
    events.push("[DONE]".into());
    let n = events.len() as u64;
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(e.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    (out, n)
}

/// Frame and classify every event; returns the event count and the completion tokens seen.
fn frame_and_classify<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (u32, u64) {
    let mut framer = SseFramer::default();
    let mut events = 0;
    let mut tokens = 0;
    for piece in pieces {
        let fed = framer.feed(piece, |event| {
            events += 1;
            if let Some(payload) = data(&event) {
                match classify(&payload) {
                    ChunkKind::UsageOnly(u) | ChunkKind::Content(Some(u)) => tokens += u.completion,
                    _ => {}
                }
            }
        });
        if fed.is_err() {
            break;
        }
    }
    (events, tokens)
}

fn sse(c: &mut Criterion) {
    let (stream, n) = chat_stream();
    assert_eq!(n, 26);
    assert_eq!(
        frame_and_classify(std::iter::once(&stream[..])),
        (n as u32, 22)
    );
    assert_eq!(frame_and_classify(stream.chunks(64)), (n as u32, 22));
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Elements(n));
    g.bench_function("chat_stream_one_buffer", |b| {
        b.iter(|| frame_and_classify(std::iter::once(black_box(&stream[..]))))
    });
    g.bench_function("chat_stream_64b_pieces", |b| {
        b.iter(|| frame_and_classify(black_box(&stream[..]).chunks(64)))
    });
    g.finish();
}

const ROUTER_YAML: &str = "\
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: http://127.0.0.1:9001/v1, api_key: sk-a, rpm: 600}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: http://127.0.0.1:9002/v1, api_key: sk-b, rpm: 300}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: http://127.0.0.1:9003/v1, api_key: sk-c, rpm: 100}
";

fn routing(c: &mut Criterion) {
    let rt = load_str(ROUTER_YAML, &BuildOptions::default()).unwrap();
    let group = rt.router.group("g").unwrap();
    assert_eq!(group.deployments.len(), 3);
    c.bench_function("router/plan_next_3", |b| {
        b.iter(|| black_box(group).plan().next().is_some())
    });
    // Issue 3's bar: selection for a 16-deployment group, each strategy, well under 1 µs.
    for strategy in [
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing-v2",
        "cost-based-routing",
    ] {
        let mut yaml = String::from("model_list:\n");
        for i in 0..16 {
            yaml.push_str(&format!(
                "  - model_name: g\n    litellm_params: {{model: openai/m{i}, api_base: 'http://127.0.0.1:9/v1', rpm: {}, input_cost_per_token: {}}}\n",
                100 + i * 10,
                0.000001 * f64::from(i + 1)
            ));
        }
        yaml.push_str(&format!(
            "router_settings:\n  routing_strategy: {strategy}\n"
        ));
        let rt = load_str(&yaml, &BuildOptions::default()).unwrap();
        let group = rt.router.group("g").unwrap();
        assert_eq!(group.deployments.len(), 16);
        c.bench_function(&format!("router/plan_next_16/{strategy}"), |b| {
            b.iter(|| black_box(group).plan().next().is_some())
        });
    }
}

fn auth(c: &mut Criterion) {
    let rt = load_str(
        "general_settings:\n  master_key: sk-3f9a1c0e7b2d4a6f8e1c3b5d7f9a2c4e\n",
        &BuildOptions::default(),
    )
    .unwrap();
    let mut good = RequestHeader::build("POST", b"/v1/chat/completions", None).unwrap();
    good.insert_header("content-type", "application/json")
        .unwrap();
    good.insert_header(
        "authorization",
        "Bearer sk-3f9a1c0e7b2d4a6f8e1c3b5d7f9a2c4e",
    )
    .unwrap();
    let mut bad = RequestHeader::build("POST", b"/v1/chat/completions", None).unwrap();
    bad.insert_header("content-type", "application/json")
        .unwrap();
    bad.insert_header(
        "authorization",
        "Bearer sk-0000000000000000000000000000000000",
    )
    .unwrap();
    assert!(authenticate(rt.master_key.as_ref(), None, &good).is_ok());
    assert!(authenticate(rt.master_key.as_ref(), None, &bad).is_err());
    c.bench_function("auth/master_key_ok", |b| {
        b.iter(|| authenticate(rt.master_key.as_ref(), None, black_box(&good)).is_ok())
    });
    c.bench_function("auth/master_key_rejected", |b| {
        b.iter(|| authenticate(rt.master_key.as_ref(), None, black_box(&bad)).is_err())
    });
}

fn mock_body(c: &mut Criterion) {
    c.bench_function("mock/chat_body", |b| {
        b.iter(|| mock::body(Endpoint::ChatCompletions, black_box("m"), black_box("text")))
    });
}

criterion_group!(benches, request_body, sse, routing, auth, mock_body);
criterion_main!(benches);

// Run: cargo bench --bench hot_path -- --warm-up-time 1 --measurement-time 3
//
// Results (2026-12-06, 2-vCPU VM, median, nothing else running):
//
// | bench                              | median    | note                                 |
// |------------------------------------|-----------|--------------------------------------|
// | request/parse_chat_1k              | 899 ns    | loadtest/body-chat.json, 1174 B      |
// | request/parse_chat_100k            | 32.6 µs   | ~100 KB conversation, ~3 GiB/s       |
// | request/splice_chat_1k             | 179 ns    | model replaced, one default inserted |
// | request/splice_chat_1k_stream      | 182 ns    | plus `stream_options` injected       |
// | request/json_string                | 30 ns     |                                      |
// | sse/chat_stream_one_buffer         | 11.9 µs   | 26 events: 457 ns/event              |
// | sse/chat_stream_64b_pieces         | 15.4 µs   | 26 events: 593 ns/event              |
// | router/plan_next_3                 | 63 ns     | 3 deployments weighted by rpm        |
// | router/plan_next_16/simple-shuffle | 250 ns    | 16 deployments, tiers + cooldowns    |
// | router/plan_next_16/least-busy     | 245 ns    |                                      |
// | router/plan_next_16/latency-based-routing | 215 ns |                                   |
// | router/plan_next_16/usage-based-routing-v2 | 295 ns |                                  |
// | router/plan_next_16/cost-based-routing | 185 ns |                                      |
// | auth/master_key_ok                 | 73 ns     |                                      |
// | auth/master_key_rejected           | 58 ns     | builds the 401 ApiError              |
// | mock/chat_body                     | 2.18 µs   | serde_json::Value tree + uuid        |
//
// 2026-11-22 (before issue 6): parse_chat_1k 872 ns, parse_chat_100k 41.1 µs, splice 193 ns,
// one-buffer SSE 9.12 µs, master_key_ok 92 ns, mock/chat_body 3.08 µs.
