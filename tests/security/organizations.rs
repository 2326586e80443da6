//! Organizations bound their teams' keys: no model outside the organization's list (by any
//! route: direct, fallback, listing), no spend past its budget, and no non-admin key may
//! create, change or delete an organization or its members.

use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::Config;
use crate::common::gov::{assert_budget_exceeded, assert_error, priced, Api, TINY};
use crate::common::{Gateway, MASTER_KEY};
use crate::governed::{anthropic_pass_through, claude_as, pass_through_gateway};

/// `cheap` and `dear`, each priced on its own mock.
async fn two_models() -> (MockUpstream, MockUpstream, Gateway) {
    let cheap = MockUpstream::start(Script::named("cheap")).await.unwrap();
    let dear = MockUpstream::start(Script::named("dear")).await.unwrap();
    let models = [
        priced("cheap", &cheap.base_url()),
        priced("dear", &dear.base_url()),
    ];
    let gw = Gateway::start(&Config::with(models).yaml());
    (cheap, dear, gw)
}

/// An organization with `body`'s fields; its id.
async fn org(api: &Api<'_>, body: Value) -> String {
    let v = api.post_ok("/organization/new", &body).await;
    v["organization_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_key_stays_within_its_organizations_models_and_budget() {
    let (cheap, dear, gw) = two_models().await;
    let api = Api::new(&gw);
    let id = org(
        &api,
        json!({"organization_alias": "o", "models": ["cheap"], "max_budget": TINY}),
    )
    .await;
    // Teams without a model list of their own: only the organization's list holds them.
    for t in ["t1", "t2"] {
        api.post_ok("/team/new", &json!({"team_id": t, "organization_id": id}))
            .await;
    }
    let k1 = api.new_key(json!({"team_id": "t1"})).await;
    let k2 = api.new_key(json!({"team_id": "t2"})).await;

    let r = api.chat(&k1, "dear").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_error(&r.body, "org_model_access_denied");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The requested model 'dear' is not available")
            && !message.contains("cheap"),
        "the refusal names no list: {message}"
    );
    let fallback = json!({"model": "cheap", "messages": [{"role": "user", "content": "hi"}],
                          "fallbacks": ["dear"], "mock_testing_fallbacks": true});
    let r = api.chat_with(&k1, &fallback, &[]).await;
    assert_eq!(
        r.status, 500,
        "the original error, not dear's answer: {}",
        r.body
    );
    let (s, v) = api.get_as(&k1, "/v1/models").await;
    assert_eq!(s, 200);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["data"][0]["id"], "cheap");
    assert_eq!(dear.request_count(), 0, "dear was never called");

    let first = api.chat(&k1, "cheap").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_budget_exceeded(&api.chat(&k1, "cheap").await);
    assert_budget_exceeded(&api.chat(&k2, "cheap").await);
    assert_eq!(
        cheap.request_count(),
        1,
        "one request, then the budget holds for every team"
    );

    // The master key is bound by no organization.
    assert_eq!(api.chat(MASTER_KEY, "dear").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organizations_models_hold_on_pass_through_too() {
    let (mock, gw) = pass_through_gateway().await;
    let api = Api::new(&gw);
    let id = org(
        &api,
        json!({"organization_alias": "o", "models": ["claude"]}),
    )
    .await;
    api.post_ok("/team/new", &json!({"team_id": "t", "organization_id": id}))
        .await;
    let key = api.new_key(json!({"team_id": "t"})).await;
    let (s, v) = claude_as(&gw, &key, "claude-sonnet-4-5").await;
    assert_eq!(s, 200, "the group claude serves it: {v}");
    let (s, v) = claude_as(&gw, &key, "claude-opus-4-1").await;
    assert_eq!(s, 403, "{v}");
    assert_error(&v, "org_model_access_denied");
    let (s, v) = anthropic_pass_through(&gw, &key, "/anthropic/v1/models", &json!({}), &[]).await;
    assert_eq!(
        s, 403,
        "a call naming no model, from a key an organization limits: {v}"
    );
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("names no model"), "{v}");
    assert_eq!(mock.request_count(), 1, "only the allowed call went out");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_admin_key_cannot_write_organizations() {
    let (_cheap, _dear, gw) = two_models().await;
    let api = Api::new(&gw);
    let id = org(
        &api,
        json!({"organization_alias": "kept", "max_budget": 1.0}),
    )
    .await;
    let other = org(&api, json!({"organization_alias": "other"})).await;
    let mut keys = Vec::new();
    for (user, role, org_role) in [
        ("u-internal", "internal_user", "internal_user"),
        ("u-orgadmin", "internal_user", "org_admin"),
        ("u-viewer", "proxy_admin_viewer", "internal_user"),
    ] {
        api.post_ok(
            "/user/new",
            &json!({"user_id": user, "user_role": role, "auto_create_key": false}),
        )
        .await;
        api.post_ok(
            "/organization/member_add",
            &json!({"organization_id": id, "member": {"user_id": user, "role": org_role}}),
        )
        .await;
        keys.push(api.new_key(json!({"user_id": user})).await);
    }
    let writes = [
        (
            "POST",
            "/organization/new",
            json!({"organization_alias": "mine"}),
        ),
        (
            "PATCH",
            "/organization/update",
            json!({"organization_id": id, "max_budget": 1000, "models": ["dear"]}),
        ),
        (
            "DELETE",
            "/organization/delete",
            json!({"organization_ids": [id]}),
        ),
        (
            "POST",
            "/organization/member_add",
            json!({"organization_id": id, "member": {"user_id": "u-internal", "role": "org_admin"}}),
        ),
        (
            "PATCH",
            "/organization/member_update",
            json!({"organization_id": id, "user_id": "u-internal", "role": "org_admin"}),
        ),
        (
            "DELETE",
            "/organization/member_delete",
            json!({"organization_id": id, "user_id": "u-orgadmin"}),
        ),
        (
            "POST",
            "/team/new",
            json!({"organization_id": id, "team_id": "sneaky"}),
        ),
    ];
    for key in &keys {
        for (method, path, body) in &writes {
            let (s, v) = api.send_as(key, method, path, body).await;
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert_error(&v, "permission_error");
        }
    }
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert_eq!(info["litellm_budget_table"]["max_budget"], 1.0, "{info}");
    assert_eq!(info["models"], json!([]));
    let roles: Vec<&str> = info["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["internal_user", "org_admin", "internal_user"]);
    assert_eq!(
        api.get_ok("/organization/list")
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Reads: a member lists only its organizations; only an org_admin (or a viewer) reads one.
    let path = format!("/organization/info?organization_id={id}");
    assert_eq!(api.get_as(&keys[0], &path).await.0, 403, "a plain member");
    assert_eq!(api.get_as(&keys[1], &path).await.0, 200, "its org_admin");
    assert_eq!(
        api.get_as(&keys[2], &path).await.0,
        200,
        "a proxy_admin_viewer"
    );
    let other_path = format!("/organization/info?organization_id={other}");
    assert_eq!(api.get_as(&keys[1], &other_path).await.0, 403);
    let (s, v) = api.get_as(&keys[0], "/organization/list").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "its own only: {v}");
    assert_eq!(v[0]["organization_id"], json!(id));
}
