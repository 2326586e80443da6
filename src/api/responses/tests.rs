//! Unit tests of `api::responses`.

use super::*;

fn translate(body: Value) -> Value {
    serde_json::from_slice(&to_openai(body.to_string().as_bytes()).unwrap()).unwrap()
}

fn reject(body: Value) -> ApiError {
    to_openai(body.to_string().as_bytes()).unwrap_err()
}

#[test]
fn string_input_and_instructions_become_messages() {
    let out = translate(json!({
        "model": "gpt-x", "instructions": "be brief", "input": "hi",
        "max_output_tokens": 50, "temperature": 0.2, "top_p": 0.9, "user": "u1",
        "metadata": {"k": "v"}, "store": true, "stream": true,
        "reasoning": {"effort": "low", "summary": "auto"}
    }));
    assert_eq!(
        out,
        json!({
            "model": "gpt-x",
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": "hi"}],
            "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "user": "u1",
            "stream": true, "stream_options": {"include_usage": true},
            "reasoning_effort": "low"
        })
    );
}

#[test]
fn item_list_translates_calls_outputs_and_images() {
    let out = translate(json!({
        "model": "gpt-x",
        "input": [
            {"role": "developer", "content": "use tools"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "what is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "low"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,BBB", "filename": "a.pdf"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
             "content": [{"type": "output_text", "text": "checking", "annotations": []}]},
            {"type": "function_call", "call_id": "call_1", "name": "look", "arguments": "{\"a\":1}"},
            {"type": "function_call", "call_id": "call_2", "name": "look", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "cat"},
            {"type": "function_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "dog"}]}
        ],
        "tools": [{"type": "function", "name": "look", "description": "d",
                   "parameters": {"type": "object"}, "strict": true}],
        "tool_choice": {"type": "function", "name": "look"},
        "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "out",
                            "schema": {"type": "object"}, "strict": true}}
    }));
    let m = &out["messages"];
    assert_eq!(m[0], json!({"role": "developer", "content": "use tools"}));
    assert_eq!(
        m[1]["content"],
        json!([
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,BBB", "filename": "a.pdf"}}
        ])
    );
    assert_eq!(
        m[2],
        json!({"role": "assistant", "content": "checking", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"a\":1}"}},
            {"id": "call_2", "type": "function", "function": {"name": "look", "arguments": "{}"}}
        ]})
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "cat"})
    );
    assert_eq!(
        m[4],
        json!({"role": "tool", "tool_call_id": "call_2", "content": "dog"})
    );
    assert_eq!(m.as_array().unwrap().len(), 5);
    assert_eq!(
        out["tools"],
        json!([{"type": "function", "function": {"name": "look", "description": "d",
                "parameters": {"type": "object"}, "strict": true}}])
    );
    assert_eq!(
        out["tool_choice"],
        json!({"type": "function", "function": {"name": "look"}})
    );
    assert_eq!(out["parallel_tool_calls"], false);
    assert_eq!(
        out["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "out",
                "schema": {"type": "object"}, "strict": true}})
    );
}

#[test]
fn function_calls_without_a_preceding_assistant_turn_open_one() {
    let out = translate(json!({"model": "m", "tool_choice": "required",
            "tools": [{"type": "function", "name": "f"}],
            "text": {"format": {"type": "json_object"}},
            "input": [
            {"role": "user", "content": "go"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}]}));
    assert_eq!(out["messages"][1]["role"], "assistant");
    assert_eq!(out["messages"][1]["content"], Value::Null);
    assert_eq!(out["messages"][1]["tool_calls"][0]["id"], "c1");
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["response_format"], json!({"type": "json_object"}));
    assert_eq!(
        out["tools"][0]["function"]["parameters"],
        json!({"type": "object", "properties": {}})
    );
    let out = translate(json!({"model": "m", "input": "x", "tool_choice": "auto",
            "parallel_tool_calls": true, "tools": []}));
    assert!(out.get("tool_choice").is_none() && out.get("parallel_tool_calls").is_none());
}

#[test]
fn unsupported_requests_are_refused_with_param() {
    let e = reject(json!({"model": "m", "input": "x",
            "tools": [{"type": "web_search"}]}));
    assert_eq!((e.status, e.param.as_deref()), (400, Some("tools")));
    assert!(e.message.contains("\"web_search\""), "{}", e.message);

    let e = reject(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
    assert_eq!(e.param.as_deref(), Some("previous_response_id"));
    assert!(e.message.contains("previous_response_id is not supported"));

    let e = reject(json!({"input": "x"}));
    assert_eq!((e.status, e.param.as_deref()), (400, Some("model")));
    let e = reject(json!({"model": "m"}));
    assert_eq!(e.param.as_deref(), Some("input"));
    let e = reject(json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}));
    assert_eq!(e.param.as_deref(), Some("input"));
    let e = reject(json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}));
    assert!(e.message.contains("unexpected role"));
    let e = reject(json!({"model": "m", "input": "x",
            "tool_choice": {"type": "web_search_preview"}}));
    assert_eq!(e.param.as_deref(), Some("tool_choice"));
}
