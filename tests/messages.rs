//! `POST /v1/messages` (Anthropic's API) through the gateway to any model group: an OpenAI
//! upstream and an Anthropic upstream, non-stream and stream, tools, errors in Anthropic's
//! shape, `count_tokens`, `x-api-key` authentication.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use common::config::{Config, Model};
use common::{client, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{rate_limited, MockUpstream, Script};

async fn setup() -> (MockUpstream, MockUpstream, Gateway) {
    let oai = MockUpstream::start(Script::named("oai")).await.unwrap();
    let ant = MockUpstream::start(Script::named("ant")).await.unwrap();
    oai.set_recording(true);
    ant.set_recording(true);
    let yaml = Config::with([
        Model::new("gpt", "openai/gpt-4o")
            .api_base(&oai.base_url())
            .api_key("sk-oai"),
        Model::new("claude", "anthropic/claude-sonnet-4-5")
            .api_base(&ant.base_url())
            .api_key("sk-ant"),
    ])
    .router(|r| r.num_retries(0))
    .yaml();
    (oai, ant, Gateway::start(&yaml))
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .header("x-api-key", MASTER_KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn ask(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 256, "stream": stream, "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}]})
}

/// `(event name, data)` pairs of an Anthropic event stream.
async fn events(r: reqwest::Response) -> Vec<(String, Value)> {
    let text = r.text().await.unwrap();
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let name = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_string();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_to_openai_and_anthropic_upstreams() {
    let (oai, ant, gw) = setup().await;
    for (model, mock, name) in [("gpt", &oai, "oai"), ("claude", &ant, "ant")] {
        let r = post(&gw, "/v1/messages", &ask(model, false)).await;
        assert_eq!(r.status(), 200, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["role"], "assistant");
        assert!(v["id"].as_str().unwrap().starts_with("msg_"), "{v}");
        assert_eq!(v["content"][0]["type"], "text");
        assert!(v["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Hello from {name}")));
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["usage"]["output_tokens"], 8, "{model}: {v}");
        assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
        assert_eq!(mock.request_count(), 1);
    }
    // The OpenAI upstream got a chat/completions request with the system message first.
    let sent = oai.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/v1/chat/completions");
    let body = sent.json().unwrap();
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(body["max_tokens"], 256);
    // The Anthropic upstream got the client's own Messages body, model replaced.
    let sent = ant.requests().last().unwrap().json().unwrap();
    assert_eq!(sent["system"], "be brief");
    assert_eq!(sent["model"], "claude-sonnet-4-5");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_to_anthropic_keeps_cache_control_and_thinking_blocks() {
    let (_oai, ant, gw) = setup().await;
    let body = json!({"model": "claude", "max_tokens": 64,
        "system": [{"type": "text", "text": "long policy", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig=="}, {"type": "text", "text": "yes"}]},
            {"role": "user", "content": "go on"}],
        "metadata": {"user_id": "u-1"}});
    let r = client()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", MASTER_KEY)
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["usage"]["output_tokens"], 8);
    assert_eq!(
        ant.requests().last().unwrap().header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    let sent = ant.requests().last().unwrap().json().unwrap();
    let mut want = body.clone();
    want["model"] = json!("claude-sonnet-4-5");
    assert_eq!(
        sent, want,
        "sent as the client wrote it (metadata too), model replaced"
    );
    // Streams pass through event for event too.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let ev = events(post(&gw, "/v1/messages", &streamed).await).await;
    let mut want = streamed.clone();
    want["model"] = json!("claude-sonnet-4-5");
    assert_eq!(
        ant.requests().last().unwrap().json().unwrap(),
        want,
        "no chat-only stream_options on a Messages body"
    );
    assert!(ev.first().unwrap().1["message"]["id"]
        .as_str()
        .unwrap()
        .starts_with("msg_mock"));
    assert_eq!(ev.last().unwrap().0, "message_stop");
    assert!(
        ev.iter().any(|(n, _)| n == "ping"),
        "upstream events are kept as they are"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_messages_follow_anthropics_event_order() {
    let (_oai, _ant, gw) = setup().await;
    for model in ["gpt", "claude"] {
        let r = post(&gw, "/v1/messages", &ask(model, true)).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let ev = events(r).await;
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.first(), Some(&"message_start"), "{model}: {names:?}");
        assert_eq!(names[1], "content_block_start");
        assert_eq!(
            &names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        let text: String = ev
            .iter()
            .filter(|(n, _)| n == "content_block_delta")
            .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_string())
            .collect();
        assert!(text.starts_with("Hello from"), "{model}: {text}");
        let (_, delta) = &ev[ev.len() - 2];
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        assert_eq!(delta["usage"]["output_tokens"], 8, "{model}");
        for (n, d) in &ev {
            assert_eq!(d["type"], n.as_str(), "data type matches the event name");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_round_trip_through_messages() {
    let (_oai, ant, gw) = setup().await;
    let body = json!({"model": "claude", "max_tokens": 100,
        "tools": [{"name": "get_weather", "description": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "weather in Paris?"}]});
    let v: Value = post(&gw, "/v1/messages", &body).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "tool_use", "{v}");
    let call = &v["content"][0];
    assert_eq!(call["type"], "tool_use");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["input"], json!({"city": "Paris"}));
    // Send the result back: it reaches Anthropic as a tool_result block.
    let follow = json!({"model": "claude", "max_tokens": 100,
        "messages": [{"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [call.clone()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "18C"}]}]});
    let r = post(&gw, "/v1/messages", &follow).await;
    assert_eq!(r.status(), 200);
    let sent = ant.requests().last().unwrap().json().unwrap();
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["messages"][2]["content"][0]["tool_use_id"], call["id"]);

    // Streamed tool use: a tool_use block with input_json_delta pieces.
    let mut body = body.clone();
    body["stream"] = json!(true);
    let ev = events(post(&gw, "/v1/messages", &body).await).await;
    let start = ev.iter().find(|(n, _)| n == "content_block_start").unwrap();
    assert_eq!(start.1["content_block"]["type"], "tool_use");
    let args: String = ev
        .iter()
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_come_back_in_anthropics_shape() {
    let (oai, _ant, gw) = setup().await;
    let r = client()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "sk-wrong")
        .json(&ask("gpt", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    let r = post(
        &gw,
        "/v1/messages",
        &json!({"model": "gpt", "max_tokens": 5}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");

    oai.push(rate_limited());
    let r = post(&gw, "/v1/messages", &ask("gpt", false)).await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Rate limit"));
}

#[tokio::test(flavor = "multi_thread")]
async fn count_tokens_counts_without_calling_upstream() {
    let (oai, _ant, gw) = setup().await;
    let r = post(
        &gw,
        "/v1/messages/count_tokens",
        &json!({"model": "gpt", "messages": [{"role": "user", "content": "hello hello hello hello"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let n = v["input_tokens"].as_u64().unwrap();
    assert!((4..40).contains(&n), "{v}");
    assert_eq!(oai.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_error_mid_stream_is_not_followed_by_a_clean_end() {
    let (oai, _ant, gw) = setup().await;
    // vLLM style: an error chunk, then [DONE].
    oai.push(switchyard_mock::Behavior::RawEvents {
        content_type: "text/event-stream".into(),
        events: vec![
            bytes::Bytes::from_static(b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"),
            bytes::Bytes::from_static(b"data: {\"error\":{\"message\":\"engine died\",\"type\":\"server_error\",\"code\":500}}\n\ndata: [DONE]\n\n"),
        ],
        delay: std::time::Duration::from_millis(200),
    });
    let ev = events(post(&gw, "/v1/messages", &ask("gpt", true)).await).await;
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"error"), "{names:?}");
    assert!(!names.contains(&"message_stop"), "{names:?}");
    assert!(ev.last().unwrap().1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("engine died"));
}
