//! Unit tests of `providers::gemini`.

use super::*;
use crate::core::error::ErrorKind;
use crate::core::failure::FallbackClass;
use crate::providers::chat::{Finish, Usage};
use crate::providers::testkit;

const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/gemini/text.json");
const CALLS: &[u8] = include_bytes!("../../../tests/fixtures/gemini/function_call.json");
const BLOCKED: &[u8] = include_bytes!("../../../tests/fixtures/gemini/blocked.json");
const STREAM_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/gemini/stream_text.sse");
const STREAM_TOOLS: &[u8] = include_bytes!("../../../tests/fixtures/gemini/stream_tool.sse");
const ERROR_429: &[u8] = include_bytes!("../../../tests/fixtures/gemini/error_429.json");

fn is_generated_id(id: &str) -> bool {
    let hex = id.strip_prefix("call_").unwrap_or_default();
    hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn run(chunks: &[&[u8]]) -> Vec<String> {
    testkit::normalized(&mut *Gemini.stream_decoder().unwrap(), chunks)
}

fn every_split_is_the_same(body: &[u8]) -> Vec<String> {
    testkit::same_at_every_split(|| Gemini.stream_decoder().unwrap(), body)
}

#[test]
fn paths_and_auth() {
    let chat = Gemini.path(
        "/v1beta",
        Endpoint::ChatCompletions,
        "gemini-2.5-flash",
        None,
    );
    assert_eq!(chat, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(
        Gemini.stream_path("/v1beta", "models/gemini-2.5-pro", None),
        Some("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse".to_string())
    );
    assert!(Gemini.supports(Endpoint::ChatCompletions));
    assert!(Gemini.supports(Endpoint::Embeddings));
    assert!(!Gemini.supports(Endpoint::Completions));
    let (name, value) = Gemini.auth_header("AIza-key").unwrap();
    assert_eq!(
        (name.as_str(), value.to_str().unwrap()),
        ("x-goog-api-key", "AIza-key")
    );
    assert!(value.is_sensitive());
}

#[test]
fn decodes_text_reasoning_and_usage() {
    let c = Gemini.decode_completion(TEXT).unwrap().unwrap();
    assert_eq!(c.id, "tTCwacuEBMvnitYP06qsgQY");
    assert_eq!(c.model, "gemini-2.5-flash");
    assert_eq!(
        c.text.as_deref(),
        Some("The capital of France is **Paris**.\nIt sits on the Seine.")
    );
    assert!(c
        .reasoning
        .unwrap()
        .starts_with("**Answering the capital question**"));
    assert!(c.tool_calls.is_empty());
    assert_eq!(c.finish, Finish::Stop);
    assert_eq!(
        c.usage,
        Usage {
            prompt: 12,
            completion: 49,
            cache_read: 4,
            cache_write: 0,
            reasoning: 35,
            reported_total: None,
        }
    );
}

#[test]
fn decodes_parallel_function_calls() {
    let c = Gemini.decode_completion(CALLS).unwrap().unwrap();
    assert_eq!(c.finish, Finish::ToolCalls);
    assert_eq!(c.text, None);
    assert_eq!(c.tool_calls.len(), 2);
    let (first, second) = (&c.tool_calls[0], &c.tool_calls[1]);
    let (id, signature) = first.id.split_once(SIGNATURE_SEPARATOR).unwrap();
    assert!(is_generated_id(id), "{id}");
    assert_eq!(signature, "CtMBAVSoXO5Zk2r+d0tG/aQ==");
    assert_eq!(
        (first.name.as_str(), first.arguments.as_str()),
        ("get_weather", r#"{"city":"Paris","unit":"celsius"}"#)
    );
    assert!(is_generated_id(&second.id), "{}", second.id);
    assert_ne!(second.id, id);
    assert_eq!(
        second.arguments,
        r#"{"timezone":"Europe/Paris","options":{"format":"24h"}}"#
    );
    assert_eq!(
        (c.usage.prompt, c.usage.completion, c.usage.reasoning),
        (98, 111, 70)
    );
}

#[test]
fn blocked_prompt_is_a_content_policy_error() {
    let e = Gemini.decode_completion(BLOCKED).unwrap().unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(e.code.as_deref(), Some("content_policy_violation"));
    assert_eq!(
        e.message,
        "The response was blocked by Gemini: PROHIBITED_CONTENT"
    );
    assert_eq!(
        Gemini.failure(e.clone()).fallback,
        FallbackClass::ContentPolicy
    );
    let bad = Gemini.decode_completion(b"<html>").unwrap().unwrap_err();
    assert_eq!(bad.status, 502);
}

#[test]
fn finish_reasons() {
    let body = |reason: &str| {
        format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}]}},"finishReason":"{reason}"}}]}}"#
        )
    };
    for (reason, finish) in [
        ("MAX_TOKENS", Finish::Length),
        ("SAFETY", Finish::ContentFilter),
        ("RECITATION", Finish::ContentFilter),
        ("PROHIBITED_CONTENT", Finish::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", Finish::Stop),
    ] {
        let c = decode_completion(body(reason).as_bytes()).unwrap();
        assert_eq!(c.finish, finish, "{reason}");
    }
}

#[test]
fn stream_text_at_every_split() {
    let events = every_split_is_the_same(STREAM_TEXT);
    assert_eq!(
        events,
        [
            r#"Start { id: "tTCwacuEBMvnitYP06qsgQY", model: "gemini-3.1-flash-lite-preview" }"#,
            r#"Text("Hello!")"#,
            r#"Text(" How can I help you today")"#,
            r#"Text("? é\n")"#,
            "Finish(Stop)",
            "Usage(Usage { prompt: 1, completion: 9, cache_read: 0, cache_write: 0, reasoning: 0, reported_total: None })",
            "Done",
        ]
    );
}

#[test]
fn stream_tool_calls_at_every_split() {
    let events = every_split_is_the_same(STREAM_TOOLS);
    assert_eq!(
        events,
        [
            r#"Start { id: "xzKwaaK4HcKpvdIPjqGT0AU", model: "gemini-2.5-flash" }"#,
            r#"Reasoning("Checking the weather.")"#,
            r#"ToolStart { index: 0, id: "call_*__thought__CiQBVKhc7vB1", name: "get_weather" }"#,
            r#"ToolArgs { index: 0, args: "{\"city\":\"Paris\"}" }"#,
            r#"ToolStart { index: 1, id: "call_*", name: "get_time" }"#,
            r#"ToolArgs { index: 1, args: "{\"timezone\":\"Europe/Paris\"}" }"#,
            "Finish(ToolCalls)",
            "Usage(Usage { prompt: 71, completion: 74, cache_read: 0, cache_write: 0, reasoning: 44, reported_total: None })",
            "Done",
        ]
    );
}

#[test]
fn stream_without_finish_reason_is_incomplete() {
    // Cut after the second event: no finishReason seen, so no Finish/Usage/Done.
    let cut = STREAM_TEXT
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"\r\n\r\n")
        .nth(1)
        .map(|(i, _)| i + 4)
        .unwrap();
    let events = run(&[&STREAM_TEXT[..cut]]);
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events
        .iter()
        .all(|e| !e.starts_with("Finish") && e != "Done"));
    // The last event without its blank line still counts when it is whole.
    let unterminated = STREAM_TEXT.strip_suffix(b"\r\n\r\n").unwrap();
    assert_eq!(run(&[unterminated]), run(&[STREAM_TEXT]));
}

#[test]
fn stream_errors_and_blocks() {
    let events = run(&[
        b"data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n",
    ]);
    assert_eq!(events.len(), 1);
    assert!(events[0].starts_with("Error(ApiError { status: 503, kind: ServiceUnavailable"));
    assert!(
        events[0].contains("code: Some(\"UNAVAILABLE\")"),
        "{}",
        events[0]
    );
    let mut blocked = b"data: ".to_vec();
    blocked.extend(BLOCKED.iter().filter(|b| **b != b'\n'));
    blocked.extend_from_slice(b"\n\n");
    let events = run(&[&blocked]);
    assert_eq!(events.len(), 1);
    assert!(
        events[0].contains("code: Some(\"content_policy_violation\")"),
        "{}",
        events[0]
    );
}

#[test]
fn decodes_google_errors() {
    let e = Gemini.decode_error(429, &http::HeaderMap::new(), ERROR_429);
    assert_eq!((e.status, e.kind), (429, ErrorKind::RateLimit));
    assert_eq!(e.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert!(e.message.starts_with("You exceeded your current quota"));
    assert_eq!(retry_after_secs(ERROR_429), Some(42));
    let mut array = b"[".to_vec();
    array.extend_from_slice(ERROR_429);
    array.extend_from_slice(b"]");
    assert_eq!(decode_error(429, &array), e);
    assert_eq!(retry_after_secs(&array), Some(42));

    let key = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
    let e = decode_error(400, key);
    assert_eq!((e.status, e.kind), (401, ErrorKind::Auth));
    let long = br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
    let e = decode_error(400, long);
    assert_eq!(Gemini.failure(e).fallback, FallbackClass::ContextWindow);
    let e = decode_error(404, br#"{"error":{"code":404,"message":"models/nope is not found for API version v1beta","status":"NOT_FOUND"}}"#);
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::NotFound, Some("NOT_FOUND"))
    );
    let e = decode_error(502, b"<html>Bad Gateway</html>");
    assert_eq!(
        (e.status, e.message.as_str()),
        (502, "<html>Bad Gateway</html>")
    );
    assert_eq!(decode_error(500, b"").message, "upstream returned HTTP 500");
    assert_eq!(retry_after_secs(b"{}"), None);
}
