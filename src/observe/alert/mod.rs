//! Alerting (`general_settings.alerting`): the gateway's parts raise [`Alert`]s through an
//! [`AlertTx`]; one task dedups them ([`dedup`]) and formats the survivors ([`format`]) for
//! Slack and LiteLLM's budget webhook; a second task POSTs them. Both queues are bounded: a
//! slow or dead endpoint drops alerts (counted in `switchyard_alerts_dropped_total`) and never
//! delays a request. The daily spend report is made on the same task from a [`ReportFn`].

pub mod dedup;
pub mod format;
pub mod settings;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use prometheus::IntCounterVec;
use tokio::sync::mpsc;

use self::dedup::Dedup;
use self::settings::{AlertSettings, AlertType};
use super::post::post;
use super::settings::Endpoint;
use crate::core::alert::{Alert, AlertTx};
use crate::core::clock::WallClock;

pub use settings::AlertingArgs;

fn per_type(name: &str, help: &str, label: &str) -> IntCounterVec {
    crate::metrics::counter(&crate::metrics::metrics().registry, name, help, &[label])
}

/// Alerts dropped because a queue was full: `stage` is `raise` (before dedup) or `deliver`.
static DROPPED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_type(
        "switchyard_alerts_dropped_total",
        "Alerts dropped because the alert queue was full",
        "stage",
    )
});
static SENT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_type(
        "switchyard_alerts_sent_total",
        "Alert posts delivered",
        "alert_type",
    )
});
static FAILED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_type(
        "switchyard_alerts_failed_total",
        "Alert posts that failed (the alert is lost)",
        "alert_type",
    )
});
static SUPPRESSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_type(
        "switchyard_alerts_suppressed_total",
        "Alerts not sent because the same one was sent already",
        "alert_type",
    )
});

/// The daily report's text for the last `window`, read from the store off the request path.
pub type ReportFn = Arc<
    dyn Fn(Duration) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync,
>;

/// One POST to make.
struct Post {
    to: Endpoint,
    body: Bytes,
    kind: AlertType,
}

/// Start alerting on `runtime`; the handle the gateway's parts raise through (off when no
/// destination is configured). `report` makes the daily report when `daily_reports` is on.
pub fn start(
    settings: &AlertSettings,
    runtime: &tokio::runtime::Handle,
    clock: WallClock,
    report: Option<ReportFn>,
) -> AlertTx {
    if !settings.enabled() {
        return AlertTx::default();
    }
    let queue = settings.queue.max(1);
    let (tx, rx) = mpsc::channel(queue);
    let (out_tx, out_rx) = mpsc::channel(queue);
    for stage in ["raise", "deliver"] {
        DROPPED.with_label_values(&[stage]);
    }
    for t in &settings.types {
        SENT.with_label_values(&[t.as_str()]);
        FAILED.with_label_values(&[t.as_str()]);
    }
    let raised = DROPPED.with_label_values(&["raise"]);
    let handle = AlertTx::new(
        tx,
        &settings.kinds(),
        settings.threshold,
        Arc::new(move || raised.inc()),
    );
    runtime.spawn(deliver(out_rx));
    let report = report.filter(|_| settings.wants(AlertType::DailyReports) && settings.slack);
    runtime.spawn(intake(settings.clone(), clock, rx, out_tx, report));
    handle
}

/// Dedup, format and hand over to delivery; make the daily report when due.
async fn intake(
    s: AlertSettings,
    clock: WallClock,
    mut rx: mpsc::Receiver<Alert>,
    out: mpsc::Sender<Post>,
    report: Option<ReportFn>,
) {
    let mut dedup = Dedup::new(
        clock.clone(),
        s.args.budget_alert_ttl,
        s.args.outage_alert_ttl,
    );
    let mut check = tokio::time::interval(s.args.report_check_interval);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let frequency = i64::try_from(s.args.daily_report_frequency.as_millis()).unwrap_or(i64::MAX);
    // The first report goes out one period after start, as LiteLLM's.
    let mut next_report = clock.now_ms().saturating_add(frequency);
    loop {
        tokio::select! {
            alert = rx.recv() => {
                let Some(alert) = alert else { return };
                let kind = format::alert_type(&alert, &s);
                if !dedup.admit(&alert) {
                    SUPPRESSED.with_label_values(&[kind.as_str()]).inc();
                    continue;
                }
                for p in posts(&s, &alert, kind, &clock) {
                    hand_over(&out, p);
                }
            }
            _ = check.tick(), if report.is_some() => {
                let now = clock.now_ms();
                if now < next_report {
                    continue;
                }
                next_report = now.saturating_add(frequency);
                if let Some(make) = &report {
                    daily_report(&s, make, &out, &clock).await;
                }
            }
        }
    }
}

fn hand_over(out: &mpsc::Sender<Post>, p: Post) {
    if out.try_send(p).is_err() {
        DROPPED.with_label_values(&["deliver"]).inc();
    }
}

/// The POSTs one alert makes: Slack text to each URL of its type, and LiteLLM's
/// `WebhookEvent` to `$WEBHOOK_URL` for budget events.
fn posts(s: &AlertSettings, alert: &Alert, kind: AlertType, clock: &WallClock) -> Vec<Post> {
    let mut out = Vec::new();
    let urls = s.slack_urls(kind);
    if !urls.is_empty() {
        let (level, text) = format::message(alert);
        let body = format::slack_body(level, &text, &format::hms(clock.now_ms()));
        let body = Bytes::from(body.to_string());
        for to in urls {
            out.push(Post {
                to: to.clone(),
                body: body.clone(),
                kind,
            });
        }
    }
    if let (Some(to), Alert::Budget(b)) = (&s.webhook_url, alert) {
        match serde_json::to_vec(&format::webhook_event(b)) {
            Ok(body) => out.push(Post {
                to: to.clone(),
                body: Bytes::from(body),
                kind,
            }),
            Err(e) => log::warn!("alerting: cannot encode a webhook event: {e}"),
        }
    }
    out
}

async fn daily_report(
    s: &AlertSettings,
    make: &ReportFn,
    out: &mpsc::Sender<Post>,
    clock: &WallClock,
) {
    let text = match make(s.args.daily_report_frequency).await {
        Ok(t) => t,
        Err(e) => {
            log::warn!("alerting: the daily report could not be read: {e}");
            return;
        }
    };
    let body = format::slack_body(format::Level::Low, &text, &format::hms(clock.now_ms()));
    let body = Bytes::from(body.to_string());
    for to in s.slack_urls(AlertType::DailyReports) {
        hand_over(
            out,
            Post {
                to: to.clone(),
                body: body.clone(),
                kind: AlertType::DailyReports,
            },
        );
    }
}

/// Posts in flight at once: a hanging endpoint holds one slot (up to the post timeout), so
/// the others still go out.
const IN_FLIGHT: usize = 4;

/// POST each alert; a failure loses that alert (counted) and delivery goes on.
async fn deliver(mut rx: mpsc::Receiver<Post>) {
    let connector = Arc::new(Connector::new(None));
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    while let Some(p) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let connector = connector.clone();
        tokio::spawn(async move {
            deliver_one(&connector, p).await;
            drop(slot);
        });
    }
}

async fn deliver_one(connector: &Connector, p: Post) {
    let label = [p.kind.as_str()];
    match post(connector, &p.to, &[], "application/json", p.body).await {
        Ok(status) if (200..300).contains(&status) => SENT.with_label_values(&label).inc(),
        Ok(status) => {
            FAILED.with_label_values(&label).inc();
            log::warn!("alerting: {} answered {status}; alert lost", p.to.authority);
        }
        Err(e) => {
            FAILED.with_label_values(&label).inc();
            log::warn!("alerting: {e}; alert lost");
        }
    }
}
