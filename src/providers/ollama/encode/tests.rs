//! Unit tests of `providers::ollama::encode`.

use super::*;
use serde_json::json;

fn encode_with(body: Value, drop_params: bool) -> Result<Value, ApiError> {
    let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
    let target = EncodeTarget {
        model_json: b"\"llama3.1:8b\"",
        model: "llama3.1:8b",
        defaults: &[],
        drop_params,
        additional_drop_params: &[],
    };
    encode(&call, &target).map(|b| serde_json::from_slice(&b).unwrap())
}

#[test]
fn encodes_a_whole_conversation() {
    let v = encode_with(
            json!({
                "model": "ollama", "stream": false,
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Weather in "},
                        {"type": "text", "text": "this city?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                        {"type": "image_url", "image_url": "R0lGODlhAQABAAAAACw="}]},
                    {"role": "assistant", "content": null, "reasoning_content": "Need the tools.",
                     "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\": 18}"},
                    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "14:05"}]},
                    {"role": "user", "content": "Thanks"}],
                "tools": [
                    {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                    {"type": "function", "function": {"name": "get_time"}}],
                "tool_choice": "auto",
                "response_format": {"type": "json_schema", "json_schema": {"name": "w",
                    "schema": {"type": "object", "properties": {"temp": {"type": "number"}}}}},
                "reasoning_effort": "low", "temperature": 0.5, "top_p": 0.9, "max_completion_tokens": 256,
                "stop": ["END"], "seed": 7, "presence_penalty": 0.25, "frequency_penalty": 0.5,
                "top_k": 40, "num_ctx": 8192, "keep_alive": "5m", "user": "u-1", "unknown_knob": 1
            }),
            false,
        )
        .unwrap();
    let expected = json!({
        "model": "llama3.1:8b",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Use metric units."},
            {"role": "user", "content": "Weather in this city?",
             "images": ["iVBORw0KGgo=", "R0lGODlhAQABAAAAACw="]},
            {"role": "assistant", "content": "", "thinking": "Need the tools.", "tool_calls": [
                {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"id": "call_2", "function": {"name": "get_time", "arguments": {}}}]},
            {"role": "tool", "content": "{\"temp_c\": 18}", "tool_name": "get_weather", "tool_call_id": "call_1"},
            {"role": "tool", "content": "14:05", "tool_name": "get_time", "tool_call_id": "call_2"},
            {"role": "user", "content": "Thanks"}
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_time",
                "parameters": {"type": "object", "properties": {}}}}
        ],
        "stream": false,
        "format": {"type": "object", "properties": {"temp": {"type": "number"}}},
        "options": {"temperature": 0.5, "top_p": 0.9, "num_predict": 256, "seed": 7, "stop": ["END"],
                    "presence_penalty": 0.25, "frequency_penalty": 0.5, "top_k": 40, "num_ctx": 8192},
        "think": true,
        "keep_alive": "5m"
    });
    assert_eq!(v, expected, "{}", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn stream_is_always_explicit() {
    let v = encode_with(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        false,
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}], "stream": false})
    );
    let v = encode_with(
        json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "hi"}]}),
        false,
    )
    .unwrap();
    assert_eq!(v["stream"], true);
    assert!(v.get("stream_options").is_none());
}

#[test]
fn json_mode_and_thinking() {
    let base = |extra: Value| {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        encode_with(body, false).unwrap()
    };
    let v = base(json!({"response_format": {"type": "json_object"}, "reasoning_effort": "none"}));
    assert_eq!((&v["format"], &v["think"]), (&json!("json"), &json!(false)));
    let v = base(json!({"response_format": {"type": "text"}, "reasoning_effort": "high"}));
    assert!(v.get("format").is_none());
    assert_eq!(v["think"], true);
    // Ollama's own spellings win over the OpenAI parameters.
    let v = base(
        json!({"reasoning_effort": "low", "think": "high", "max_tokens": 10,
            "num_predict": 20, "options": {"num_predict": 30, "temperature": 0.1, "top_k": null},
            "temperature": 0.7, "format": "json", "response_format": {"type": "json_object"},
            "truncate": false, "shift": true}),
    );
    assert_eq!(v["think"], "high");
    assert_eq!(v["options"], json!({"num_predict": 20, "temperature": 0.1}));
    assert_eq!(v["format"], "json");
    assert_eq!((&v["truncate"], &v["shift"]), (&json!(false), &json!(true)));
}

#[test]
fn tool_choice_narrows_the_tools() {
    let body = |choice: Value| {
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": choice,
                "tools": [{"type": "function", "function": {"name": "a"}},
                          {"type": "function", "function": {"name": "b"}}]})
    };
    let names = |v: &Value| -> Vec<String> {
        v.get("tools")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .map(|t| t["function"]["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = encode_with(body(json!("required")), false).unwrap();
    assert_eq!(names(&all), ["a", "b"]);
    let none = encode_with(body(json!("none")), false).unwrap();
    assert!(names(&none).is_empty());
    let one = encode_with(
        body(json!({"type": "function", "function": {"name": "b"}})),
        false,
    )
    .unwrap();
    assert_eq!(names(&one), ["b"]);
}

#[test]
fn tool_results_name_their_function() {
    let v = encode_with(
        json!({"model": "m", "messages": [
                {"role": "assistant", "tool_calls": [{"id": "x", "type": "function",
                    "function": {"name": "lookup", "arguments": "not json"}}]},
                {"role": "tool", "tool_call_id": "x", "content": "1"},
                {"role": "tool", "tool_call_id": "orphan", "name": "named", "content": "2"},
                {"role": "function", "name": "legacy", "content": "3"}]}),
        false,
    )
    .unwrap();
    let m = &v["messages"];
    assert_eq!(m[0]["tool_calls"][0]["function"]["arguments"], json!({}));
    assert_eq!(m[1]["tool_name"], "lookup");
    assert_eq!(
        (&m[2]["tool_name"], &m[2]["tool_call_id"]),
        (&json!("named"), &json!("orphan"))
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "content": "3", "tool_name": "legacy"})
    );
}

#[test]
fn refuses_what_ollama_cannot_take() {
    let url = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
    let e = encode_with(url, false).unwrap_err();
    assert_eq!((e.status, e.param.as_deref()), (400, Some("messages")));
    assert!(e.message.contains("base64"), "{}", e.message);
    for part in [
        json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}),
        json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}),
        json!({"type": "video_url", "video_url": {"url": "x"}}),
    ] {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": [part]}]});
        assert_eq!(encode_with(body, false).unwrap_err().status, 400);
    }
    let image_file = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:image/jpeg;base64,/9j/4AAQ"}}]}]});
    assert_eq!(
        encode_with(image_file, false).unwrap()["messages"][0]["images"],
        json!(["/9j/4AAQ"])
    );
}

#[test]
fn unsupported_params_follow_drop_params() {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "logit_bias": {"1": 2}, "logprobs": true, "n": 2});
    let e = encode_with(body.clone(), false).unwrap_err();
    assert_eq!(
        (e.status, e.code.as_deref()),
        (400, Some("unsupported_params"))
    );
    assert!(
        e.message
            .contains("ollama_chat does not support parameters: ['logit_bias', 'logprobs', 'n']"),
        "{}",
        e.message
    );
    let v = encode_with(body, true).unwrap();
    assert_eq!(
        v,
        json!({"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}], "stream": false})
    );
}

#[test]
fn deployment_defaults_and_drops_apply() {
    let call = ModelCall::parse(
        Endpoint::ChatCompletions,
        Bytes::from_static(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":1,"top_p":0.5}"#,
        ),
    )
    .unwrap();
    let defaults = vec![
        (
            "num_ctx".to_string(),
            RawValue::from_string("16384".into()).unwrap(),
        ),
        (
            "keep_alive".to_string(),
            RawValue::from_string("-1".into()).unwrap(),
        ),
        (
            "top_p".to_string(),
            RawValue::from_string("0.1".into()).unwrap(),
        ),
    ];
    let target = EncodeTarget {
        model_json: b"\"m\"",
        model: "qwen3:8b",
        defaults: &defaults,
        drop_params: false,
        additional_drop_params: &["seed".to_string()],
    };
    let v: Value = serde_json::from_slice(&encode(&call, &target).unwrap()).unwrap();
    assert_eq!(v["options"], json!({"top_p": 0.5, "num_ctx": 16384}));
    assert_eq!(v["keep_alive"], -1);
}
