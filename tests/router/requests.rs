//! LiteLLM's per-request routing: a `fallbacks` entry carrying request fields of its own, end
//! users kept to the deployments of their `allowed_model_region`, and batch completions
//! (comma-separated models).

use std::time::Duration;

use serde_json::json;
use switchyard_mock::{server_error, Behavior};

use super::{chat, mock, model};
use crate::common::config::Config;
use crate::common::gov::{poll, token_of, Api};
use crate::common::{chat_body, Gateway};

#[tokio::test]
async fn a_fallback_entry_sends_its_own_messages() {
    let a = mock("a", server_error(500)).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &a), model("b", "b", &b)]).yaml();
    let gw = Gateway::start(&cfg);
    let custom = json!([{"role": "assistant", "content": "This is a custom message"}]);
    let mut body = chat_body("a");
    body["temperature"] = json!(0.5);
    body["fallbacks"] = json!([{"model": "b", "messages": custom}]);
    let (s, h, v) = chat(&gw, body, &[]).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(h["x-litellm-model-group"], "b");
    assert_eq!(h["x-litellm-attempted-fallbacks"], "1");
    let sent = b.requests()[0].json().unwrap();
    assert_eq!(
        sent["messages"], custom,
        "the entry's messages replace the client's"
    );
    assert_eq!(sent["temperature"], 0.5, "the client's other fields stay");
    assert_eq!(sent["model"], "up-b");
    assert!(sent.get("fallbacks").is_none(), "{sent}");
    let first = a.requests()[0].json().unwrap();
    assert_eq!(first["messages"][0]["content"], "hi", "{first}");
}

#[tokio::test]
async fn a_fallback_entry_must_name_a_model() {
    let a = mock("a", Behavior::Ok).await;
    let gw = Gateway::start(&Config::with([model("a", "a", &a)]).yaml());
    for bad in [json!([{"messages": []}]), json!([{"model": 3}]), json!([7])] {
        let mut body = chat_body("a");
        body["fallbacks"] = bad.clone();
        let (s, _, v) = chat(&gw, body, &[]).await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert_eq!(v["error"]["param"], "fallbacks", "{v}");
    }
    assert_eq!(a.request_count(), 0);
}

#[tokio::test]
async fn a_fallback_entry_the_key_may_not_use_is_skipped() {
    let a = mock("a", server_error(500)).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &a), model("b", "b", &b)]).yaml();
    let gw = Gateway::start(&cfg);
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["a"]})).await;
    let mut body = chat_body("a");
    body["fallbacks"] = json!([{"model": "b", "messages": [{"role": "user", "content": "x"}]}]);
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(b.request_count(), 0);
}

#[tokio::test]
async fn an_end_user_is_served_only_in_its_region() {
    let us = mock("us", Behavior::Ok).await;
    let eu = mock("eu", Behavior::Ok).await;
    let cfg = Config::with([
        model("us", "g", &us).region_name("us"),
        model("eu", "g", &eu).region_name("eu"),
        model("only-us", "us-only", &us).region_name("us"),
    ])
    .yaml();
    let gw = Gateway::start(&cfg);
    let api = Api::new(&gw);
    api.post_ok(
        "/end_user/new",
        &json!({"user_id": "eu-customer", "allowed_model_region": "eu"}),
    )
    .await;
    let key = api.new_key(json!({})).await;
    let mut body = chat_body("g");
    body["user"] = json!("eu-customer");
    for _ in 0..4 {
        let r = api.chat_with(&key, &body, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("x-litellm-model-id"), Some("eu"));
        assert_eq!(r.header("x-litellm-model-region"), Some("eu"));
    }
    assert_eq!(us.request_count(), 0);
    // A group with no deployment in the region refuses rather than leaving it.
    body["model"] = json!("us-only");
    let r = api.chat_with(&key, &body, &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("region eu"));
    assert_eq!(us.request_count(), 0);
    // Other callers are routed as before and named no region.
    let r = api.chat_with(&key, &chat_body("us-only"), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-litellm-model-region"), None);
}

#[tokio::test]
async fn comma_separated_models_answer_a_list_each_part_governed() {
    let a = mock("a", Behavior::Ok).await;
    let b = mock("b", Behavior::Ok).await;
    let cfg = Config::with([model("a", "a", &a), model("b", "b", &b)]).yaml();
    let gw = Gateway::start(&cfg);
    let api = Api::new(&gw);
    let key = api.new_key(json!({"models": ["a", "b"]})).await;
    let r = api.chat_with(&key, &chat_body("a, b"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body.as_array().expect("a JSON list");
    assert_eq!(list.len(), 2, "{}", r.body);
    assert_eq!(list[0]["object"], "chat.completion");
    assert_eq!(list[1]["object"], "chat.completion");
    assert_eq!((a.request_count(), b.request_count()), (1, 1));
    assert_eq!(b.requests()[0].json().unwrap()["model"], "up-b");
    // Each part is a request of the key's own: one spend row each.
    let token = token_of(&key);
    let mut groups = poll(
        "both parts' spend rows",
        Duration::from_secs(3),
        async || {
            let rows = api.spend_logs("").await;
            let mine: Vec<String> = rows
                .iter()
                .filter(|row| row["api_key"] == json!(token))
                .map(|row| row["model_group"].as_str().unwrap_or_default().to_string())
                .collect();
            (mine.len() == 2).then_some(mine)
        },
    )
    .await;
    groups.sort();
    assert_eq!(groups, ["a", "b"]);

    // A part the key may not use is its error, in its place; the others still answer.
    let narrow = api.new_key(json!({"models": ["b"]})).await;
    let r = api.chat_with(&narrow, &chat_body("a,b"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body[0]["error"]["message"].is_string(), "{}", r.body);
    assert_eq!(r.body[1]["object"], "chat.completion");
    assert_eq!(a.request_count(), 1, "the forbidden part reached nothing");

    let mut streamed = chat_body("a,b");
    streamed["stream"] = json!(true);
    let r = api.chat_with(&key, &streamed, &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["param"], "model");
}
