//! Property tests over every parser of client and upstream input: arbitrary bytes, mutated
//! recordings and arbitrary chunk splits never panic, hold bounded state and, where framing
//! allows it, decode to the same events however the bytes are cut.
//!
//! Run: `cargo test --test properties` (cases per property: `PROPTEST_CASES` overrides).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use switchyard::api::request::ModelCall;
use switchyard::api::Endpoint;
use switchyard::config::{load_str, BuildOptions};
use switchyard::providers::bedrock::eventstream::encode_frame;
use switchyard::providers::chat::{ClientWire, Event, StreamDecoder};
use switchyard::providers::openai::OpenAiStream;
use switchyard::providers::sse::{self, SseFramer, MAX_EVENT_BYTES};
use switchyard::providers::{presets, provider, EncodeTarget, ProviderKind};

/// Cases per property: a few hundred each, thousands in all, well under a minute in debug.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- inputs ---------------------------------------------------------------------------------

/// `data` cut at the given points (sorted, duplicates give empty chunks).
fn split<'a>(data: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for c in at {
        out.push(&data[from..c]);
        from = c;
    }
    out.push(&data[from..]);
    out
}

/// Byte-level edits: overwrite, insert or delete at a position.
fn mutate(data: &[u8], edits: &[(Index, u8, u8)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (at, op, byte) in edits {
        let i = at.index(out.len() + 1);
        match op % 3 {
            0 if i < out.len() => out[i] = *byte,
            1 => out.insert(i, *byte),
            _ if i < out.len() => {
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

/// Every run of digits replaced, in turn, by an extreme number (or left as it is): token
/// counts, indexes and sizes at the edges of their types.
fn renumber(data: &[u8], picks: &[u8]) -> Vec<u8> {
    const EXTREMES: [&str; 8] = [
        "18446744073709551615",
        "9223372036854775807",
        "4294967295",
        "4294967296",
        "1e30",
        "-1",
        "0",
        "99999999999999999999",
    ];
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut runs = 0;
    let mut i = 0;
    while i < data.len() {
        if !data[i].is_ascii_digit() {
            out.push(data[i]);
            i += 1;
            continue;
        }
        let end = data[i..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(data.len(), |n| i + n);
        let pick = picks.get(runs % picks.len().max(1)).copied().unwrap_or(0);
        match EXTREMES.get(usize::from(pick)) {
            Some(n) => out.extend_from_slice(n.as_bytes()),
            None => out.extend_from_slice(&data[i..end]),
        }
        runs += 1;
        i = end;
    }
    out
}

fn picks() -> impl Strategy<Value = Vec<u8>> {
    vec(0u8..16, 1..24)
}

fn edits() -> impl Strategy<Value = Vec<(Index, u8, u8)>> {
    vec((any::<Index>(), any::<u8>(), any::<u8>()), 0..8)
}

fn cuts() -> impl Strategy<Value = Vec<Index>> {
    vec(any::<Index>(), 0..24)
}

/// Bytes built from pieces framers care about, so arbitrary input reaches their edge cases.
fn framing_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event: x\n".to_vec()),
        Just(b": ping".to_vec()),
        Just(b"[DONE]".to_vec()),
        Just(br#"{"usage":{"prompt_tokens":1}}"#.to_vec()),
        Just(br#"{"error":{"message":"x"}}"#.to_vec()),
        Just("é€😀".as_bytes().to_vec()),
        vec(any::<u8>(), 0..12),
    ];
    vec(piece, 0..48).prop_map(|p| p.concat())
}

/// JSON values of every shape, with the numbers and strings parsers trip on.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            any::<f64>(),
            Just(1e19),
            Just(-1.0),
            Just(0.0),
            Just(f64::MAX)
        ]
        .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        Just(Value::String("\u{0}\"\\\n\u{1F600}".into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys the request parsers and translators look at, and some they do not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "model",
            "messages",
            "prompt",
            "input",
            "stream",
            "stream_options",
            "include_usage",
            "max_tokens",
            "max_output_tokens",
            "timeout",
            "stream_timeout",
            "num_retries",
            "n",
            "fallbacks",
            "metadata",
            "mock_response",
            "tools",
            "tool_choice",
            "tool_calls",
            "response_format",
            "role",
            "content",
            "type",
            "text",
            "image_url",
            "function",
            "name",
            "arguments",
            "system",
            "instructions",
            "temperature",
            "stop",
            "thinking",
            "reasoning",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

/// A plausible chat/messages/responses body: known fields with values of any shape.
fn request_json() -> impl Strategy<Value = Value> {
    let role = prop::sample::select(vec![
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "function",
        "x",
    ]);
    let content = prop_oneof![
        any::<String>().prop_map(Value::String),
        vec(
            prop_oneof![
                any::<String>().prop_map(|t| json!({"type": "text", "text": t})),
                Just(
                    json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}})
                ),
                Just(json!({"type": "tool_use", "id": "t1", "name": "f", "input": {}})),
                Just(json!({"type": "tool_result", "tool_use_id": "t1", "content": "ok"})),
                Just(json!({"type": "input_text", "text": "hi"})),
                any_json(),
            ],
            0..4
        )
        .prop_map(Value::Array),
        any_json(),
    ];
    let message = (role, content, proptest::option::of(any_json())).prop_map(|(r, c, extra)| {
        let mut m = json!({"role": r, "content": c});
        if let Some(e) = extra {
            m["tool_calls"] = e;
        }
        m
    });
    (
        prop_oneof![
            "[a-z0-9/*-]{0,12}".prop_map(Value::String),
            any_json()
        ],
        vec(message, 0..4),
        vec((key(), any_json()), 0..6),
        any::<bool>(),
    )
        .prop_map(|(model, messages, extra, stream)| {
            let mut body = json!({"model": model, "messages": messages.clone(), "input": messages, "stream": stream});
            for (k, v) in extra {
                body[k] = v;
            }
            body
        })
}

/// JSON text written by hand: odd whitespace, escaped keys, duplicate members, deep nesting,
/// numbers out of range and lone surrogates, which a `Value` cannot carry.
fn json_text() -> impl Strategy<Value = String> {
    let ws = || prop::sample::select(vec!["", "", " ", "\n", "\t", "\r\n "]);
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "null",
            "true",
            "0",
            "-0.0e+5",
            "1e19",
            "1e400",
            "18446744073709551616",
            "-1",
            "\"\"",
            "\"x\"",
            "\"\\u00e9\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"a\\\"b\\\\\"",
            "\"data: [DONE]\\n\\n\"",
            "[]",
            "{}",
        ])
        .prop_map(str::to_string),
        any::<String>().prop_map(|s| Value::String(s).to_string()),
    ];
    let value = leaf.prop_recursive(4, 40, 5, move |inner| {
        let member = (key(), any::<bool>(), ws(), inner.clone()).prop_map(|(k, escape, ws, v)| {
            let k = if escape {
                k.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
            } else {
                k
            };
            format!("\"{k}\"{ws}:{ws}{v}")
        });
        prop_oneof![
            (vec(inner, 0..5), ws()).prop_map(|(v, ws)| format!("[{ws}{}{ws}]", v.join(","))),
            (vec(member, 0..6), ws()).prop_map(|(m, ws)| format!("{{{ws}{}{ws}}}", m.join(","))),
        ]
    });
    (
        value,
        vec((key(), prop::sample::select(vec![" ", "\n", ""])), 0..4),
        0usize..3,
        0usize..400,
    )
        .prop_map(|(v, extra, shape, depth)| {
            let members: Vec<String> = extra
                .iter()
                .map(|(k, ws)| format!("\"{k}\":{ws}{v}"))
                .collect();
            let nested = format!("{}{v}{}", "[".repeat(depth), "]".repeat(depth));
            match shape {
                0 => format!(
                    " {{\"model\":\"m\",\"messages\":[{{\"role\":\"user\",\"content\":{nested}}}],{}\"input\":{v}}}",
                    members.iter().map(|m| format!("{m},")).collect::<String>()
                ),
                1 => format!("{{\"model\":\"m\",\"model\":{v},{}}}", members.join(",")).replace(",}", "}"),
                _ => v,
            }
        })
}

// ---- the request path ------------------------------------------------------------------------

const MODEL_ENDPOINTS: [Endpoint; 6] = [
    Endpoint::ChatCompletions,
    Endpoint::Completions,
    Endpoint::Embeddings,
    Endpoint::Messages,
    Endpoint::CountTokens,
    Endpoint::Responses,
];

/// Every provider this build can call.
fn kinds() -> Vec<ProviderKind> {
    let mut k = vec![
        ProviderKind::OpenAi,
        ProviderKind::HostedVllm,
        ProviderKind::Azure,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Ollama,
        ProviderKind::Bedrock,
        ProviderKind::VertexAi,
    ];
    k.extend((0..presets::PRESETS.len()).map(|i| ProviderKind::Preset(i as u8)));
    k
}

/// What the proxy does with a client body: bridge, parse, splice and encode for every provider.
/// Whatever it accepts must come out as JSON.
fn request_pipeline(endpoint: Endpoint, body: &[u8]) {
    let (wire, chat, client) = match endpoint {
        Endpoint::Messages | Endpoint::CountTokens => {
            match switchyard::api::messages::to_openai(body) {
                Ok(chat) => (Endpoint::ChatCompletions, chat, ClientWire::Anthropic),
                Err(e) => return assert_client_error(&e),
            }
        }
        Endpoint::Responses => match switchyard::api::responses::to_openai(body) {
            Ok(chat) => (Endpoint::ChatCompletions, chat, ClientWire::Responses),
            Err(e) => return assert_client_error(&e),
        },
        e => (e, Bytes::copy_from_slice(body), ClientWire::OpenAi),
    };
    if client != ClientWire::OpenAi {
        assert_json(&chat, "bridged body");
    }
    let mut call = match ModelCall::parse(wire, chat) {
        Ok(c) => c,
        Err(e) => return assert_client_error(&e),
    };
    call.client = client;
    if client != ClientWire::OpenAi {
        if let Ok(native) = ModelCall::parse(endpoint, Bytes::copy_from_slice(body)) {
            call.native = Some(Box::new(native));
        }
    }
    let model_json = serde_json::to_vec("upstream/model-1").unwrap();
    let defaults = vec![(
        "temperature".to_string(),
        serde_json::value::RawValue::from_string("0.5".into()).unwrap(),
    )];
    let drop = vec!["metadata".to_string(), "user".to_string()];
    let spliced = call.splice(Some(&model_json), &defaults, &drop);
    assert_json(&spliced, "spliced body");
    for kind in kinds() {
        for drop_params in [false, true] {
            let target = EncodeTarget {
                model_json: &model_json,
                model: "upstream/model-1",
                defaults: &defaults,
                drop_params,
                additional_drop_params: &drop,
            };
            match provider(kind).encode(&call, &target) {
                Ok(out) => assert_json(&out, kind.as_str()),
                Err(e) => assert_client_error(&e),
            }
        }
    }
}

fn assert_json(bytes: &[u8], what: &str) {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
        );
    }
}

fn assert_client_error(e: &switchyard::api::ApiError) {
    assert!(
        (400..500).contains(&e.status),
        "client input must fail as a 4xx, got {e}"
    );
}

/// Realistic requests of every client API, every feature the translators read.
const REQUESTS: &[&str] = &[
    r#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"max_tokens":100,"max_completion_tokens":100,"n":1,"temperature":0.5,"top_p":1,"seed":1,"stop":["x"],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"reasoning_effort":"high","stream":true,"stream_options":{"include_usage":true},"top_k":40,"thinking":{"type":"enabled","budget_tokens":1024},"timeout":10,"stream_timeout":5,"num_retries":2,"logprobs":true,"top_logprobs":2,"user":"u","metadata":{"tags":["a"]}}"#,
    r#"{"model":"m","max_tokens":1024,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"x"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ok"}],"is_error":false},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}],"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":2048},"temperature":1,"top_p":0.9,"top_k":5,"stop_sequences":["x"],"stream":true,"metadata":{"user_id":"u"}}"#,
    r#"{"model":"m","instructions":"be","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},{"role":"assistant","content":[{"type":"output_text","text":"x"}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"},{"type":"reasoning","summary":[]}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"},"max_output_tokens":100,"temperature":0.2,"top_p":1,"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},"reasoning":{"effort":"low"},"stream":true,"store":false,"parallel_tool_calls":false,"user":"u"}"#,
    r#"{"model":"m","input":"just text","max_output_tokens":16}"#,
    r#"{"model":"m","input":["a","b"],"dimensions":256,"encoding_format":"float"}"#,
    r#"{"model":"m","input":[[1,2,3]],"dimensions":3}"#,
    r#"{"model":"m","prompt":"hi","max_tokens":5,"n":2,"best_of":3,"echo":true,"logprobs":1}"#,
];

/// The recordings the request properties start from are accepted as they are, so mutations
/// of them reach the translators.
#[test]
fn real_requests_reach_every_encoder() {
    let accepted = |e: Endpoint, body: &str| -> bool {
        let chat = match e {
            Endpoint::Messages => switchyard::api::messages::to_openai(body.as_bytes()),
            Endpoint::Responses => switchyard::api::responses::to_openai(body.as_bytes()),
            _ => Ok(Bytes::copy_from_slice(body.as_bytes())),
        };
        let wire = match e {
            Endpoint::Messages | Endpoint::Responses => Endpoint::ChatCompletions,
            e => e,
        };
        chat.and_then(|c| ModelCall::parse(wire, c)).is_ok()
    };
    let expect = [
        Endpoint::ChatCompletions,
        Endpoint::Messages,
        Endpoint::Responses,
        Endpoint::Responses,
        Endpoint::Embeddings,
        Endpoint::Embeddings,
        Endpoint::Completions,
    ];
    for (body, e) in REQUESTS.iter().zip(expect) {
        assert!(accepted(e, body), "{e:?}: {body}");
        request_pipeline(e, body.as_bytes());
    }
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn request_parsers_take_arbitrary_bytes(raw in prop_oneof![vec(any::<u8>(), 0..256), framing_soup()]) {
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_any_json(body in request_json()) {
        let raw = body.to_string();
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, raw.as_bytes());
        }
    }

    #[test]
    fn request_parsers_take_hand_written_json(raw in json_text()) {
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, raw.as_bytes());
        }
    }

    #[test]
    fn request_parsers_take_real_requests_with_extreme_numbers(which in any::<Index>(), picks in picks()) {
        let raw = renumber(REQUESTS[which.index(REQUESTS.len())].as_bytes(), &picks);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_mutated_real_requests(which in any::<Index>(), edits in edits()) {
        let raw = mutate(REQUESTS[which.index(REQUESTS.len())].as_bytes(), &edits);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_mutated_json(body in request_json(), edits in edits()) {
        let raw = mutate(body.to_string().as_bytes(), &edits);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }
}

// ---- the SSE framer --------------------------------------------------------------------------

/// Events, then whether the framer refused an event, for `chunks` fed in order.
fn frame(limit: usize, chunks: &[&[u8]]) -> (Vec<Bytes>, bool) {
    let mut f = SseFramer::with_limit(limit);
    let mut events = Vec::new();
    let mut failed = false;
    for c in chunks {
        if f.feed(c, |e| events.push(e)).is_err() {
            assert!(!failed, "the framer fails once");
            failed = true;
        }
        // Up to 3 bytes of a terminator may be held past the limit, never more.
        assert!(f.pending().len() <= limit + 3, "{} held", f.pending().len());
        if failed {
            assert!(f.pending().is_empty());
        }
    }
    (events, failed)
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn sse_framer_is_bounded_and_split_invariant(
        raw in framing_soup(),
        cuts in cuts(),
        limit in prop_oneof![0usize..64, Just(MAX_EVENT_BYTES)],
    ) {
        let whole = frame(limit, &[&raw]);
        let cut = frame(limit, &split(&raw, &cuts));
        prop_assert_eq!(&cut, &whole);
        for e in &whole.0 {
            prop_assert!(e.len() <= limit);
            if let Some(d) = sse::data(e) {
                let _kind = sse::classify(&d);
            }
        }
        let _usage = sse::usage_in_body(&raw);
    }
}

// ---- stream decoders -------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Dec {
    OpenAi,
    Anthropic,
    Gemini,
    Vertex,
    Ollama,
    Bedrock,
}

const DECODERS: [Dec; 6] = [
    Dec::OpenAi,
    Dec::Anthropic,
    Dec::Gemini,
    Dec::Vertex,
    Dec::Ollama,
    Dec::Bedrock,
];

impl Dec {
    fn decoder(self) -> Box<dyn StreamDecoder> {
        let kind = match self {
            Dec::OpenAi => return Box::new(OpenAiStream::default()),
            Dec::Anthropic => ProviderKind::Anthropic,
            Dec::Gemini => ProviderKind::Gemini,
            Dec::Vertex => ProviderKind::VertexAi,
            Dec::Ollama => ProviderKind::Ollama,
            Dec::Bedrock => ProviderKind::Bedrock,
        };
        provider(kind).stream_decoder().expect("a stream decoder")
    }

    /// Recorded streams of this provider.
    fn recordings(self) -> Vec<&'static [u8]> {
        match self {
            Dec::OpenAi => vec![OPENAI_STREAM, OPENAI_TOOL_STREAM],
            Dec::Anthropic => vec![
                include_bytes!("fixtures/anthropic/stream_text.sse"),
                include_bytes!("fixtures/anthropic/stream_tool_use.sse"),
                include_bytes!("fixtures/anthropic/stream_error.sse"),
            ],
            Dec::Gemini | Dec::Vertex => vec![
                include_bytes!("fixtures/gemini/stream_text.sse"),
                include_bytes!("fixtures/gemini/stream_tool.sse"),
                include_bytes!("fixtures/gemini/conformance/stream_error.sse"),
            ],
            Dec::Ollama => vec![
                include_bytes!("fixtures/ollama/stream_text.ndjson"),
                include_bytes!("fixtures/ollama/stream_tool_calls.ndjson"),
                include_bytes!("fixtures/ollama/stream_error.ndjson"),
            ],
            Dec::Bedrock => vec![
                include_bytes!("fixtures/bedrock/conformance/stream_text.eventstream"),
                include_bytes!("fixtures/bedrock/conformance/stream_tool_use.eventstream"),
                include_bytes!("fixtures/bedrock/conformance/stream_error.eventstream"),
            ],
        }
    }
}

const OPENAI_STREAM: &[u8] = b"data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n: keep-alive\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\u00e9\\n\\n\"}}]}\r\n\r\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n";
const OPENAI_TOOL_STREAM: &[u8] = b"data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: {\"error\":{\"message\":\"late\",\"type\":\"server_error\"}}\n\ndata: [DONE]\n\n";

/// An event without the ids decoders make up at random.
fn canon(e: &Event<'_>) -> String {
    match e {
        Event::Start { model, .. } => format!("Start({model})"),
        Event::ToolStart { index, name, .. } => format!("ToolStart({index}, {name})"),
        e => format!("{e:?}"),
    }
}

/// Everything a decoder emits for `chunks`, checking its held bytes after every feed.
fn decode(dec: Dec, chunks: &[&[u8]]) -> Vec<String> {
    let mut d = dec.decoder();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut |e| out.push(canon(&e)));
        assert!(
            d.buffered() <= MAX_EVENT_BYTES + 3,
            "{dec:?} holds {} bytes",
            d.buffered()
        );
    }
    d.finish(&mut |e| out.push(canon(&e)));
    out
}

/// Bedrock frames with arbitrary JSON payloads under the event types the decoder knows.
fn bedrock_frames() -> impl Strategy<Value = Vec<u8>> {
    let event_type = prop::sample::select(vec![
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "throttlingException",
        "x",
    ]);
    let message_type = prop::sample::select(vec!["event", "exception", "error", "other"]);
    let payload = prop_oneof![
        any_json().prop_map(|v| v.to_string().into_bytes()),
        Just(br#"{"delta":{"text":"hi"},"contentBlockIndex":0}"#.to_vec()),
        Just(
            br#"{"start":{"toolUse":{"toolUseId":"t","name":"f"}},"contentBlockIndex":1}"#.to_vec()
        ),
        Just(br#"{"delta":{"toolUse":{"input":"{\"a\":"}},"contentBlockIndex":1}"#.to_vec()),
        Just(br#"{"stopReason":"tool_use"}"#.to_vec()),
        Just(br#"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#.to_vec()),
        vec(any::<u8>(), 0..32),
    ];
    vec((message_type, event_type, payload), 0..10).prop_map(|frames| {
        frames
            .into_iter()
            .flat_map(|(m, t, p)| {
                let kind = if m == "exception" {
                    ":exception-type"
                } else {
                    ":event-type"
                };
                encode_frame(
                    &[(":message-type", m), (kind, t), (":error-message", "e")],
                    &p,
                )
            })
            .collect()
    })
}

/// NDJSON and SSE bodies made of arbitrary JSON values, one per line or event.
fn json_lines() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    vec(any_json(), 0..8).prop_map(|vals| {
        let lines: Vec<String> = vals.iter().map(Value::to_string).collect();
        let ndjson = lines.join("\n").into_bytes();
        let sse = lines
            .iter()
            .map(|l| format!("data: {l}\n\n"))
            .collect::<String>()
            .into_bytes();
        (ndjson, sse)
    })
}

proptest! {
    #![proptest_config(cases(150))]

    #[test]
    fn recorded_streams_decode_the_same_at_any_split(which in any::<Index>(), cuts in cuts()) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let rec = recs[which.index(recs.len())];
            prop_assert_eq!(decode(dec, &split(rec, &cuts)), decode(dec, &[rec]), "{:?}", dec);
        }
    }

    #[test]
    fn mutated_streams_never_panic_and_are_split_invariant(
        which in any::<Index>(),
        edits in edits(),
        cuts in cuts(),
    ) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let raw = mutate(recs[which.index(recs.len())], &edits);
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn streams_with_extreme_numbers_never_panic(which in any::<Index>(), picks in picks(), cuts in cuts()) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let raw = renumber(recs[which.index(recs.len())], &picks);
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(
        raw in prop_oneof![vec(any::<u8>(), 0..512), framing_soup()],
        cuts in cuts(),
    ) {
        for dec in DECODERS {
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn arbitrary_json_events_never_panic_a_decoder((ndjson, sse) in json_lines(), cuts in cuts()) {
        for dec in DECODERS {
            let raw = if matches!(dec, Dec::Ollama) { &ndjson } else { &sse };
            prop_assert_eq!(decode(dec, &split(raw, &cuts)), decode(dec, &[raw]), "{:?}", dec);
        }
    }

    #[test]
    fn bedrock_frames_of_any_payload_decode_the_same_at_any_split(raw in bedrock_frames(), cuts in cuts()) {
        prop_assert_eq!(decode(Dec::Bedrock, &split(&raw, &cuts)), decode(Dec::Bedrock, &[&raw]));
    }
}

/// An event, line or message that never ends is cut at the cap: the decoder reports an error
/// and lets go of what it held, whatever it was fed before.
#[test]
fn an_unending_event_is_cut_at_the_cap_in_every_decoder() {
    let block = vec![b'x'; 256 * 1024];
    for dec in DECODERS {
        let mut d = dec.decoder();
        let mut errors = Vec::new();
        let prefix: &[u8] = match dec {
            Dec::Ollama => b"{\"model\":\"",
            Dec::Bedrock => b"",
            _ => b"data: {\"x\":\"",
        };
        if matches!(dec, Dec::Bedrock) {
            // A frame that claims the largest size the protocol allows and never arrives.
            let mut prelude = (MAX_EVENT_BYTES as u32).to_be_bytes().to_vec();
            prelude.extend_from_slice(&0u32.to_be_bytes());
            let crc = crc32fast::hash(&prelude);
            prelude.extend_from_slice(&crc.to_be_bytes());
            d.feed(&prelude, &mut |e| errors.push(canon(&e)));
        } else {
            d.feed(prefix, &mut |e| errors.push(canon(&e)));
        }
        let mut fed = prefix.len();
        while fed <= MAX_EVENT_BYTES + 2 * block.len() {
            d.feed(&block, &mut |e| errors.push(canon(&e)));
            fed += block.len();
            assert!(
                d.buffered() <= MAX_EVENT_BYTES + 3,
                "{dec:?} holds {}",
                d.buffered()
            );
        }
        d.finish(&mut |e| errors.push(canon(&e)));
        match dec {
            // The frame completes at its declared size; its CRC is wrong: a corrupt stream.
            Dec::Bedrock => assert!(
                errors.len() == 1 && errors[0].contains("corrupt"),
                "{dec:?}: {errors:?}"
            ),
            _ => assert!(
                errors.len() == 1 && errors[0].contains("longer than"),
                "{dec:?}: {errors:?}"
            ),
        }
        assert_eq!(d.buffered(), 0, "{dec:?} let go of the event");
    }
}

/// A Bedrock frame that claims more than the protocol's 16 MiB fails at its prelude.
#[test]
fn a_bedrock_frame_over_the_cap_fails_at_once() {
    let mut prelude = ((MAX_EVENT_BYTES + 1) as u32).to_be_bytes().to_vec();
    prelude.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&prelude);
    prelude.extend_from_slice(&crc.to_be_bytes());
    let out = decode(Dec::Bedrock, &[&prelude]);
    assert!(
        out.len() == 1 && out[0].contains("impossible frame length"),
        "{out:?}"
    );
}

// ---- non-stream response decoders ------------------------------------------------------------

const BODIES: &[&[u8]] = &[
    include_bytes!("fixtures/anthropic/text.json"),
    include_bytes!("fixtures/anthropic/tool_use.json"),
    include_bytes!("fixtures/anthropic/error_overloaded.json"),
    include_bytes!("fixtures/gemini/text.json"),
    include_bytes!("fixtures/gemini/function_call.json"),
    include_bytes!("fixtures/gemini/blocked.json"),
    include_bytes!("fixtures/gemini/error_429.json"),
    include_bytes!("fixtures/ollama/text.json"),
    include_bytes!("fixtures/ollama/tool_calls.json"),
    include_bytes!("fixtures/ollama/error_404.json"),
    include_bytes!("fixtures/bedrock/converse_text.json"),
    include_bytes!("fixtures/bedrock/converse_tool_use.json"),
    include_bytes!("fixtures/bedrock/error_throttling.json"),
    br#"{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
    br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
    br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"embedding":{"values":[1]},"embeddings":[[1.0]],"usage":{"prompt_tokens":1}}"#,
];

/// Every provider's non-stream decoders on one body: no panic, whatever they conclude.
fn decode_bodies(body: &[u8]) {
    let call = ModelCall::parse(
        Endpoint::Embeddings,
        Bytes::from_static(br#"{"model":"m","input":["a","b"]}"#),
    )
    .unwrap();
    for kind in kinds() {
        let p = provider(kind);
        let _completion = p.decode_completion(body);
        let _embeddings = p.decode_embeddings(body, &call);
        for status in [400, 429, 500, 529] {
            let e = p.decode_error(status, &http::HeaderMap::new(), body);
            assert!(e.status >= 400, "{kind:?}: {e}");
        }
    }
    let _completion = switchyard::providers::openai::decode_completion_body(body);
    for status in [200, 400] {
        let _token = switchyard::providers::vertex::auth::parse_token(status, body, u64::MAX - 1);
    }
    let _usage = sse::usage_in_body(body);
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn response_decoders_take_arbitrary_bytes(raw in prop_oneof![vec(any::<u8>(), 0..256), framing_soup()]) {
        decode_bodies(&raw);
    }

    #[test]
    fn response_decoders_take_mutated_recordings(which in any::<Index>(), edits in edits()) {
        decode_bodies(&mutate(BODIES[which.index(BODIES.len())], &edits));
    }

    #[test]
    fn response_decoders_take_extreme_numbers(which in any::<Index>(), picks in picks()) {
        decode_bodies(&renumber(BODIES[which.index(BODIES.len())], &picks));
    }

    #[test]
    fn response_decoders_take_any_json(v in any_json()) {
        decode_bodies(v.to_string().as_bytes());
    }
}

// ---- the config loader -----------------------------------------------------------------------

const CONFIGS: &[&str] = &[
    include_str!("../conf/quickstart.yaml"),
    include_str!("../conf/config.full.yaml"),
    include_str!("../conf/litellm-multi-provider.yaml"),
];

/// Load without network or secrets checks; only a failure with a message is acceptable.
fn load(text: &str) {
    let opts = BuildOptions {
        resolve_dns: false,
        allow_insecure_master_key: true,
        previous: None,
    };
    if let Err(e) = load_str(text, &opts) {
        assert!(!e.to_string().is_empty());
    }
}

/// Lines a LiteLLM config is made of, some of them wrong.
fn yaml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "model_list:",
            "  - model_name: g",
            "  - model_name: \"*\"",
            "    litellm_params:",
            "      model: openai/gpt-4o",
            "      model: anthropic/*",
            "      model: bedrock/converse/x",
            "      model: opnai/x",
            "      api_base: http://127.0.0.1:1/v1",
            "      api_base: \"http://[::1\"",
            "      api_key: os.environ/NOPE",
            "      rpm: -1",
            "      timeout: 1e400",
            "      stream_timeout: 0",
            "      weight: .nan",
            "    model_info:",
            "      id: x",
            "router_settings:",
            "  num_retries: 99999999999999999999",
            "  routing_strategy: cost-based-routing",
            "  fallbacks: [{g: [h]}]",
            "litellm_settings:",
            "  drop_params: true",
            "general_settings:",
            "  master_key: sk-1234",
            "  max_budget: -5",
            "a: &a [*a]",
            "b: *nope",
            "- x",
            "\t- tab",
            "{",
            "? [a]",
            "  : b",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,24}",
    ]
}

proptest! {
    #![proptest_config(cases(150))]

    #[test]
    fn config_loader_takes_arbitrary_text(text in prop_oneof![any::<String>(), "[ -~\n]{0,200}"]) {
        load(&text);
    }

    #[test]
    fn config_loader_takes_yaml_made_of_config_lines(lines in vec(yaml_line(), 0..24)) {
        load(&lines.join("\n"));
    }

    #[test]
    fn config_loader_takes_mutated_shipped_configs(
        which in any::<Index>(),
        line_edits in vec((any::<Index>(), 0u8..4, yaml_line()), 0..6),
    ) {
        let mut lines: Vec<String> = CONFIGS[which.index(CONFIGS.len())]
            .lines()
            .map(str::to_string)
            .collect();
        for (at, op, new) in line_edits {
            let i = at.index(lines.len() + 1);
            match op {
                0 if i < lines.len() => {
                    lines.remove(i);
                }
                1 => lines.insert(i, new),
                2 if i < lines.len() => lines[i] = new,
                3 if i < lines.len() => {
                    let dup = lines[i].clone();
                    lines.insert(i, dup);
                }
                _ => {}
            }
        }
        load(&lines.join("\n"));
    }
}
