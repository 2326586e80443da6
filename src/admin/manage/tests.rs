//! Unit tests of the management API: routes, request parsing, the self-service permission
//! checks, and a few handlers against a real SQLite store.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use super::key_fields::{restrict_own, KeyFields};
use super::{authorize, parse, serve, Access, Caller, Query, Route};
use crate::core::clock::WallClock;
use crate::core::ids::hex;
use crate::governance::tables::{hash_key, KeyView, Tables};
use crate::governance::GovSettings;
use crate::governance::Governance;
use crate::store::{Entity, Kind, SpendGroup};

/// The instant the permission checks run at (unix seconds).
const NOW: i64 = 1_795_322_600;

fn entity(kind: Kind, id: &str, doc: Value) -> Entity {
    Entity {
        kind,
        id: id.into(),
        doc: doc.to_string(),
        spend_nano: 0,
        budget_reset_at: None,
    }
}

/// A key view for `sk-own` with `key` fields, owned by user `u` with `role`.
fn view(key: Value, role: &str) -> Arc<KeyView> {
    let h = hex(&hash_key(b"sk-own"));
    let mut doc = key;
    doc["token"] = json!(h);
    doc["user_id"] = json!("u");
    let es = [
        entity(Kind::Key, &h, doc),
        entity(Kind::User, "u", json!({"user_id": "u", "user_role": role})),
    ];
    let t = Tables::build(&es, None, &Default::default(), 1);
    t.keys[&hash_key(b"sk-own")].clone()
}

fn fields(v: Value) -> KeyFields {
    parse(v.to_string().as_bytes()).unwrap()
}

fn denied_param(r: Result<(), crate::core::error::ApiError>) -> String {
    let e = r.unwrap_err();
    assert_eq!(e.status, 403, "{e}");
    e.param.unwrap_or_default()
}

#[test]
fn routes_parse_with_methods_prefixes_and_path_keys() {
    assert_eq!(
        Route::parse("POST", "/key/generate").unwrap(),
        Route::KeyGenerate
    );
    assert_eq!(
        Route::parse("GET", "/v1/model/info").unwrap(),
        Route::ModelInfo
    );
    assert_eq!(
        Route::parse("GET", "/end_user/info").unwrap(),
        Route::CustomerInfo
    );
    assert_eq!(
        Route::parse("POST", "/key/sk-abc/regenerate").unwrap(),
        Route::KeyRegenerate(Some("sk-abc".into()))
    );
    assert_eq!(
        Route::parse("GET", "/global/spend/models").unwrap(),
        Route::GlobalSpendBy(SpendGroup::Model)
    );
    assert_eq!(
        Route::parse("GET", "/key/generate").unwrap_err().status,
        405
    );
    assert_eq!(
        Route::parse("POST", "/key/nothing").unwrap_err().status,
        404
    );
    assert_eq!(
        Route::parse("PATCH", "/organization/update").unwrap(),
        Route::OrgUpdate
    );
    assert_eq!(
        Route::parse("POST", "/organization/update")
            .unwrap_err()
            .status,
        405
    );
    assert_eq!(
        Route::parse("DELETE", "/organization/member_delete").unwrap(),
        Route::OrgMemberDelete
    );
    assert_eq!(
        Route::parse("GET", "/organization/info").unwrap(),
        Route::OrgInfo(false)
    );
    assert_eq!(
        Route::parse("POST", "/organization/info").unwrap(),
        Route::OrgInfo(true),
        "LiteLLM's older form, ids in the body"
    );
    assert!(super::is_management("/organization/list"));
    assert!(super::is_management("/team/info"));
    assert!(!super::is_management("/v1/chat/completions"));
}

#[test]
fn bad_json_names_the_field() {
    let e = parse::<KeyFields>(br#"{"max_budget": "lots"}"#).unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(e.param.as_deref(), Some("max_budget"));
    assert!(parse::<KeyFields>(b"").is_ok(), "an empty body is {{}}");
    let q = Query::parse(Some("a=x%20y&b=&c=1+2"));
    assert_eq!(q.get("a"), Some("x y"));
    assert_eq!(q.get("b"), None);
    assert_eq!(q.get("c"), Some("1 2"));
    assert_eq!(q.number("c", 5).unwrap_err().status, 400);
}

#[test]
fn only_admins_reach_admin_routes() {
    let internal = view(json!({}), "internal_user");
    let admin = view(json!({}), "proxy_admin");
    let viewer = view(json!({}), "proxy_admin_viewer");
    let plain = view(
        json!({"allowed_routes": ["/key/generate", "/team/new"]}),
        "",
    );
    let none = view(json!({}), "");
    let k = |v: &Arc<KeyView>, r: Route| {
        let caller = Caller::Key(v);
        authorize(&caller, &r)
            .map(|a| matches!(a, Access::Admin))
            .map_err(|e| e.status)
    };
    assert_eq!(k(&admin, Route::TeamNew), Ok(true));
    assert_eq!(k(&internal, Route::KeyGenerate), Ok(false));
    assert_eq!(k(&internal, Route::TeamNew), Err(403));
    assert_eq!(k(&internal, Route::KeyUpdate), Err(403));
    assert_eq!(k(&viewer, Route::TeamList), Ok(true));
    assert_eq!(k(&viewer, Route::KeyGenerate), Err(403));
    assert_eq!(k(&plain, Route::KeyGenerate), Ok(false));
    assert_eq!(
        k(&plain, Route::TeamNew),
        Err(403),
        "allowed_routes never grants admin routes"
    );
    for own in [Route::KeyInfo, Route::TeamInfo, Route::UserInfo] {
        assert_eq!(k(&none, own), Ok(false), "any key reads itself, filtered");
    }
    assert_eq!(k(&none, Route::KeyList), Err(403));
    assert_eq!(k(&internal, Route::OrgNew), Err(403));
    assert_eq!(k(&internal, Route::OrgMemberAdd), Err(403));
    assert_eq!(k(&viewer, Route::OrgUpdate), Err(403));
    assert_eq!(k(&viewer, Route::OrgList), Ok(true));
    assert_eq!(k(&none, Route::OrgList), Ok(false), "its own organizations");
    assert_eq!(k(&none, Route::TeamList), Err(403));
    assert!(matches!(
        authorize(&Caller::Master, &Route::UserDelete),
        Ok(Access::Admin)
    ));
}

#[test]
fn a_key_makes_keys_no_wider_than_itself() {
    let own = view(
        json!({"models": ["gpt-4o", "openai/*"], "max_budget": 5.0, "rpm_limit": 10,
               "allowed_routes": ["/key/generate", "/chat/completions"]}),
        "internal_user",
    );
    let mut f = fields(json!({"models": ["gpt-4o", "openai/gpt-4.1"], "max_budget": 2.0}));
    restrict_own(&own, &mut f, NOW).unwrap();
    assert_eq!(f.user_id.as_deref(), Some("u"), "forced to its own user");
    assert_eq!(
        f.rpm_limit,
        Some(10),
        "an unset limit is the caller's, not unlimited"
    );
    assert_eq!(f.allowed_routes.as_deref().map(<[String]>::len), Some(2));

    let mut f = fields(json!({}));
    restrict_own(&own, &mut f, NOW).unwrap();
    assert_eq!(
        f.models.as_deref().map(<[String]>::len),
        Some(2),
        "empty would mean all"
    );
    assert_eq!(f.max_budget, Some(5.0));

    let check = |v: Value| denied_param(restrict_own(&own, &mut fields(v), NOW));
    assert_eq!(check(json!({"models": ["claude-3"]})), "models");
    assert_eq!(check(json!({"models": ["*"]})), "models");
    assert_eq!(check(json!({"max_budget": 6.0})), "max_budget");
    assert_eq!(check(json!({"rpm_limit": 11})), "rpm_limit");
    assert_eq!(
        check(json!({"allowed_routes": ["/team/new"]})),
        "allowed_routes"
    );
    assert_eq!(check(json!({"user_id": "someone-else"})), "user_id");
    assert_eq!(check(json!({"team_id": "t"})), "team_id");
    assert_eq!(check(json!({"key_type": "management"})), "key_type");
    assert_eq!(check(json!({"user_role": "proxy_admin"})), "user_role");
    assert_eq!(check(json!({"blocked": false})), "blocked");
    assert_eq!(check(json!({"aliases": {"cheap": "claude-3"}})), "aliases");

    let unlimited = view(json!({}), "internal_user");
    let mut f = fields(json!({"models": ["anything"], "max_budget": 100.0}));
    restrict_own(&unlimited, &mut f, NOW).unwrap();
    assert_eq!(f.max_budget, Some(100.0));
}

#[test]
fn a_key_makes_keys_that_expire_no_later_and_reset_no_sooner() {
    use crate::governance::period::iso;
    let at = NOW + 3600;
    let own = view(
        json!({"max_budget": 1.0, "budget_duration": "30d", "expires": iso(at)}),
        "internal_user",
    );
    let check = |v: Value| denied_param(restrict_own(&own, &mut fields(v), NOW));
    assert_eq!(check(json!({"duration": "2h"})), "duration");
    assert_eq!(check(json!({"budget_duration": "1s"})), "budget_duration");
    assert_eq!(check(json!({"budget_duration": "1d"})), "budget_duration");
    assert_eq!(check(json!({"budget_id": "tier"})), "budget_id");

    let mut f = fields(json!({"budget_duration": "1mo"}));
    restrict_own(&own, &mut f, NOW).unwrap();
    assert_eq!(f.not_after, Some(at));
    assert_eq!(
        f.parent.as_deref(),
        Some(hex(&hash_key(b"sk-own")).as_str())
    );
    let mut f = fields(json!({"duration": "10m"}));
    restrict_own(&own, &mut f, NOW).unwrap();
    assert_eq!(f.budget_duration.as_deref(), Some("30d"), "inherited");

    let mut doc = crate::governance::entities::KeyDoc::default();
    let now = NOW;
    f.apply(&mut doc, now).unwrap();
    assert_eq!(doc.expires, Some(iso(now + 600)), "its own, shorter life");
    let mut f = fields(json!({}));
    restrict_own(&own, &mut f, NOW).unwrap();
    f.apply(&mut doc, now).unwrap();
    assert_eq!(
        doc.expires,
        Some(iso(at)),
        "no duration: the caller's expiry"
    );
    assert!(doc.parent_key_id.is_some());
}

#[test]
fn a_non_admin_sends_only_self_service_fields() {
    use super::key_fields::check_self_service;
    let body = |v: Value| v.as_object().cloned().unwrap();
    let param = |v: Value| {
        let e = check_self_service(&body(v)).unwrap_err();
        assert_eq!(e.status, 403);
        e.param.unwrap_or_default()
    };
    assert_eq!(param(json!({"permissions": {"x": 1}})), "permissions");
    assert_eq!(param(json!({"spend": 0})), "spend");
    assert_eq!(param(json!({"organization_id": "o"})), "organization_id");
    let ok = json!({"models": ["a"], "max_budget": 1, "permissions": {}, "config": null,
                    "guardrails": [], "key_alias": "k"});
    assert!(check_self_service(&body(ok)).is_ok());
}

async fn governance(dir: &tempfile::TempDir) -> Arc<Governance> {
    let url = format!("sqlite://{}", dir.path().join("gov.db").display());
    let settings = GovSettings {
        global_budget: None,
        global_period: None,
        tz_offset: 0,
        pool_size: 2,
        pool_timeout: std::time::Duration::from_secs(5),
        allow_requests_on_db_unavailable: false,
        batch_write: std::time::Duration::from_millis(50),
        spend_logs: true,
        store_prompts: false,
        budget_fail_open: false,
        reject_unpriced_models: false,
        disable_auto_add_proxy_admin_to_teams: false,
        minting: Default::default(),
        key_series: None,
        audit_logs: false,
        retention: None,
        alerts: Default::default(),
    };
    let handle = tokio::runtime::Handle::current();
    Governance::open(Some(&url), None, settings, WallClock::system(), handle)
        .await
        .unwrap()
}

fn runtime() -> crate::config::Runtime {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-secret-upstream\n";
    crate::config::load_str(yaml, &crate::config::runtime::BuildOptions::default()).unwrap()
}

async fn call(
    gov: &Arc<Governance>,
    caller: Caller<'_>,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let body = Bytes::from(body.to_string());
    match serve(gov, &runtime(), caller, method, path, query, body).await {
        Ok((s, b)) => (s, serde_json::from_slice(&b).unwrap()),
        Err(e) => (e.status, serde_json::from_slice(&e.body()).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn keys_live_in_the_store_and_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let gov = governance(&dir).await;
    let m = || Caller::Master;
    let (s, team) = call(
        &gov,
        m(),
        "POST",
        "/team/new",
        json!({"team_id": "t", "models": ["a"]}),
    )
    .await;
    assert_eq!(s, 200, "{team}");
    let (s, e) = call(
        &gov,
        m(),
        "POST",
        "/key/generate",
        json!({"team_id": "t", "models": ["b"]}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["param"].as_str()),
        (400, Some("models")),
        "{e}"
    );
    let (s, e) = call(
        &gov,
        m(),
        "POST",
        "/key/generate",
        json!({"team_id": "nope"}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    let body = json!({"team_id": "t", "models": ["a"], "key_alias": "k1", "duration": "1h",
                      "budget_duration": "1d", "max_budget": 1.5});
    let (s, k) = call(&gov, m(), "POST", "/key/generate", body).await;
    assert_eq!(s, 200, "{k}");
    let raw = k["key"].as_str().unwrap().to_string();
    let token = hex(&hash_key(raw.as_bytes()));
    assert!(raw.starts_with("sk-") && raw.len() >= 25);
    assert_eq!(k["token"], json!(token));
    assert!(
        k["expires"].is_string() && k["budget_reset_at"].is_string(),
        "{k}"
    );
    assert!(
        gov.tables().keys.contains_key(&hash_key(raw.as_bytes())),
        "reloaded"
    );
    let (s, e) = call(
        &gov,
        m(),
        "POST",
        "/key/generate",
        json!({"key_alias": "k1"}),
    )
    .await;
    assert_eq!(s, 400, "duplicate alias: {e}");

    let (s, info) = call(&gov, m(), "GET", &format!("/key/info?key={raw}"), json!({})).await;
    assert_eq!((s, &info["info"]["spend"]), (200, &json!(0.0)), "{info}");
    let (s, u) = call(
        &gov,
        m(),
        "POST",
        "/key/update",
        json!({"key": token, "rpm_limit": 7}),
    )
    .await;
    assert_eq!(
        (s, &u["rpm_limit"], &u["key_alias"]),
        (200, &json!(7), &json!("k1")),
        "{u}"
    );

    let (s, r) = call(
        &gov,
        m(),
        "POST",
        &format!("/key/{raw}/regenerate"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let new = r["key"].as_str().unwrap().to_string();
    assert_ne!(new, raw);
    assert!(
        !gov.tables().keys.contains_key(&hash_key(raw.as_bytes())),
        "old key gone"
    );
    assert!(gov.tables().keys.contains_key(&hash_key(new.as_bytes())));

    let (s, l) = call(
        &gov,
        m(),
        "GET",
        "/key/list?team_id=t&return_full_object=true",
        json!({}),
    )
    .await;
    assert_eq!((s, &l["total_count"]), (200, &json!(1)), "{l}");
    let (s, t) = call(&gov, m(), "GET", "/team/info?team_id=t", json!({})).await;
    assert_eq!(
        (s, t["keys"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{t}"
    );
    assert!(
        t["keys"][0].get("key").is_none(),
        "no raw keys in team info"
    );

    let (s, d) = call(
        &gov,
        m(),
        "POST",
        "/key/delete",
        json!({"key_aliases": ["k1"]}),
    )
    .await;
    assert_eq!(s, 200, "{d}");
    let (s, _) = call(&gov, m(), "GET", &format!("/key/info?key={new}"), json!({})).await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_user_manages_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let gov = governance(&dir).await;
    let m = || Caller::Master;
    let (s, u) = call(
        &gov,
        m(),
        "POST",
        "/user/new",
        json!({"user_id": "u1", "models": ["a"]}),
    )
    .await;
    assert_eq!(s, 200, "{u}");
    let raw = u["key"].as_str().unwrap().to_string();
    let (s, _) = call(&gov, m(), "POST", "/user/new", json!({"user_id": "u1"})).await;
    assert_eq!(s, 400, "duplicate user");
    call(&gov, m(), "POST", "/user/new", json!({"user_id": "u2"})).await;
    let own = gov.tables().keys[&hash_key(raw.as_bytes())].clone();
    let me = || Caller::Key(&own);
    let (s, k) = call(
        &gov,
        me(),
        "POST",
        "/key/generate",
        json!({"models": ["a"]}),
    )
    .await;
    assert_eq!((s, &k["user_id"]), (200, &json!("u1")), "{k}");
    let (s, e) = call(
        &gov,
        me(),
        "POST",
        "/key/generate",
        json!({"models": ["b"]}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["param"].as_str()),
        (403, Some("models")),
        "{e}"
    );
    let (s, _) = call(&gov, me(), "GET", "/user/info", json!({})).await;
    assert_eq!(s, 200);
    let (s, _) = call(&gov, me(), "GET", "/user/info?user_id=u2", json!({})).await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &gov,
        me(),
        "POST",
        "/user/update",
        json!({"user_id": "u1", "user_role": "proxy_admin"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, info) = call(&gov, m(), "GET", "/model/info", json!({})).await;
    assert_eq!(s, 200);
    assert!(!info.to_string().contains("sk-secret-upstream"), "{info}");
}
