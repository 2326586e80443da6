//! The matrix itself: every case run against each provider's recorded payloads.

use serde_json::{json, Value};
use switchyard_mock::Behavior;

use crate::common::{send_chat, sse_payloads};
use crate::{
    chat, chunks, fixture, raw, start, streamed_text, tools_body, Case, ANTHROPIC, AZURE, BEDROCK,
    GEMINI, GROQ, OLLAMA, OPENAI, VERTEX,
};

async fn run_matrix(case: &Case) {
    let p = case.fixtures;
    let (mock, gw) = start(case).await;

    // Text, non-stream: content, finish, usage, the request sent.
    mock.push(raw(200, case.json_type, fixture(p, "text.json")));
    let r = send_chat(&gw, &chat(false), &[]).await;
    assert_eq!(r.status(), 200, "{p} text");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion", "{p}");
    assert_eq!(
        v["choices"][0]["message"]["content"], "Hello, world.",
        "{p}"
    );
    assert_eq!(v["choices"][0]["message"]["role"], "assistant", "{p}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop", "{p}");
    assert_eq!(v["usage"]["prompt_tokens"], 12, "{p}");
    assert_eq!(v["usage"]["completion_tokens"], 6, "{p}");
    assert_eq!(v["usage"]["total_tokens"], 18, "{p}");
    (case.check_request)(mock.requests().last().unwrap(), false);

    // Text, stream: role first, the text, a finish chunk, the usage chunk, [DONE].
    let stream = |name: &str| fixture(p, &format!("{name}.{}", case.stream_ext));
    mock.push(raw(200, case.stream_type, stream("stream_text")));
    let r = send_chat(&gw, &chat(true), &[]).await;
    assert_eq!(r.status(), 200, "{p} stream");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let (c, done) = chunks(r).await;
    assert!(done, "{p}: stream ends with [DONE]");
    assert_eq!(c[0]["choices"][0]["delta"]["role"], "assistant", "{p}");
    assert_eq!(streamed_text(&c), "Hello, world.", "{p}");
    let finish: Vec<&str> = c
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["stop"], "{p}");
    let last = c.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{p}: usage chunk last");
    assert_eq!(last["usage"]["prompt_tokens"], 12, "{p}");
    assert_eq!(last["usage"]["completion_tokens"], 6, "{p}");
    (case.check_request)(mock.requests().last().unwrap(), true);

    // Parallel tool calls, non-stream.
    mock.push(raw(200, case.json_type, fixture(p, "tool_use.json")));
    let r = send_chat(&gw, &tools_body(false), &[]).await;
    assert_eq!(r.status(), 200, "{p} tools");
    let v: Value = r.json().await.unwrap();
    let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{p}: {v}");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris"}), "{p}");
    assert!(!calls[0]["id"].as_str().unwrap().is_empty(), "{p}");
    assert_ne!(calls[0]["id"], calls[1]["id"], "{p}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{p}");
    let sent = mock.requests().last().unwrap().json().unwrap();
    assert!(
        sent.to_string().contains("get_time"),
        "{p}: tools sent upstream"
    );

    // Streamed tool arguments: a header delta per call, argument pieces joined by index.
    mock.push(raw(200, case.stream_type, stream("stream_tool_use")));
    let r = send_chat(&gw, &tools_body(true), &[]).await;
    assert_eq!(r.status(), 200, "{p} stream tools");
    let (c, done) = chunks(r).await;
    assert!(done, "{p}");
    let mut args = String::new();
    let mut names = Vec::new();
    for chunk in &c {
        for t in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(t["index"], 0, "{p}: first call is index 0");
            if let Some(n) = t["function"]["name"].as_str() {
                names.push(n.to_string());
                assert!(t["id"].as_str().is_some_and(|i| !i.is_empty()), "{p}");
            }
            args.push_str(t["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    assert_eq!(names, ["get_weather"], "{p}");
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"}),
        "{p}"
    );
    assert!(
        c.iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"),
        "{p}"
    );

    // JSON mode: the answer is the content, finish stop.
    mock.push(raw(200, case.json_type, fixture(p, "json_mode.json")));
    let mut body = chat(false);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "a",
        "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}});
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200, "{p} json");
    let v: Value = r.json().await.unwrap();
    let content: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"a": "b"}), "{p}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop", "{p}");

    // Vision: a data-URL image reaches the provider as its own image part (OpenAI-shaped
    // providers take the data URL itself: their part is the client's, unchanged).
    mock.push(raw(200, case.json_type, fixture(p, "text.json")));
    let url = "data:image/jpeg;base64,/9j/4AAQSkZJRg";
    let body = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": url}}]}]});
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200, "{p} vision");
    let sent = mock.requests().last().unwrap().json().unwrap();
    if case.spliced {
        assert_eq!(
            sent["messages"][0]["content"][1]["image_url"]["url"], url,
            "{p}"
        );
        assert_eq!(
            sent["messages"], body["messages"],
            "{p}: image sent as it came"
        );
    } else {
        let sent = sent.to_string();
        assert!(sent.contains("/9j/4AAQSkZJRg"), "{p}: image sent: {sent}");
        assert!(
            !sent.contains("data:image/jpeg"),
            "{p}: as the provider's image part, not a URL"
        );
    }

    // Length finish.
    mock.push(raw(200, case.json_type, fixture(p, "max_tokens.json")));
    let v: Value = send_chat(&gw, &chat(false), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length", "{p}");

    // Error statuses keep their status and become OpenAI-shaped.
    for (status, file, kind) in [
        (429, "error_429.json", "rate_limit_error"),
        (400, "error_400.json", "invalid_request_error"),
    ] {
        mock.push(raw(status, "application/json", fixture(p, file)));
        let r = send_chat(&gw, &chat(false), &[("x-litellm-num-retries", "0")]).await;
        assert_eq!(r.status().as_u16(), status, "{p} {file}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], kind, "{p} {file}: {v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }

    // An error inside a 200 stream, after content: in-band error, no [DONE].
    // Split where the provider's error arrives, paced as a provider would send it, so the
    // gateway has committed the content before the error is read.
    let whole = stream("stream_error");
    let at = case.error_at(&whole);
    mock.push(Behavior::RawEvents {
        content_type: case.stream_type.to_string(),
        events: vec![whole.slice(..at), whole.slice(at..)],
        delay: std::time::Duration::from_millis(200),
    });
    let r = send_chat(&gw, &chat(true), &[]).await;
    assert_eq!(r.status(), 200, "{p}");
    let (payloads, _) = sse_payloads(r).await;
    assert!(payloads.iter().all(|p| p != "[DONE]"), "{p}: {payloads:?}");
    let last: Value = serde_json::from_str(payloads.last().unwrap()).unwrap();
    assert!(last["error"]["message"].as_str().is_some(), "{p}: {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_conformance() {
    run_matrix(&ANTHROPIC).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_conformance() {
    run_matrix(&GEMINI).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ollama_conformance() {
    run_matrix(&OLLAMA).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bedrock_conformance() {
    run_matrix(&BEDROCK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_conformance() {
    run_matrix(&OPENAI).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_conformance() {
    run_matrix(&AZURE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn groq_preset_conformance() {
    run_matrix(&GROQ).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vertex_ai_conformance() {
    run_matrix(&VERTEX).await;
}
