//! Unit tests of `api::messages`.

use super::*;

#[test]
fn request_translates_to_openai_chat() {
    let body = json!({
        "model": "claude-x", "max_tokens": 100, "system": [{"type": "text", "text": "be brief"}],
        "stop_sequences": ["END"], "stream": true, "metadata": {"user_id": "u1"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                {"type": "text", "text": "and tomorrow?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]}
        ]
    });
    let out: Value =
        serde_json::from_slice(&to_openai(body.to_string().as_bytes()).unwrap()).unwrap();
    assert_eq!(
        out["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(
        out["messages"][1],
        json!({"role": "user", "content": "weather?"})
    );
    assert_eq!(
        out["messages"][2]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        out["messages"][3],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "18C"})
    );
    assert_eq!(
        out["messages"][4]["content"][1]["image_url"]["url"],
        "data:image/png;base64,AAA"
    );
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["parallel_tool_calls"], false);
    assert_eq!(out["stop"], json!(["END"]));
    assert_eq!(out["user"], "u1");
    assert_eq!(out["reasoning_effort"], "low");
    assert_eq!(out["stream_options"]["include_usage"], true);
    assert!(to_openai(b"{\"model\":\"m\"}").is_err());
}

#[test]
fn stream_events_render_anthropic_sse() {
    let mut w = AnthropicEvents::new("claude-x");
    let mut out = BytesMut::new();
    w.event_into(
        Event::Start {
            id: "chatcmpl-1",
            model: "gpt",
        },
        &mut out,
    );
    w.event_into(Event::Text("Hi".into()), &mut out);
    w.event_into(
        Event::ToolStart {
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        &mut out,
    );
    w.event_into(
        Event::ToolArgs {
            index: 0,
            args: "{}".into(),
        },
        &mut out,
    );
    w.event_into(Event::Finish(Finish::ToolCalls), &mut out);
    w.event_into(
        Event::Usage(Usage {
            prompt: 5,
            completion: 3,
            ..Default::default()
        }),
        &mut out,
    );
    w.event_into(Event::Done, &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    let names: Vec<&str> = text
        .split("\n\n")
        .filter_map(|e| e.lines().next()?.strip_prefix("event: "))
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for e in text.split("\n\n").filter(|e| !e.is_empty()) {
        let data = e.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
        let _: Value = serde_json::from_str(data).unwrap();
    }
    assert!(text.contains(r#""stop_reason":"tool_use""#));
    assert!(text.contains(r#""output_tokens":3"#));
}
