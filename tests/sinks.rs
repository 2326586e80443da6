//! Sinks that keep records: LiteLLM's `s3` callback against an in-test S3-compatible endpoint
//! that checks every PUT's SigV4 signature (computed here from AWS's specification), and the
//! spend log's stored prompts (`store_prompts_in_spend_logs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::config::{openai, Config};
use common::gov::{poll, Api};
use common::{chat_as as chat, chat_body, metrics_text, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Script};

async fn mock() -> MockUpstream {
    MockUpstream::start(Script {
        default: Behavior::Ok,
        ..Script::named("m")
    })
    .await
    .unwrap()
}

/// One PUT an S3-compatible endpoint accepted: its path and the records of its body.
#[derive(Clone, Debug)]
struct Object {
    path: String,
    content_type: String,
    lines: Vec<Value>,
}

/// An S3-compatible endpoint that checks each PUT's SigV4 signature (computed here, from
/// AWS's specification) with `secret`: 200 and the object kept, else 403.
async fn s3_endpoint(secret: &'static str) -> (SocketAddr, Arc<Mutex<Vec<Object>>>) {
    let objects = Arc::new(Mutex::new(Vec::new()));
    let seen = objects.clone();
    let addr = common::http::serve(move |parts: http::request::Parts, body: Bytes| {
        let seen = seen.clone();
        async move {
            let ok = parts.method == "PUT" && sigv4_valid(&parts, &body, secret);
            if ok {
                seen.lock().unwrap().push(Object {
                    path: parts.uri.path().to_string(),
                    content_type: parts.headers["content-type"].to_str().unwrap().into(),
                    lines: body
                        .split(|b| *b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(|l| serde_json::from_slice(l).unwrap())
                        .collect(),
                });
            }
            common::http::status(if ok { 200 } else { 403 })
        }
    })
    .await;
    (addr, objects)
}

/// Whether the request carries a valid AWS Signature Version 4 for S3.
fn sigv4_valid(parts: &http::request::Parts, body: &[u8], secret: &str) -> bool {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mac = |key: &[u8], data: &str| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let h = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().trim().to_string())
    };
    let Some(auth) = h("authorization") else {
        return false;
    };
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let (credential, signed, signature) = (
        field("Credential"),
        field("SignedHeaders"),
        field("Signature"),
    );
    let scope = credential
        .split_once('/')
        .map(|(_, s)| s)
        .unwrap_or_default();
    let payload_hash = hex(&Sha256::digest(body));
    if h("x-amz-content-sha256").as_deref() != Some(payload_hash.as_str()) {
        return false;
    }
    let mut canonical = format!(
        "PUT\n{}\n{}\n",
        parts.uri.path(),
        parts.uri.query().unwrap_or("")
    );
    for name in signed.split(';') {
        canonical += &format!("{name}:{}\n", h(name).unwrap_or_default());
    }
    canonical += &format!("\n{signed}\n{payload_hash}");
    let date = h("x-amz-date").unwrap_or_default();
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in scope.split('/') {
        key = mac(&key, part);
    }
    signed.split(';').any(|s| s == "host") && hex(&mac(&key, &to_sign)) == signature
}

#[tokio::test]
async fn s3_gets_signed_json_lines_objects_under_its_prefix() {
    let m = mock().await;
    let (good, objects) = s3_endpoint("s3-secret").await;
    let (bad, rejected) = s3_endpoint("another-secret").await;
    let params = |at: SocketAddr| {
        json!({"s3_bucket_name": "logs", "s3_region_name": "eu-west-1",
               "s3_endpoint_url": format!("http://{at}"), "s3_path": "gw/prod",
               "s3_aws_access_key_id": "AKIDTEST", "s3_aws_secret_access_key": "s3-secret",
               "s3_flush_interval": 0.2, "s3_batch_size": 2})
    };
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| {
            l.success_callback(&["s3"])
                .untyped("s3_callback_params", params(good))
        })
        .yaml();
    let gw = Gateway::start(&yaml);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, id) = chat(&gw, MASTER_KEY, "gpt").await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let got = poll("3 records in S3", Duration::from_secs(20), async || {
        let o = objects.lock().unwrap().clone();
        (o.iter().map(|o| o.lines.len()).sum::<usize>() >= 3).then_some(o)
    })
    .await;
    let logged: Vec<&str> = got
        .iter()
        .flat_map(|o| &o.lines)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(logged, ids);
    for o in &got {
        assert!(o.lines.len() <= 2, "a batch over s3_batch_size");
        assert!(o.path.starts_with("/logs/gw/prod/20"), "{}", o.path);
        assert!(o.path.ends_with(".jsonl"), "{}", o.path);
        assert_eq!(o.content_type, "application/x-ndjson");
    }

    // Signed with a secret the endpoint does not know: refused, counted, requests unharmed.
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| {
            l.success_callback(&["s3"])
                .untyped("s3_callback_params", params(bad))
        })
        .yaml();
    let gw = Gateway::start(&yaml);
    let (status, _) = chat(&gw, MASTER_KEY, "gpt").await;
    assert_eq!(status, 200);
    poll(
        "the refused PUT counted",
        Duration::from_secs(20),
        async || {
            metrics_text(&gw)
                .await
                .contains("switchyard_logging_failed_total{sink=\"s3\"} 1")
                .then_some(())
        },
    )
    .await;
    assert!(rejected.lock().unwrap().is_empty());
}

#[tokio::test]
async fn spend_rows_keep_the_prompt_and_answer_only_with_store_prompts_in_spend_logs() {
    let m = mock().await;
    for store in [true, false] {
        let yaml = Config::with([openai("gpt", &m.base_url())])
            .untyped_general("store_prompts_in_spend_logs", store)
            .yaml();
        let gw = Gateway::start(&yaml);
        let (status, id) = chat(&gw, MASTER_KEY, "gpt").await;
        assert_eq!(status, 200);
        let api = Api::new(&gw);
        let row = poll("the spend row", Duration::from_secs(20), async || {
            let (status, rows) = api.get(&format!("/spend/logs?request_id={id}")).await;
            (status == 200)
                .then(|| rows.as_array()?.first().cloned())
                .flatten()
        })
        .await;
        if store {
            assert_eq!(row["messages"], chat_body("gpt")["messages"], "{row}");
            assert_eq!(row["response"]["object"], "chat.completion", "{row}");
        } else {
            assert_eq!(row["messages"], json!({}), "{row}");
            assert_eq!(row["response"], json!({}), "{row}");
        }
    }
}
