//! Organizations through LiteLLM's management API: their shapes, members and teams, the
//! checks a team meets to join one, and their budget over every team's spend (across a
//! restart too).

use nix::sys::signal::Signal;
use serde_json::{json, Value};

use crate::common::config::Config;
use crate::common::gov::{approx, assert_budget_exceeded, assert_error, token_of, Api, TINY};
use crate::common::Gateway;
use crate::priced_gateway;

/// `/organization/new` with the master key; returns the answer.
async fn new_org(api: &Api<'_>, body: Value) -> Value {
    api.post_ok("/organization/new", &body).await
}

fn id_of(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {v}"))
        .to_string()
}

/// The `error.message` of a refusal with this status.
fn refusal(status: u16, v: &Value, want: u16) -> String {
    assert_eq!(status, want, "{v}");
    assert_error(v, v["error"]["type"].as_str().unwrap_or(""));
    v["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn organizations_answer_in_litellm_shapes() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let body = json!({"organization_alias": "Acme Research", "models": ["a"], "max_budget": 10,
                      "tpm_limit": 100, "budget_duration": "30d", "metadata": {"tier": 1}});
    let org = new_org(&api, body.clone()).await;
    let id = id_of(&org, "organization_id");
    let table = &org["litellm_budget_table"];
    assert_eq!(
        (
            &table["max_budget"],
            &table["tpm_limit"],
            &table["budget_duration"]
        ),
        (&json!(10.0), &json!(100), &json!("30d")),
        "{org}"
    );
    assert_eq!(table["budget_id"], org["budget_id"], "{org}");
    assert!(table["budget_reset_at"].is_string(), "{org}");
    assert_eq!(
        (&org["spend"], &org["models"], &org["created_by"]),
        (&json!(0.0), &json!(["a"]), &json!("default_user_id"))
    );
    // The alias is not unique (LiteLLM's e2e test makes 19 at once).
    let twin = new_org(&api, body).await;
    assert_ne!(twin["organization_id"], org["organization_id"]);
    let (s, v) = api.post("/organization/new", &json!({"models": []})).await;
    assert_eq!(
        (s, v["error"]["param"].as_str()),
        (400, Some("organization_alias")),
        "{v}"
    );
    let (s, v) = api
        .post(
            "/organization/new",
            &json!({"organization_alias": "x", "organization_id": id}),
        )
        .await;
    assert_eq!(s, 400, "a taken id: {v}");

    let all = api.get_ok("/organization/list").await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    for o in all {
        assert!(o["litellm_budget_table"].is_object(), "{o}");
        assert_eq!((&o["members"], &o["teams"]), (&json!([]), &json!([])));
    }
    let found = api.get_ok("/organization/list?org_alias=acme%20RES").await;
    assert_eq!(found.as_array().map(Vec::len), Some(2), "partial, any case");
    let one = api.get_ok(&format!("/organization/list?org_id={id}")).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));

    let u = api
        .send_ok(
            "PATCH",
            "/organization/update",
            &json!({"organization_id": id, "max_budget": 20, "tpm_limit": null,
                    "metadata": {"owner": "r&d"}, "organization_alias": "Acme"}),
        )
        .await;
    let table = &u["litellm_budget_table"];
    assert_eq!(
        (
            &table["max_budget"],
            &table["tpm_limit"],
            &table["budget_duration"]
        ),
        (&json!(20.0), &Value::Null, &json!("30d")),
        "null clears a limit, absent ones stay: {u}"
    );
    assert_eq!(u["metadata"], json!({"tier": 1, "owner": "r&d"}), "merged");
    assert_eq!(u["organization_alias"], "Acme");
    // The admin UI's form: the limits nested in `litellm_budget_table`.
    let u = api
        .send_ok(
            "PATCH",
            "/organization/update",
            &json!({"organization_id": id, "litellm_budget_table": {"rpm_limit": 5}}),
        )
        .await;
    assert_eq!(u["litellm_budget_table"]["rpm_limit"], 5, "{u}");
    let (s, _) = api
        .post("/organization/update", &json!({"organization_id": id}))
        .await;
    assert_eq!(s, 405, "update is a PATCH");
    let (s, v) = api
        .send_as(
            crate::common::MASTER_KEY,
            "PATCH",
            "/organization/update",
            &json!({"organization_id": "nope"}),
        )
        .await;
    assert_eq!(s, 404, "{v}");

    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert_eq!(info["organization_id"], json!(id));
    assert!(
        info["members"].is_array() && info["teams"].is_array(),
        "{info}"
    );
    let (s, _) = api.get("/organization/info?organization_id=nope").await;
    assert_eq!(s, 404);
    let many = api
        .post_ok(
            "/organization/info",
            &json!({"organizations": [id, "nope"]}),
        )
        .await;
    assert_eq!(many.as_array().map(Vec::len), Some(1), "{many}");
    assert!(many[0]["litellm_budget_table"].is_object());
    let (s, v) = api
        .post("/organization/info", &json!({"organizations": []}))
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = api
        .post("/budget/delete", &json!({"id": org["budget_id"]}))
        .await;
    assert_eq!(
        s, 400,
        "the organization's budget row stays while it is used: {v}"
    );
}

#[tokio::test]
async fn members_join_change_role_and_leave() {
    let (_mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let org = new_org(&api, json!({"organization_alias": "m"})).await;
    let id = id_of(&org, "organization_id");
    api.post_ok(
        "/user/new",
        &json!({"user_id": "u1", "user_email": "u1@example.com"}),
    )
    .await;
    let add = json!({"organization_id": id, "member": {"user_id": "u1", "role": "internal_user"}});
    let added = api.post_ok("/organization/member_add", &add).await;
    assert_eq!(added["organization_id"], json!(id));
    assert_eq!(added["updated_users"][0]["user_id"], "u1", "{added}");
    let m = &added["updated_organization_memberships"][0];
    assert_eq!(
        (&m["user_role"], &m["user_email"]),
        (&json!("internal_user"), &json!("u1@example.com"))
    );
    let (s, v) = api.post("/organization/member_add", &add).await;
    assert_eq!(s, 400, "already a member: {v}");
    let (s, v) = api
        .post(
            "/organization/member_add",
            &json!({"organization_id": id, "member": {"user_id": "u1", "role": "admin"}}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["param"].as_str()),
        (400, Some("member[0].role")),
        "{v}"
    );
    let (s, _) = api
        .post(
            "/organization/member_add",
            &json!({"organization_id": "nope", "member": {"user_id": "u1", "role": "org_admin"}}),
        )
        .await;
    assert_eq!(s, 404);
    // An unknown email becomes a new internal user; several members at once.
    let added = api
        .post_ok(
            "/organization/member_add",
            &json!({"organization_id": id, "max_budget_in_organization": 3.0,
                    "member": [{"user_email": "new@example.com", "role": "internal_user_viewer"}]}),
        )
        .await;
    let m = &added["updated_organization_memberships"][0];
    assert_eq!(m["litellm_budget_table"]["max_budget"], 3.0, "{added}");
    let fresh = id_of(&added["updated_users"][0], "user_id");
    assert_eq!(added["updated_users"][0]["user_role"], "internal_user");

    let listed = api.get_ok(&format!("/organization/list?org_id={id}")).await;
    let members = listed[0]["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{listed}");
    assert!(
        members.iter().any(|m| m["user"]["user_id"] == "u1"),
        "{listed}"
    );

    let up = api
        .send_ok(
            "PATCH",
            "/organization/member_update",
            &json!({"organization_id": id, "user_email": "u1@example.com", "role": "org_admin",
                    "max_budget_in_organization": 5}),
        )
        .await;
    assert_eq!(
        (&up["user_id"], &up["user_role"]),
        (&json!("u1"), &json!("org_admin")),
        "{up}"
    );
    assert_eq!(up["litellm_budget_table"]["max_budget"], 5.0);
    let (s, v) = api
        .send_as(
            crate::common::MASTER_KEY,
            "PATCH",
            "/organization/member_update",
            &json!({"organization_id": "nope", "user_id": "u1", "role": "org_admin"}),
        )
        .await;
    assert_eq!(s, 400, "an unknown organization, as LiteLLM answers: {v}");
    let (s, _) = api
        .send_as(
            crate::common::MASTER_KEY,
            "PATCH",
            "/organization/member_update",
            &json!({"organization_id": id, "user_id": "u-none", "role": "org_admin"}),
        )
        .await;
    assert_eq!(s, 404);

    let body = json!({"organization_id": id, "user_id": fresh});
    let gone = api
        .send_ok("DELETE", "/organization/member_delete", &body)
        .await;
    assert_eq!(gone["user_id"], json!(fresh));
    let (s, _) = api
        .send_as(
            crate::common::MASTER_KEY,
            "DELETE",
            "/organization/member_delete",
            &body,
        )
        .await;
    assert_eq!(s, 404, "no longer a member");
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert_eq!(info["members"].as_array().map(Vec::len), Some(1), "{info}");
    // A deleted user leaves its organizations.
    api.post_ok("/user/delete", &json!({"user_ids": ["u1"]}))
        .await;
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert_eq!(info["members"], json!([]), "{info}");
}

#[tokio::test]
async fn a_team_joins_an_organization_only_within_its_models_and_limits() {
    let (_mocks, gw) = priced_gateway(&["a", "b"]).await;
    let api = Api::new(&gw);
    let org = new_org(
        &api,
        json!({"organization_alias": "o", "models": ["a"], "max_budget": 1.0,
               "tpm_limit": 100, "rpm_limit": 10}),
    )
    .await;
    let id = id_of(&org, "organization_id");
    let team = |extra: Value| {
        let mut b = json!({"organization_id": id});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let (s, v) = api
        .post("/team/new", &json!({"organization_id": "nope"}))
        .await;
    assert_eq!(
        refusal(s, &v, 400),
        "Organization not found for organization_id=nope"
    );
    let (s, v) = api.post("/team/new", &team(json!({"models": ["b"]}))).await;
    assert_eq!(
        refusal(s, &v, 400),
        format!("Model 'b' not in organization's allowed models. Organization allowed models=['a']. Organization: {id}")
    );
    let (s, v) = api.post("/team/new", &team(json!({"max_budget": 2}))).await;
    assert_eq!(
        refusal(s, &v, 400),
        format!(
            "Team max_budget (2.0) exceeds organization's max_budget (1.0). Organization: {id}"
        )
    );
    let (s, v) = api
        .post("/team/new", &team(json!({"tpm_limit": 101})))
        .await;
    assert_eq!(v["error"]["param"], "tpm_limit", "{v}");
    assert_eq!(s, 400);

    let t = api
        .post_ok(
            "/team/new",
            &team(json!({"team_id": "t-in", "models": ["a"], "max_budget": 0.5})),
        )
        .await;
    assert_eq!(t["organization_id"], json!(id), "{t}");
    let info = api.get_ok("/team/info?team_id=t-in").await;
    assert_eq!(info["team_info"]["organization_id"], json!(id), "{info}");
    let (s, v) = api
        .post("/team/update", &json!({"team_id": "t-in", "max_budget": 5}))
        .await;
    assert_eq!(s, 400, "an update is held to the organization too: {v}");

    // Moving a team in: it must fit as it is; its members come along.
    api.post_ok("/team/new", &json!({"team_id": "t-all"})).await;
    let (s, v) = api
        .post(
            "/team/update",
            &json!({"team_id": "t-all", "organization_id": id}),
        )
        .await;
    assert!(refusal(s, &v, 403)
        .starts_with("Cannot move team to organization. Team has access to all proxy models"));
    let (s, v) = api
        .post(
            "/team/update",
            &json!({"team_id": "t-all", "organization_id": "nope"}),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    api.post_ok(
        "/team/new",
        &json!({"team_id": "t-mover", "models": ["a"],
                "members_with_roles": [{"role": "user", "user_id": "mover"}]}),
    )
    .await;
    let moved = api
        .post_ok(
            "/team/update",
            &json!({"team_id": "t-mover", "organization_id": id}),
        )
        .await;
    assert_eq!(moved["organization_id"], json!(id), "{moved}");
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert_eq!(info["teams"].as_array().map(Vec::len), Some(2), "{info}");
    let members = info["members"].as_array().unwrap();
    let member = members
        .iter()
        .find(|m| m["user_id"] == "mover")
        .unwrap_or_else(|| panic!("mover joined: {info}"));
    assert_eq!(
        (&member["user_id"], &member["user_role"]),
        (&json!("mover"), &json!("internal_user"))
    );
    let listed = api
        .get_ok(&format!("/team/list?organization_id={id}"))
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let left = api
        .post_ok(
            "/team/update",
            &json!({"team_id": "t-mover", "organization_id": ""}),
        )
        .await;
    assert_eq!(left["organization_id"], Value::Null, "\"\" leaves: {left}");

    // Deleting the organization deletes its teams and their keys.
    let key = api.new_key(json!({"team_id": "t-in"})).await;
    let deleted = api
        .send_ok(
            "DELETE",
            "/organization/delete",
            &json!({"organization_ids": [id]}),
        )
        .await;
    assert_eq!(deleted[0]["organization_id"], json!(id), "{deleted}");
    let (s, _) = api.get("/team/info?team_id=t-in").await;
    assert_eq!(s, 404);
    assert_eq!(
        api.chat(&key, "a").await.status,
        401,
        "the team's key went with it"
    );
    let (s, _) = api
        .send_as(
            crate::common::MASTER_KEY,
            "DELETE",
            "/organization/delete",
            &json!({"organization_ids": [id]}),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn an_organization_budget_covers_every_team_in_it() {
    let (mocks, gw) = priced_gateway(&["a"]).await;
    let api = Api::new(&gw);
    let org = new_org(&api, json!({"organization_alias": "o", "max_budget": TINY})).await;
    let id = id_of(&org, "organization_id");
    let mut keys = Vec::new();
    for t in ["t1", "t2"] {
        api.post_ok("/team/new", &json!({"team_id": t, "organization_id": id}))
            .await;
        keys.push(api.new_key(json!({"team_id": t})).await);
    }
    let first = api.chat(&keys[0], "a").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let refused = api.chat(&keys[1], "a").await;
    assert_budget_exceeded(&refused);
    let msg = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "Budget has been exceeded! Organization={id} Current cost: "
        )),
        "{msg}"
    );
    assert_eq!(
        mocks[0].request_count(),
        1,
        "the refusal reaches no upstream"
    );
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert!(
        approx(info["spend"].as_f64().unwrap(), first.cost()),
        "{info}"
    );
    let team = api.get_ok("/team/info?team_id=t1").await;
    assert!(approx(
        team["team_info"]["spend"].as_f64().unwrap(),
        first.cost()
    ));
    // Raising the organization's budget lets its teams spend again.
    api.send_ok(
        "PATCH",
        "/organization/update",
        &json!({"organization_id": id, "max_budget": 100}),
    )
    .await;
    assert_eq!(api.chat(&keys[1], "a").await.status, 200);
}

#[tokio::test]
async fn organization_spend_and_budget_survive_a_restart() {
    let mock = switchyard_mock::MockUpstream::start(switchyard_mock::Script::named("a"))
        .await
        .unwrap();
    let yaml = Config::with([crate::common::gov::priced("a", &mock.base_url())]).yaml();
    let mut gw = Gateway::start(&yaml);
    let (id, key, cost) = {
        let api = Api::new(&gw);
        let org = new_org(
            &api,
            json!({"organization_alias": "durable", "max_budget": TINY}),
        )
        .await;
        let id = id_of(&org, "organization_id");
        api.post_ok("/team/new", &json!({"team_id": "t", "organization_id": id}))
            .await;
        let key = api.new_key(json!({"team_id": "t"})).await;
        let r = api.chat(&key, "a").await;
        let ids = [r.call_id()];
        let row = &api.await_spend_rows(&ids).await[0];
        // Who spent, as LiteLLM's spend logs say it (`test_spend_logs_with_org_id`).
        assert_eq!(row["metadata"]["user_api_key_org_id"], json!(id), "{row}");
        assert_eq!(row["metadata"]["user_api_key_team_id"], "t", "{row}");
        assert_eq!(
            row["metadata"]["user_api_key"],
            json!(token_of(&key)),
            "{row}"
        );
        assert_eq!(row["metadata"]["status"], "success", "{row}");
        assert_eq!(
            (&row["team_id"], &row["organization_id"]),
            (&json!("t"), &json!(id))
        );
        (id, key, r.cost())
    };
    gw.signal(Signal::SIGTERM);
    let (gw, status) = tokio::task::spawn_blocking(move || {
        let status = gw.wait_exit();
        (gw, status)
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");
    let gw = Gateway::start_in(gw.into_dir(), &yaml);
    let api = Api::new(&gw);
    let info = api
        .get_ok(&format!("/organization/info?organization_id={id}"))
        .await;
    assert!(approx(info["spend"].as_f64().unwrap(), cost), "{info}");
    assert_eq!(info["teams"][0]["team_id"], "t");
    assert_budget_exceeded(&api.chat(&key, "a").await);
    assert_eq!(mock.request_count(), 1);
}
