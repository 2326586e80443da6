//! Unit tests for the mock upstream, driven by a raw HTTP/1.1 client over TCP.

use super::answers::base64_encode;
use super::{rate_limited, server_error, stream_text, Behavior, MockUpstream, Script};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The chunked body ended with its final chunk (false when the connection was cut).
    complete: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    /// The `data:` payloads of an SSE body.
    fn events(&self) -> Vec<String> {
        let text = String::from_utf8(self.body.clone()).unwrap();
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| e.strip_prefix("data: ").unwrap().to_owned())
            .collect()
    }
}

/// One HTTP/1.1 request on a fresh connection, read until the server closes it.
async fn send(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: mock\r\nauthorization: Bearer sk-test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if !chunked {
        return Answer {
            status,
            headers,
            body: rest.to_vec(),
            complete: true,
        };
    }
    let (mut body, mut pos, mut complete) = (Vec::new(), 0, false);
    while let Some(eol) = rest[pos..].windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[pos..pos + eol]).unwrap(), 16).unwrap();
        pos += eol + 2;
        if size == 0 {
            complete = true;
            break;
        }
        body.extend_from_slice(&rest[pos..(pos + size).min(rest.len())]);
        pos = (pos + size + 2).min(rest.len());
    }
    Answer {
        status,
        headers,
        body,
        complete,
    }
}

const CHAT: &str = r#"{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}"#;
const CHAT_STREAM: &str =
    r#"{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
const CHAT_STREAM_USAGE: &str = r#"{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#;

fn script(name: &str, chunks: usize) -> Script {
    Script {
        chunks,
        ..Script::named(name)
    }
}

#[tokio::test]
async fn chat_answers_in_openai_shape_and_records_the_request() {
    let mock = MockUpstream::start(script("alpha", 3)).await.unwrap();
    assert!(mock.base_url().starts_with("http://127.0.0.1:") && mock.base_url().ends_with("/v1"));
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-mock-name"), Some("alpha"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let v = answer.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-mock"));
    assert_eq!(v["model"], "gpt-x");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from alpha");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let prompt = (CHAT.len() / 4) as u64;
    assert_eq!(v["usage"]["prompt_tokens"], prompt);
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(v["usage"]["total_tokens"], prompt + 3);

    let recorded = mock.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path_and_query, "/v1/chat/completions");
    assert_eq!(recorded[0].header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(recorded[0].json().unwrap()["model"], "gpt-x");
    assert_eq!((mock.request_count(), mock.connections()), (1, 1));
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_fields() {
    let mock = MockUpstream::start(script("alpha", 3)).await.unwrap();
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT_STREAM).await;
    assert_eq!(answer.status, 200);
    assert!(answer.complete);
    assert_eq!(
        answer.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let events = answer.events();
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(events[5], "[DONE]");
    let chunks: Vec<Value> = events[..5]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c.get("usage").is_none()));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "");
    let text: String = chunks[1..4]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, stream_text("alpha", 3));
    assert!(text.starts_with("Hello from alpha"));
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[4]["choices"][0]["delta"], serde_json::json!({}));
}

#[tokio::test]
async fn stream_with_include_usage_ends_with_a_usage_chunk() {
    let mock = MockUpstream::start(script("alpha", 2)).await.unwrap();
    let answer = send(mock.addr(), "POST", "/chat/completions", CHAT_STREAM_USAGE).await;
    let events = answer.events();
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(events[5], "[DONE]");
    let chunks: Vec<Value> = events[..5]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks[..4]
        .iter()
        .all(|c| c["usage"].is_null() && c.get("usage").is_some()));
    assert_eq!(chunks[4]["choices"], serde_json::json!([]));
    let prompt = (CHAT_STREAM_USAGE.len() / 4) as u64;
    assert_eq!(chunks[4]["usage"]["total_tokens"], prompt + 2);
}

#[tokio::test]
async fn queued_status_then_ok() {
    let mock = MockUpstream::start(Script::named("beta")).await.unwrap();
    mock.push(rate_limited());
    let first = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("1"));
    assert_eq!(first.header("x-mock-name"), Some("beta"));
    assert_eq!(first.json()["error"]["code"], "rate_limit_exceeded");
    let second = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.json()["choices"][0]["message"]["content"],
        "Hello from beta"
    );
    assert_eq!((mock.request_count(), mock.connections()), (2, 2));

    mock.push(server_error(503));
    let third = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(third.status, 503);
    assert_eq!(third.json()["error"]["type"], "server_error");
}

#[tokio::test]
async fn cut_after_events_aborts_without_done() {
    let mock = MockUpstream::start(script("alpha", 5)).await.unwrap();
    mock.push(Behavior::CutAfterEvents(2));
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT_STREAM).await;
    assert_eq!(answer.status, 200);
    assert!(!answer.complete, "the chunked body must not be terminated");
    let events = answer.events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|e| e != "[DONE]"));
}

#[tokio::test]
async fn cut_before_first_event_sends_only_headers() {
    let mock = MockUpstream::start(Script::default()).await.unwrap();
    mock.push(Behavior::CutBeforeFirstEvent);
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT_STREAM).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert!(!answer.complete);
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn error_event_is_an_openai_error_in_the_stream() {
    let mock = MockUpstream::start(Script::default()).await.unwrap();
    mock.push(Behavior::ErrorEvent);
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT_STREAM).await;
    assert_eq!(answer.status, 200);
    assert!(answer.complete);
    let events = answer.events();
    assert_eq!(events.len(), 1);
    let v: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(v["error"]["message"], "mock upstream error");
    assert_eq!(v["error"]["type"], "server_error");
}

#[tokio::test]
async fn other_routes_answer_in_openai_shape() {
    let mock = MockUpstream::start(script("gamma", 2)).await.unwrap();
    let azure = "/openai/deployments/dep1/chat/completions?api-version=2024-10-21";
    let answer = send(mock.addr(), "POST", azure, r#"{"messages":[]}"#).await;
    assert_eq!(answer.json()["model"], "dep1");
    assert_eq!(mock.requests()[0].path_and_query, azure);

    let text = send(
        mock.addr(),
        "POST",
        "/v1/completions",
        r#"{"model":"m","prompt":"x"}"#,
    )
    .await
    .json();
    assert_eq!(text["object"], "text_completion");
    assert_eq!(text["choices"][0]["text"], "Hello from gamma");
    let streamed = send(
        mock.addr(),
        "POST",
        "/v1/completions",
        r#"{"model":"m","prompt":"x","stream":true}"#,
    )
    .await;
    let events = streamed.events();
    assert_eq!(events.len(), 4, "{events:?}");
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["choices"][0]["text"], "Hello from gamma");

    let emb = send(
        mock.addr(),
        "POST",
        "/v1/embeddings",
        r#"{"model":"e","input":["a","b"]}"#,
    )
    .await
    .json();
    assert_eq!(emb["object"], "list");
    assert_eq!(emb["data"].as_array().unwrap().len(), 2);
    assert_eq!(emb["data"][1]["index"], 1);
    assert_eq!(emb["data"][0]["embedding"].as_array().unwrap().len(), 8);
    let b64 = send(
        mock.addr(),
        "POST",
        "/v1/embeddings",
        r#"{"model":"e","input":"a","encoding_format":"base64"}"#,
    )
    .await;
    assert_eq!(
        b64.json()["data"][0]["embedding"].as_str().unwrap().len(),
        44
    );

    let models = send(mock.addr(), "GET", "/v1/models", "").await.json();
    assert_eq!(models["data"][0]["id"], "gamma");

    let missing = send(mock.addr(), "POST", "/v1/nope", "{}").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["type"], "invalid_request_error");
    let bad = send(mock.addr(), "POST", "/v1/chat/completions", "{not json").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn hang_never_answers_and_failure_rate_fails() {
    let mock = MockUpstream::start(Script {
        failure_rate: 1.0,
        ..Script::default()
    })
    .await
    .unwrap();
    mock.push(Behavior::Hang);
    let hung = tokio::time::timeout(
        Duration::from_millis(200),
        send(mock.addr(), "POST", "/v1/chat/completions", CHAT),
    );
    assert!(hung.await.is_err());
    let failed = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json()["error"]["type"], "server_error");
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn chunk_delay_paces_events() {
    let mock = MockUpstream::start(Script {
        chunks: 4,
        chunk_delay: Duration::from_millis(20),
        ..Script::default()
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let answer = send(mock.addr(), "POST", "/v1/chat/completions", CHAT_STREAM).await;
    assert_eq!(answer.events().len(), 7);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn base64_matches_the_standard_alphabet() {
    assert_eq!(base64_encode(b"Man"), "TWFu");
    assert_eq!(base64_encode(b"Ma"), "TWE=");
    assert_eq!(base64_encode(b"M"), "TQ==");
    assert_eq!(base64_encode(b""), "");
}

#[tokio::test]
async fn azure_paths_name_the_configured_base_model() {
    let mock = MockUpstream::start(Script {
        azure_model: Some("gpt-35-turbo".into()),
        ..Script::default()
    })
    .await
    .unwrap();
    let azure = send(
        mock.addr(),
        "POST",
        "/openai/deployments/chatgpt-v-2/chat/completions?api-version=2024-02-01",
        CHAT,
    )
    .await;
    assert_eq!(azure.json()["model"], "gpt-35-turbo");
    let streamed = send(
        mock.addr(),
        "POST",
        "/openai/deployments/chatgpt-v-2/chat/completions?api-version=2024-02-01",
        CHAT_STREAM,
    )
    .await;
    assert!(streamed.events()[0].contains("\"model\":\"gpt-35-turbo\""));
    let openai = send(mock.addr(), "POST", "/v1/chat/completions", CHAT).await;
    assert_eq!(openai.json()["model"], "gpt-x");
}
