//! The SQLite store: `switchyard.db` in the working directory by default, `database_url` to
//! choose the file, and keys, spend and spend logs surviving a restart.

use nix::sys::signal::Signal;
use serde_json::json;
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::Config;
use crate::common::gov::{priced, Api, Reply};
use crate::common::Gateway;

#[tokio::test]
async fn keys_spend_and_spend_logs_survive_a_restart() {
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let yaml = Config::with([priced("a", &mock.base_url())]).yaml();
    let mut gw = Gateway::start(&yaml);
    let (key, spend, ids) = {
        let api = Api::new(&gw);
        let key = api.new_key(json!({"key_alias": "durable"})).await;
        let replies = [api.chat(&key, "a").await, api.chat(&key, "a").await];
        let ids: Vec<String> = replies.iter().map(Reply::call_id).collect();
        let spend: f64 = replies.iter().map(Reply::cost).sum();
        api.await_key_spend(&key, spend).await;
        api.await_spend_rows(&ids).await;
        (key, spend, ids)
    };
    assert!(
        gw.dir.path().join("switchyard.db").is_file(),
        "default SQLite file"
    );

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

    let info = api.key_info(&key).await;
    assert_eq!(info["key_alias"], "durable");
    api.await_key_spend(&key, spend).await;
    let rows = api.await_spend_rows(&ids).await;
    assert_eq!(rows.len(), 2);
    let r = api.chat(&key, "a").await;
    assert_eq!(r.status, 200, "the key still works: {}", r.body);
    assert_eq!(mock.request_count(), 3);
    api.await_key_spend(&key, spend + r.cost()).await;
}

#[tokio::test]
async fn database_url_picks_the_sqlite_file() {
    let mock = MockUpstream::start(Script::named("a")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere.db");
    let config = Config::with([priced("a", &mock.base_url())])
        .database_url(&format!("sqlite://{}", db.display()));
    let gw = Gateway::start(&config.yaml());
    let api = Api::new(&gw);
    let key = api.new_key(json!({})).await;
    assert_eq!(api.chat(&key, "a").await.status, 200);
    assert!(db.is_file(), "{} not created", db.display());
    assert!(
        !gw.dir.path().join("switchyard.db").exists(),
        "default file used anyway"
    );
}
