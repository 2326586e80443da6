//! Inputs for the properties: chunk splits, byte edits, extreme numbers, framing pieces and
//! JSON of every shape, plus the provider kinds every translator is tried with.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use switchyard::providers::{presets, ProviderKind};

/// Cases per property: a few hundred each, thousands in all, well under a minute in debug.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `data` cut at the given points (sorted, duplicates give empty chunks).
pub fn split<'a>(data: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
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
pub fn mutate(data: &[u8], edits: &[(Index, u8, u8)]) -> Vec<u8> {
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
pub fn renumber(data: &[u8], picks: &[u8]) -> Vec<u8> {
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

pub fn picks() -> impl Strategy<Value = Vec<u8>> {
    vec(0u8..16, 1..24)
}

pub fn edits() -> impl Strategy<Value = Vec<(Index, u8, u8)>> {
    vec((any::<Index>(), any::<u8>(), any::<u8>()), 0..8)
}

pub fn cuts() -> impl Strategy<Value = Vec<Index>> {
    vec(any::<Index>(), 0..24)
}

/// Bytes built from pieces framers care about, so arbitrary input reaches their edge cases.
pub fn framing_soup() -> impl Strategy<Value = Vec<u8>> {
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
pub fn any_json() -> impl Strategy<Value = Value> {
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
pub fn key() -> impl Strategy<Value = String> {
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
pub fn request_json() -> impl Strategy<Value = Value> {
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
pub fn json_text() -> impl Strategy<Value = String> {
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

/// Every provider this build can call.
pub fn kinds() -> Vec<ProviderKind> {
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
