//! Virtual keys on the data plane: lifecycle, expiry, model access, soft budgets, spend logs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::common::gov::{
    approx, assert_error, chat_for, poll, token_of, Api, Reply, IN_COST, OUT_COST,
};
use crate::priced_gateway;
use switchyard::governance::period::parse_date;

fn assert_auth_error(r: &Reply) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_error(&r.body, "auth_error");
}

#[tokio::test]
async fn key_lifecycle_generate_use_update_block_regenerate_delete() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let generated = api
        .post_ok(
            "/key/generate",
            &json!({"key_alias": "life", "max_budget": 100.0}),
        )
        .await;
    let key = generated["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sk-"), "{generated}");
    assert_eq!(generated["token"], token_of(&key), "token is sha256(key)");
    assert_eq!(
        generated["key_name"],
        format!("sk-...{}", &key[key.len() - 4..])
    );
    assert_eq!(generated["key_alias"], "life");
    assert_eq!(generated["spend"].as_f64(), Some(0.0));
    assert!(generated["expires"].is_null(), "{generated}");

    let first = api.chat(&key, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let cost = first.cost();
    assert!(approx(
        cost,
        first.body["usage"]["prompt_tokens"].as_f64().unwrap() * IN_COST
            + first.body["usage"]["completion_tokens"].as_f64().unwrap() * OUT_COST
    ));
    let header_cost: f64 = first
        .header("x-litellm-response-cost")
        .unwrap()
        .parse()
        .unwrap();
    assert!(approx(header_cost, cost), "{header_cost} != {cost}");
    let key_spend = first
        .header("x-litellm-key-spend")
        .expect("x-litellm-key-spend");
    assert!(key_spend.parse::<f64>().is_ok(), "{key_spend}");
    let mut total = cost;
    api.await_key_spend(&key, total).await;
    let info = api.key_info(&key).await;
    assert_eq!(info["token"], token_of(&key));
    assert_eq!(info["key_alias"], "life");
    assert_eq!(info["max_budget"].as_f64(), Some(100.0));
    assert!(
        !info.to_string().contains(&key),
        "raw key leaked in info: {info}"
    );

    let updated = api
        .post_ok("/key/update", &json!({"key": key, "rpm_limit": 50}))
        .await;
    assert_eq!(updated["rpm_limit"], 50, "{updated}");
    assert_eq!(api.key_info(&key).await["rpm_limit"], 50);

    let blocked = api.post_ok("/key/block", &json!({"key": key})).await;
    assert_eq!(blocked["blocked"], true, "{blocked}");
    let calls = mocks[0].request_count();
    assert_auth_error(&api.chat(&key, "a").await);
    assert_eq!(
        mocks[0].request_count(),
        calls,
        "a blocked key reaches no upstream"
    );

    let unblocked = api.post_ok("/key/unblock", &json!({"key": key})).await;
    assert_eq!(unblocked["blocked"], false, "{unblocked}");
    let r = api.chat(&key, "a").await;
    assert_eq!(r.status, 200, "{}", r.body);
    total += r.cost();

    let regenerated = api.post_ok("/key/regenerate", &json!({"key": key})).await;
    let new_key = regenerated["key"].as_str().unwrap().to_string();
    assert!(
        new_key.starts_with("sk-") && new_key != key,
        "{regenerated}"
    );
    assert_eq!(regenerated["token"], token_of(&new_key));
    assert_auth_error(&api.chat(&key, "a").await);
    let r = api.chat(&new_key, "a").await;
    assert_eq!(r.status, 200, "{}", r.body);
    total += r.cost();
    api.await_key_spend(&new_key, total).await;
    let info = api.key_info(&new_key).await;
    assert_eq!(info["rpm_limit"], 50, "limits carry over: {info}");
    assert_eq!(info["key_alias"], "life");

    let deleted = api
        .post_ok("/key/delete", &json!({"keys": [new_key]}))
        .await;
    assert_eq!(deleted["deleted_keys"], json!([new_key]), "{deleted}");
    let calls = mocks[0].request_count();
    assert_auth_error(&api.chat(&new_key, "a").await);
    assert_eq!(mocks[0].request_count(), calls);
    let (status, _) = api.get(&format!("/key/info?key={new_key}")).await;
    assert_eq!(status, 404, "a deleted key has no info");
}

/// A key made with `duration` expires that long after it was made. That it is refused from
/// then on is `governance::clock_tests::a_key_expires_when_the_clock_passes_its_duration`,
/// which moves a manual clock instead of waiting for the wall clock.
#[tokio::test]
async fn a_key_made_with_a_duration_expires_that_long_from_now() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let unix_now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let before = unix_now();
    let generated = api
        .post_ok("/key/generate", &json!({"duration": "2h"}))
        .await;
    let after = unix_now();
    let expires = generated["expires"].as_str().expect("expires");
    let at = parse_date(expires).expect("an ISO datetime");
    assert!(
        (before + 7200..=after + 7200).contains(&at),
        "{expires} is not 2 h after {before}..={after}"
    );
    let key = generated["key"].as_str().unwrap();
    let r = api.chat(key, "a").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn key_and_team_models_restrict_which_models_a_key_may_use() {
    let (mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    let only_a = api.new_key(json!({"models": ["a"]})).await;
    assert_eq!(api.chat(&only_a, "a").await.status, 200);
    let denied = api.chat(&only_a, "b").await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_error(&denied.body, "key_model_access_denied");
    assert_eq!(denied.body["error"]["param"], "model");
    assert_eq!(mocks[1].request_count(), 0, "b never called");

    let team = api
        .post_ok(
            "/team/new",
            &json!({"team_alias": "only-a", "models": ["a"]}),
        )
        .await;
    let team_key = api.new_key(json!({"team_id": team["team_id"]})).await;
    assert_eq!(api.chat(&team_key, "a").await.status, 200);
    let denied = api.chat(&team_key, "b").await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_error(&denied.body, "team_model_access_denied");
    assert_eq!(mocks[1].request_count(), 0, "b never called");

    let any = api.new_key(json!({})).await;
    assert_eq!(api.chat(&any, "a").await.status, 200);
    assert_eq!(api.chat(&any, "b").await.status, 200, "empty models = all");
    assert_eq!(mocks[1].request_count(), 1);
}

#[tokio::test]
async fn a_soft_budget_below_spend_still_serves() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"soft_budget": 0.000_001})).await;
    let mut total = 0.0;
    for _ in 0..3 {
        let r = api.chat(&key, "a").await;
        assert_eq!(r.status, 200, "soft budgets only alert: {}", r.body);
        total += r.cost();
    }
    assert_eq!(mocks[0].request_count(), 3);
    api.await_key_spend(&key, total).await;
}

#[tokio::test]
async fn spend_logs_record_every_request_and_sum_to_global_spend() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"key_alias": "logged"})).await;
    let token = token_of(&key);
    let plain = api.chat(&key, "a").await;
    let streamed = api.chat_with(&key, &chat_for("a", None, true), &[]).await;
    assert_eq!((plain.status, streamed.status), (200, 200));
    let replies = [plain, streamed];
    let ids: Vec<String> = replies.iter().map(Reply::call_id).collect();
    assert_ne!(ids[0], ids[1]);
    let rows = api.await_spend_rows(&ids).await;
    for (row, reply) in rows.iter().zip(&replies) {
        let usage = &reply.body["usage"];
        assert_eq!(row["api_key"], token, "{row}");
        assert_eq!(row["model_group"], "a", "{row}");
        let model = row["model"].as_str().unwrap_or_default();
        assert!(model == "a" || model.contains("upstream-a"), "{row}");
        for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            assert_eq!(row[field], usage[field], "{field}: {row}");
        }
        assert!(
            approx(row["spend"].as_f64().unwrap(), reply.cost()),
            "{row}"
        );
        assert_eq!(row["status"], "success", "{row}");
        assert!(
            row["startTime"].is_string() && row["endTime"].is_string(),
            "{row}"
        );
    }
    let total: f64 = replies.iter().map(Reply::cost).sum();

    let by_id = api.spend_logs(&format!("?request_id={}", ids[0])).await;
    assert_eq!(by_id.len(), 1, "{by_id:?}");
    assert_eq!(by_id[0]["litellm_call_id"], json!(ids[0]));
    // As LiteLLM: a row's request_id is the answer's id, and finds it (streamed or not).
    for (reply, call_id) in replies.iter().zip(&ids) {
        let answer_id = reply.body["id"].as_str().expect("answer id");
        assert!(answer_id.starts_with("chatcmpl-"), "{answer_id}");
        let rows = api.spend_logs(&format!("?request_id={answer_id}")).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["request_id"], json!(answer_id));
        assert_eq!(rows[0]["litellm_call_id"], json!(call_id));
    }
    let by_key = api.spend_logs(&format!("?api_key={token}")).await;
    assert_eq!(by_key.len(), 2, "{by_key:?}");

    let all = api.spend_logs("").await;
    let logged: f64 = all.iter().map(|r| r["spend"].as_f64().unwrap()).sum();
    assert!(approx(logged, total), "{logged} != {total}");
    let global = poll("global spend", Duration::from_secs(2), async || {
        let v = api.get_ok("/global/spend").await;
        approx(v["spend"].as_f64()?, total).then_some(v)
    })
    .await;
    assert!(global.get("max_budget").is_some(), "{global}");

    let keys = api.get_ok("/global/spend/keys?limit=10").await;
    let entry = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["api_key"] == json!(token))
        .cloned()
        .unwrap_or_else(|| panic!("key missing from /global/spend/keys: {keys}"));
    assert!(
        approx(entry["total_spend"].as_f64().unwrap(), total),
        "{entry}"
    );
    assert_eq!(entry["key_alias"], "logged");
    let models = api.get_ok("/global/spend/models").await;
    let a: Value = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["model"]
                .as_str()
                .is_some_and(|s| s == "a" || s.contains("upstream-a"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("model missing from /global/spend/models: {models}"));
    assert!(approx(a["total_spend"].as_f64().unwrap(), total), "{a}");
}
