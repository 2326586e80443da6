//! Vertex AI end to end: a service account whose `token_uri` is a mock token endpoint, a
//! deployment whose `api_base` is a mock replaying Gemini payloads; the gateway must fetch
//! one OAuth token, send it as a bearer, and reuse it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use bytes::Bytes;
use common::config::{Config, Model};
use common::{send_chat, sse_payloads, Gateway};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Script};

const PATH: &str =
    "/v1/projects/test-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash";

fn fixture(name: &str) -> Bytes {
    let path = format!(
        "{}/tests/fixtures/gemini/conformance/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Behavior {
    Behavior::Raw {
        status,
        content_type: content_type.to_string(),
        body: body.into(),
    }
}

/// A mock token endpoint, a mock Vertex upstream and a gateway with one `vertex_ai/`
/// deployment whose service-account file points at the token endpoint.
async fn setup() -> (MockUpstream, MockUpstream, Gateway) {
    let token = MockUpstream::start(Script::named("token")).await.unwrap();
    token.set_recording(true);
    let vertex = MockUpstream::start(Script::named("vertex")).await.unwrap();
    vertex.set_recording(true);
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let sa = json!({
        "type": "service_account",
        "project_id": "test-proj",
        "client_email": "gw@test-proj.iam.gserviceaccount.com",
        "private_key": String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
        "token_uri": format!("{}/token", token.base_url()),
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), sa.to_string()).unwrap();
    let yaml = Config::with([Model::new("v", "vertex_ai/gemini-2.5-flash")
        .api_base(&vertex.base_url())
        .untyped_param("vertex_credentials", file.path().display().to_string())])
    .router(|r| r.num_retries(0))
    .yaml();
    // The gateway reads the key file while loading: the tempfile may go once it is up.
    let gw = Gateway::start(&yaml);
    drop(file);
    (token, vertex, gw)
}

fn chat(stream: bool) -> Value {
    json!({"model": "v", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_token_is_fetched_once_and_sent_as_a_bearer() {
    let (token, vertex, gw) = setup().await;
    token.set_default(raw(
        200,
        "application/json",
        r#"{"access_token":"ya29.test","expires_in":3600,"token_type":"Bearer"}"#,
    ));
    vertex.set_default(raw(200, "application/json", fixture("text.json")));

    let r = send_chat(&gw, &chat(false), &[]).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion", "{v}");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant", "{v}");
    assert!(v["choices"][0]["message"]["content"].is_string(), "{v}");
    assert!(v["usage"]["prompt_tokens"].is_u64(), "{v}");

    let sent = vertex.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path_and_query, format!("{PATH}:generateContent"));
    assert_eq!(sent[0].header("authorization"), Some("Bearer ya29.test"));
    assert!(sent[0].header("x-goog-api-key").is_none());
    let body = sent[0].json().unwrap();
    assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");

    // The token request: a form with the JWT-bearer grant and a three-part assertion.
    let asked = token.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].method, "POST");
    assert_eq!(asked[0].path_and_query, "/v1/token");
    assert_eq!(
        asked[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = String::from_utf8(asked[0].body.to_vec()).unwrap();
    let assertion = form
        .strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
        .unwrap_or_else(|| panic!("{form}"));
    assert_eq!(assertion.split('.').count(), 3, "{assertion}");

    // A second request and a stream reuse the cached token.
    let r = send_chat(&gw, &chat(false), &[]).await;
    assert_eq!(r.status(), 200);
    vertex.push(raw(200, "text/event-stream", fixture("stream_text.sse")));
    let r = send_chat(&gw, &chat(true), &[]).await;
    assert_eq!(r.status(), 200);
    let (payloads, _) = sse_payloads(r).await;
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
    let sent = vertex.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[2].path_and_query,
        format!("{PATH}:streamGenerateContent?alt=sse")
    );
    assert!(sent
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer ya29.test")));
    assert_eq!(token.request_count(), 1, "the token is cached");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_assertion_is_a_401_without_an_upstream_call() {
    let (token, vertex, gw) = setup().await;
    token.set_default(raw(
        400,
        "application/json",
        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    ));
    let r = send_chat(&gw, &chat(false), &[]).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid_grant"), "{v}");
    assert_eq!(vertex.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn vertex_pass_through_carries_the_service_account_token() {
    let (token, vertex, gw) = setup().await;
    token.push(raw(
        200,
        "application/json",
        r#"{"access_token":"ya29.pass","expires_in":3600,"token_type":"Bearer"}"#,
    ));
    vertex.push(raw(200, "application/json", fixture("text.json")));
    let path = "/vertex_ai/v1/projects/test-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
    let r = common::client()
        .post(gw.url(path))
        .bearer_auth(common::MASTER_KEY)
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["candidates"].is_array(), "verbatim Gemini body: {v}");
    let sent = vertex.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, &path["/vertex_ai".len()..]);
    assert_eq!(sent.header("authorization"), Some("Bearer ya29.pass"));
}
