//! The management API's shapes (keys, teams, users, customers, budgets, model info) and who
//! may call it: the master key anything, a virtual key only what it was granted.

use serde_json::{json, Value};

use crate::common::config::{openai, Config, Model};
use crate::common::gov::{token_of, Api};
use crate::common::{Gateway, MASTER_KEY};
use crate::priced_gateway;
use switchyard_mock::{MockUpstream, Script};

/// The entry of a JSON array whose `field` is `id`, if any.
fn find<'v>(list: &'v Value, field: &str, id: &str) -> Option<&'v Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|e| e[field] == json!(id))
}

#[tokio::test]
async fn key_endpoints_answer_with_litellm_fields() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let body = json!({
        "key_alias": "shape", "duration": "30d", "models": ["a"], "max_budget": 5.0,
        "soft_budget": 4.0, "budget_duration": "30d", "user_id": "u-shape", "tpm_limit": 1000,
        "rpm_limit": 100, "max_parallel_requests": 10, "model_rpm_limit": {"a": 50},
        "model_tpm_limit": {"a": 500}, "metadata": {"env": "test"}, "tags": ["t1"],
        "allowed_routes": ["/chat/completions"],
    });
    let g = api.post_ok("/key/generate", &body).await;
    let key = g["key"].as_str().unwrap().to_string();
    assert_eq!(g["token"], token_of(&key));
    for field in [
        "key_alias",
        "models",
        "max_budget",
        "user_id",
        "tpm_limit",
        "rpm_limit",
        "max_parallel_requests",
        "metadata",
        "budget_duration",
        "allowed_routes",
    ] {
        assert_eq!(g[field], body[field], "{field}: {g}");
    }
    assert!(
        g["expires"].is_string() && g["budget_reset_at"].is_string(),
        "{g}"
    );
    assert_eq!(g["blocked"], false, "{g}");
    assert!(g["team_id"].is_null(), "{g}");

    let by_key = api.get_ok(&format!("/key/info?key={key}")).await;
    let by_token = api
        .get_ok(&format!("/key/info?key={}", token_of(&key)))
        .await;
    assert_eq!(by_key["info"], by_token["info"]);
    let info = &by_key["info"];
    for field in [
        "key_alias",
        "max_budget",
        "models",
        "user_id",
        "rpm_limit",
        "tpm_limit",
        "metadata",
    ] {
        assert_eq!(info[field], body[field], "{field}: {info}");
    }
    assert_eq!(info["spend"].as_f64(), Some(0.0));
    assert_eq!(info["blocked"], false);
    assert!(
        info["expires"].is_string() && info.get("team_id").is_some(),
        "{info}"
    );

    let list = api.get_ok("/key/list").await;
    let tokens = list["keys"].as_array().unwrap();
    assert!(tokens.contains(&json!(token_of(&key))), "{list}");
    for field in ["total_count", "current_page", "total_pages"] {
        assert!(list[field].is_number(), "{field}: {list}");
    }

    let u = api
        .post_ok(
            "/key/update",
            &json!({"key": key, "max_budget": 6.0, "metadata": {"v": 2}}),
        )
        .await;
    assert_eq!(
        (u["max_budget"].as_f64(), &u["metadata"]),
        (Some(6.0), &json!({"v": 2}))
    );

    let r = api
        .post_ok(&format!("/key/{key}/regenerate"), &json!({}))
        .await;
    let new_key = r["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert_eq!(r["key_alias"], "shape");
    let (status, _) = api.get(&format!("/key/info?key={key}")).await;
    assert_eq!(status, 404, "the old key is gone");

    let d = api
        .post_ok("/key/delete", &json!({"key_aliases": ["shape"]}))
        .await;
    assert_eq!(d["deleted_keys"].as_array().map(Vec::len), Some(1), "{d}");
    let list = api.get_ok("/key/list").await;
    assert!(!list["keys"]
        .as_array()
        .unwrap()
        .contains(&json!(token_of(&new_key))));
}

#[tokio::test]
async fn team_endpoints_manage_members_and_blocking() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let t = api
        .post_ok(
            "/team/new",
            &json!({"team_alias": "core", "models": ["a"], "max_budget": 9.0,
                    "budget_duration": "30d", "tpm_limit": 1000, "rpm_limit": 100,
                    "max_parallel_requests": 5, "metadata": {"org": "x"},
                    "members_with_roles": [{"role": "admin", "user_id": "u-admin"}]}),
        )
        .await;
    let team_id = t["team_id"].as_str().unwrap().to_string();
    assert_eq!(team_id.len(), 36, "a generated uuid: {team_id}");
    assert_eq!(team_id.matches('-').count(), 4);
    for (field, want) in [
        ("team_alias", json!("core")),
        ("models", json!(["a"])),
        ("max_budget", json!(9.0)),
        ("rpm_limit", json!(100)),
    ] {
        assert_eq!(t[field], want, "{field}: {t}");
    }
    let named = api
        .post_ok("/team/new", &json!({"team_id": "team-fixed"}))
        .await;
    assert_eq!(named["team_id"], "team-fixed");

    let key = api.new_key(json!({"team_id": team_id})).await;
    let info = api.get_ok(&format!("/team/info?team_id={team_id}")).await;
    assert_eq!(info["team_id"], json!(team_id));
    assert_eq!(info["team_info"]["team_alias"], "core");
    assert_eq!(info["team_info"]["spend"].as_f64(), Some(0.0));
    let keys = info["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{info}");
    assert_eq!(keys[0]["token"], token_of(&key));

    let member = json!({"team_id": team_id, "member": {"role": "user", "user_id": "u1"},
                        "max_budget_in_team": 1.0});
    api.post_ok("/team/member_add", &member).await;
    let members = |v: &Value| v["team_info"]["members_with_roles"].clone();
    let info = api.get_ok(&format!("/team/info?team_id={team_id}")).await;
    assert!(find(&members(&info), "user_id", "u1").is_some(), "{info}");
    assert!(
        find(&members(&info), "user_id", "u-admin").is_some(),
        "{info}"
    );
    api.post_ok(
        "/team/member_delete",
        &json!({"team_id": team_id, "user_id": "u1"}),
    )
    .await;
    let info = api.get_ok(&format!("/team/info?team_id={team_id}")).await;
    assert!(find(&members(&info), "user_id", "u1").is_none(), "{info}");

    let u = api
        .post_ok(
            "/team/update",
            &json!({"team_id": team_id, "max_budget": 11.0}),
        )
        .await;
    assert_eq!(u["max_budget"].as_f64(), Some(11.0), "{u}");
    let info = api.get_ok(&format!("/team/info?team_id={team_id}")).await;
    assert_eq!(info["team_info"]["max_budget"].as_f64(), Some(11.0));

    api.post_ok("/team/block", &json!({"team_id": team_id}))
        .await;
    let r = api.chat(&key, "a").await;
    assert_eq!(
        r.status, 401,
        "a blocked team's keys are refused: {}",
        r.body
    );
    assert_eq!(mocks[0].request_count(), 0);
    api.post_ok("/team/unblock", &json!({"team_id": team_id}))
        .await;
    assert_eq!(api.chat(&key, "a").await.status, 200);

    let list = api.get_ok("/team/list").await;
    assert!(find(&list, "team_id", &team_id).is_some(), "{list}");
    assert!(find(&list, "team_id", "team-fixed").is_some(), "{list}");
    api.post_ok("/team/delete", &json!({"team_ids": ["team-fixed"]}))
        .await;
    let list = api.get_ok("/team/list").await;
    assert!(find(&list, "team_id", "team-fixed").is_none(), "{list}");
}

#[tokio::test]
async fn user_endpoints_answer_with_litellm_fields() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let u = api
        .post_ok(
            "/user/new",
            &json!({"user_id": "u-shape", "user_email": "u@example.com",
                    "user_role": "internal_user", "max_budget": 5.0, "models": ["a"],
                    "tpm_limit": 1000, "rpm_limit": 100, "budget_duration": "30d"}),
        )
        .await;
    assert_eq!(u["user_id"], "u-shape");
    let key = u["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sk-"), "{u}");
    assert_eq!(
        api.chat(&key, "a").await.status,
        200,
        "the user's key works"
    );
    let generated = api.post_ok("/user/new", &json!({})).await;
    assert!(
        generated["user_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{generated}"
    );

    let info = api.get_ok("/user/info?user_id=u-shape").await;
    assert_eq!(info["user_id"], "u-shape");
    let ui = &info["user_info"];
    assert_eq!(ui["user_email"], "u@example.com");
    assert_eq!(ui["max_budget"].as_f64(), Some(5.0));
    assert!(ui["spend"].is_number(), "{info}");
    assert!(
        find(&info["keys"], "token", &token_of(&key)).is_some(),
        "{info}"
    );
    assert!(info["teams"].is_array(), "{info}");

    let up = api
        .post_ok(
            "/user/update",
            &json!({"user_id": "u-shape", "max_budget": 7.0}),
        )
        .await;
    assert_eq!(up["max_budget"].as_f64(), Some(7.0), "{up}");
    let info = api.get_ok("/user/info?user_id=u-shape").await;
    assert_eq!(info["user_info"]["max_budget"].as_f64(), Some(7.0));

    let list = api.get_ok("/user/list").await;
    assert!(
        find(&list["users"], "user_id", "u-shape").is_some(),
        "{list}"
    );
    for field in ["total", "page", "page_size", "total_pages"] {
        assert!(list[field].is_number(), "{field}: {list}");
    }
    api.post_ok("/user/delete", &json!({"user_ids": ["u-shape"]}))
        .await;
    let list = api.get_ok("/user/list").await;
    assert!(
        find(&list["users"], "user_id", "u-shape").is_none(),
        "{list}"
    );
}

/// `max_budget` of a customer, top-level or in its `litellm_budget_table`.
fn customer_budget(c: &Value) -> Option<f64> {
    c["litellm_budget_table"]["max_budget"]
        .as_f64()
        .or_else(|| c["max_budget"].as_f64())
}

#[tokio::test]
async fn customer_endpoints_and_their_end_user_aliases() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    api.post_ok(
        "/customer/new",
        &json!({"user_id": "cust-a", "max_budget": 3.0, "budget_duration": "30d",
                "alias": "Acme", "rpm_limit": 10, "tpm_limit": 1000}),
    )
    .await;
    api.post_ok(
        "/end_user/new",
        &json!({"user_id": "cust-b", "max_budget": 1.0}),
    )
    .await;
    let a = api.get_ok("/customer/info?end_user_id=cust-a").await;
    assert_eq!(a["user_id"], "cust-a");
    assert_eq!(a["spend"].as_f64(), Some(0.0));
    assert_eq!(a["blocked"], false);
    assert_eq!(customer_budget(&a), Some(3.0), "{a}");
    let b = api.get_ok("/end_user/info?end_user_id=cust-b").await;
    assert_eq!(customer_budget(&b), Some(1.0), "{b}");

    let list = api.get_ok("/customer/list").await;
    assert!(
        find(&list, "user_id", "cust-a").is_some() && find(&list, "user_id", "cust-b").is_some()
    );

    api.post_ok(
        "/customer/update",
        &json!({"user_id": "cust-a", "max_budget": 4.0}),
    )
    .await;
    let a = api.get_ok("/customer/info?end_user_id=cust-a").await;
    assert_eq!(customer_budget(&a), Some(4.0), "{a}");

    api.post_ok("/customer/block", &json!({"user_ids": ["cust-a"]}))
        .await;
    assert_eq!(
        api.get_ok("/customer/info?end_user_id=cust-a").await["blocked"],
        true
    );
    api.post_ok("/customer/unblock", &json!({"user_ids": ["cust-a"]}))
        .await;
    assert_eq!(
        api.get_ok("/customer/info?end_user_id=cust-a").await["blocked"],
        false
    );

    api.post_ok(
        "/customer/delete",
        &json!({"user_ids": ["cust-a", "cust-b"]}),
    )
    .await;
    let list = api.get_ok("/end_user/list").await;
    assert!(find(&list, "user_id", "cust-a").is_none(), "{list}");
}

#[tokio::test]
async fn budget_endpoints_create_read_update_delete() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let body = json!({"budget_id": "b1", "max_budget": 2.0, "rpm_limit": 5, "tpm_limit": 100,
                      "budget_duration": "1d"});
    let created = api.post_ok("/budget/new", &body).await;
    assert_eq!(
        (&created["budget_id"], created["max_budget"].as_f64()),
        (&json!("b1"), Some(2.0))
    );
    let info = api
        .post_ok("/budget/info", &json!({"budgets": ["b1"]}))
        .await;
    let b1 = find(&info, "budget_id", "b1").unwrap_or_else(|| panic!("{info}"));
    assert_eq!(
        (b1["rpm_limit"].as_u64(), b1["tpm_limit"].as_u64()),
        (Some(5), Some(100))
    );
    let list = api.get_ok("/budget/list").await;
    assert!(find(&list, "budget_id", "b1").is_some(), "{list}");
    api.post_ok(
        "/budget/update",
        &json!({"budget_id": "b1", "max_budget": 3.0}),
    )
    .await;
    let info = api
        .post_ok("/budget/info", &json!({"budgets": ["b1"]}))
        .await;
    assert_eq!(
        find(&info, "budget_id", "b1").unwrap()["max_budget"].as_f64(),
        Some(3.0)
    );
    api.post_ok("/budget/delete", &json!({"id": "b1"})).await;
    let list = api.get_ok("/budget/list").await;
    assert!(find(&list, "budget_id", "b1").is_none(), "{list}");
}

#[tokio::test]
async fn model_info_never_shows_provider_keys() {
    let (_mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    for path in ["/model/info", "/v1/model/info"] {
        let v = api.get_ok(path).await;
        assert!(!v.to_string().contains("sk-provider-secret"), "{path}: {v}");
        let a = find(&v["data"], "model_name", "a").unwrap_or_else(|| panic!("{v}"));
        assert!(
            a["litellm_params"].is_object() && a["model_info"].is_object(),
            "{a}"
        );
        assert!(a["litellm_params"].get("api_key").is_none(), "{a}");
    }
    let groups = api.get_ok("/model_group/info").await;
    assert!(
        find(&groups["data"], "model_group", "b").is_some(),
        "{groups}"
    );
}

/// LiteLLM echoes a deployment's `model_info` from the config, custom keys included, over
/// the computed fields.
#[tokio::test]
async fn model_info_echoes_the_configs_custom_keys() {
    let mock = MockUpstream::start(Script::named("v")).await.unwrap();
    let model = openai("v", &mock.base_url())
        .id("v-1")
        .untyped_info("supports_vision", true)
        .untyped_info("base_model", "gpt-4o")
        .untyped_info("team_note", json!({"owner": "ml", "tier": 2}))
        .max_input_tokens(1234);
    let gw = Gateway::start(&Config::with([model]).yaml());
    let v = Api::new(&gw).get_ok("/model/info").await;
    let info = &find(&v["data"], "model_name", "v").unwrap_or_else(|| panic!("{v}"))["model_info"];
    assert_eq!(info["id"], "v-1", "{info}");
    assert_eq!(info["supports_vision"], true, "{info}");
    assert_eq!(info["base_model"], "gpt-4o", "{info}");
    assert_eq!(
        info["team_note"],
        json!({"owner": "ml", "tier": 2}),
        "{info}"
    );
    assert_eq!(info["max_input_tokens"], 1234, "{info}");
    assert_eq!(info["litellm_provider"], "openai", "{info}");
}

/// A provider wildcard group is listed as the models the price table knows for it, named
/// under the wildcard's prefix; a stem (`groq/llama*`) narrows them.
#[tokio::test]
async fn model_group_info_expands_provider_wildcards() {
    let mock = MockUpstream::start(Script::named("w")).await.unwrap();
    let base = mock.base_url();
    let wildcard = |name: &str| Model::new(name, name).api_base(&base).api_key("k");
    let gw = Gateway::start(&Config::with([wildcard("groq/llama*"), wildcard("*")]).yaml());
    let v = Api::new(&gw).get_ok("/model_group/info").await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["model_group"].as_str())
        .collect();
    // The patterns are not entries of their own, only the models they stand for; a bare `*`
    // stands for none.
    assert!(!names.is_empty(), "{names:?}");
    for n in &names {
        assert!(n.starts_with("groq/llama") && !n.contains('*'), "{names:?}");
    }
    let first = &v["data"][0];
    assert_eq!(first["providers"], json!(["groq"]), "{first}");
    assert!(
        first["input_cost_per_token"].as_f64().unwrap() > 0.0,
        "{first}"
    );
}

#[tokio::test]
async fn virtual_keys_cannot_manage_and_bad_json_is_a_400() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let plain = api.new_key(json!({})).await;
    for (path, body) in [
        ("/key/generate", json!({})),
        ("/team/new", json!({"team_alias": "x"})),
        ("/user/new", json!({"user_id": "x"})),
        ("/customer/new", json!({"user_id": "x"})),
        ("/budget/new", json!({"budget_id": "x"})),
    ] {
        let (status, v) = api.post_as(&plain, path, &body).await;
        assert!(matches!(status, 401 | 403), "{path}: {status} {v}");
    }
    let (status, _) = api.get_as(&plain, "/key/list").await;
    assert!(matches!(status, 401 | 403), "/key/list: {status}");
    assert!(api
        .get_ok("/team/list")
        .await
        .as_array()
        .unwrap()
        .is_empty());

    let resp = api
        .http
        .post(gw.url("/key/generate"))
        .bearer_auth(MASTER_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"].is_string() && v["error"]["type"].is_string(),
        "{v}"
    );
}

#[tokio::test]
async fn a_key_may_only_grant_a_subset_of_its_own_models_and_routes() {
    let (mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    let routes = json!(["/key/generate", "/chat/completions", "/v1/chat/completions"]);
    let parent = api
        .new_key(json!({"models": ["a"], "allowed_routes": routes}))
        .await;
    for body in [
        json!({"models": ["a"], "allowed_routes": ["/*"]}),
        json!({"models": ["a", "b"], "allowed_routes": ["/v1/chat/completions"]}),
    ] {
        let (status, v) = api.post_as(&parent, "/key/generate", &body).await;
        assert_eq!(status, 403, "{body}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    let (status, _) = api.post_as(&parent, "/team/new", &json!({})).await;
    assert!(
        matches!(status, 401 | 403),
        "a route it was not granted: {status}"
    );

    let subset = json!({"models": ["a"], "allowed_routes": ["/v1/chat/completions"]});
    let (status, child) = api.post_as(&parent, "/key/generate", &subset).await;
    assert_eq!(status, 200, "{child}");
    let child = child["key"].as_str().unwrap().to_string();
    assert_eq!(api.chat(&child, "a").await.status, 200);
    assert_eq!(api.chat(&child, "b").await.status, 403);
    let (status, _) = api.post_as(&child, "/key/generate", &json!({})).await;
    assert!(
        matches!(status, 401 | 403),
        "the child may not generate keys: {status}"
    );
    assert_eq!(mocks[1].request_count(), 0);

    let (status, _) = api
        .post("/key/generate", &json!({"allowed_routes": ["/*"]}))
        .await;
    assert_eq!(status, 200, "the master key may grant anything");
}
