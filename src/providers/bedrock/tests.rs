//! Bedrock: paths, request encoding, response and error decoding against fixtures.

use super::*;
use crate::core::error::ErrorKind;
use crate::providers::chat::{Finish, ToolCall, Usage};
use serde_json::{json, Value};

const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/bedrock/converse_text.json");
const TOOL_USE: &[u8] = include_bytes!("../../../tests/fixtures/bedrock/converse_tool_use.json");
const THROTTLED: &[u8] = include_bytes!("../../../tests/fixtures/bedrock/error_throttling.json");
const INVALID: &[u8] = include_bytes!("../../../tests/fixtures/bedrock/error_validation.json");

const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn encode_for(model: &str, body: Value, drop_params: bool) -> Result<Value, ApiError> {
    let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
    let model_json = serde_json::to_vec(model).unwrap();
    let drop = vec!["secret_param".to_string()];
    let out = Bedrock.encode(
        &call,
        &EncodeTarget {
            model_json: &model_json,
            model,
            defaults: &[],
            drop_params,
            additional_drop_params: &drop,
        },
    )?;
    Ok(serde_json::from_slice(&out).unwrap())
}

fn encode(body: Value) -> Result<Value, ApiError> {
    encode_for(CLAUDE, body, false)
}

#[test]
fn paths_encode_the_model_id() {
    assert_eq!(
        Bedrock.path("", Endpoint::ChatCompletions, CLAUDE, None),
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    assert_eq!(
        Bedrock
            .stream_path(
                "",
                "converse/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                None
            )
            .unwrap(),
        "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    );
    assert_eq!(
        Bedrock.path(
            "/proxy",
            Endpoint::ChatCompletions,
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b",
            None
        ),
        "/proxy/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b/converse"
    );
    let (name, value) = Bedrock.auth_header("ABSK-key").unwrap();
    assert_eq!(name, http::header::AUTHORIZATION);
    assert_eq!(value, "Bearer ABSK-key");
    assert!(value.is_sensitive());
    assert!(Bedrock.supports(Endpoint::Embeddings));
    assert!(Bedrock.supports(Endpoint::ChatCompletions));
}

#[test]
fn request_moves_system_merges_turns_and_maps_tools() {
    let v = encode(json!({
        "model": "claude", "max_tokens": 300, "temperature": 0.2, "top_p": 0.9,
        "stop": ["END", " "], "top_k": 40, "user": "u-1", "secret_param": 1,
        "guardrailConfig": {"guardrailIdentifier": "g", "guardrailVersion": "1"},
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
            {"role": "user", "content": "in Paris"},
            {"role": "assistant", "content": "checking", "tool_calls": [
                {"id": "tooluse_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "tooluse_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "{\"temp_c\": 18}"},
            {"role": "tool", "tool_call_id": "tooluse_2", "content": "noon"},
            {"role": "user", "content": "thanks"},
            {"role": "developer", "content": [{"type": "text", "text": "use metric"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_time"}}],
        "tool_choice": "auto"
    }))
    .unwrap();
    assert_eq!(
        v,
        json!({
            "system": [{"text": "be brief"}, {"text": "use metric"}],
            "messages": [
                {"role": "user", "content": [
                    {"text": "weather?"},
                    {"image": {"format": "png", "source": {"bytes": "iVBO"}}},
                    {"text": "in Paris"}]},
                {"role": "assistant", "content": [
                    {"text": "checking"},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
                    {"toolUse": {"toolUseId": "tooluse_2", "name": "get_time", "input": {}}}]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"temp_c": 18}}], "status": "success"}},
                    {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "noon"}], "status": "success"}},
                    {"text": "thanks"}]}
            ],
            "inferenceConfig": {"maxTokens": 300, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
            "toolConfig": {
                "tools": [
                    {"toolSpec": {"name": "get_weather", "description": "Get weather", "inputSchema": {"json":
                        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}},
                    {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}}
                ],
                "toolChoice": {"auto": {}}
            },
            "additionalModelRequestFields": {"top_k": 40},
            "guardrailConfig": {"guardrailIdentifier": "g", "guardrailVersion": "1"}
        })
    );
}

#[test]
fn tool_choice_variants() {
    let with = |choice: Value| {
        encode(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": choice}),
        )
        .unwrap()["toolConfig"]
            .clone()
    };
    assert_eq!(with(json!("required"))["toolChoice"], json!({"any": {}}));
    assert_eq!(
        with(json!({"type": "function", "function": {"name": "f"}}))["toolChoice"],
        json!({"tool": {"name": "f"}})
    );
    let none = with(json!("none"));
    assert!(none.get("toolChoice").is_none(), "{none}");
    assert_eq!(none["tools"][0]["toolSpec"]["name"], "f");
    // A tool_choice without tools sends no toolConfig at all.
    let v = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tool_choice": "auto"}),
    )
    .unwrap();
    assert!(v.get("toolConfig").is_none());
    assert!(v.get("inferenceConfig").is_none());
}

#[test]
fn tool_results_keep_parts_and_status_only_for_anthropic() {
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": "draw"},
        {"role": "assistant", "tool_calls": [{"id": "t1", "type": "function",
            "function": {"name": "render", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": [
            {"type": "text", "text": "[1, 2]"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}}]},
        {"role": "assistant", "tool_calls": [{"id": "t2", "type": "function",
            "function": {"name": "render", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t2", "content": ""}
    ]});
    let v = encode_for("amazon.nova-pro-v1:0", body, false).unwrap();
    assert_eq!(
        v["messages"][2]["content"][0],
        json!({"toolResult": {"toolUseId": "t1", "content": [
            {"text": "[1, 2]"},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/"}}}]}})
    );
    assert_eq!(
        v["messages"][4]["content"][0],
        json!({"toolResult": {"toolUseId": "t2", "content": [{"text": "(no output)"}]}})
    );
}

#[test]
fn documents_and_refused_parts() {
    let v = encode(json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "Q3 report.v2.pdf"}},
        {"type": "image_url", "image_url": {"url": "data:application/pdf;base64,JVBF"}},
        {"type": "text", "text": "summarise"}]}]}))
    .unwrap();
    assert_eq!(
        v["messages"][0]["content"],
        json!([
            {"document": {"format": "pdf", "name": "Q3 report v2", "source": {"bytes": "JVBE"}}},
            {"document": {"format": "pdf", "name": "document-2", "source": {"bytes": "JVBF"}}},
            {"text": "summarise"}
        ])
    );

    let e = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
    )
    .unwrap_err();
    assert_eq!(e.status, 400);
    assert!(
        e.message.contains("https://example.com/cat.png") && e.message.contains("data URL"),
        "{}",
        e.message
    );
    let e = encode(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]}]}),
    )
    .unwrap_err();
    // Refused by the translator (or, with older neutral types, when the part is read).
    assert_eq!(
        (e.status, e.param.as_deref()),
        (400, Some("messages")),
        "{}",
        e.message
    );
}

#[test]
fn unsupported_params_fail_unless_dropped() {
    let body = json!({"model": "m", "seed": 3, "frequency_penalty": 0.5,
        "messages": [{"role": "user", "content": "hi"}]});
    let e = encode(body.clone()).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(
        e.message
            .contains("bedrock does not support parameters: ['frequency_penalty', 'seed']"),
        "{}",
        e.message
    );
    let v = encode_for(CLAUDE, body, true).unwrap();
    assert_eq!(
        v,
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}

#[test]
fn reasoning_effort_and_json_mode() {
    let v = encode(json!({"model": "m", "reasoning_effort": "medium",
        "messages": [{"role": "user", "content": "think"}]}))
    .unwrap();
    assert_eq!(
        v["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})
    );
    assert_eq!(v["inferenceConfig"]["maxTokens"], 2048 + 4096);
    // Other model families take no thinking block.
    let v = encode_for(
        "meta.llama3-1-70b-instruct-v1:0",
        json!({"model": "m", "reasoning_effort": "high",
            "messages": [{"role": "user", "content": "think"}]}),
        false,
    )
    .unwrap();
    assert!(v.get("additionalModelRequestFields").is_none(), "{v}");
    // An explicit `thinking` wins over reasoning_effort.
    let v = encode(json!({"model": "m", "reasoning_effort": "low",
        "thinking": {"type": "enabled", "budget_tokens": 5000},
        "messages": [{"role": "user", "content": "think"}]}))
    .unwrap();
    assert_eq!(
        v["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        5000
    );

    let v = encode(
        json!({"model": "m", "response_format": {"type": "json_object"},
        "messages": [{"role": "user", "content": "json please"}]}),
    )
    .unwrap();
    assert_eq!(
        v["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "json_tool_call",
            "description": "Respond with a JSON object.",
            "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
            "toolChoice": {"tool": {"name": "json_tool_call"}}})
    );
}

#[test]
fn decodes_converse_responses() {
    let c = Bedrock.decode_completion(TEXT).unwrap().unwrap();
    assert!(c.id.starts_with("chatcmpl-"));
    assert_eq!(c.model, "");
    assert_eq!(c.text.as_deref(), Some("Hello! How can I help you today?"));
    assert_eq!(c.finish, Finish::Stop);
    assert_eq!(
        c.usage,
        Usage {
            prompt: 112,
            completion: 10,
            cache_read: 96,
            cache_write: 4,
            reasoning: 0,
            reported_total: None,
        }
    );

    let c = Bedrock.decode_completion(TOOL_USE).unwrap().unwrap();
    assert_eq!(c.text.as_deref(), Some("I'll check the weather in Paris."));
    assert_eq!(c.finish, Finish::ToolCalls);
    assert_eq!(
        c.tool_calls,
        vec![ToolCall {
            id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
            name: "get_weather".into(),
            arguments: r#"{"city": "Paris", "unit": "celsius"}"#.into(),
        }]
    );
    assert_eq!(c.usage.prompt, 403);

    let c = Bedrock
        .decode_completion(
            br#"{"output":{"message":{"role":"assistant","content":[
            {"reasoningContent":{"reasoningText":{"text":"Let me see.","signature":"EqoB"}}},
            {"toolUse":{"toolUseId":"t","name":"json_tool_call","input":{"a":1}}}]}},
            "stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#,
        )
        .unwrap()
        .unwrap();
    assert_eq!(c.reasoning.as_deref(), Some("Let me see."));
    assert_eq!(c.text.as_deref(), Some(r#"{"a":1}"#));
    assert!(c.tool_calls.is_empty());
    assert_eq!(c.finish, Finish::Stop);

    for (stop, finish) in [
        ("max_tokens", Finish::Length),
        ("stop_sequence", Finish::Stop),
        ("guardrail_intervened", Finish::ContentFilter),
        ("content_filtered", Finish::ContentFilter),
    ] {
        let body = format!(
            r#"{{"output":{{"message":{{"role":"assistant","content":[{{"text":"x"}}]}}}},"stopReason":"{stop}","usage":{{}}}}"#
        );
        let c = Bedrock.decode_completion(body.as_bytes()).unwrap().unwrap();
        assert_eq!(c.finish, finish, "{stop}");
    }
    let e = Bedrock.decode_completion(b"<html>").unwrap().unwrap_err();
    assert_eq!(e.status, 502);
}

#[test]
fn decodes_errors() {
    let mut h = http::HeaderMap::new();
    h.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ),
    );
    let e = Bedrock.decode_error(429, &h, THROTTLED);
    assert_eq!(e.status, 429);
    assert_eq!(e.kind, ErrorKind::RateLimit);
    assert_eq!(e.code.as_deref(), Some("ThrottlingException"));
    assert_eq!(
        e.message,
        "litellm.BedrockException - Too many requests, please wait before trying again."
    );
    // Throttling is 429 whatever status carried it.
    assert_eq!(Bedrock.decode_error(400, &h, THROTTLED).status, 429);

    let mut h = http::HeaderMap::new();
    h.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ),
    );
    let e = Bedrock.decode_error(400, &h, INVALID);
    assert_eq!(
        (e.status, e.kind, e.code.as_deref()),
        (400, ErrorKind::InvalidRequest, Some("ValidationException"))
    );
    assert!(e.message.contains("roles must alternate"), "{}", e.message);

    let e = Bedrock.decode_error(
        403,
        &http::HeaderMap::new(),
        br#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"denied"}"#,
    );
    assert_eq!(
        (e.status, e.kind, e.code.as_deref()),
        (
            403,
            ErrorKind::PermissionDenied,
            Some("AccessDeniedException")
        )
    );
    let e = Bedrock.decode_error(503, &http::HeaderMap::new(), b"");
    assert_eq!(e.kind, ErrorKind::ServiceUnavailable);
    assert_eq!(e.code.as_deref(), Some("503"));
    assert!(e.message.contains("HTTP 503"));
}

// ---- stream --------------------------------------------------------------------------
