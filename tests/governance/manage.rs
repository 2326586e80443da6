//! The management API as LiteLLM's own end-to-end proxy tests use it: what a key reads of
//! itself, nullable updates, upserts, team membership (creators, a user's teams), key
//! lifetimes and model-access errors.

use serde_json::{json, Value};

use crate::common::config::Config;
use crate::common::gov::{assert_error, minute_headroom, token_of, Api};
use crate::{priced_gateway, priced_gateway_with};

/// The `token`s of a list of keys.
fn tokens(keys: &Value) -> Vec<&str> {
    keys.as_array()
        .unwrap_or_else(|| panic!("not a list: {keys}"))
        .iter()
        .filter_map(|k| k["token"].as_str())
        .collect()
}

#[tokio::test]
async fn a_key_reads_its_own_key_team_and_user_and_nothing_else() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    for team in ["t-mine", "t-other"] {
        api.post_ok("/team/new", &json!({"team_id": team})).await;
    }
    for user in ["u-mine", "u-other"] {
        api.post_ok(
            "/user/new",
            &json!({"user_id": user, "auto_create_key": false}),
        )
        .await;
    }
    let mine = api
        .new_key(json!({"team_id": "t-mine", "user_id": "u-mine"}))
        .await;
    let sibling = api.new_key(json!({"team_id": "t-mine"})).await;
    let other = api
        .new_key(json!({"team_id": "t-other", "user_id": "u-other"}))
        .await;

    for path in ["/key/info".to_string(), format!("/key/info?key={mine}")] {
        let (status, v) = api.get_as(&mine, &path).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["info"]["token"], token_of(&mine), "{v}");
    }
    let (status, v) = api.get_as(&mine, &format!("/key/info?key={other}")).await;
    assert_eq!(status, 403, "another user's key: {v}");
    // LiteLLM's test_key_info: a key that does not exist is a 404, whoever asks.
    let (status, v) = api.get_as(&mine, "/key/info?key=sk-no-such-key").await;
    assert_eq!(status, 404, "an unknown key: {v}");

    for path in ["/team/info", "/team/info?team_id=t-mine"] {
        let (status, v) = api.get_as(&mine, path).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["team_id"], "t-mine", "{v}");
        assert_eq!(
            tokens(&v["keys"]),
            [token_of(&mine)],
            "only its own keys: {v}"
        );
    }
    let all = api.get_ok("/team/info?team_id=t-mine").await;
    assert_eq!(
        tokens(&all["keys"]).len(),
        2,
        "the master key sees both: {all}"
    );
    assert!(tokens(&all["keys"]).contains(&token_of(&sibling).as_str()));
    for path in ["/team/info?team_id=t-other", "/team/info?team_id=t-missing"] {
        let (status, v) = api.get_as(&mine, path).await;
        assert_eq!(status, 403, "{path}: {v}");
    }

    for path in ["/user/info", "/user/info?user_id=u-mine"] {
        let (status, v) = api.get_as(&mine, path).await;
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["user_id"], "u-mine", "{v}");
    }
    let (status, v) = api.get_as(&mine, "/user/info?user_id=u-other").await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = api.get_as(&mine, "/key/list").await;
    assert_eq!(status, 403, "listing stays an admin route: {v}");
}

#[tokio::test]
async fn null_clears_a_key_or_team_limit_and_an_absent_field_stays() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let limits = json!({"max_budget": 100.0, "tpm_limit": 1000, "rpm_limit": 1,
        "max_parallel_requests": 2});
    let mut team = limits.clone();
    team["team_id"] = json!("t-null");
    api.post_ok("/team/new", &team).await;
    let mut body = limits.clone();
    body["key_alias"] = json!("nullable");
    let key = api.new_key(body).await;
    minute_headroom().await;
    assert_eq!(api.chat(&key, "a").await.status, 200);

    let v = api
        .post_ok(
            "/key/update",
            &json!({"key": key, "max_budget": null, "rpm_limit": null, "key_alias": null}),
        )
        .await;
    for field in ["max_budget", "rpm_limit", "key_alias"] {
        assert!(v[field].is_null(), "{field} cleared: {v}");
    }
    assert_eq!(v["tpm_limit"], 1000, "absent stays: {v}");
    assert_eq!(v["max_parallel_requests"], 2, "absent stays: {v}");
    assert_eq!(api.chat(&key, "a").await.status, 200, "rpm_limit 1 is gone");

    let v = api
        .post_ok(
            "/team/update",
            &json!({"team_id": "t-null", "max_budget": null, "tpm_limit": null}),
        )
        .await;
    assert!(v["max_budget"].is_null() && v["tpm_limit"].is_null(), "{v}");
    assert_eq!(v["rpm_limit"], 1, "absent stays: {v}");
    assert_eq!(v["data"]["max_parallel_requests"], 2, "{v}");
}

#[tokio::test]
async fn a_bounded_key_limit_cannot_be_cleared() {
    let settings =
        Config::new().litellm(|l| l.upperbound_key_generate_params(json!({"max_budget": 10})));
    let (_mocks, gw) = priced_gateway_with(&["a"], settings).await;
    let api = Api::new(&gw);
    let key = api.new_key(json!({"max_budget": 5})).await;
    let (status, v) = api
        .post("/key/update", &json!({"key": key, "max_budget": null}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "max_budget", "{v}");
    assert_eq!(api.key_info(&key).await["max_budget"], 5.0);
}

#[tokio::test]
async fn user_update_upserts_and_user_new_with_a_team_joins_it() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let v = api
        .post_ok(
            "/user/update",
            &json!({"user_id": "u-upsert", "max_budget": 7.0}),
        )
        .await;
    assert_eq!(v["user_id"], "u-upsert", "{v}");
    assert_eq!(v["max_budget"], 7.0, "{v}");
    assert!(v["user_role"].is_null(), "no role it was not given: {v}");
    let info = api.get_ok("/user/info?user_id=u-upsert").await;
    assert_eq!(info["user_info"]["max_budget"], 7.0, "{info}");

    api.post_ok("/team/new", &json!({"team_id": "t-join"}))
        .await;
    let v = api
        .post_ok(
            "/user/new",
            &json!({"user_id": "u-join", "team_id": "t-join"}),
        )
        .await;
    let key = v["key"].as_str().unwrap().to_string();
    assert_eq!(api.key_info(&key).await["team_id"], "t-join");
    let team = api.get_ok("/team/info?team_id=t-join").await;
    let members = &team["team_info"]["members_with_roles"];
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user_id"] == "u-join" && m["role"] == "user"),
        "{team}"
    );
    let user = api.get_ok("/user/info?user_id=u-join").await;
    assert_eq!(user["user_info"]["teams"], json!(["t-join"]), "{user}");
}

#[tokio::test]
async fn a_team_made_by_an_admin_key_lists_its_user_as_admin() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    api.post_ok(
        "/user/new",
        &json!({"user_id": "u-admin", "user_role": "proxy_admin", "auto_create_key": false}),
    )
    .await;
    let admin = api.new_key(json!({"user_id": "u-admin"})).await;
    let (status, v) = api
        .post_as(&admin, "/team/new", &json!({"team_id": "t-made"}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["members_with_roles"],
        json!([{"user_id": "u-admin", "user_email": null, "role": "admin"}]),
        "{v}"
    );
    let by_master = api
        .post_ok("/team/new", &json!({"team_id": "t-master"}))
        .await;
    // The master key acts as LiteLLM's `default_user_id`.
    assert_eq!(
        by_master["members_with_roles"],
        json!([{"user_id": "default_user_id", "user_email": null, "role": "admin"}]),
        "{by_master}"
    );
}

#[tokio::test]
async fn deleting_a_team_member_who_is_not_one_is_a_400() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    api.post_ok("/team/new", &json!({"team_id": "t-del"})).await;
    let (status, v) = api
        .post(
            "/team/member_delete",
            &json!({"team_id": "t-del", "user_id": "nobody"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_error(&v, "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("User not found in team"),
        "{v}"
    );
}

#[tokio::test]
async fn a_model_the_team_forbids_is_team_model_access_denied() {
    let (mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    api.post_ok("/team/new", &json!({"team_id": "t-a", "models": ["a"]}))
        .await;
    let team_key = api.new_key(json!({"team_id": "t-a"})).await;
    let denied = api.chat(&team_key, "b").await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_error(&denied.body, "team_model_access_denied");
    // LiteLLM 1.109.1's client wording: the model, never the lists the key or team hold.
    assert_eq!(
        denied.body["error"]["message"],
        "The requested model 'b' is not available for this API key, or the model name is invalid. Check the models available to you and try again."
    );
    assert_eq!(denied.body["error"]["param"], "model");

    // The key's own list is checked first: a key that may not call `b` is refused as a key.
    let narrow = api
        .new_key(json!({"team_id": "t-a", "models": ["a"]}))
        .await;
    let denied = api.chat(&narrow, "b").await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_error(&denied.body, "key_model_access_denied");
    assert_eq!(mocks[1].request_count(), 0, "b never called");
}

#[tokio::test]
async fn a_proxy_admins_team_has_it_as_admin_unless_the_config_says_not() {
    // `extra`: the config's `disable_auto_add_proxy_admin_to_teams`, if set.
    for (extra, expected) in [
        (None, vec![json!(["creator", "admin"])]),
        (Some(true), vec![]),
    ] {
        let mut settings = Config::new();
        if let Some(disable) = extra {
            settings = settings.untyped_general("disable_auto_add_proxy_admin_to_teams", disable);
        }
        let (_mocks, gw) = priced_gateway_with(&["a"], settings).await;
        let api = Api::new(&gw);
        let body = json!({"user_id": "creator", "user_role": "proxy_admin"});
        let key = api.post_ok("/user/new", &body).await["key"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, team) = api.post_as(&key, "/team/new", &json!({})).await;
        assert_eq!(s, 200, "{team}");
        let members: Vec<Value> = team["members_with_roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| json!([m["user_id"], m["role"]]))
            .collect();
        assert_eq!(members, expected, "with {extra:?}");
    }
}

#[tokio::test]
async fn a_key_of_duration_minus_one_never_expires() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let g = api
        .post_ok("/key/generate", &json!({"duration": "-1"}))
        .await;
    assert_eq!(g["expires"], Value::Null, "{g}");
    let key = g["key"].as_str().unwrap();
    let v = api
        .post_ok("/key/update", &json!({"key": key, "duration": "1h"}))
        .await;
    assert!(v["expires"].is_string(), "{v}");
    for forever in [json!("-1"), Value::Null] {
        api.post_ok("/key/update", &json!({"key": key, "duration": "1h"}))
            .await;
        let v = api
            .post_ok("/key/update", &json!({"key": key, "duration": forever}))
            .await;
        assert_eq!(v["expires"], Value::Null, "{forever}: {v}");
        assert_eq!(api.key_info(key).await["expires"], Value::Null);
    }
}

#[tokio::test]
async fn user_info_lists_each_team_with_the_users_membership_and_spend() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    api.post_ok("/team/new", &json!({"team_id": "t-budget"}))
        .await;
    api.post_ok(
        "/team/member_add",
        &json!({"team_id": "t-budget", "member": {"user_id": "u-m", "role": "user"},
                "max_budget_in_team": 5.0}),
    )
    .await;
    let key = api
        .new_key(json!({"user_id": "u-m", "team_id": "t-budget"}))
        .await;
    assert_eq!(api.chat(&key, "a").await.status, 200);
    let team = crate::common::gov::poll(
        "the member's spend",
        std::time::Duration::from_secs(5),
        async || {
            let info = api.get_ok("/user/info?user_id=u-m").await;
            let team = info["teams"][0].clone();
            (team["team_memberships"][0]["spend"].as_f64() > Some(0.0)).then_some(team)
        },
    )
    .await;
    let m = &team["team_memberships"][0];
    assert_eq!(
        (&m["user_id"], &m["team_id"]),
        (&json!("u-m"), &json!("t-budget"))
    );
    assert_eq!(m["litellm_budget_table"]["max_budget"], json!(5.0), "{m}");
    assert_eq!(team["keys"].as_array().map(Vec::len), Some(1), "{team}");
}
