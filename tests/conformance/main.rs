//! The provider conformance matrix: for every translating provider module, the same cases
//! (text, stream, parallel tools, streamed tool arguments, JSON mode, usage, finish reasons,
//! error statuses, an error inside a 200 stream) through the real gateway, against an
//! in-process upstream replaying recorded provider payloads (`tests/fixtures/<provider>/`).
//! The README's provider table is backed by these cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use bytes::Bytes;
use common::{client, config, send_chat, sse_payloads, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Recorded, Script};

/// One provider under test: how a deployment points at the mock and what it must send.
struct Case {
    provider: &'static str,
    /// Folder under `tests/fixtures/` with the recorded payloads.
    fixtures: &'static str,
    /// The `litellm_params` lines (the mock's base URL is substituted for `{base}`).
    params: &'static str,
    json_type: &'static str,
    stream_type: &'static str,
    /// Checks the recorded upstream request for a plain chat call.
    check_request: fn(&Recorded, stream: bool),
    /// The extension of the recorded streams (`sse`, `ndjson`).
    stream_ext: &'static str,
    /// Where in `stream_error.*` the error begins.
    error_marker: &'static [u8],
}

impl Case {
    fn error_at(&self, body: &[u8]) -> usize {
        body.windows(self.error_marker.len())
            .position(|w| w == self.error_marker)
            .unwrap_or_else(|| panic!("{}: no error marker in stream_error.sse", self.provider))
    }
}

const GEMINI: Case = Case {
    provider: "gemini",
    fixtures: "gemini/conformance",
    params:
        "      model: gemini/gemini-2.5-flash\n      api_base: {base}\n      api_key: AIza-test\n",
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        let want = if stream {
            "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        } else {
            "/v1/models/gemini-2.5-flash:generateContent"
        };
        assert_eq!(r.path_and_query, want);
        assert_eq!(r.header("x-goog-api-key"), Some("AIza-test"));
        assert!(r.header("authorization").is_none());
        let body = r.json().unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(body["contents"][0]["role"], "user");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
    },
    error_marker: b"data: {\"error\"",
};

const OLLAMA: Case = Case {
    provider: "ollama_chat",
    fixtures: "ollama/conformance",
    params: "      model: ollama_chat/llama3.2\n      api_base: {base}\n",
    json_type: "application/json",
    stream_type: "application/x-ndjson",
    stream_ext: "ndjson",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/api/chat");
        let body = r.json().unwrap();
        assert_eq!(body["model"], "llama3.2");
        assert_eq!(body["stream"], stream, "stream is always explicit");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
    },
    error_marker: b"{\"error\"",
};

const BEDROCK: Case = Case {
    provider: "bedrock",
    fixtures: "bedrock/conformance",
    params: "      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0\n      api_base: {base}\n      aws_access_key_id: AKIDEXAMPLE\n      aws_secret_access_key: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n      aws_session_token: session-token-example\n      aws_region_name: us-east-1\n",
    json_type: "application/json",
    stream_type: "application/vnd.amazon.eventstream",
    stream_ext: "eventstream",
    check_request: |r, stream| {
        let route = if stream { "converse-stream" } else { "converse" };
        assert_eq!(
            r.path_and_query,
            format!("/v1/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/{route}")
        );
        let auth = r.header("authorization").unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
        assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
        assert!(auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"), "{auth}");
        assert_eq!(r.header("x-amz-security-token"), Some("session-token-example"));
        assert_eq!(r.header("x-amz-date").unwrap().len(), 16);
        let body = r.json().unwrap();
        assert_eq!(body["system"][0]["text"], "be brief");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"][0]["content"][0]["text"], "hi");
    },
    error_marker: b":exception-type",
};

fn fixture(provider: &str, name: &str) -> Bytes {
    let path = format!(
        "{}/tests/fixtures/{provider}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn raw(status: u16, content_type: &str, body: Bytes) -> Behavior {
    Behavior::Raw {
        status,
        content_type: content_type.to_string(),
        body,
    }
}

const ANTHROPIC: Case = Case {
    provider: "anthropic",
    fixtures: "anthropic",
    params: "      model: anthropic/claude-sonnet-4-5\n      api_base: {base}\n      api_key: sk-ant-test\n",
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/v1/messages");
        assert_eq!(r.header("x-api-key"), Some("sk-ant-test"));
        assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
        assert!(r.header("authorization").is_none());
        let body = r.json().unwrap();
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["system"][0]["text"], "be brief");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body.get("stream").is_some(), stream);
    },
    error_marker: b"event: error",
};

async fn start(case: &Case) -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named(case.provider))
        .await
        .unwrap();
    mock.set_recording(true);
    let params = case.params.replace("{base}", &mock.base_url());
    let yaml = config(
        &[format!(
            "  - model_name: m\n    litellm_params:\n{params}    model_info:\n      id: dep-{}\n",
            case.provider
        )],
        "router_settings:\n  num_retries: 0\n",
    );
    (mock, Gateway::start(&yaml))
}

fn chat(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]})
}

fn tools_body(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "weather and time?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]})
}

/// Every payload of a stream as JSON (without `[DONE]`), and whether `[DONE]` came.
async fn chunks(resp: reqwest::Response) -> (Vec<Value>, bool) {
    let (payloads, _) = sse_payloads(resp).await;
    let done = payloads.last().is_some_and(|p| p == "[DONE]");
    let json = payloads
        .iter()
        .filter(|p| *p != "[DONE]")
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    (json, done)
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

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

    // Vision: a data-URL image reaches the provider as its own image part.
    mock.push(raw(200, case.json_type, fixture(p, "text.json")));
    let body = json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg"}}]}]});
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200, "{p} vision");
    let sent = mock.requests().last().unwrap().json().unwrap().to_string();
    assert!(sent.contains("/9j/4AAQSkZJRg"), "{p}: image sent: {sent}");
    assert!(
        !sent.contains("data:image/jpeg"),
        "{p}: as the provider's image part, not a URL"
    );

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
async fn gemini_blocked_prompt_is_a_content_policy_error_that_falls_back() {
    let gem = MockUpstream::start(Script::named("gem")).await.unwrap();
    let oai = MockUpstream::start(Script::named("oai")).await.unwrap();
    let yaml = config(
        &[
            format!("  - model_name: g\n    litellm_params:\n      model: gemini/gemini-2.5-flash\n      api_base: {}\n      api_key: k\n", gem.base_url()),
            format!("  - model_name: safe\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: {}\n      api_key: k\n", oai.base_url()),
        ],
        "router_settings:\n  num_retries: 0\n  content_policy_fallbacks: [{\"g\": [\"safe\"]}]\n",
    );
    let gw = Gateway::start(&yaml);
    gem.push(raw(
        200,
        "application/json",
        fixture("gemini", "blocked.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "g", "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-fallbacks"], "1");
    assert_eq!(oai.request_count(), 1);
    // Without a fallback the client sees the 400 content-policy error.
    gem.push(raw(
        200,
        "application/json",
        fixture("gemini", "blocked.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "g", "disable_fallbacks": true, "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "content_policy_violation", "{v}");
    // A 429 with RetryInfo in the body becomes a retry-after header.
    gem.push(raw(
        429,
        "application/json",
        fixture("gemini/conformance", "error_429.json"),
    ));
    let r = send_chat(&gw, &json!({"model": "g", "disable_fallbacks": true, "messages": [{"role": "user", "content": "x"}]}), &[]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
}

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
async fn overloaded_anthropic_fails_over_to_openai_and_back() {
    // 529 from Anthropic is retryable: the group's OpenAI deployment answers.
    let ant = MockUpstream::start(Script::named("ant")).await.unwrap();
    let oai = MockUpstream::start(Script::named("oai")).await.unwrap();
    let yaml = config(
        &[
            format!("  - model_name: primary\n    litellm_params:\n      model: anthropic/claude-sonnet-4-5\n      api_base: {}\n      api_key: k\n", ant.base_url()),
            format!("  - model_name: backup\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: {}\n      api_key: k\n", oai.base_url()),
            format!("  - model_name: oai-first\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: {}\n      api_key: k\n", oai.base_url()),
            format!("  - model_name: ant-backup\n    litellm_params:\n      model: anthropic/claude-sonnet-4-5\n      api_base: {}\n      api_key: k\n", ant.base_url()),
        ],
        "router_settings:\n  num_retries: 0\n  fallbacks: [{\"primary\": [\"backup\"]}, {\"oai-first\": [\"ant-backup\"]}]\n",
    );
    let gw = Gateway::start(&yaml);
    ant.push(raw(
        529,
        "application/json",
        fixture("anthropic", "error_overloaded.json"),
    ));
    let r = send_chat(
        &gw,
        &json!({"model": "primary", "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-fallbacks"], "1");
    let v: Value = r.json().await.unwrap();
    assert!(v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("Hello from oai"));

    // OpenAI 429 -> Anthropic fallback, streaming: the client sees OpenAI chunks from Claude.
    oai.push(switchyard_mock::rate_limited());
    let r = send_chat(
        &gw,
        &json!({"model": "oai-first", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let (c, done) = chunks(r).await;
    assert!(done);
    assert!(streamed_text(&c).starts_with("Hello from ant"), "{c:?}");
    assert_eq!(ant.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_to_a_chat_only_provider_are_a_clear_400() {
    let (mock, gw) = start(&ANTHROPIC).await;
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("anthropic does not support /embeddings"));
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_embeddings_translate_both_ways() {
    let (mock, gw) = start(&GEMINI).await;
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}"#),
    ));
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": ["a", "b"], "dimensions": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [0.3, 0.4]})
    );
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.path_and_query,
        "/v1/models/gemini-2.5-flash:batchEmbedContents"
    );
    let body = sent.json().unwrap();
    assert_eq!(
        body["requests"][0],
        json!({"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 2})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ollama_embeddings_translate_both_ways() {
    let (mock, gw) = start(&OLLAMA).await;
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"model":"llama3.2","embeddings":[[0.1,0.2],[0.3,0.4]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#),
    ));
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [0.3, 0.4]})
    );
    assert_eq!(v["usage"]["prompt_tokens"], 8);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/api/embed");
    assert_eq!(
        sent.json().unwrap(),
        json!({"model": "llama3.2", "input": ["a", "b"]})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bedrock_embeddings_titan_and_cohere() {
    let mock = MockUpstream::start(Script::named("aws")).await.unwrap();
    mock.set_recording(true);
    let creds = "      aws_access_key_id: AKIDEXAMPLE\n      aws_secret_access_key: secret\n      aws_region_name: us-east-1\n";
    let yaml = config(
        &[
            format!("  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan-embed-text-v2:0\n      api_base: {}\n{creds}", mock.base_url()),
            format!("  - model_name: cohere\n    litellm_params:\n      model: bedrock/cohere.embed-english-v3\n      api_base: {}\n{creds}", mock.base_url()),
        ],
        "",
    );
    let gw = Gateway::start(&yaml);
    let embed = |model: &'static str, input: Value| {
        let gw = &gw;
        async move {
            client()
                .post(gw.url("/v1/embeddings"))
                .bearer_auth(MASTER_KEY)
                .json(&json!({"model": model, "input": input, "dimensions": 256}))
                .send()
                .await
                .unwrap()
        }
    };
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"embedding":[0.5,0.25],"inputTextTokenCount":3}"#),
    ));
    let r = embed("titan", json!("hello")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["embedding"], json!([0.5, 0.25]));
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.path_and_query,
        "/v1/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert!(sent
        .header("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256"));
    assert_eq!(
        sent.json().unwrap(),
        json!({"inputText": "hello", "dimensions": 256})
    );
    // Titan takes one text a call: a batch is a clear 400, nothing sent.
    let before = mock.request_count();
    let r = embed("titan", json!(["a", "b"])).await;
    assert_eq!(r.status(), 400);
    assert_eq!(mock.request_count(), before);

    mock.push(raw(200, "application/json", Bytes::from_static(br#"{"id":"x","embeddings":[[0.1],[0.2]],"texts":["a","b"],"response_type":"embeddings_floats"}"#)));
    let v: Value = embed("cohere", json!(["a", "b"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][1]["embedding"], json!([0.2]));
    assert_eq!(
        mock.requests().last().unwrap().json().unwrap(),
        json!({"texts": ["a", "b"], "input_type": "search_document"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wildcard_deployments_put_the_asked_model_in_the_path() {
    let mock = MockUpstream::start(Script::named("gem")).await.unwrap();
    mock.set_recording(true);
    let yaml = config(
        &[
            format!("  - model_name: \"gemini/*\"\n    litellm_params:\n      model: \"gemini/*\"\n      api_base: {}\n      api_key: k\n", mock.base_url()),
            format!("  - model_name: \"bedrock/*\"\n    litellm_params:\n      model: \"bedrock/*\"\n      api_base: {}\n      aws_access_key_id: AKIDEXAMPLE\n      aws_secret_access_key: s\n      aws_region_name: us-east-1\n", mock.base_url()),
        ],
        "",
    );
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
