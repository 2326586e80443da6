//! Retries and failover through real HTTP: bodies replayed intact, streams failing over until
//! their first event, in-band errors after it, timeouts, and which errors are not retried.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::config::{openai, Config, Model};
use common::gov::{poll, Api};
use common::{
    chat_body, client, metrics_text, refused_port, send_chat, sse_payloads, Gateway, MASTER_KEY,
};
use serde_json::{json, Value};
use switchyard_mock::{rate_limited, server_error, Behavior, MockUpstream, Script};

/// Deployment `dep-{name}` of group `group` at `base`, with its own provider key.
fn model(name: &str, group: &str, base: &str) -> Model {
    Model::new(group, &format!("openai/upstream-{name}"))
        .api_base(base)
        .api_key(&format!("sk-provider-{name}"))
        .id(&format!("dep-{name}"))
}

async fn mock(name: &str, default: Behavior) -> MockUpstream {
    MockUpstream::start(Script {
        default,
        ..Script::named(name)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn one_mib_body_fails_over_from_429_byte_for_byte() {
    let a = mock("a", rate_limited()).await;
    let b = mock("b", Behavior::Ok).await;
    let yaml = Config::with([
        model("a", "g", &a.base_url()).weight(1),
        model("b", "g", &b.base_url()).weight(0),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let content = "é".repeat(512 * 1024); // 1 MiB of UTF-8
    let body = json!({"model": "g", "messages": [{"role": "user", "content": content}], "x_custom": {"kept": true}}).to_string();
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "dep-b");
    assert_eq!(r.headers()["x-litellm-attempted-retries"], "1");
    assert_eq!(r.headers()["x-litellm-model-group"], "g");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from b");

    let (ra, rb) = (a.requests(), b.requests());
    assert_eq!((ra.len(), rb.len()), (1, 1));
    let expected_a = body.replacen(r#""model":"g""#, r#""model":"upstream-a""#, 1);
    let expected_b = body.replacen(r#""model":"g""#, r#""model":"upstream-b""#, 1);
    assert_eq!(
        ra[0].body.as_ref(),
        expected_a.as_bytes(),
        "A must get the client's bytes with only model replaced"
    );
    assert_eq!(rb[0].body.as_ref(), expected_b.as_bytes());
    assert_eq!(
        rb[0].header("content-length"),
        Some(expected_b.len().to_string().as_str())
    );
    assert_eq!(rb[0].header("authorization"), Some("Bearer sk-provider-b"));
    assert_eq!(rb[0].path_and_query, "/v1/chat/completions");
}

#[tokio::test]
async fn a_retry_never_repeats_the_deployment_that_just_failed() {
    let mocks = [
        mock("a", server_error(500)).await,
        mock("b", server_error(503)).await,
        mock("c", server_error(502)).await,
    ];
    let yaml = Config::with([
        model("a", "g", &mocks[0].base_url()),
        model("b", "g", &mocks[1].base_url()),
        model("c", "g", &mocks[2].base_url()),
    ])
    .router(|r| r.num_retries(2))
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("g"), &[]).await;
    assert!(r.status().is_server_error(), "{}", r.status());
    assert_eq!(r.headers()["x-litellm-attempted-retries"], "2");
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].is_string());
    for m in &mocks {
        assert_eq!(
            m.request_count(),
            1,
            "each deployment is tried exactly once"
        );
    }
}

#[tokio::test]
async fn request_errors_are_not_retried() {
    let a = mock("a", Behavior::Status { status: 400, body: r#"{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":null}}"#.into(), headers: vec![] }).await;
    let b = mock("b", Behavior::Ok).await;
    let yaml = Config::with([
        model("a", "g", &a.base_url()).weight(1),
        model("b", "g", &b.base_url()).weight(0),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("g"), &[]).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "bad temperature");
    assert_eq!(v["error"]["param"], "temperature");
    assert_eq!(b.request_count(), 0);
}

#[tokio::test]
async fn connect_errors_fail_over() {
    let dead = refused_port();
    let b = mock("b", Behavior::Ok).await;
    let yaml = Config::with([
        model("dead", "g", &format!("http://{}/v1", dead.1)).weight(1),
        model("b", "g", &b.base_url()).weight(0),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("g"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "dep-b");
}

#[tokio::test]
async fn stream_fails_over_when_the_first_deployment_dies_before_any_event() {
    for dying in [Behavior::CutBeforeFirstEvent, Behavior::ErrorEvent] {
        let a = mock("a", dying.clone()).await;
        let b = mock("b", Behavior::Ok).await;
        let yaml = Config::with([
            model("a", "g", &a.base_url()).weight(1),
            model("b", "g", &b.base_url()).weight(0),
        ])
        .yaml();
        let gw = Gateway::start(&yaml);
        let mut body = chat_body("g");
        body["stream"] = json!(true);
        let r = send_chat(&gw, &body, &[]).await;
        assert_eq!(r.status(), 200, "{dying:?}");
        assert_eq!(r.headers()["x-litellm-model-id"], "dep-b");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let (payloads, clean) = sse_payloads(r).await;
        assert!(clean);
        assert_eq!(
            payloads.last().map(String::as_str),
            Some("[DONE]"),
            "{dying:?}"
        );
        assert!(
            payloads.iter().all(|p| !p.contains("\"error\"")),
            "{payloads:?}"
        );
        assert_eq!(a.request_count(), 1);
    }
}

#[tokio::test]
async fn stream_cut_after_the_first_event_ends_with_an_error_event_and_no_done() {
    let a = mock("a", Behavior::CutAfterEvents(2)).await;
    let gw = Gateway::start(&Config::with([model("a", "g", &a.base_url())]).yaml());
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    assert_eq!(r.status(), 200);
    let (payloads, _) = sse_payloads(r).await;
    assert!(payloads.len() >= 2, "{payloads:?}");
    assert!(
        payloads
            .iter()
            .any(|p| p.contains("tok0") || p.contains("assistant")),
        "{payloads:?}"
    );
    let last: Value = serde_json::from_str(payloads.last().unwrap()).unwrap();
    assert!(last["error"]["message"].is_string(), "{last}");
    assert!(!payloads.iter().any(|p| p == "[DONE]"));
    assert_eq!(
        a.request_count(),
        1,
        "no retry once the stream was committed"
    );
}

#[tokio::test]
async fn usage_is_requested_upstream_and_the_extra_chunk_hidden_unless_asked() {
    let a = mock("a", Behavior::Ok).await;
    let gw = Gateway::start(&Config::with([model("a", "g", &a.base_url())]).yaml());
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let r = send_chat(&gw, &body, &[]).await;
    let (payloads, _) = sse_payloads(r).await;
    let sent = a.requests()[0].json().unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert!(
        !payloads.iter().any(|p| p.contains("\"choices\":[]")),
        "usage chunk leaked: {payloads:?}"
    );
    assert_eq!(payloads.last().unwrap(), "[DONE]");

    body["stream_options"] = json!({"include_usage": true});
    let r = send_chat(&gw, &body, &[]).await;
    let (payloads, _) = sse_payloads(r).await;
    let usage = payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .find(|v| v["choices"] == json!([]))
        .expect("usage chunk");
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let metrics = metrics_text(&gw).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("litellm_total_tokens_metric_total")
                && l.contains("dep-a")
                && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test]
async fn timeouts_are_408_or_fail_over() {
    let hang = mock("hang", Behavior::Hang).await;
    let b = mock("b", Behavior::Ok).await;
    let yaml = Config::with([model("hang", "slow", &hang.base_url()).timeout(0.3)]).yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("slow"), &[("x-litellm-num-retries", "0")]).await;
    assert_eq!(r.status(), 408);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "timeout");
    drop(gw);

    let yaml = Config::with([
        model("hang", "g", &hang.base_url()).timeout(0.3).weight(1),
        model("b", "g", &b.base_url()).weight(0),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(&chat_body("g"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "dep-b");
}

#[tokio::test]
async fn azure_deployments_use_deployment_urls_and_api_key() {
    let a = mock("az", Behavior::Ok).await;
    let base = format!("http://{}", a.addr());
    let yaml = Config::with([Model::new("gpt4o", "azure/my-gpt4o-deployment")
        .api_base(&base)
        .api_key("azure-secret")
        .api_version("2024-10-21")])
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("gpt4o"), &[]).await;
    assert_eq!(r.status(), 200);
    let req = &a.requests()[0];
    assert_eq!(
        req.path_and_query,
        "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(req.header("api-key"), Some("azure-secret"));
    assert_eq!(
        req.header("authorization"),
        None,
        "the client's gateway key is never forwarded"
    );
}

#[tokio::test]
async fn provider_secrets_and_client_keys_are_never_echoed() {
    let a = mock("a", rate_limited()).await;
    let gw = Gateway::start(&Config::with([model("a", "g", &a.base_url())]).yaml());
    let r = send_chat(&gw, &chat_body("g"), &[("x-litellm-num-retries", "0")]).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let headers = format!("{:?}", r.headers());
    let body = r.text().await.unwrap();
    for secret in ["sk-provider-a", MASTER_KEY] {
        assert!(
            !headers.contains(secret) && !body.contains(secret),
            "{secret} leaked"
        );
    }
    assert_ne!(
        a.requests()[0].header("authorization"),
        Some(format!("Bearer {MASTER_KEY}").as_str())
    );
}

#[tokio::test]
async fn per_deployment_num_retries_is_honoured() {
    let a = mock("a", server_error(500)).await;
    let b = mock("b", server_error(500)).await;
    let yaml = Config::with([
        model("a", "g", &a.base_url()).num_retries(0),
        model("b", "g", &b.base_url()),
    ])
    .router(|r| r.num_retries(3))
    .yaml();
    let gw = Gateway::start(&yaml);
    let r = send_chat(&gw, &chat_body("g"), &[]).await;
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-litellm-attempted-retries"], "0");
    assert_eq!(a.request_count() + b.request_count(), 1);
}

// ---- Bounded streams: the inter-chunk idle limit and the per-event size cap ------------------

/// Send a streamed chat and read it to its end (a hung stream fails the test after 30 s).
async fn stream_of(gw: &Gateway, body: &Value) -> (u16, Vec<String>, bool) {
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let (payloads, clean) = sse_payloads(r).await;
    (status, payloads, clean)
}

#[tokio::test]
async fn a_stream_silent_past_stream_timeout_ends_with_an_error_event_and_is_billed() {
    // The upstream sends two content events, then nothing, for ever; the deployment allows
    // 0.3 s of silence (its `timeout` is far away).
    let a = mock("a", Behavior::StallAfterEvents(2)).await;
    let yaml = Config::with([openai("g", &a.base_url())
        .input_cost_per_token(0.001)
        .output_cost_per_token(0.002)
        .stream_timeout(0.3)
        .timeout(600)])
    .yaml();
    let gw = Gateway::start(&yaml);
    let api = Api::new(&gw);
    let key = api.new_key(json!({})).await;
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let reply = tokio::time::timeout(Duration::from_secs(30), api.chat_with(&key, &body, &[]))
        .await
        .expect("the stream ends");
    assert_eq!(reply.status, 200);
    let payloads = &reply.events;
    assert!(payloads.iter().any(|p| p.contains("tok1")), "{payloads:?}");
    let last: Value = serde_json::from_str(payloads.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "timeout", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream_timeout"),
        "{last}"
    );
    assert!(!payloads.iter().any(|p| p == "[DONE]"));
    assert_eq!(a.request_count(), 1, "no retry once committed");
    // What was streamed is billed: the prompt estimate plus one token per event (the role
    // chunk and two contents), since the upstream never sent its usage.
    let rows = api.await_spend_rows(&[reply.call_id()]).await;
    assert_eq!(rows[0]["completion_tokens"], 3, "{}", rows[0]);
    assert!(rows[0]["spend"].as_f64().unwrap() > 0.0, "{}", rows[0]);
    poll("the key's spend", Duration::from_secs(3), async || {
        (api.key_spend(&key).await > 0.0).then_some(())
    })
    .await;
    drop(gw);

    // The per-request `stream_timeout` body field does the same on a deployment without one.
    let yaml = Config::with([model("a", "g", &a.base_url()).timeout(600)]).yaml();
    let gw = Gateway::start(&yaml);
    body["stream_timeout"] = json!(0.3);
    let (status, payloads, _) = stream_of(&gw, &body).await;
    assert_eq!(status, 200);
    let last: Value = serde_json::from_str(payloads.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "timeout", "{last}");
}

#[tokio::test]
async fn stream_timeout_bounds_each_gap_not_the_whole_stream() {
    // Eight events 0.3 s apart: 2.4 s in all, each gap well under the 2 s limit.
    let a = MockUpstream::start(Script {
        chunk_delay: Duration::from_millis(300),
        ..Script::named("a")
    })
    .await
    .unwrap();
    let yaml = Config::with([model("a", "g", &a.base_url()).stream_timeout(2)]).yaml();
    let gw = Gateway::start(&yaml);
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let (status, payloads, clean) = stream_of(&gw, &body).await;
    assert_eq!(status, 200);
    assert!(clean);
    assert_eq!(
        payloads.last().map(String::as_str),
        Some("[DONE]"),
        "{payloads:?}"
    );
    assert!(
        !payloads.iter().any(|p| p.contains("\"error\"")),
        "{payloads:?}"
    );
}

#[tokio::test]
async fn an_event_over_the_size_cap_ends_the_stream_with_an_error_event() {
    let first = Bytes::from_static(
        b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
    );
    // One event that never ends, longer than the cap.
    let mut huge = b"data: {\"x\":\"".to_vec();
    huge.resize(switchyard::wire::sse::MAX_EVENT_BYTES + 64 * 1024, b'x');
    let a = mock(
        "a",
        Behavior::RawEvents {
            content_type: "text/event-stream".into(),
            events: vec![first, Bytes::from(huge)],
            delay: Duration::ZERO,
        },
    )
    .await;
    let gw = Gateway::start(&Config::with([model("a", "g", &a.base_url())]).yaml());
    let mut body = chat_body("g");
    body["stream"] = json!(true);
    let (status, payloads, clean) = stream_of(&gw, &body).await;
    assert_eq!(status, 200);
    assert!(clean);
    assert!(payloads[0].contains("\"Hi\""), "{payloads:?}");
    let last: Value = serde_json::from_str(payloads.last().unwrap()).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than"),
        "{last}"
    );
    assert!(!payloads.iter().any(|p| p == "[DONE]"));
}
