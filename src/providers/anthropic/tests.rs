//! Unit tests of `providers::anthropic`.

use super::*;
use crate::core::error::ErrorKind;
use crate::providers::chat::Finish;
use crate::providers::testkit;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/anthropic");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

fn encode(body: Value) -> Result<Value, ApiError> {
    let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
    let out = Anthropic.encode(
        &call,
        &EncodeTarget {
            model_json: b"\"claude\"",
            model: "claude-sonnet-4-5",
            defaults: &[],
            drop_params: false,
            additional_drop_params: &[],
        },
    )?;
    Ok(serde_json::from_slice(&out).unwrap())
}

#[test]
fn request_moves_system_merges_turns_and_maps_tools() {
    let v = encode(json!({
            "model": "claude", "temperature": 0.2, "stop": ["END", " "], "user": "u-1",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "weather?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
                {"role": "assistant", "content": "checking", "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "noon"},
                {"role": "user", "content": "thanks"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "get_time"}}],
            "tool_choice": "required", "parallel_tool_calls": false, "top_k": 5
        }))
        .unwrap();
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(v["max_tokens"], 4096);
    assert_eq!(v["system"], json!([{"type": "text", "text": "be brief"}]));
    assert_eq!(v["stop_sequences"], json!(["END"]));
    assert_eq!(v["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(v["top_k"], 5);
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[0]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}})
    );
    assert_eq!(
        msgs[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}})
    );
    assert_eq!(msgs[1]["content"][2]["input"], json!({}));
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
    assert_eq!(msgs[2]["content"][1]["tool_use_id"], "toolu_2");
    assert_eq!(
        msgs[2]["content"][2],
        json!({"type": "text", "text": "thanks"})
    );
    assert_eq!(
        v["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        v["tools"][1]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn json_mode_forces_the_json_tool() {
    let v = encode(json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}))
        .unwrap();
    assert_eq!(v["tools"][0]["name"], JSON_TOOL);
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
    let c = decode_message(&fixture("json_mode.json")).unwrap();
    assert_eq!(c.text.as_deref(), Some(r#"{"a":"b"}"#));
    assert!(c.tool_calls.is_empty());
    assert_eq!(c.finish, Finish::Stop);
}

#[test]
fn unsupported_params_fail_unless_dropped() {
    let e =
        encode(json!({"model": "m", "seed": 1, "messages": [{"role": "user", "content": "x"}]}))
            .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e
        .message
        .contains("anthropic does not support parameters: ['seed']"));
    let e = encode(json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}))
        .unwrap_err();
    assert_eq!(e.param.as_deref(), Some("n"));
    let v = encode(
        json!({"model": "m", "seed": 1, "drop_params": true, "messages": [{"role": "user", "content": "x"}]}),
    );
    // Per-request drop_params is applied by the exchange (EncodeTarget); here it is off.
    assert!(v.is_err());
    let e = encode(json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]}))
            .unwrap_err();
    assert!(e.message.contains("input_audio"), "{}", e.message);
}

#[test]
fn thinking_is_left_off_in_a_tool_loop() {
    let v = encode(json!({"model": "m", "reasoning_effort": "low", "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "ok"}]}))
        .unwrap();
    assert!(v.get("thinking").is_none(), "{v}");
}

#[test]
fn reasoning_effort_enables_thinking() {
    let v = encode(json!({"model": "m", "reasoning_effort": "low", "messages": [{"role": "user", "content": "x"}]}))
            .unwrap();
    assert_eq!(
        v["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert!(v["max_tokens"].as_u64().unwrap() > 1024);
}

#[test]
fn decodes_text_tools_and_usage() {
    let c = decode_message(&fixture("tool_use.json")).unwrap();
    assert_eq!(c.text.as_deref(), Some("Let me check."));
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(c.tool_calls[0].name, "get_weather");
    assert_eq!(c.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
    assert_eq!(c.finish, Finish::ToolCalls);
    assert_eq!(c.usage.prompt, 472 + 100 + 20);
    assert_eq!(c.usage.cache_read, 100);
    assert_eq!(c.usage.completion, 89);
    for (stop, want) in [
        ("end_turn", Finish::Stop),
        ("stop_sequence", Finish::Stop),
        ("max_tokens", Finish::Length),
        ("tool_use", Finish::ToolCalls),
        ("refusal", Finish::ContentFilter),
        ("pause_turn", Finish::Stop),
    ] {
        assert_eq!(finish_reason(stop), want, "{stop}");
    }
}

#[test]
fn errors_keep_status_and_type() {
    let e = decode_error(529, &fixture("error_overloaded.json"));
    assert_eq!(e.status, 529);
    assert_eq!(e.code.as_deref(), Some("overloaded_error"));
    assert!(super::super::is_retryable_status(e.status));
    let e = decode_error(400, br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#);
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(e.message.contains("prompt is too long"));
}

#[test]
fn stream_is_the_same_at_every_split() {
    let body = fixture("stream_tool_use.sse");
    let whole = testkit::events(&mut AnthropicStream::default(), &[&body]);
    assert!(whole.iter().any(|e| e.contains("ToolStart")), "{whole:?}");
    assert!(whole.last().unwrap().contains("Done"));
    for cut in 1..body.len() {
        let (a, b) = body.split_at(cut);
        assert_eq!(
            testkit::events(&mut AnthropicStream::default(), &[a, b]),
            whole,
            "split at {cut}"
        );
    }
}

#[test]
fn stream_events_map_to_neutral_events() {
    let body = fixture("stream_tool_use.sse");
    let ev = testkit::events(&mut AnthropicStream::default(), &[&body]);
    let want = [
            r#"Start { id: "msg_014p7gG3wDgGV9EUtLvnow3U", model: "claude-sonnet-4-5" }"#,
            r#"Text("Let me check")"#,
            r#"ToolStart { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather" }"#,
            r#"ToolArgs { index: 0, args: "{\"city\": " }"#,
            r#"ToolArgs { index: 0, args: "\"Paris\"}" }"#,
            "Finish(ToolCalls)",
            "Usage(Usage { prompt: 472, completion: 89, cache_read: 0, cache_write: 0, reasoning: 0, reported_total: None })",
            "Done",
        ];
    assert_eq!(ev, want);
    let err = fixture("stream_error.sse");
    let ev = testkit::events(&mut AnthropicStream::default(), &[&err]);
    assert!(ev.last().unwrap().contains("status: 529"), "{ev:?}");
}
