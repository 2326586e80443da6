//! Alerting through the real binary against in-test Slack and LiteLLM-webhook receivers:
//! a budget crossed (and a soft budget reached) alerts once for many requests, a deployment
//! outage over many requests is one alert and one recovery, and a dead or hanging Slack
//! fails no request. Also the spend-log retention job, which runs beside it on the store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::config::{openai, Config};
use common::gov::{poll, priced, Api, TINY};
use common::{chat_body, client, metrics_text, refused_port, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{server_error, Behavior, MockUpstream, Script};

/// An endpoint on loopback that records every JSON body POSTed to it and answers 200, or
/// never answers.
struct Receiver {
    addr: SocketAddr,
    inner: common::http::Recorder,
}

impl Receiver {
    async fn start(hang: bool) -> Receiver {
        let inner = common::http::Recorder::start(hang).await;
        Receiver {
            addr: inner.addr,
            inner,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/services/T000/B000/XXX", self.addr)
    }

    fn posts(&self) -> Vec<Value> {
        let received = self.inner.received();
        received
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    /// Slack texts received so far.
    fn texts(&self) -> Vec<String> {
        self.posts()
            .iter()
            .map(|p| p["text"].as_str().expect("a Slack body").to_string())
            .collect()
    }

    /// Wait until a Slack text contains `needle`.
    async fn await_text(&self, needle: &str) {
        poll(
            &format!("a Slack alert with {needle:?}"),
            Duration::from_secs(20),
            async || {
                self.texts()
                    .iter()
                    .any(|t| t.contains(needle))
                    .then_some(())
            },
        )
        .await;
    }
}

fn count(texts: &[String], needle: &str) -> usize {
    texts.iter().filter(|t| t.contains(needle)).count()
}

/// The value of one series on `/metrics` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

async fn chat(gw: &Gateway, key: &str) -> u16 {
    client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&chat_body("gpt"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// LiteLLM's `WebhookEvent`s of the budget test: one per key, as LiteLLM writes them.
fn assert_webhook_events(events: &[Value]) {
    assert_eq!(events.len(), 3, "{events:#?}");
    let crossed = events.iter().find(|e| e["key_alias"] == "over").unwrap();
    assert_eq!(crossed["event"], "budget_crossed");
    assert_eq!(crossed["event_group"], "key");
    assert_eq!(crossed["event_message"], "Key Budget: Budget Crossed");
    assert_eq!(crossed["max_budget"], TINY);
    assert!(crossed["spend"].as_f64().unwrap() > TINY, "{crossed}");
    assert_eq!(
        crossed["token"].as_str().unwrap().len(),
        64,
        "the key's hash"
    );
    let reached = events.iter().find(|e| e["key_alias"] == "soft").unwrap();
    assert_eq!(reached["event"], "soft_budget_crossed");
    assert_eq!(reached["soft_budget"], TINY);
    assert!(reached["max_budget"].is_null());
}

#[tokio::test]
async fn a_budget_crossed_alerts_once_for_many_over_budget_requests() {
    let m = MockUpstream::start(Script::named("gpt")).await.unwrap();
    let slack = Receiver::start(false).await;
    let hook = Receiver::start(false).await;
    let yaml = Config::with([priced("gpt", &m.base_url())])
        .untyped_general("alerting", json!(["slack", "webhook"]))
        .untyped_general("alert_types", json!(["budget_alerts"]))
        .yaml();
    let (slack_url, hook_url) = (slack.url(), hook.url());
    let gw = Gateway::start_env(
        &yaml,
        &[
            ("SLACK_WEBHOOK_URL", slack_url.as_str()),
            ("WEBHOOK_URL", hook_url.as_str()),
        ],
    );
    let api = Api::new(&gw);
    let over = api
        .new_key(json!({"max_budget": TINY, "key_alias": "over"}))
        .await;
    let soft = api
        .new_key(json!({"soft_budget": TINY, "key_alias": "soft"}))
        .await;
    assert_eq!(chat(&gw, &over).await, 200, "spend 0 is under budget");
    for _ in 0..30 {
        assert_eq!(chat(&gw, &over).await, 400, "over budget");
    }
    for _ in 0..10 {
        assert_eq!(chat(&gw, &soft).await, 200, "a soft budget never refuses");
    }
    // Alerts are deduplicated in the order raised: once this last one is in (and the two
    // before it), every repeat before it was suppressed.
    let last = api
        .new_key(json!({"max_budget": 0.0, "key_alias": "last"}))
        .await;
    assert_eq!(chat(&gw, &last).await, 400);
    for alias in ["over", "soft", "last"] {
        slack.await_text(&format!("Key Alias: `{alias}`")).await;
        poll(
            "the webhook's events",
            Duration::from_secs(20),
            async || {
                hook.posts()
                    .iter()
                    .any(|p| p["key_alias"] == alias)
                    .then_some(())
            },
        )
        .await;
    }

    let texts = slack.texts();
    assert_eq!(texts.len(), 3, "{texts:#?}");
    assert_eq!(count(&texts, "Budget Crossed\nKey=over"), 1, "{texts:#?}");
    assert_eq!(
        count(&texts, "Soft Budget Crossed\nKey=soft"),
        1,
        "{texts:#?}"
    );
    let over_text = texts.iter().find(|t| t.contains("Key=over")).unwrap();
    assert!(
        over_text.starts_with("Level: `High`\nTimestamp: `"),
        "{over_text}"
    );

    assert_webhook_events(&hook.posts());

    let text = metrics_text(&gw).await;
    let suppressed = value(
        &text,
        "switchyard_alerts_suppressed_total{alert_type=\"budget_alerts\"}",
    );
    assert!(suppressed >= 29.0, "{suppressed}\n{text}");
}

#[tokio::test]
async fn an_outage_over_many_requests_is_one_alert_and_one_recovery() {
    let m = MockUpstream::start(Script {
        default: server_error(500),
        ..Script::named("gpt")
    })
    .await
    .unwrap();
    let slack = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .router(|r| r.num_retries(0).allowed_fails(0).cooldown_time(0.2))
        .untyped_general("alerting", json!(["slack"]))
        .yaml();
    let url = slack.url();
    let gw = Gateway::start_env(&yaml, &[("SLACK_WEBHOOK_URL", url.as_str())]);
    // The upstream fails on: the deployment cools down, comes back, fails, cools again...
    let mut requests = 0;
    poll("three cooldowns", Duration::from_secs(30), async || {
        requests += 1;
        let status = chat(&gw, MASTER_KEY).await;
        assert!(matches!(status, 500 | 429), "{status}");
        let text = metrics_text(&gw).await;
        let cooled: f64 = text
            .lines()
            .filter(|l| l.starts_with("litellm_deployment_cooled_down_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        (cooled >= 3.0).then_some(())
    })
    .await;
    assert!(requests >= 3);
    m.set_default(Behavior::Ok);
    poll("a served request", Duration::from_secs(20), async || {
        (chat(&gw, MASTER_KEY).await == 200).then_some(())
    })
    .await;
    slack.await_text("Deployment outage").await;
    slack.await_text("Deployment recovered").await;
    for _ in 0..5 {
        assert_eq!(chat(&gw, MASTER_KEY).await, 200);
    }

    let texts = slack.texts();
    assert_eq!(count(&texts, "Deployment outage"), 1, "{texts:#?}");
    assert_eq!(count(&texts, "Deployment recovered"), 1, "{texts:#?}");
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts.iter().all(|t| t.contains("model group `gpt`")),
        "{texts:#?}"
    );
    let text = metrics_text(&gw).await;
    assert!(
        value(
            &text,
            "switchyard_alerts_suppressed_total{alert_type=\"outage_alerts\"}"
        ) >= 2.0,
        "the later cooldowns were the same outage\n{text}"
    );
    assert_eq!(
        value(
            &text,
            "switchyard_alerts_sent_total{alert_type=\"outage_alerts\"}"
        ),
        2.0
    );
}

#[tokio::test]
async fn a_dead_or_hanging_slack_fails_no_request() {
    // Every attempt outlasts the 1 ms threshold, however fast the machine.
    let m = MockUpstream::start(Script {
        latency: Duration::from_millis(20),
        ..Script::named("gpt")
    })
    .await
    .unwrap();
    let dead = refused_port();
    let hanging = Receiver::start(true).await;
    // Every request is slow (threshold 1 ms): slow alerts go to the dead endpoint, hanging
    // ones to the endpoint that never answers.
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .untyped_general("alerting", json!(["slack"]))
        .untyped_general("alerting_threshold", 0.001)
        .untyped_general(
            "alert_to_webhook_url",
            json!({
                "llm_too_slow": format!("http://{}/dead", dead.1),
                "llm_requests_hanging": hanging.url(),
            }),
        )
        .untyped_general("alerting_args", json!({"outage_alert_ttl": 0.001}))
        .yaml();
    let gw = Gateway::start(&yaml);
    // Until one hanging alert is stuck in its POST (it never gets an answer)...
    poll(
        "a post to the hanging endpoint",
        Duration::from_secs(20),
        async || {
            assert_eq!(chat(&gw, MASTER_KEY).await, 200);
            (!hanging.posts().is_empty()).then_some(())
        },
    )
    .await;
    // ...and while it stays stuck, requests go on as before.
    for _ in 0..40 {
        let started = Instant::now();
        assert_eq!(chat(&gw, MASTER_KEY).await, 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a request waited on alerting: {:?}",
            started.elapsed()
        );
    }
    let text = poll("failed slow alerts", Duration::from_secs(20), async || {
        let t = metrics_text(&gw).await;
        (value(
            &t,
            "switchyard_alerts_failed_total{alert_type=\"llm_too_slow\"}",
        ) >= 1.0)
            .then_some(t)
    })
    .await;
    assert_eq!(
        value(
            &text,
            "switchyard_alerts_sent_total{alert_type=\"llm_too_slow\"}"
        ),
        0.0
    );
    assert!(text.contains("switchyard_alerts_dropped_total{stage=\"deliver\"}"));
}

#[tokio::test]
async fn the_retention_job_deletes_old_spend_rows_and_keeps_new_ones() {
    use switchyard::store::{Kind, SpendRow, Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("switchyard.db").display());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let row = |id: &str, age_ms: i64| SpendRow {
        request_id: id.to_string(),
        api_key: "k".to_string(),
        model_group: "gpt".to_string(),
        spend_nano: 10,
        start_time: now - age_ms,
        end_time: now - age_ms + 100,
        status: "success".to_string(),
        metadata: "{}".to_string(),
        scopes: vec![(Kind::Global, "global".to_string())],
        ..SpendRow::default()
    };
    let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
    let day = 86_400_000;
    store
        .record(&[
            row("old", 2 * day),
            row("older", 40 * day),
            row("new", 60_000),
        ])
        .await
        .unwrap();
    drop(store);

    let m = MockUpstream::start(Script::named("gpt")).await.unwrap();
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .untyped_general("maximum_spend_logs_retention_period", "1d")
        .untyped_general("maximum_spend_logs_retention_interval", "1h")
        .yaml();
    let gw = Gateway::start_in(dir, &yaml);
    let api = Api::new(&gw);
    let rows = async |id: &str| {
        let v = api.get_ok(&format!("/spend/logs?request_id={id}")).await;
        v.as_array().unwrap().len()
    };
    // The first pass runs at start.
    poll("the old rows to go", Duration::from_secs(20), async || {
        (rows("old").await == 0 && rows("older").await == 0).then_some(())
    })
    .await;
    assert_eq!(rows("new").await, 1, "a row younger than the period stays");
    assert_eq!(chat(&gw, MASTER_KEY).await, 200);
    poll("the pass's log line", Duration::from_secs(20), async || {
        gw.log()
            .contains("spend-log retention: deleted 2 rows")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_daily_report_names_the_top_keys_and_models_by_spend() {
    let m = MockUpstream::start(Script::named("gpt")).await.unwrap();
    let slack = Receiver::start(false).await;
    let yaml = Config::with([priced("gpt", &m.base_url())])
        .untyped_general("alerting", json!(["slack"]))
        .untyped_general("alert_types", json!(["daily_reports"]))
        .untyped_general(
            "alerting_args",
            json!({"daily_report_frequency": 3, "report_check_interval": 0.2}),
        )
        .yaml();
    let url = slack.url();
    let gw = Gateway::start_env(&yaml, &[("SLACK_WEBHOOK_URL", url.as_str())]);
    let key = Api::new(&gw)
        .new_key(json!({"key_alias": "reporter"}))
        .await;
    // A report every 3 s over the 3 s before it: spend keeps coming until one names it.
    let report = poll(
        "a report with the key",
        Duration::from_secs(30),
        async || {
            assert_eq!(chat(&gw, &key).await, 200);
            slack
                .texts()
                .into_iter()
                .find(|t| t.contains("Spend Report") && t.contains("reporter"))
        },
    )
    .await;
    assert!(report.starts_with("Level: `Low`"), "{report}");
    assert!(report.contains("1. Key `reporter ("), "{report}");
    assert!(report.contains("1. Model `gpt`: `$"), "{report}");
}
