//! Governance on a manual clock, against a real SQLite store: a key's rate window, its budget
//! period and its expiry, each crossed by moving the clock, never by waiting for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_http::RequestHeader;
use serde_json::{json, Value};

use super::admission::{Ask, Ticket};
use super::period::iso;
use super::spend::{finish, Served, SpendCtx};
use super::tables::hash_key;
use super::{GovSettings, Governance};
use crate::admin::manage::{serve, Caller};
use crate::auth::{authenticate, Principal};
use crate::core::chat::Usage;
use crate::core::clock::ManualClock;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::secret::MasterKey;
use crate::pricing::cost::Price;
use crate::store::{Kind, SpendQuery};

/// 2030-01-01T00:00:00Z, years away from the wall clock, so that any reading of the system
/// clock instead of the manual one lands in another minute, hour and budget period.
const HOUR_START: i64 = 1_893_456_000;
/// The tests start 15 s into that hour's first minute.
const START_MS: i64 = (HOUR_START + 15) * 1000;

async fn governance(dir: &tempfile::TempDir, clock: &ManualClock) -> Arc<Governance> {
    let url = format!("sqlite://{}", dir.path().join("gov.db").display());
    let settings = GovSettings {
        global_budget: None,
        global_period: None,
        tz_offset: 0,
        pool_size: 2,
        pool_timeout: Duration::from_secs(5),
        allow_requests_on_db_unavailable: false,
        batch_write: Duration::from_millis(50),
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
    Governance::open(Some(&url), None, settings, clock.clock(), handle)
        .await
        .unwrap()
}

/// `POST /key/generate` with the master key: the raw key and the answer.
async fn generate(gov: &Arc<Governance>, body: Value) -> (String, Value) {
    let rt = crate::config::load_str("", &Default::default()).unwrap();
    let body = Bytes::from(body.to_string());
    let (status, out) = serve(
        gov,
        &rt,
        Caller::Master,
        "POST",
        "/key/generate",
        None,
        body,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&out).unwrap();
    (v["key"].as_str().unwrap().to_string(), v)
}

/// Admission of one request by `key` reserving `cost` nano-USD.
async fn admit(gov: &Arc<Governance>, key: &str, id: &str, cost: i64) -> Result<Ticket, ApiError> {
    let view = gov.tables().keys[&hash_key(key.as_bytes())].clone();
    gov.admit(Ask {
        request_id: id,
        key: Some(view),
        group: "m",
        end_user: None,
        prompt_tokens: 10,
        cost_estimate: cost,
        model_only: false,
    })
    .await
}

fn refused(r: Result<Ticket, ApiError>) -> ApiError {
    match r {
        Ok(_) => panic!("admitted, but a refusal was expected"),
        Err(e) => e,
    }
}

fn header<'a>(e: &'a ApiError, name: &str) -> Option<&'a str> {
    e.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpm_window_reopens_when_the_clock_enters_the_next_minute() {
    let clock = ManualClock::at(START_MS);
    let dir = tempfile::tempdir().unwrap();
    let gov = governance(&dir, &clock).await;
    let (key, _) = generate(&gov, json!({"rpm_limit": 3})).await;
    for i in 0..3 {
        let t = admit(&gov, &key, &format!("r{i}"), 0).await.unwrap();
        assert_eq!(t.admitted.remaining_requests, Some(2 - i));
        t.settle(None, 10, 0).await;
    }
    let e = refused(admit(&gov, &key, "r3", 0).await);
    assert_eq!((e.status, e.kind), (429, ErrorKind::RateLimit), "{e}");
    assert_eq!(header(&e, "retry-after"), Some("45"));
    assert!(
        e.message
            .ends_with("Limit resets at: 2030-01-01 00:01:00 UTC"),
        "{e}"
    );
    clock.advance(Duration::from_millis(44_999));
    let e = refused(admit(&gov, &key, "r4", 0).await);
    assert_eq!((e.status, header(&e, "retry-after")), (429, Some("1")));
    clock.advance(Duration::from_millis(1));
    let t = admit(&gov, &key, "r5", 0).await.unwrap();
    assert_eq!(t.admitted.remaining_requests, Some(2), "a fresh window");
    assert_eq!(t.admitted.reset_after_secs, 60);
    t.settle(None, 10, 0).await;
}

/// Finish an admitted request that used 10 prompt tokens at `nano_per_token`.
async fn spend(gov: &Arc<Governance>, ticket: Ticket, call_id: &str, nano_per_token: f64) {
    let price = Price {
        input: nano_per_token,
        known: true,
        ..Price::default()
    };
    let ctx = SpendCtx {
        call_id,
        asked_model: "m",
        group: "m",
        endpoint: Endpoint::ChatCompletions,
        status: 200,
        started: Instant::now(),
        served: Served {
            usage: Some(Usage {
                prompt: 10,
                ..Usage::default()
            }),
            answered: true,
            price: Some(price),
            ..Served::default()
        },
        prompt: None,
        answer: None,
        master_key: None,
        route: "",
        response_id: None,
    };
    finish(gov, Some(ticket), ctx).await;
}

/// The key's stored spend and budget reset time.
async fn ledger(gov: &Governance, token: &str) -> (i64, Option<i64>) {
    let e = gov.store().get(Kind::Key, token).await.unwrap().unwrap();
    (e.spend_nano, e.budget_reset_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_period_resets_when_the_clock_passes_its_end() {
    let clock = ManualClock::at(START_MS);
    let dir = tempfile::tempdir().unwrap();
    let gov = governance(&dir, &clock).await;
    let (key, v) = generate(&gov, json!({"max_budget": 0.001, "budget_duration": "1h"})).await;
    let token = v["token_id"].as_str().unwrap().to_string();
    let end = HOUR_START + 3600;
    assert_eq!(v["budget_reset_at"], iso(end));

    // 10 tokens at 100 000 nano-USD: the whole $0.001 budget.
    let t = admit(&gov, &key, "b1", 1_000).await.unwrap();
    spend(&gov, t, "b1", 100_000.0).await;
    assert_eq!(
        gov.shutdown(Duration::from_secs(5)).await,
        0,
        "ledger written"
    );
    let rows = gov
        .store()
        .spend_logs(&SpendQuery {
            request_id: Some("b1".into()),
            ..SpendQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].end_time, START_MS,
        "the row is stamped on the clock"
    );
    assert_eq!(ledger(&gov, &token).await, (1_000_000, Some(end)));
    let e = refused(admit(&gov, &key, "b2", 1_000).await);
    assert_eq!((e.status, e.kind), (400, ErrorKind::BudgetExceeded), "{e}");

    // Within the period the periodic reset leaves the spend alone.
    clock.set(end * 1000 - 1);
    gov.refresh().await.unwrap();
    assert_eq!(ledger(&gov, &token).await, (1_000_000, Some(end)));
    refused(admit(&gov, &key, "b3", 1_000).await);

    // Past its end, the reset moves the key to the next period with nothing spent.
    clock.set(end * 1000 + 1);
    gov.refresh().await.unwrap();
    assert_eq!(ledger(&gov, &token).await, (0, Some(end + 3600)));
    let t = admit(&gov, &key, "b4", 1_000).await.unwrap();
    assert_eq!(t.admitted.first_spent, Some(0), "spend starts over");
    t.settle(None, 10, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_expires_when_the_clock_passes_its_duration() {
    let clock = ManualClock::at(START_MS);
    let dir = tempfile::tempdir().unwrap();
    let gov = governance(&dir, &clock).await;
    let (key, v) = generate(&gov, json!({"duration": "2s"})).await;
    let now = START_MS / 1000;
    assert_eq!(v["expires"], iso(now + 2));

    let master = MasterKey::new("sk-master-of-clocks".into());
    let mut req = RequestHeader::build("POST", b"/v1/chat/completions", None).unwrap();
    req.insert_header("authorization", format!("Bearer {key}"))
        .unwrap();
    let auth = || authenticate(Some(&master), Some(&gov), &req);
    assert!(matches!(auth(), Ok(Principal::Key(_))), "fresh");
    clock.advance(Duration::from_millis(1_999));
    assert!(matches!(auth(), Ok(Principal::Key(_))), "1.999 s old");
    clock.advance(Duration::from_millis(1));
    assert_eq!(auth().unwrap_err().status, 401, "expired at its instant");
    clock.advance(Duration::from_secs(1));
    let e = auth().unwrap_err();
    assert_eq!((e.status, e.kind), (401, ErrorKind::Auth));
    assert_eq!(
        e.message,
        format!(
            "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
            iso(now + 2),
            iso(now + 3)
        )
    );
}
