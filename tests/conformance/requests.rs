//! Requests as providers get them: Anthropic's image and tool-result blocks, unsupported
//! parameters refused unless dropped, and wildcard deployments' model in the URL path.

use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::{Config, Model};
use crate::common::{send_chat, Gateway};
use crate::{chat, fixture, raw, start, ANTHROPIC};

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_vision_and_tool_results_are_sent_as_blocks() {
    let (mock, gw) = start(&ANTHROPIC).await;
    mock.push(raw(
        200,
        "application/json",
        fixture("anthropic", "text.json"),
    ));
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_9", "type": "function",
            "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}}]},
        {"role": "tool", "tool_call_id": "toolu_9", "content": "a cat"}]});
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let sent = mock.requests().last().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"][0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"})
    );
    assert_eq!(
        sent["messages"][0]["content"][2]["source"],
        json!({"type": "url", "url": "https://example.com/cat.png"})
    );
    assert_eq!(
        sent["messages"][1]["content"][0]["input"],
        json!({"q": "cat"})
    );
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_params_are_400_unless_dropped() {
    let (mock, gw) = start(&ANTHROPIC).await;
    let mut body = chat(false);
    body["logit_bias"] = json!({"50256": -100});
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("anthropic does not support parameters: ['logit_bias']"),
        "{msg}"
    );
    assert!(msg.contains("drop_params"), "{msg}");
    assert_eq!(mock.request_count(), 0, "nothing was sent upstream");

    body["drop_params"] = json!(true);
    mock.push(raw(
        200,
        "application/json",
        fixture("anthropic", "text.json"),
    ));
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let sent = mock.requests().last().unwrap().json().unwrap();
    assert!(sent.get("logit_bias").is_none() && sent.get("drop_params").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn wildcard_deployments_put_the_asked_model_in_the_path() {
    let mock = MockUpstream::start(Script::named("gem")).await.unwrap();
    mock.set_recording(true);
    let yaml = Config::with([
        Model::new("gemini/*", "gemini/*")
            .api_base(&mock.base_url())
            .api_key("k"),
        Model::new("bedrock/*", "bedrock/*")
            .api_base(&mock.base_url())
            .aws("AKIDEXAMPLE", "s", "us-east-1"),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    for (model, stream, path, fixture_dir) in [
        (
            "gemini/gemini-2.5-pro",
            false,
            "/v1/models/gemini-2.5-pro:generateContent",
            "gemini/conformance",
        ),
        (
            "gemini/gemini-2.5-pro",
            true,
            "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "gemini/conformance",
        ),
        (
            "bedrock/amazon.nova-pro-v1:0",
            false,
            "/v1/model/amazon.nova-pro-v1%3A0/converse",
            "bedrock/conformance",
        ),
    ] {
        let (file, ct) = if stream {
            ("stream_text.sse", "text/event-stream")
        } else {
            ("text.json", "application/json")
        };
        mock.push(raw(200, ct, fixture(fixture_dir, file)));
        let r = send_chat(
            &gw,
            &json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}),
            &[],
        )
        .await;
        assert_eq!(r.status(), 200, "{model}");
        let _ = r.bytes().await.unwrap();
        assert_eq!(mock.requests().last().unwrap().path_and_query, path);
    }
    let before = mock.request_count();
    let r = send_chat(&gw, &json!({"model": "gemini/../../v1/files?x=", "messages": [{"role": "user", "content": "hi"}]}), &[]).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        mock.request_count(),
        before,
        "nothing sent for a name that would change the URL"
    );
}
