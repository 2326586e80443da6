//! Key minting by non-admin callers has a bound: no outliving the parent, no shorter budget
//! periods, no fields an admin alone may set, and every minted key spends its parent's and
//! its user's budget. The config's upper bounds and defaults hold for every caller.

use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::Config;
use crate::common::gov::{assert_budget_exceeded, assert_error, priced, Api, TINY};
use crate::common::{Gateway, MASTER_KEY};

/// One priced model `a` on a mock, added to `settings` with the master key.
async fn gateway(settings: Config) -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let config = settings
        .master_key(MASTER_KEY)
        .model(priced("a", &mock.base_url()));
    let gw = Gateway::start(&config.yaml());
    (mock, gw)
}

/// A user (`internal_user`) with `user` fields, and an admin-made key of it with `key` fields.
async fn internal_user_key(api: &Api<'_>, id: &str, user: Value, key: Value) -> String {
    let mut u = user;
    u["user_id"] = json!(id);
    u["user_role"] = json!("internal_user");
    u["auto_create_key"] = json!(false);
    api.post_ok("/user/new", &u).await;
    let mut k = key;
    k["user_id"] = json!(id);
    api.new_key(k).await
}

/// `/key/generate` as `key`.
async fn mint(api: &Api<'_>, key: &str, body: Value) -> (u16, Value) {
    api.post_as(key, "/key/generate", &body).await
}

/// A 403 `permission_error` naming `param`.
fn assert_denied(status: u16, body: &Value, param: &str) {
    assert_eq!(status, 403, "{body}");
    assert_error(body, "permission_error");
    assert_eq!(body["error"]["param"], param, "{body}");
}

#[tokio::test]
async fn a_minted_key_expires_no_later_than_the_key_that_made_it() {
    let (_mock, gw) = gateway(Config::new()).await;
    let api = Api::new(&gw);
    let parent = internal_user_key(&api, "u-exp", json!({}), json!({"duration": "1h"})).await;
    let parent_expiry = api.key_info(&parent).await["expires"].clone();
    assert!(parent_expiry.is_string(), "{parent_expiry}");

    let (s, v) = mint(&api, &parent, json!({"duration": "2h"})).await;
    assert_denied(s, &v, "duration");
    let (s, v) = mint(&api, &parent, json!({"duration": "30m"})).await;
    assert_eq!(s, 200, "a shorter life is fine: {v}");

    let (s, v) = mint(&api, &parent, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["expires"], parent_expiry,
        "no duration: the parent's expiry"
    );
    let child = v["key"].as_str().unwrap();
    assert_eq!(api.key_info(child).await["expires"], parent_expiry);
}

#[tokio::test]
async fn a_minted_key_resets_its_budget_no_sooner_than_its_parent() {
    let (_mock, gw) = gateway(Config::new()).await;
    let api = Api::new(&gw);
    let parent = internal_user_key(
        &api,
        "u-period",
        json!({}),
        json!({"max_budget": 1.0, "budget_duration": "30d"}),
    )
    .await;
    let (s, v) = mint(&api, &parent, json!({"budget_duration": "1s"})).await;
    assert_denied(s, &v, "budget_duration");
    let (s, v) = mint(&api, &parent, json!({"max_budget": 2.0})).await;
    assert_denied(s, &v, "max_budget");
    let (s, v) = mint(&api, &parent, json!({"max_budget": 0.5})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["budget_duration"], "30d", "left out: the parent's period");

    // A parent budget that never resets allows no period at all.
    let lifetime = internal_user_key(&api, "u-life", json!({}), json!({"max_budget": 1.0})).await;
    let (s, v) = mint(&api, &lifetime, json!({"budget_duration": "30d"})).await;
    assert_denied(s, &v, "budget_duration");
}

#[tokio::test]
async fn keys_minted_from_one_key_share_its_budget() {
    let (mock, gw) = gateway(Config::new()).await;
    let api = Api::new(&gw);
    let parent = internal_user_key(
        &api,
        "u-share",
        json!({}),
        json!({"max_budget": TINY, "budget_duration": "30d"}),
    )
    .await;
    let mut children = Vec::new();
    for _ in 0..3 {
        let (s, v) = mint(&api, &parent, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["max_budget"].as_f64(), Some(TINY), "{v}");
        children.push(v["key"].as_str().unwrap().to_string());
    }
    let first = api.chat(&children[0], "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    for key in children.iter().skip(1).chain([&parent]) {
        assert_budget_exceeded(&api.chat(key, "a").await);
    }
    assert_eq!(mock.request_count(), 1, "one budget, one request");
    // The parent's spend includes what its children spent.
    api.await_key_spend(&parent, first.cost()).await;
}

#[tokio::test]
async fn keys_a_user_mints_count_against_the_internal_user_budget() {
    let (mock, gw) = gateway(Config::new().litellm(|l| l.max_internal_user_budget(TINY))).await;
    let api = Api::new(&gw);
    let created = api
        .post_ok(
            "/user/new",
            &json!({"user_id": "u-default", "user_role": "internal_user"}),
        )
        .await;
    assert_eq!(
        created["max_budget"].as_f64(),
        Some(TINY),
        "filled in: {created}"
    );
    let parent = created["key"].as_str().unwrap().to_string();
    let (s, v) = mint(&api, &parent, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let child = v["key"].as_str().unwrap().to_string();
    let first = api.chat(&child, "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let refused = api.chat(&parent, "a").await;
    assert_budget_exceeded(&refused);
    let msg = refused.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("User=u-default"), "{msg}");
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn a_team_key_minted_by_a_user_spends_the_users_budget() {
    let (mock, gw) = gateway(Config::new()).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "open"}))
        .await;
    let team_id = team["team_id"].as_str().unwrap().to_string();
    let parent = internal_user_key(
        &api,
        "u-team",
        json!({"max_budget": TINY}),
        json!({"team_id": team_id}),
    )
    .await;
    let (s, v) = mint(&api, &parent, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["team_id"], json!(team_id), "{v}");
    let child = v["key"].as_str().unwrap().to_string();
    let (s, v) = mint(&api, &parent, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let sibling = v["key"].as_str().unwrap().to_string();
    assert_eq!(api.chat(&child, "a").await.status, 200);
    assert_budget_exceeded(&api.chat(&sibling, "a").await);
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn a_non_admin_key_may_not_set_fields_only_an_admin_may() {
    let (_mock, gw) = gateway(Config::new()).await;
    let api = Api::new(&gw);
    let team = api
        .post_ok("/team/new", &json!({"team_alias": "other"}))
        .await;
    let parent = internal_user_key(
        &api,
        "u-mass",
        json!({"models": ["a"]}),
        json!({"models": ["a"], "max_budget": 1.0}),
    )
    .await;
    for (body, field) in [
        (
            json!({"permissions": {"allow_pii_controls": true}}),
            "permissions",
        ),
        (json!({"spend": 100}), "spend"),
        (json!({"budget_id": "any"}), "budget_id"),
        (json!({"organization_id": "org"}), "organization_id"),
        (json!({"user_role": "proxy_admin"}), "user_role"),
        (json!({"key_type": "management"}), "key_type"),
        (json!({"allowed_routes": ["/team/new"]}), "allowed_routes"),
        (json!({"team_id": team["team_id"]}), "team_id"),
        (json!({"user_id": "someone-else"}), "user_id"),
        (json!({"models": ["b"]}), "models"),
        (json!({"models": ["*"]}), "models"),
    ] {
        let (s, v) = mint(&api, &parent, body.clone()).await;
        assert_denied(s, &v, field);
    }
    // Empty values of admin fields are what SDKs send by default: not a request to set them.
    let (s, v) = mint(
        &api,
        &parent,
        json!({"permissions": {}, "spend": null, "metadata": {"app": "x"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["models"], json!(["a"]), "{v}");
}

#[tokio::test]
async fn upperbound_key_generate_params_hold_for_every_caller() {
    let (_mock, gw) = gateway(Config::new().litellm(|l| {
        l.upperbound_key_generate_params(json!({
            "max_budget": 10, "duration": "30d", "budget_duration": "30d", "rpm_limit": 100
        }))
    }))
    .await;
    let api = Api::new(&gw);
    let (s, v) = api.post("/key/generate", &json!({"max_budget": 11})).await;
    assert_eq!(s, 400, "{v}");
    assert_error(&v, "invalid_request_error");
    assert_eq!(v["error"]["param"], "max_budget");
    assert_eq!(
        v["error"]["message"],
        "max_budget is over max limit set in config - user_value=11; max_value=10"
    );
    let (s, v) = api.post("/key/generate", &json!({"duration": "31d"})).await;
    assert_eq!(
        (s, v["error"]["param"].clone()),
        (400, json!("duration")),
        "{v}"
    );

    let generated = api.post_ok("/key/generate", &json!({})).await;
    assert_eq!(generated["max_budget"].as_f64(), Some(10.0), "{generated}");
    assert_eq!(generated["rpm_limit"], 100);
    assert_eq!(generated["budget_duration"], "30d");
    assert!(generated["expires"].is_string(), "{generated}");

    let key = generated["key"].as_str().unwrap();
    let (s, v) = api
        .post("/key/update", &json!({"key": key, "rpm_limit": 1000}))
        .await;
    assert_eq!(
        (s, v["error"]["param"].clone()),
        (400, json!("rpm_limit")),
        "{v}"
    );
    let (s, v) = api
        .post("/key/regenerate", &json!({"key": key, "max_budget": 50}))
        .await;
    assert_eq!(
        (s, v["error"]["param"].clone()),
        (400, json!("max_budget")),
        "{v}"
    );
    let updated = api
        .post_ok("/key/update", &json!({"key": key, "rpm_limit": 50}))
        .await;
    assert_eq!(updated["rpm_limit"], 50);
    assert_eq!(updated["max_budget"].as_f64(), Some(10.0), "unchanged");

    // A non-admin key inherits its parent's wider value lowered to the bound.
    let created = api
        .post_ok(
            "/user/new",
            &json!({"user_id": "u-bound", "user_role": "internal_user"}),
        )
        .await;
    let parent = created["key"].as_str().unwrap();
    let (s, v) = mint(&api, parent, json!({"rpm_limit": 101})).await;
    assert_eq!(
        (s, v["error"]["param"].clone()),
        (400, json!("rpm_limit")),
        "{v}"
    );
    let (s, v) = mint(&api, parent, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["max_budget"].as_f64(), Some(10.0), "{v}");
}

#[tokio::test]
async fn default_key_generate_params_fill_what_is_left_out() {
    let (_mock, gw) = gateway(Config::new().litellm(|l| {
        l.default_key_generate_params(json!({
            "max_budget": 0.5, "rpm_limit": 7, "models": ["a"], "budget_duration": "1d"
        }))
    }))
    .await;
    let api = Api::new(&gw);
    let v = api.post_ok("/key/generate", &json!({})).await;
    assert_eq!(v["max_budget"].as_f64(), Some(0.5), "{v}");
    assert_eq!(v["rpm_limit"], 7);
    assert_eq!(v["models"], json!(["a"]));
    assert_eq!(v["budget_duration"], "1d");
    let v = api
        .post_ok(
            "/key/generate",
            &json!({"max_budget": 2.0, "models": ["b"], "rpm_limit": 1}),
        )
        .await;
    assert_eq!(v["max_budget"].as_f64(), Some(2.0), "{v}");
    assert_eq!(v["models"], json!(["b"]));
    assert_eq!(v["rpm_limit"], 1);
}
