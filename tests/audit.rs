//! The audit log (`litellm_settings.store_audit_logs`) on the real binary, on SQLite and (when
//! `SWITCHYARD_TEST_DATABASE_URL` names a Postgres server whose user may `CREATE DATABASE`) on
//! Postgres: every management write is recorded with who made it and the entity before and
//! after, without a raw key or the master key, and read back through LiteLLM's `/audit` routes,
//! admin-only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use serde_json::{json, Value};
use sqlx::{Connection, Executor};

use common::config::{Config, Model};
use common::gov::{token_of, Api};
use common::{Gateway, MASTER_KEY};

const KEYS: &str = "LiteLLM_VerificationToken";

fn config(audit: bool) -> Config {
    Config::with([Model::new("m", "openai/gpt-4o").mock_response("hi")])
        .litellm(|l| l.untyped("store_audit_logs", audit))
}

/// Every row of `/audit`, oldest first.
async fn all_rows(api: &Api<'_>) -> Vec<Value> {
    let v = api.get_ok("/audit?page_size=100&sort_order=asc").await;
    v["audit_logs"].as_array().unwrap().clone()
}

fn actions_of<'a>(rows: &'a [Value], table: &str, id: &str) -> Vec<&'a str> {
    rows.iter()
        .filter(|r| r["table_name"] == table && r["object_id"] == id)
        .map(|r| r["action"].as_str().unwrap())
        .collect()
}

/// Management writes of every kind, then what `/audit` says about them.
async fn writes_are_audited(gw: &Gateway) {
    let api = Api::new(gw);
    let (id, team_id, raw_keys) = writes(&api).await;
    let rows = all_rows(&api).await;
    check_trail(&rows, &id, &team_id, &raw_keys);
    check_routes(&api, &id, rows.len() as u64, rows.last().unwrap()).await;
}

/// A key's whole life, and a team, user, customer, budget and organization; returns the key's
/// record id, the team id and every raw key the API answered.
async fn writes(api: &Api<'_>) -> (String, String, Vec<String>) {
    let mut raw_keys = Vec::new();
    let team = api.post_ok("/team/new", &json!({"team_alias": "t"})).await;
    let team_id = team["team_id"].as_str().unwrap().to_string();
    let key = api
        .new_key(json!({"team_id": team_id, "key_alias": "first"}))
        .await;
    raw_keys.push(key.clone());
    let id = token_of(&key);
    api.post_ok("/key/update", &json!({"key": key, "key_alias": "second"}))
        .await;
    api.post_ok("/key/block", &json!({"key": key})).await;
    api.post_ok("/key/unblock", &json!({"key": key})).await;
    let rotated = api.post_ok("/key/regenerate", &json!({"key": key})).await;
    let new_key = rotated["key"].as_str().unwrap().to_string();
    raw_keys.push(new_key.clone());
    api.post_ok("/key/delete", &json!({"keys": [new_key]}))
        .await;
    let user = api
        .post_ok("/user/new", &json!({"user_id": "u-audit"}))
        .await;
    raw_keys.push(user["key"].as_str().unwrap().to_string());
    api.post_ok("/customer/new", &json!({"user_id": "c-audit"}))
        .await;
    api.post_ok(
        "/budget/new",
        &json!({"budget_id": "b-audit", "max_budget": 1.0}),
    )
    .await;
    api.post_ok("/organization/new", &json!({"organization_alias": "o"}))
        .await;
    (id, team_id, raw_keys)
}

fn check_trail(rows: &[Value], id: &str, team_id: &str, raw_keys: &[String]) {
    // The key keeps its record id through regeneration: one history under one object id.
    assert_eq!(
        actions_of(rows, KEYS, id),
        ["created", "updated", "blocked", "updated", "rotated", "deleted"],
        "{rows:#?}"
    );
    assert_eq!(actions_of(rows, "LiteLLM_TeamTable", team_id)[0], "created");
    for (table, entity) in [
        ("LiteLLM_UserTable", "u-audit"),
        ("LiteLLM_EndUserTable", "c-audit"),
        ("LiteLLM_BudgetTable", "b-audit"),
    ] {
        assert_eq!(
            actions_of(rows, table, entity).first(),
            Some(&"created"),
            "{table}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r["table_name"] == "LiteLLM_OrganizationTable" && r["action"] == "created"));
    for r in rows {
        assert_eq!(r["changed_by"], "default_user_id", "{r}");
        assert_eq!(r["changed_by_api_key"], token_of(MASTER_KEY), "{r}");
        assert!(r["updated_at"].as_str().unwrap().ends_with("+00:00"), "{r}");
    }
    // Before and after: the alias change is visible, the creation has no before.
    let update = rows
        .iter()
        .find(|r| r["object_id"] == id && r["action"] == "updated")
        .unwrap();
    assert_eq!(update["before_value"]["key_alias"], "first");
    assert_eq!(update["updated_values"]["key_alias"], "second");
    let created = rows
        .iter()
        .find(|r| r["object_id"] == id && r["action"] == "created")
        .unwrap();
    assert!(created["before_value"].is_null());
    let deleted = rows.iter().find(|r| r["action"] == "deleted").unwrap();
    assert!(deleted["updated_values"].is_null() && deleted["before_value"].is_object());
    // No secret anywhere in the trail.
    let text = serde_json::to_string(rows).unwrap();
    for k in raw_keys.iter().map(String::as_str).chain([MASTER_KEY]) {
        assert!(!text.contains(k), "{k} leaked into the audit log");
    }
}

/// Filters, pagination, one row by id, errors and admin-only access.
async fn check_routes(api: &Api<'_>, id: &str, total: u64, newest_row: &Value) {
    let v = api
        .get_ok(&format!("/audit?table_name={KEYS}&action=blocked"))
        .await;
    assert_eq!(v["total"], 1, "{v}");
    let blocked = &v["audit_logs"][0];
    assert_eq!(blocked["object_id"], id);
    let one = api
        .get_ok(&format!("/audit/{}", blocked["id"].as_str().unwrap()))
        .await;
    assert_eq!(&one, blocked);
    let page = api.get_ok("/audit?page=2&page_size=2").await;
    assert_eq!(page["total"], total);
    assert_eq!(page["total_pages"], total.div_ceil(2));
    assert_eq!(page["audit_logs"].as_array().unwrap().len(), 2);
    assert_eq!(page["page"], 2);
    // Newest first by default.
    let newest = api.get_ok("/audit?page_size=1").await;
    assert_eq!(newest["audit_logs"][0]["id"], newest_row["id"]);

    let (status, body) = api.get("/audit/no-such-row").await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let (status, body) = api.get("/audit?page_size=1000").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "page_size");

    // Admin-only: a plain key may not read the trail.
    let plain = api.new_key(json!({})).await;
    let (status, body) = api.get_as(&plain, "/audit").await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn management_writes_are_audited_on_sqlite() {
    let gw = Gateway::start(&config(true).yaml());
    writes_are_audited(&gw).await;
}

#[tokio::test]
async fn management_writes_are_audited_on_postgres() {
    let Ok(pg) = std::env::var("SWITCHYARD_TEST_DATABASE_URL") else {
        eprintln!("skipped: set SWITCHYARD_TEST_DATABASE_URL to run");
        return;
    };
    let name = format!("sy_audit_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&pg).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let mut url = reqwest::Url::parse(&pg).unwrap();
    url.set_path(&format!("/{name}"));
    let gw = Gateway::start(&config(true).database_url(url.as_str()).yaml());
    writes_are_audited(&gw).await;
    drop(gw);
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    conn.execute(sql.as_str()).await.unwrap();
}

/// Without `store_audit_logs`, writes leave no trail (and the route answers an empty page).
#[tokio::test]
async fn nothing_is_recorded_when_audit_logs_are_off() {
    let gw = Gateway::start(&config(false).yaml());
    let api = Api::new(&gw);
    api.new_key(json!({"key_alias": "quiet"})).await;
    api.post_ok("/team/new", &json!({"team_alias": "t"})).await;
    let v = api.get_ok("/audit").await;
    assert_eq!(v["total"], 0, "{v}");
    assert_eq!(v["audit_logs"], json!([]));
}
