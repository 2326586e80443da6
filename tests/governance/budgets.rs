//! Budgets: key, team, user, team member, customer and global; each refuses with 400
//! `budget_exceeded` before any upstream call once spend has reached it.

use std::time::Duration;

use serde_json::json;
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::{Config, Model};
use crate::common::gov::{approx, assert_budget_exceeded, chat_for, poll, Api, TINY};
use crate::common::Gateway;
use crate::{priced_gateway, priced_gateway_with};

#[tokio::test]
async fn a_key_budget_admits_until_spend_passes_it() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": TINY})).await;
    let first = api.chat(&key, "a").await;
    assert_eq!(first.status, 200, "spend 0 is under budget: {}", first.body);
    assert!(first.cost() > TINY);
    assert_budget_exceeded(&api.chat(&key, "a").await);
    assert_eq!(
        mocks[0].request_count(),
        1,
        "the refusal reaches no upstream"
    );
    api.await_key_spend(&key, first.cost()).await;
}

#[tokio::test]
async fn a_key_with_a_zero_budget_is_refused_on_its_first_request() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 0.0})).await;
    assert_budget_exceeded(&api.chat(&key, "a").await);
    assert_eq!(mocks[0].request_count(), 0);
}

#[tokio::test]
async fn a_team_budget_is_shared_by_every_key_of_the_team() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "t", "max_budget": TINY}))
        .await;
    let team_id = team["team_id"].as_str().unwrap().to_string();
    let k1 = api.new_key(json!({"team_id": team_id})).await;
    let k2 = api.new_key(json!({"team_id": team_id})).await;
    let first = api.chat(&k1, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_budget_exceeded(&api.chat(&k2, "a").await);
    assert_budget_exceeded(&api.chat(&k1, "a").await);
    assert_eq!(mocks[0].request_count(), 1);
    let info = api.get_ok(&format!("/team/info?team_id={team_id}")).await;
    assert!(
        approx(info["team_info"]["spend"].as_f64().unwrap(), first.cost()),
        "{info}"
    );
    // The remaining budget is exported per team (refreshed every second).
    let series =
        format!("litellm_remaining_team_budget_metric{{team=\"{team_id}\",team_alias=\"t\"}}");
    let left: f64 = poll(
        "the team budget gauge",
        Duration::from_secs(5),
        async || {
            let text = crate::common::metrics_text(&gw).await;
            let v: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())?;
            (v != 0.0).then_some(v)
        },
    )
    .await;
    assert!(approx(left, TINY - first.cost()), "{left}");
}

#[tokio::test]
async fn a_user_budget_covers_the_users_keys_without_a_team() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let user = api
        .post_ok(
            "/user/new",
            &json!({"user_id": "u-budget", "max_budget": TINY}),
        )
        .await;
    let user_key = user["key"].as_str().unwrap().to_string();
    let other_key = api.new_key(json!({"user_id": "u-budget"})).await;
    let first = api.chat(&user_key, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_budget_exceeded(&api.chat(&other_key, "a").await);
    assert_eq!(mocks[0].request_count(), 1);
    let info = api.get_ok("/user/info?user_id=u-budget").await;
    assert!(
        approx(info["user_info"]["spend"].as_f64().unwrap(), first.cost()),
        "{info}"
    );
}

#[tokio::test]
async fn a_team_members_budget_limits_only_that_member() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "members"}))
        .await;
    let team_id = team["team_id"].as_str().unwrap().to_string();
    for (user, budget) in [("u-capped", json!(TINY)), ("u-free", json!(null))] {
        let body = json!({"team_id": team_id, "member": {"role": "user", "user_id": user},
                          "max_budget_in_team": budget});
        api.post_ok("/team/member_add", &body).await;
    }
    let capped = api
        .new_key(json!({"team_id": team_id, "user_id": "u-capped"}))
        .await;
    let free = api
        .new_key(json!({"team_id": team_id, "user_id": "u-free"}))
        .await;
    assert_eq!(api.chat(&capped, "a").await.status, 200);
    assert_budget_exceeded(&api.chat(&capped, "a").await);
    assert_eq!(
        api.chat(&free, "a").await.status,
        200,
        "the team has no budget"
    );
    assert_eq!(mocks[0].request_count(), 2);
}

#[tokio::test]
async fn a_customer_budget_follows_the_user_field_and_the_customer_headers() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    for id in ["cust-1", "cust-2"] {
        api.post_ok("/customer/new", &json!({"user_id": id, "max_budget": TINY}))
            .await;
    }
    let key = api.new_key(json!({})).await;
    let first = api
        .chat_with(&key, &chat_for("a", Some("cust-1"), false), &[])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let plain = chat_for("a", None, false);
    let by_header = api
        .chat_with(&key, &plain, &[("x-litellm-customer-id", "cust-1")])
        .await;
    assert_budget_exceeded(&by_header);
    assert_budget_exceeded(
        &api.chat_with(&key, &chat_for("a", Some("cust-1"), false), &[])
            .await,
    );
    assert_eq!(mocks[0].request_count(), 1);

    let second = api
        .chat_with(&key, &plain, &[("x-litellm-end-user-id", "cust-2")])
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_budget_exceeded(
        &api.chat_with(&key, &chat_for("a", Some("cust-2"), false), &[])
            .await,
    );
    let unknown = api
        .chat_with(&key, &chat_for("a", Some("cust-new"), false), &[])
        .await;
    assert_eq!(unknown.status, 200, "a customer with no budget is served");
    assert_eq!(
        api.chat(&key, "a").await.status,
        200,
        "no customer, no customer budget"
    );
    assert_eq!(mocks[0].request_count(), 4);

    let info = poll("customer spend", Duration::from_secs(2), async || {
        let v = api.get_ok("/customer/info?end_user_id=cust-1").await;
        approx(v["spend"].as_f64()?, first.cost()).then_some(v)
    })
    .await;
    assert_eq!(info["user_id"], "cust-1");
}

#[tokio::test]
async fn a_blocked_customer_is_refused_without_an_upstream_call() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    api.post_ok(
        "/customer/new",
        &json!({"user_id": "cust-blocked", "blocked": true}),
    )
    .await;
    let key = api.new_key(json!({})).await;
    let body = chat_for("a", Some("cust-blocked"), false);
    let r = api.chat_with(&key, &body, &[]).await;
    assert!(matches!(r.status, 400 | 403), "{} {}", r.status, r.body);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);
    let plain = chat_for("a", None, false);
    let r = api
        .chat_with(&key, &plain, &[("x-litellm-customer-id", "cust-blocked")])
        .await;
    assert!(matches!(r.status, 400 | 403), "{} {}", r.status, r.body);
    assert_eq!(mocks[0].request_count(), 0);
    api.post_ok("/customer/unblock", &json!({"user_ids": ["cust-blocked"]}))
        .await;
    assert_eq!(api.chat_with(&key, &body, &[]).await.status, 200);
}

#[tokio::test]
async fn the_global_budget_stops_every_key() {
    let settings = Config::new().litellm(|l| l.max_budget(0.000001).budget_duration("30d"));
    let (mocks, gw) = priced_gateway_with(&["a"], settings).await;
    let api = Api::new(&gw);
    let k1 = api.new_key(json!({})).await;
    let first = api.chat(&k1, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let k2 = api.new_key(json!({})).await;
    assert_budget_exceeded(&api.chat(&k2, "a").await);
    assert_budget_exceeded(&api.chat(&k1, "a").await);
    assert_eq!(mocks[0].request_count(), 1);
    let global = poll("global spend", Duration::from_secs(2), async || {
        let v = api.get_ok("/global/spend").await;
        approx(v["spend"].as_f64()?, first.cost()).then_some(v)
    })
    .await;
    assert!(
        approx(global["max_budget"].as_f64().unwrap(), TINY),
        "{global}"
    );
}

/// 50 concurrent streams against a budget: admission reserves spend, so the key ends at most
/// one request's cost over its budget, and every refusal is a `budget_exceeded`.
#[tokio::test]
async fn concurrent_streams_overshoot_a_budget_by_at_most_one_request() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let body = chat_for("a", None, true);
    let probe = api.new_key(json!({})).await;
    let one = api.chat_with(&probe, &body, &[]).await;
    let cost = one.cost();
    let budget = 2.5 * cost;
    let key = api.new_key(json!({"max_budget": budget})).await;
    let calls_before = mocks[0].request_count();

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (url, key, body) = (gw.url("/v1/chat/completions"), key.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, text)
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        let (status, text) = t.await.unwrap();
        match status {
            200 => {
                assert!(text.contains("data: [DONE]"), "{text}");
                admitted += 1;
            }
            400 => assert!(text.contains("budget_exceeded"), "{text}"),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert!(admitted >= 1, "nothing admitted");
    assert_eq!(mocks[0].request_count() - calls_before, admitted);
    api.await_key_spend(&key, admitted as f64 * cost).await;
    let spend = api.key_spend(&key).await;
    assert!(
        spend <= budget + cost + 1e-9,
        "spend {spend} > budget {budget} + one request {cost} ({admitted} admitted)"
    );
}

/// An Azure deployment's name (`azure/chatgpt-v-2`) has no price; its answers name the base
/// model (`gpt-35-turbo`), which does: spend is priced by that, as LiteLLM prices it, so a
/// budget holds. A deployment with its own price keeps it whatever its answer names.
#[tokio::test]
async fn an_unpriced_deployment_is_priced_by_the_model_its_answer_names() {
    let mock = MockUpstream::start(Script {
        azure_model: Some("gpt-35-turbo".into()),
        ..Script::named("az")
    })
    .await
    .unwrap();
    let azure = |name: &str| {
        Model::new(name, "azure/chatgpt-v-2")
            .api_base(&format!("http://{}", mock.addr()))
            .api_key("k")
            .api_version("2024-10-21")
    };
    // The priced deployment's prices are in its `model_info`.
    let priced = azure("az-priced")
        .untyped_info("input_cost_per_token", 0.001)
        .untyped_info("output_cost_per_token", 0.002);
    let gw = Gateway::start(&Config::with([azure("az"), priced]).yaml());
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": TINY})).await;
    // Azure's gpt-35-turbo in the bundled table: $0.5 / $1.5 per million tokens.
    let table_cost = |usage: &serde_json::Value| {
        usage["prompt_tokens"].as_f64().unwrap() * 5e-7
            + usage["completion_tokens"].as_f64().unwrap() * 1.5e-6
    };
    for stream in [false, true] {
        let key = api.new_key(json!({})).await;
        let r = api
            .chat_with(&key, &chat_for("az", None, stream), &[])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["model"], "gpt-35-turbo");
        api.await_key_spend(&key, table_cost(&r.body["usage"]))
            .await;
    }
    let first = api.chat(&key, "az").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_budget_exceeded(&api.chat(&key, "az").await);

    let own = api.new_key(json!({})).await;
    let r = api.chat(&own, "az-priced").await;
    assert_eq!(r.body["model"], "gpt-35-turbo");
    api.await_key_spend(&own, r.cost()).await;
    assert_eq!(mock.request_count(), 4);
}
