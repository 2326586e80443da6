//! Hostile clients: absurd numbers in every field and header, deep nesting, bad UTF-8;
//! always a 400, never a dropped connection or a leaked in-flight gauge. And the listener:
//! a header that never completes is cut off, connections over the cap are turned away.

use std::time::{Duration, Instant};

use serde_json::Value;
use switchyard_mock::{MockUpstream, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::config::{openai, Config};
use crate::common::{client, metrics_text, Gateway, MASTER_KEY};

const CHAT: &str = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;

/// Model `m` on a mock, added to `settings` with the master key.
async fn gateway(settings: Config) -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start(Script::named("up")).await.unwrap();
    let config = settings
        .master_key(MASTER_KEY)
        .model(openai("m", &mock.base_url()));
    let gw = Gateway::start(&config.yaml());
    (gw, mock)
}

/// POST raw bytes; the connection must answer (a dropped one fails the test, with `what`).
async fn post(
    gw: &Gateway,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
    what: &str,
) -> (u16, Value) {
    let mut req = client()
        .post(gw.url(path))
        .bearer_auth(MASTER_KEY)
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => panic!("{what}: the connection was dropped: {e}"),
    };
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("{what}: body cut: {e}"));
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
    (status, v)
}

/// `litellm_in_flight_requests` as the scrape reads it (the scrape itself counts as one).
fn in_flight(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("litellm_in_flight_requests "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}

/// Wait until only the scrape is in flight; a request's gauge is released just after its
/// answer is sent, so poll rather than read once.
async fn assert_in_flight_settles(gw: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = in_flight(&metrics_text(gw).await);
        if n == 1.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "litellm_in_flight_requests stuck at {n} (1 is the scrape)"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn absurd_numbers_in_every_field_and_header_are_400s_naming_it() {
    let (gw, mock) = gateway(Config::new()).await;
    let seconds = [
        "1e19",
        "-1",
        "0",
        "86401",
        "\"NaN\"",
        "\"abc\"",
        "1e400",
        "123456789012345678901234567890",
        "{\"a\":1}",
        "[1]",
        "true",
    ];
    let retries = [
        "1e19",
        "-1",
        "101",
        "1.5",
        "\"NaN\"",
        "\"abc\"",
        "1e400",
        "123456789012345678901234567890",
        "{\"a\":1}",
    ];
    let choices = [
        "0",
        "-1",
        "129",
        "1.5",
        "1e19",
        "\"abc\"",
        "1e400",
        "123456789012345678901234567890",
        "{\"a\":1}",
    ];
    let tokens = [
        "0",
        "-1",
        "4294967296",
        "1e19",
        "\"abc\"",
        "1e400",
        "123456789012345678901234567890",
        "[]",
    ];
    let mut rows: Vec<(&str, &[&str])> = vec![
        ("timeout", &seconds),
        ("stream_timeout", &seconds),
        ("num_retries", &retries),
        ("n", &choices),
        ("best_of", &choices),
        ("max_tokens", &tokens),
        ("max_completion_tokens", &tokens),
    ];
    let mut sent = 0;
    for (field, values) in rows.drain(..) {
        for value in values {
            for stream in [false, true] {
                let body = format!(
                    r#"{{"model":"m","stream":{stream},"messages":[{{"role":"user","content":"hi"}}],"{field}":{value}}}"#
                );
                let what = format!("{field}={value} stream={stream}");
                let (s, v) = post(&gw, "/v1/chat/completions", body.into_bytes(), &[], &what).await;
                assert_eq!(s, 400, "{what}: {v}");
                assert_eq!(v["error"]["param"], *field, "{what}: {v}");
                assert_eq!(v["error"]["type"], "invalid_request_error", "{what}: {v}");
                sent += 1;
            }
        }
    }
    let header_seconds = [
        "1e19",
        "-1",
        "0",
        "NaN",
        "inf",
        "abc",
        "1e400",
        "123456789012345678901234567890",
        "",
    ];
    let header_retries = [
        "1e19",
        "-1",
        "101",
        "1.5",
        "NaN",
        "abc",
        "123456789012345678901234567890",
    ];
    let headers: [(&str, &[&str]); 3] = [
        ("x-litellm-timeout", &header_seconds),
        ("x-litellm-stream-timeout", &header_seconds),
        ("x-litellm-num-retries", &header_retries),
    ];
    for (header, values) in headers {
        for value in values {
            let what = format!("{header}: {value}");
            let (s, v) = post(
                &gw,
                "/v1/chat/completions",
                CHAT.into(),
                &[(header, value)],
                &what,
            )
            .await;
            assert_eq!(s, 400, "{what}: {v}");
            assert_eq!(v["error"]["param"], header, "{what}: {v}");
            sent += 1;
        }
    }
    // The other ingresses read the same fields.
    for (path, body) in [
        ("/v1/completions", r#"{"model":"m","prompt":"hi","n":1000}"#),
        (
            "/v1/embeddings",
            r#"{"model":"m","input":"hi","timeout":1e19}"#,
        ),
        (
            "/v1/responses",
            r#"{"model":"m","input":"hi","max_output_tokens":-5}"#,
        ),
    ] {
        let (s, v) = post(&gw, path, body.into(), &[], path).await;
        assert_eq!(s, 400, "{path}: {v}");
        sent += 1;
    }
    let (s, v) = post(&gw, "/v1/messages", r#"{"model":"m","max_tokens":5,"timeout":1e19,"messages":[{"role":"user","content":"hi"}]}"#.into(), &[], "messages").await;
    assert_eq!(
        (s, &v["error"]["type"]),
        (400, &Value::from("invalid_request_error")),
        "{v}"
    );
    assert_eq!(
        mock.request_count(),
        0,
        "nothing out of range reached the upstream"
    );
    // In bounds, the same fields work.
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"timeout":30,"stream_timeout":10,"num_retries":1,"n":1,"max_tokens":16}"#;
    let (s, v) = post(
        &gw,
        "/v1/chat/completions",
        body.into(),
        &[("x-litellm-timeout", "60"), ("x-litellm-num-retries", "0")],
        "in bounds",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(sent > 150, "{sent} cases");
    assert_in_flight_settles(&gw).await;
}

/// Insert `member` (`"key":value,`) as the first member of a JSON object text.
fn with_first(body: &str, member: &str) -> Vec<u8> {
    format!("{{{member},{}", &body[1..]).into_bytes()
}

#[tokio::test]
async fn hostile_bodies_are_400s_on_every_ingress() {
    let (gw, mock) = gateway(Config::new()).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge_name = "x".repeat(1 << 20);
    let ingress = [
        ("/v1/chat/completions", CHAT.to_string()),
        (
            "/v1/completions",
            r#"{"model":"m","prompt":"hi"}"#.to_string(),
        ),
        (
            "/v1/embeddings",
            r#"{"model":"m","input":"hi"}"#.to_string(),
        ),
        (
            "/v1/messages",
            r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
                .to_string(),
        ),
        (
            "/v1/messages/count_tokens",
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#.to_string(),
        ),
        ("/v1/responses", r#"{"model":"m","input":"hi"}"#.to_string()),
    ];
    for (path, base) in &ingress {
        let mut bad_utf8 = base.clone().into_bytes();
        let at = base.find("hi").unwrap();
        bad_utf8.splice(at..at + 2, *b"h\xff\xfei");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("deep nesting", with_first(base, &format!(r#""x":{deep}"#))),
            ("deep nesting at the top", deep.clone().into_bytes()),
            ("invalid UTF-8", bad_utf8),
            ("duplicate model", with_first(base, r#""model":"other""#)),
            (
                "duplicate stream",
                with_first(
                    &with_first_str(base, r#""stream":true"#),
                    r#""stream":false"#,
                ),
            ),
            ("NaN", with_first(base, r#""temperature":NaN"#)),
            ("Infinity", with_first(base, r#""temperature":Infinity"#)),
            ("trailing garbage", format!("{base} xyz").into_bytes()),
            (
                "a 1 MiB model name",
                base.replacen(r#""model":"m""#, &format!(r#""model":"{huge_name}""#), 1)
                    .into_bytes(),
            ),
            (
                "a 1 MiB user",
                with_first(base, &format!(r#""user":"{huge_name}""#)),
            ),
            ("not an object", b"[1,2]".to_vec()),
            ("empty", Vec::new()),
        ];
        for (class, body) in cases {
            let what = format!("{path}: {class}");
            let (s, v) = post(&gw, path, body, &[], &what).await;
            assert_eq!(s, 400, "{what}: {v}");
            assert_eq!(v["error"]["type"], "invalid_request_error", "{what}: {v}");
            let message = v["error"]["message"].as_str().unwrap_or_default();
            assert!(
                !message.is_empty() && message.len() < 1000,
                "{what}: {message}"
            );
        }
    }
    // Management bodies: checked as one JSON document before any handler reads them.
    for body in [
        format!(r#"{{"metadata":{{"a":{deep}}}}}"#),
        format!(r#"{{"x":{deep}}}"#),
        r#"{"key_alias":"a"} xyz"#.to_string(),
        r#"{"key_alias":"a","key_alias":"b"}"#.to_string(),
        r#"{"max_budget":NaN}"#.to_string(),
        r#"{"rpm_limit":1e19}"#.to_string(),
    ] {
        let what = format!("key/generate {}", &body[..body.len().min(40)]);
        let (s, v) = post(&gw, "/key/generate", body.into_bytes(), &[], &what).await;
        assert_eq!(s, 400, "{what}: {v}");
    }
    let mut bad_utf8 = br#"{"key_alias":"a"#.to_vec();
    bad_utf8.extend_from_slice(b"\xff\"}");
    let (s, v) = post(
        &gw,
        "/key/generate",
        bad_utf8,
        &[],
        "key/generate: invalid UTF-8",
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        mock.request_count(),
        0,
        "no hostile body reached the upstream"
    );
    // A long prompt is not hostile: only the names the gateway echoes are capped.
    let long = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "y".repeat(2 << 20)
    );
    let (s, v) = post(
        &gw,
        "/v1/chat/completions",
        long.into_bytes(),
        &[],
        "long prompt",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_in_flight_settles(&gw).await;
}

fn with_first_str(body: &str, member: &str) -> String {
    String::from_utf8(with_first(body, member)).unwrap()
}

/// Send one request on a raw connection and read its whole answer (by `content-length`).
async fn roundtrip(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /health/liveliness HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Read until the gateway closes the connection; fails if it is still open after `limit`.
async fn read_to_close(tcp: &mut TcpStream, limit: Duration) -> String {
    let mut got = Vec::new();
    match tokio::time::timeout(limit, tcp.read_to_end(&mut got)).await {
        Ok(_) => String::from_utf8_lossy(&got).into_owned(),
        Err(_) => panic!("the connection was still open after {limit:?}"),
    }
}

#[tokio::test]
async fn a_header_that_never_completes_is_cut_off() {
    let (gw, _mock) = gateway(Config::new().untyped_general("client_header_timeout", 1)).await;
    // Half a header, then nothing: closed at the header timeout (Pingora alone waits 60 s).
    let mut half = TcpStream::connect(gw.addr).await.unwrap();
    half.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut half, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A connection that sends nothing at all is cut off the same way.
    let mut silent = TcpStream::connect(gw.addr).await.unwrap();
    read_to_close(&mut silent, Duration::from_secs(20)).await;

    // Trickling a byte at a time keeps every read short, but not the whole header.
    let mut slow = TcpStream::connect(gw.addr).await.unwrap();
    let (mut rd, mut wr) = slow.split();
    let header = format!(
        "GET /health/liveliness HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n",
        "a".repeat(300)
    );
    let trickle = async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for b in header.as_bytes() {
            tick.tick().await;
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
        }
    };
    let mut got = Vec::new();
    tokio::select! {
        _ = trickle => panic!("the whole header was accepted a byte every 100 ms"),
        r = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut got)) => {
            assert!(r.is_ok(), "still open");
        }
    }
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408"),
        "{got:?}"
    );

    // A kept-alive connection may idle longer than the header timeout: the clock starts
    // with the next request's first byte. (The pause is the condition under test.)
    let mut kept = TcpStream::connect(gw.addr).await.unwrap();
    assert!(roundtrip(&mut kept).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(roundtrip(&mut kept).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn connections_over_the_cap_are_turned_away_and_the_rest_served() {
    let (gw, _mock) = gateway(Config::new().untyped_general("max_client_connections", 3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
        assert!(roundtrip(&mut tcp).await.starts_with("HTTP/1.1 200"));
        held.push(tcp);
    }
    // The fourth is answered 503 and closed (or reset, if the answer loses the race).
    let mut over = TcpStream::connect(gw.addr).await.unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), over.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection over the cap was kept open");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 503"),
        "{text}"
    );
    // The held connections still work.
    for tcp in &mut held {
        assert!(roundtrip(tcp).await.starts_with("HTTP/1.1 200"));
    }
    // One closes; its slot frees once the gateway sees the close.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
        if roundtrip(&mut tcp).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::task::yield_now().await;
    }
}
