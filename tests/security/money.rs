//! Money is counted on every exit: wildcard deployments priced by the model asked for, cache
//! and per-second prices from the config, and strict mode for models without a price.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Script};

use crate::common::config::{openai, Config, Model};
use crate::common::gov::{approx, assert_error, chat_for, priced, Api, Reply};
use crate::common::Gateway;

/// The bundled table's (input, output) USD per token of `model`.
fn table_price(model: &str) -> (f64, f64) {
    let table: Value = serde_json::from_str(include_str!("../../src/pricing/prices.json")).unwrap();
    let e = &table[model];
    (
        e["input_cost_per_token"].as_f64().unwrap(),
        e["output_cost_per_token"].as_f64().unwrap(),
    )
}

/// The spend log row of one answer.
async fn spend_row(api: &Api<'_>, reply: &Reply) -> Value {
    api.await_spend_rows(&[reply.call_id()]).await.remove(0)
}

#[tokio::test]
async fn a_wildcard_deployment_is_priced_by_the_model_asked_for() {
    let mock = MockUpstream::start(Script::named("w")).await.unwrap();
    let wildcard = Model::new("openai/*", "openai/*")
        .api_base(&mock.base_url())
        .api_key("sk-provider-secret");
    let gw = Gateway::start(&Config::with([wildcard]).yaml());
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 100.0})).await;
    let r = api.chat(&key, "openai/gpt-4o").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (input, output) = table_price("gpt-4o");
    let usage = &r.body["usage"];
    let expected = usage["prompt_tokens"].as_f64().unwrap() * input
        + usage["completion_tokens"].as_f64().unwrap() * output;
    assert!(expected > 0.0);
    let row = spend_row(&api, &r).await;
    assert_eq!(row["model_group"], "openai/*", "{row}");
    assert!(
        approx(row["spend"].as_f64().unwrap(), expected),
        "{row} expected {expected}"
    );
    api.await_key_spend(&key, expected).await;

    // A model the table does not know stays unpriced (0), as before.
    let r = api.chat(&key, "openai/surely-not-a-model").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(spend_row(&api, &r).await["spend"].as_f64(), Some(0.0));
}

/// An OpenAI chat answer whose usage reports cached and cache-written prompt tokens.
fn cached_answer() -> Behavior {
    let body = json!({
        "id": "chatcmpl-cache", "object": "chat.completion", "created": 1, "model": "upstream-c",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                  "prompt_tokens_details": {"cached_tokens": 600},
                  "cache_creation_input_tokens": 200}
    });
    Behavior::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: Bytes::from(body.to_string()),
    }
}

#[tokio::test]
async fn cache_and_per_second_prices_come_from_the_config() {
    let cache_mock = MockUpstream::start(Script {
        default: cached_answer(),
        ..Script::named("c")
    })
    .await
    .unwrap();
    let latency = Duration::from_millis(400);
    let timed_mock = MockUpstream::start(Script {
        latency,
        ..Script::named("t")
    })
    .await
    .unwrap();
    let models = [
        openai("c", &cache_mock.base_url())
            .input_cost_per_token(0.001)
            .output_cost_per_token(0.002)
            .untyped_param("cache_read_input_token_cost", 0.0001)
            .untyped_info("cache_creation_input_token_cost", 0.005),
        openai("t", &timed_mock.base_url())
            .untyped_param("input_cost_per_second", 0.5)
            .untyped_info("output_cost_per_second", 1.0),
    ];
    let gw = Gateway::start(&Config::with(models).yaml());
    assert!(
        !gw.log().contains("cache_read_input_token_cost") && !gw.log().contains("cost_per_second"),
        "the price keys load without a warning:\n{}",
        gw.log()
    );
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 100.0})).await;

    let r = api.chat(&key, "c").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // 200 plain prompt tokens, 600 read from the cache, 200 written to it, 100 out.
    let expected = 200.0 * 0.001 + 600.0 * 0.0001 + 200.0 * 0.005 + 100.0 * 0.002;
    let row = spend_row(&api, &r).await;
    assert!(
        approx(row["spend"].as_f64().unwrap(), expected),
        "{row} expected {expected}"
    );

    let started = Instant::now();
    let r = api.chat(&key, "t").await;
    let took = started.elapsed().as_secs_f64();
    assert_eq!(r.status, 200, "{}", r.body);
    let spend = spend_row(&api, &r).await["spend"].as_f64().unwrap();
    // $0.5/s in and $1/s out, over the call's duration: at least the upstream's latency,
    // at most what the client waited (and the gateway's logging after it).
    let per_second = 0.5 + 1.0;
    assert!(
        spend >= per_second * latency.as_secs_f64() && spend <= per_second * (took + 0.25),
        "spend {spend} for a call of {took} s"
    );
}

/// An unpriced model `free` and a priced `a`, with `reject_unpriced_models: strict`.
async fn unpriced_gateway(strict: bool) -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("free")).await.unwrap();
    let mut config = Config::with([
        openai("free", &mock.base_url()),
        priced("a", &mock.base_url()),
    ]);
    if strict {
        config = config.untyped_general("reject_unpriced_models", true);
    }
    let gw = Gateway::start(&config.yaml());
    (mock, gw)
}

#[tokio::test]
async fn strict_mode_refuses_budgeted_requests_to_unpriced_models() {
    let (mock, gw) = unpriced_gateway(true).await;
    let api = Api::new(&gw);
    let budgeted = api.new_key(json!({"max_budget": 1.0})).await;
    let refused = api.chat(&budgeted, "free").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_error(&refused.body, "invalid_request_error");
    assert_eq!(refused.body["error"]["param"], "model");
    let msg = refused.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("model=free has no price"), "{msg}");
    assert_eq!(mock.request_count(), 0, "refused before any upstream call");
    let stream = api
        .chat_with(&budgeted, &chat_for("free", None, true), &[])
        .await;
    assert_eq!(stream.status, 400, "{}", stream.body);
    assert_eq!(api.chat(&budgeted, "a").await.status, 200, "priced: served");

    let unbudgeted = api.new_key(json!({})).await;
    assert_eq!(
        api.chat(&unbudgeted, "free").await.status,
        200,
        "no budget, nothing to protect"
    );
    drop(gw);

    // Without strict mode the same request is served and costs 0.
    let (_mock, gw) = unpriced_gateway(false).await;
    let api = Api::new(&gw);
    let budgeted = api.new_key(json!({"max_budget": 1.0})).await;
    let served = api.chat(&budgeted, "free").await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(spend_row(&api, &served).await["spend"].as_f64(), Some(0.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_a_non_streaming_call_pays_the_prompt() {
    let mock = MockUpstream::start(Script::named("slow")).await.unwrap();
    let gw = Gateway::start(&Config::with([priced("slow", &mock.base_url())]).yaml());
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 100.0})).await;
    // The upstream takes the request and never answers; the client gives up.
    mock.push(Behavior::Hang);
    let (url, k) = (gw.url("/v1/chat/completions"), key.clone());
    let body =
        json!({"model": "slow", "messages": [{"role": "user", "content": "x".repeat(4000)}]});
    let waiting = tokio::spawn(async move {
        let _ = crate::common::client()
            .post(url)
            .bearer_auth(k)
            .json(&body)
            .send()
            .await;
    });
    crate::common::gov::poll(
        "the request upstream",
        Duration::from_secs(10),
        async || (mock.request_count() == 1).then_some(()),
    )
    .await;
    waiting.abort();
    // About 1,000 prompt tokens (4 bytes each) at $0.001: about $1, never $0.
    let spend = crate::common::gov::poll(
        "the abandoned call billed",
        Duration::from_secs(5),
        async || {
            let s = api.key_spend(&key).await;
            (s > 0.0).then_some(s)
        },
    )
    .await;
    assert!((0.9..1.2).contains(&spend), "spend {spend}");
    let row = crate::common::gov::poll("its spend row", Duration::from_secs(3), async || {
        let rows = api.spend_logs("").await;
        rows.into_iter().find(|r| r["model_group"] == "slow")
    })
    .await;
    assert_eq!(row["completion_tokens"], 0, "{row}");
    assert!(row["prompt_tokens"].as_u64().unwrap() > 900, "{row}");
}
