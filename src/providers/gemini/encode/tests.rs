//! Unit tests of `providers::gemini::encode`.

use super::*;
use serde_json::json;

fn encode_with(body: &str, model: &str, drop_params: bool) -> Result<Value, ApiError> {
    let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
    let target = EncodeTarget {
        model_json: b"\"m\"",
        model,
        defaults: &[],
        drop_params,
        additional_drop_params: &[],
    };
    encode(&call, &target).map(|b| serde_json::from_slice(&b).unwrap())
}

#[test]
fn encodes_a_whole_conversation() {
    let body = r#"{"model":"gemini-2.5-flash","messages":[
            {"role":"system","content":"You are terse."},
            {"role":"developer","content":[{"type":"text","text":"Use metric units."}]},
            {"role":"user","content":[{"type":"text","text":"Weather and time in Paris?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
                {"type":"image_url","image_url":{"url":"https://example.com/a/map.webp?x=1"}},
                {"type":"image_url","image_url":"https://example.com/photo"}]},
            {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"call_1__thought__c2ln","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"not json"}}]},
            {"role":"tool","tool_call_id":"call_1__thought__c2ln","content":"{\"temp_c\": 18}"},
            {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"14:05"}]},
            {"role":"user","content":"Thanks"}],
          "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
             "parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
               "properties":{"city":{"type":"string"},"strict":{"type":"boolean"},
                 "opts":{"type":"object","properties":{"u":{"type":"string"}},"additionalProperties":false}},
               "required":["city"],"additionalProperties":false},"strict":true}},
            {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}],
          "tool_choice":{"type":"function","function":{"name":"get_weather"}},
          "response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","additionalProperties":false}}},
          "reasoning_effort":"low","temperature":0.5,"top_p":0.9,"max_completion_tokens":256,
          "stop":["END"],"n":1,"seed":7,"presence_penalty":0.25,"frequency_penalty":null,"top_k":40,
          "user":"u-1","stream":true,"stream_options":{"include_usage":true},
          "safety_settings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_ONLY_HIGH"}],
          "cachedContent":"cachedContents/abc","unknown_knob":1}"#;
    let v = encode_with(body, "gemini-2.5-flash", false).unwrap();
    let expected = json!({
        "contents": [
            {"role": "user", "parts": [
                {"text": "Weather and time in Paris?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/a/map.webp?x=1"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}}]},
            {"role": "model", "parts": [
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": "c2ln"},
                {"functionCall": {"name": "get_time", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": {"temp_c": 18}}}},
                {"functionResponse": {"name": "get_time", "response": {"result": "14:05"}}},
                {"text": "Thanks"}]}
        ],
        "systemInstruction": {"parts": [{"text": "You are terse."}, {"text": "Use metric units."}]},
        "tools": [{"functionDeclarations": [
            {"name": "get_weather", "description": "Weather", "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "strict": {"type": "boolean"},
                               "opts": {"type": "object", "properties": {"u": {"type": "string"}}}},
                "required": ["city"]}},
            {"name": "get_time"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {
            "temperature": 0.5, "topP": 0.9, "topK": 40, "maxOutputTokens": 256,
            "stopSequences": ["END"], "candidateCount": 1, "seed": 7, "presencePenalty": 0.25,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "additionalProperties": false},
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        "cachedContent": "cachedContents/abc"
    });
    assert_eq!(v, expected, "{}", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn minimal_request_has_only_contents() {
    let v = encode_with(
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        "gemini-2.0-flash",
        false,
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
    // A system-only request is asked as the user (Gemini needs one content).
    let v = encode_with(
        r#"{"model":"m","messages":[{"role":"system","content":"Say hi"}]}"#,
        "gemini-2.0-flash",
        false,
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]})
    );
}

#[test]
fn gemini_3_gets_levels_and_placeholder_signatures() {
    let body = r#"{"model":"m","reasoning_effort":"none","json_mode":1,"messages":[
            {"role":"user","content":"t?"},
            {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":""}},
                                              {"id":"b","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"2"}],
            "response_format":{"type":"json_object"},"tool_choice":"required"}"#;
    let v = encode_with(body, "gemini-3-pro-preview", false).unwrap();
    let model = &v["contents"][1]["parts"];
    assert_eq!(
        model[0]["thoughtSignature"],
        "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I="
    );
    assert!(model[1].get("thoughtSignature").is_none());
    assert_eq!(
        v["generationConfig"],
        json!({"responseMimeType": "application/json",
                   "thinkingConfig": {"thinkingLevel": "low", "includeThoughts": false}})
    );
    assert_eq!(
        v["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(
        v["contents"][2]["parts"][1],
        json!({"functionResponse": {"name": "f", "response": {"result": 2}}})
    );
}

#[test]
fn reasoning_effort_budgets() {
    let budget = |effort: &str, model: &str| {
        let t = effort_thinking(effort, model).unwrap();
        (t.thinking_budget, t.include_thoughts)
    };
    assert_eq!(budget("low", "gemini-2.5-pro"), (Some(1024), Some(true)));
    assert_eq!(budget("medium", "gemini-2.5-pro"), (Some(2048), Some(true)));
    assert_eq!(budget("high", "gemini-2.5-pro"), (Some(4096), Some(true)));
    assert_eq!(budget("none", "gemini-2.5-flash"), (Some(0), Some(false)));
    assert_eq!(budget("minimal", "gemini-2.5-pro"), (Some(128), Some(true)));
    assert_eq!(budget("minimal", "gemini-2.5-flash"), (Some(1), Some(true)));
    assert_eq!(
        budget("minimal", "gemini-2.5-flash-lite"),
        (Some(512), Some(true))
    );
    assert_eq!(
        effort_thinking("extreme", "gemini-2.5-pro")
            .err()
            .unwrap()
            .param
            .as_deref(),
        Some("reasoning_effort")
    );
}

#[test]
fn unsupported_params_follow_drop_params() {
    let body =
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":2},"n":2}"#;
    let e = encode_with(body, "gemini-2.5-flash", false).unwrap_err();
    assert_eq!(
        (e.status, e.code.as_deref()),
        (400, Some("unsupported_params"))
    );
    assert!(e.message.contains("['logit_bias', 'n']"), "{}", e.message);
    let v = encode_with(body, "gemini-2.5-flash", true).unwrap();
    assert_eq!(
        v,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
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
            "temperature".to_string(),
            RawValue::from_string("0.2".into()).unwrap(),
        ),
        (
            "top_p".to_string(),
            RawValue::from_string("0.1".into()).unwrap(),
        ),
    ];
    let target = EncodeTarget {
        model_json: b"\"m\"",
        model: "gemini-2.5-flash",
        defaults: &defaults,
        drop_params: false,
        additional_drop_params: &["seed".to_string()],
    };
    let v: Value = serde_json::from_slice(&encode(&call, &target).unwrap()).unwrap();
    assert_eq!(
        v["generationConfig"],
        json!({"temperature": 0.2, "topP": 0.5})
    );
}

#[test]
fn refuses_what_gemini_cannot_take() {
    let orphan = r#"{"model":"m","messages":[{"role":"user","content":"x"},
            {"role":"tool","tool_call_id":"nope","content":"1"}]}"#;
    let e = encode_with(orphan, "gemini-2.5-flash", false).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("\"nope\""), "{}", e.message);
    let bad_url = r#"{"model":"m","messages":[{"role":"user","content":[
            {"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#;
    assert_eq!(
        encode_with(bad_url, "gemini-2.5-flash", false)
            .unwrap_err()
            .status,
        400
    );
    let parallel = r#"{"model":"m","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":false,
            "tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]}"#;
    let e = encode_with(parallel, "gemini-2.5-flash", false).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("parallel_tool_calls"));
    assert!(encode_with(parallel, "gemini-2.5-flash", true).is_ok());
}

#[test]
fn files_and_audio() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":[
            {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0="}},
            {"type":"file","file":{"file_id":"https://generativelanguage.googleapis.com/v1beta/files/abc","format":"application/pdf"}},
            {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}"#;
    let v = encode_with(body, "gemini-2.5-flash", false).unwrap();
    assert_eq!(
        v["contents"][0]["parts"],
        json!([
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
            {"fileData": {"mimeType": "application/pdf",
                          "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}
        ])
    );
}
