//! The sinks of one gateway: each a task on the background runtime behind a bounded queue.
//! [`Hub::emit`] never waits: a full queue drops the record and counts it.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus::IntCounterVec;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::settings::Privacy;
use super::settings::{Events, Settings};
use super::{jsonlog, keyed, otel, webhook, Payload};

/// A counter per sink, registered with the gateway's metrics.
fn per_sink(name: &str, help: &str) -> IntCounterVec {
    crate::metrics::counter(&crate::metrics::metrics().registry, name, help, &["sink"])
}

/// Records a sink could not take (its queue was full or it had stopped).
pub(super) static DROPPED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_sink(
        "switchyard_logging_dropped_total",
        "Logging records dropped because a sink's queue was full",
    )
});

/// Records a sink delivered, and deliveries that failed (the records are then lost).
pub(super) static SENT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_sink(
        "switchyard_logging_sent_total",
        "Logging records a sink delivered",
    )
});
pub(super) static FAILED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    per_sink(
        "switchyard_logging_failed_total",
        "Logging records lost because a sink's delivery failed",
    )
});

struct Sink {
    name: String,
    events: Events,
    tx: mpsc::Sender<Arc<Payload>>,
}

/// The running sinks.
pub struct Hub {
    sinks: Vec<Sink>,
    /// Keys' and teams' own destinations, routed by one task (governed gateways only).
    keyed: Option<mpsc::Sender<Arc<Payload>>>,
    /// What the request path keeps for the sinks.
    pub wants: Wants,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Set at shutdown: each sink delivers what it holds and stops.
    closing: watch::Sender<bool>,
}

/// What the request path must keep for the running sinks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wants {
    /// A sink of the gateway's own runs (not only keys' destinations).
    pub global: bool,
    /// A tracing sink runs: keep admission and attempt timings.
    pub spans: bool,
    /// Upstream requests carry a `traceparent`.
    pub forward_traceparent: bool,
    /// Keep the prompt and answer (message logging on).
    pub bodies: bool,
    /// Keep them for a key with destinations of its own (message logging on).
    pub key_bodies: bool,
    pub privacy: Privacy,
}

/// What a sink task reads: its queue, and the shutdown signal.
pub(super) struct Inbox {
    pub rx: mpsc::Receiver<Arc<Payload>>,
    pub closing: watch::Receiver<bool>,
}

impl Inbox {
    /// The next record; `None` once shutdown began (then [`Inbox::rest`] drains the queue)
    /// or every sender is gone.
    pub async fn next(&mut self) -> Option<Arc<Payload>> {
        if *self.closing.borrow() {
            return None;
        }
        tokio::select! {
            biased;
            p = self.rx.recv() => p,
            _ = self.closing.changed() => None,
        }
    }

    /// Fill `batch` with up to `size` records: the first as it comes, the rest for at most
    /// `interval` after it. Returns `false` once shutdown began (then deliver `batch` and
    /// [`Inbox::rest`]).
    pub async fn fill(
        &mut self,
        batch: &mut Vec<Arc<Payload>>,
        size: usize,
        interval: Duration,
    ) -> bool {
        let Some(first) = self.next().await else {
            return false;
        };
        batch.push(first);
        let due = tokio::time::Instant::now() + interval;
        while batch.len() < size {
            match tokio::time::timeout_at(due, self.next()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) => return false,
                Err(_) => break,
            }
        }
        true
    }

    /// What is still queued, without waiting.
    pub fn rest(&mut self) -> Vec<Arc<Payload>> {
        let mut out = Vec::new();
        while let Ok(p) = self.rx.try_recv() {
            out.push(p);
        }
        out
    }
}

impl Hub {
    /// Start the sinks `settings` names on `runtime`, and with `keys` (a governed gateway)
    /// the router of keys' own destinations; `None` when there is nothing to run, so the
    /// request path pays one `None` check.
    pub fn start(
        settings: &Settings,
        runtime: &tokio::runtime::Handle,
        keys: bool,
    ) -> Option<Arc<Hub>> {
        let queue = settings.queue.max(1);
        let mut sinks = Vec::new();
        let mut tasks = Vec::new();
        let (closing, watch_rx) = watch::channel(false);
        let inbox = |rx| Inbox {
            rx,
            closing: watch_rx.clone(),
        };
        let both = Events {
            success: true,
            failure: true,
        };
        if settings.json_logs {
            let (tx, rx) = mpsc::channel(queue);
            tasks.push(runtime.spawn(jsonlog::access_log(inbox(rx))));
            sinks.push(Sink {
                name: "json_logs".into(),
                events: both,
                tx,
            });
        }
        for w in &settings.webhooks {
            let (tx, rx) = mpsc::channel(w.queue.max(1));
            tasks.push(runtime.spawn(webhook::run(w.clone(), inbox(rx))));
            sinks.push(Sink {
                name: w.name.clone(),
                events: w.events,
                tx,
            });
        }
        if let Some(o) = &settings.otel {
            let (tx, rx) = mpsc::channel(o.queue.max(1));
            tasks.push(runtime.spawn(otel::run(o.clone(), inbox(rx))));
            sinks.push(Sink {
                name: o.name.clone(),
                events: o.events,
                tx,
            });
        }
        let keyed = keys.then(|| {
            let (tx, rx) = mpsc::channel(queue);
            let closing = watch_rx.clone();
            tasks.push(runtime.spawn(keyed::run(inbox(rx), closing, queue)));
            DROPPED.with_label_values(&[keyed::LABEL]);
            tx
        });
        for s in &sinks {
            // Every sink's series exists from the start, at 0.
            DROPPED.with_label_values(&[&s.name]);
            SENT.with_label_values(&[&s.name]);
            FAILED.with_label_values(&[&s.name]);
        }
        let global = !sinks.is_empty();
        (global || keyed.is_some()).then(|| {
            Arc::new(Hub {
                sinks,
                keyed,
                wants: Wants {
                    global,
                    spans: settings.otel.is_some(),
                    forward_traceparent: settings.otel.is_some() && settings.forward_traceparent,
                    bodies: global && !settings.privacy.turn_off_message_logging,
                    key_bodies: !settings.privacy.turn_off_message_logging,
                    privacy: settings.privacy,
                },
                tasks: std::sync::Mutex::new(tasks),
                closing,
            })
        })
    }

    /// Whether a finished request is logged at all: a sink of the gateway's runs, or its
    /// key has destinations of its own.
    pub fn logs(&self, own: Option<&crate::core::key_logging::KeyLogging>) -> bool {
        match own {
            Some(o) => !o.off,
            None => self.wants.global,
        }
    }

    /// Hand a finished request to every sink that wants its outcome, and to its key's own
    /// destinations; a team that switched logging off reaches none.
    pub fn emit(&self, payload: Payload) {
        if payload.own.as_ref().is_some_and(|o| o.off) {
            return;
        }
        let success = payload.status == "success";
        let keyed = payload
            .own
            .as_ref()
            .is_some_and(|o| !o.callbacks.is_empty());
        let payload = Arc::new(payload);
        for s in &self.sinks {
            let wanted = if success {
                s.events.success
            } else {
                s.events.failure
            };
            if wanted && s.tx.try_send(payload.clone()).is_err() {
                DROPPED.with_label_values(&[&s.name]).inc();
            }
        }
        if let (true, Some(tx)) = (keyed, &self.keyed) {
            if tx.try_send(payload).is_err() {
                DROPPED.with_label_values(&[keyed::LABEL]).inc();
            }
        }
    }

    /// Stop taking records and let each sink deliver what it holds, for at most `grace`.
    pub async fn close(&self, grace: Duration) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        self.closing.send_replace(true);
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            log::warn!("logging sinks still delivering after {grace:?}; the rest is dropped");
        }
    }
}
