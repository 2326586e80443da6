//! Unit tests of `providers::chat`.

use super::*;
use crate::wire::openai::OpenAiChunks;
use bytes::{Bytes, BytesMut};

fn call(body: &str) -> ModelCall {
    ModelCall::parse(
        crate::core::endpoint::Endpoint::ChatCompletions,
        Bytes::from(body.to_string()),
    )
    .unwrap()
}

#[test]
fn reads_messages_tools_and_params() {
    let c = call(
        r#"{"model":"m","messages":[{"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"ok"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
            "tool_choice":{"type":"function","function":{"name":"f"}},"stop":"END","seed":3,"top_k":5,"logprobs":true,
            "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}"#,
    );
    let r = ChatRequest::parse(&c).unwrap();
    assert_eq!(r.messages.len(), 4);
    assert_eq!(r.messages[0].role, Role::System);
    let Some(Content::Parts(parts)) = &r.messages[1].content else {
        panic!("parts")
    };
    let Part::ImageUrl { image_url } = &parts[1] else {
        panic!("image")
    };
    assert_eq!(data_url(image_url.url()), Some(("image/png", "AAA")));
    let calls = r.messages[2].tool_calls.as_ref().unwrap();
    assert_eq!(
        calls[0].function.arguments_value(),
        serde_json::json!({"a":1})
    );
    assert_eq!(r.tool_choice, Some(ToolChoice::Function("f".into())));
    assert_eq!(r.stop, vec!["END"]);
    let Some(ResponseFormat::JsonSchema { json_schema }) = &r.response_format else {
        panic!("json schema")
    };
    assert_eq!(json_schema.schema.unwrap().get(), r#"{"type":"object"}"#);
    assert_eq!(r.extra.len(), 1);
    assert_eq!(r.extra[0].0, "top_k");
    let e = r
        .check_supported("anthropic", "claude", &["seed"], false)
        .unwrap_err();
    assert!(e.message.contains("['logprobs', 'seed']"), "{}", e.message);
    assert!(r
        .check_supported("anthropic", "claude", &["seed"], true)
        .is_ok());
}

#[test]
fn chunks_render_openai_stream() {
    let mut w = OpenAiChunks::new(true);
    let mut out = BytesMut::new();
    w.event(
        Event::Start {
            id: "msg_1",
            model: "claude",
        },
        &mut out,
    );
    w.event(Event::Text("Hi \"there\"".into()), &mut out);
    w.event(
        Event::ToolStart {
            index: 0,
            id: "t1".into(),
            name: "f".into(),
        },
        &mut out,
    );
    w.event(
        Event::ToolArgs {
            index: 0,
            args: "{\"a\":".into(),
        },
        &mut out,
    );
    w.event(Event::Finish(Finish::ToolCalls), &mut out);
    w.event(
        Event::Usage(Usage {
            prompt: 3,
            completion: 2,
            ..Default::default()
        }),
        &mut out,
    );
    w.event(Event::Done, &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    let payloads: Vec<serde_json::Value> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|p| *p != "[DONE]")
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    assert_eq!(payloads.len(), 6);
    assert_eq!(payloads[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        payloads[1]["choices"][0]["delta"]["content"],
        "Hi \"there\""
    );
    assert_eq!(
        payloads[2]["choices"][0]["delta"]["tool_calls"][0]["id"],
        "t1"
    );
    assert_eq!(
        payloads[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
        "{\"a\":"
    );
    assert_eq!(payloads[4]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(payloads[5]["usage"]["total_tokens"], 5);
    assert_eq!(payloads[5]["choices"], serde_json::json!([]));
    assert!(text.ends_with("data: [DONE]\n\n"));
}
