//! Rate limits: rpm at its exact boundary, tpm, max_parallel_requests, per-model rpm, and
//! team and customer limits; each refuses with 429 `rate_limit_error` and `retry-after`.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::Config;
use crate::common::gov::{assert_rate_limited, chat_for, minute_headroom, poll, priced, Api};
use crate::common::Gateway;
use crate::priced_gateway;

#[tokio::test]
async fn rpm_limit_three_admits_exactly_three_per_minute() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"rpm_limit": 3})).await;
    minute_headroom().await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = api.chat(&key, "a").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("x-ratelimit-limit-requests"), Some("3"));
        remaining.push(
            r.header("x-ratelimit-remaining-requests")
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    assert_rate_limited(&api.chat(&key, "a").await);
    assert_eq!(
        mocks[0].request_count(),
        3,
        "the 4th request reaches no upstream"
    );
}

#[tokio::test]
async fn tpm_limit_refuses_once_the_minutes_tokens_are_used() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"tpm_limit": 40})).await;
    minute_headroom().await;
    let first = api.chat(&key, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let tokens = first.body["usage"]["total_tokens"].as_u64().unwrap();
    assert!(
        tokens < 40 && 2 * tokens >= 40,
        "one request uses {tokens} tokens"
    );
    assert_eq!(api.chat(&key, "a").await.status, 200, "{tokens} used of 40");
    assert_rate_limited(&api.chat(&key, "a").await);
    assert_eq!(mocks[0].request_count(), 2);
}

#[tokio::test]
async fn max_parallel_one_refuses_a_second_request_while_the_first_streams() {
    let mock = MockUpstream::start(Script {
        chunks: 6,
        chunk_delay: Duration::from_millis(200),
        ..Script::named("a")
    })
    .await
    .unwrap();
    let gw = Gateway::start(&Config::with([priced("a", &mock.base_url())]).yaml());
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_parallel_requests": 1})).await;
    let body = chat_for("a", None, true);
    let first = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let mut stream = first.bytes_stream();
    let head = stream.next().await.unwrap().unwrap();
    assert!(head.starts_with(b"data: "), "the first stream is under way");

    assert_rate_limited(&api.chat(&key, "a").await);
    assert_eq!(
        mock.request_count(),
        1,
        "the refused request reaches no upstream"
    );

    let mut rest = head.to_vec();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    assert!(String::from_utf8(rest)
        .unwrap()
        .ends_with("data: [DONE]\n\n"));
    let after = poll("the slot to be freed", Duration::from_secs(2), async || {
        let r = api.chat(&key, "a").await;
        (r.status != 429).then_some(r)
    })
    .await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn model_rpm_limit_counts_each_model_separately() {
    let (mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"model_rpm_limit": {"a": 1}})).await;
    minute_headroom().await;
    assert_eq!(api.chat(&key, "a").await.status, 200);
    assert_rate_limited(&api.chat(&key, "a").await);
    assert_eq!(api.chat(&key, "b").await.status, 200);
    assert_eq!(api.chat(&key, "b").await.status, 200, "b has no limit");
    assert_eq!((mocks[0].request_count(), mocks[1].request_count()), (1, 2));
}

#[tokio::test]
async fn team_and_customer_rpm_limits_are_shared_by_their_requests() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "rpm", "rpm_limit": 2}))
        .await;
    let k1 = api.new_key(json!({"team_id": team["team_id"]})).await;
    let k2 = api.new_key(json!({"team_id": team["team_id"]})).await;
    api.post_ok(
        "/customer/new",
        &json!({"user_id": "cust-rpm", "rpm_limit": 1}),
    )
    .await;
    let free = api.new_key(json!({})).await;
    minute_headroom().await;

    assert_eq!(api.chat(&k1, "a").await.status, 200);
    assert_eq!(api.chat(&k2, "a").await.status, 200);
    assert_rate_limited(&api.chat(&k1, "a").await);
    assert_rate_limited(&api.chat(&k2, "a").await);

    let body = chat_for("a", Some("cust-rpm"), false);
    assert_eq!(api.chat_with(&free, &body, &[]).await.status, 200);
    assert_rate_limited(&api.chat_with(&free, &body, &[]).await);
    assert_eq!(
        api.chat(&free, "a").await.status,
        200,
        "other traffic is not limited"
    );
    assert_eq!(mocks[0].request_count(), 4);
}
