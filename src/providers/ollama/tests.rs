//! Unit tests of `providers::ollama`.

use super::*;
use crate::core::error::ErrorKind;
use crate::core::failure::FallbackClass;
use crate::providers::chat::{Finish, ToolCall, Usage};
use crate::providers::testkit::{self, normalize};

const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/ollama/text.json");
const CALLS: &[u8] = include_bytes!("../../../tests/fixtures/ollama/tool_calls.json");
const STREAM_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/ollama/stream_text.ndjson");
const STREAM_TOOLS: &[u8] =
    include_bytes!("../../../tests/fixtures/ollama/stream_tool_calls.ndjson");
const STREAM_ERROR: &[u8] = include_bytes!("../../../tests/fixtures/ollama/stream_error.ndjson");
const ERROR_404: &[u8] = include_bytes!("../../../tests/fixtures/ollama/error_404.json");

fn is_generated_call_id(id: &str) -> bool {
    let hex = id.strip_prefix("call_").unwrap_or_default();
    hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn run(chunks: &[&[u8]]) -> Vec<String> {
    testkit::normalized(&mut *OllamaChat.stream_decoder().unwrap(), chunks)
}

fn every_split_is_the_same(body: &[u8]) -> Vec<String> {
    testkit::same_at_every_split(|| OllamaChat.stream_decoder().unwrap(), body)
}

fn crlf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    for &b in body {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn paths_and_auth() {
    let chat = |base: &str| OllamaChat.path(base, Endpoint::ChatCompletions, "llama3", None);
    assert_eq!(chat(""), "/api/chat");
    assert_eq!(chat("/v1"), "/api/chat");
    assert_eq!(chat("/ollama/v1"), "/ollama/api/chat");
    assert_eq!(chat("/api"), "/api/chat");
    assert_eq!(chat("/proxy/api/chat"), "/proxy/api/chat");
    assert_eq!(
        OllamaChat.path("", Endpoint::Embeddings, "m", None),
        "/api/embed"
    );
    assert!(OllamaChat.stream_path("", "llama3", None).is_none());
    assert!(OllamaChat.supports(Endpoint::ChatCompletions));
    assert!(OllamaChat.supports(Endpoint::Embeddings));
    assert!(!OllamaChat.supports(Endpoint::Completions));
    let (name, value) = OllamaChat.auth_header("ollama-key").unwrap();
    assert_eq!(
        (name.as_str(), value.to_str().unwrap()),
        ("authorization", "Bearer ollama-key")
    );
    assert!(value.is_sensitive());
    assert_eq!(DEFAULTS.api_base, Some("http://localhost:11434"));
}

#[test]
fn decodes_text_reasoning_and_usage() {
    let c = OllamaChat.decode_completion(TEXT).unwrap().unwrap();
    assert_eq!(normalize(&c.id), "chatcmpl-*");
    assert_eq!(c.model, "qwen3:8b");
    assert_eq!(
        c.text.as_deref(),
        Some("The capital of France is **Paris**.\nIt sits on the Seine & is home to the Louvre.")
    );
    assert_eq!(
        c.reasoning.as_deref(),
        Some("The user asks for the capital of France. That is Paris.")
    );
    assert!(c.tool_calls.is_empty());
    assert_eq!(c.finish, Finish::Stop);
    assert_eq!(
        c.usage,
        Usage {
            prompt: 18,
            completion: 41,
            ..Usage::default()
        }
    );
}

#[test]
fn decodes_two_tool_calls() {
    let c = OllamaChat.decode_completion(CALLS).unwrap().unwrap();
    assert_eq!(c.finish, Finish::ToolCalls);
    assert_eq!((c.text, c.reasoning), (None, None));
    assert_eq!(c.tool_calls.len(), 2);
    let (first, second) = (&c.tool_calls[0], &c.tool_calls[1]);
    assert!(is_generated_call_id(&first.id), "{}", first.id);
    assert!(is_generated_call_id(&second.id), "{}", second.id);
    assert_ne!(first.id, second.id);
    assert_eq!(
        (first.name.as_str(), first.arguments.as_str()),
        ("get_weather", r#"{"city":"Paris","unit":"celsius"}"#)
    );
    assert_eq!(
        (second.name.as_str(), second.arguments.as_str()),
        (
            "get_time",
            r#"{"timezone":"Europe/Paris","options":{"format":"24h"}}"#
        )
    );
    assert_eq!((c.usage.prompt, c.usage.completion), (212, 48));
}

#[test]
fn finish_reasons_ids_and_odd_bodies() {
    let body = |reason: &str, calls: &str| {
        format!(
            r#"{{"model":"m","message":{{"role":"assistant","content":"x"{calls}}},"done":true,"done_reason":"{reason}"}}"#
        )
    };
    let finish =
        |reason: &str, calls: &str| decode_completion(body(reason, calls).as_bytes()).unwrap();
    assert_eq!(finish("length", "").finish, Finish::Length);
    assert_eq!(finish("stop", "").finish, Finish::Stop);
    assert_eq!(finish("unload", "").finish, Finish::Stop);
    let with_id = finish(
        "stop",
        r#","tool_calls":[{"id":"call_ab12cd34","function":{"index":0,"name":"f","arguments":"{\"a\":1}"}}]"#,
    );
    assert_eq!(with_id.finish, Finish::ToolCalls);
    assert_eq!(
        with_id.tool_calls,
        [ToolCall {
            id: "call_ab12cd34".into(),
            name: "f".into(),
            arguments: r#"{"a":1}"#.into()
        }]
    );
    assert_eq!(
        finish("length", r#","tool_calls":[{"function":{"name":"f"}}]"#).finish,
        Finish::Length
    );
    // No counts (a prompt served from cache omits prompt_eval_count): zero.
    let c = decode_completion(
        br#"{"model":"m","message":{"role":"assistant","content":"hi"},"done":true}"#,
    )
    .unwrap();
    assert_eq!((c.usage.prompt, c.usage.completion), (0, 0));
    let e = decode_completion(br#"{"error":"model 'nope' not found"}"#).unwrap_err();
    assert_eq!((e.status, e.kind), (404, ErrorKind::NotFound));
    assert_eq!(decode_completion(b"<html>").unwrap_err().status, 502);
}

#[test]
fn stream_text_at_every_split() {
    let expected = [
            r#"Start { id: "chatcmpl-*", model: "qwen3:8b" }"#,
            r#"Reasoning("Greeting")"#,
            r#"Reasoning(" the user.")"#,
            r#"Text("Hello")"#,
            r#"Text("! Use <b> for bold. é\n")"#,
            "Finish(Stop)",
            "Usage(Usage { prompt: 11, completion: 17, cache_read: 0, cache_write: 0, reasoning: 0, reported_total: None })",
            "Done",
        ];
    assert_eq!(every_split_is_the_same(STREAM_TEXT), expected);
    assert_eq!(every_split_is_the_same(&crlf(STREAM_TEXT)), expected);
}

#[test]
fn stream_tool_calls_at_every_split() {
    assert_eq!(
            every_split_is_the_same(STREAM_TOOLS),
            [
                r#"Start { id: "chatcmpl-*", model: "llama3.1:8b" }"#,
                r#"ToolStart { index: 0, id: "call_k3v9x0qa", name: "get_weather" }"#,
                r#"ToolArgs { index: 0, args: "{\"city\":\"Paris\"}" }"#,
                r#"ToolStart { index: 1, id: "call_7fj2m1zp", name: "get_time" }"#,
                r#"ToolArgs { index: 1, args: "{\"timezone\":\"Europe/Paris\"}" }"#,
                "Finish(ToolCalls)",
                "Usage(Usage { prompt: 198, completion: 39, cache_read: 0, cache_write: 0, reasoning: 0, reported_total: None })",
                "Done",
            ]
        );
    // Older servers send no ids: one is made up per call.
    let events = run(&[
            br#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},"done":false}
"#,
        ]);
    assert_eq!(
        events[1],
        r#"ToolStart { index: 0, id: "call_*", name: "f" }"#
    );
}

#[test]
fn stream_error_line_mid_stream() {
    let events = every_split_is_the_same(STREAM_ERROR);
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[1], r#"Text("Once")"#);
    assert_eq!(events[2], r#"Text(" upon")"#);
    assert!(
            events[3].starts_with("Error(ApiError { status: 500, kind: ApiError, message: \"an error was encountered while running the model: unexpected EOF\""),
            "{}",
            events[3]
        );
    let events = run(&[b"{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}\n"]);
    assert!(
        events[0].starts_with("Error(ApiError { status: 404, kind: NotFound"),
        "{events:?}"
    );
    let events = run(&[b"not json\n"]);
    assert!(
        events[0].starts_with("Error(ApiError { status: 502"),
        "{events:?}"
    );
}

#[test]
fn stream_without_done_line_is_incomplete() {
    // Cut after the fourth line: no done line, so no Finish/Usage/Done.
    let cut = STREAM_TEXT
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(3)
        .map(|(i, _)| i + 1)
        .unwrap();
    let events = run(&[&STREAM_TEXT[..cut]]);
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events
        .iter()
        .all(|e| !e.starts_with("Finish") && e != "Done"));
    // A cut-off last line is dropped; a whole one without its newline still counts.
    assert_eq!(run(&[&STREAM_TEXT[..cut + 20]]), events);
    let unterminated = STREAM_TEXT.strip_suffix(b"\n").unwrap();
    assert_eq!(run(&[unterminated]), run(&[STREAM_TEXT]));
    // Anything after the done line is ignored.
    let mut twice = STREAM_TEXT.to_vec();
    twice.extend_from_slice(STREAM_TEXT);
    assert_eq!(run(&[&twice]), run(&[STREAM_TEXT]));
}

#[test]
fn decodes_error_bodies() {
    let e = OllamaChat.decode_error(404, &http::HeaderMap::new(), ERROR_404);
    assert_eq!(
        (e.status, e.kind, e.message.as_str()),
        (404, ErrorKind::NotFound, "model 'llama9' not found")
    );
    assert_eq!(
            e.body(),
            Bytes::from_static(
                br#"{"error":{"message":"model 'llama9' not found","type":"not_found_error","param":null,"code":"404"}}"#
            )
        );
    let e = decode_error(
        400,
        br#"{"error":"invalid format: expected \"json\" or a valid JSON schema"}"#,
    );
    assert_eq!((e.status, e.kind), (400, ErrorKind::InvalidRequest));
    let e = decode_error(
        401,
        br#"{"error":"unauthorized","signin_url":"https://ollama.com/connect"}"#,
    );
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Auth, "unauthorized")
    );
    let e = decode_error(
        500,
        br#"{"error":"the input length exceeds the context length"}"#,
    );
    assert_eq!(OllamaChat.failure(e).fallback, FallbackClass::ContextWindow);
    let e = decode_error(503, br#"{"error":{"message":"server busy"}}"#);
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::ServiceUnavailable, "server busy")
    );
    let e = decode_error(502, b"<html>Bad Gateway</html>");
    assert_eq!(
        (e.status, e.message.as_str()),
        (502, "<html>Bad Gateway</html>")
    );
    assert_eq!(decode_error(500, b"").message, "upstream returned HTTP 500");
}
