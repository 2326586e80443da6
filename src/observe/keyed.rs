//! Keys' and teams' own logging destinations (`metadata.logging`, team `callback_settings`):
//! one task routes each record to the sinks its key names, starting a sink the first time a
//! destination is seen (at most [`MAX_SINKS`]); a destination that cannot run (a missing
//! variable) is reported once and its records dropped (counted).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::hub::{Inbox, DROPPED};
use super::settings::Events;
use super::Payload;
use crate::core::key_logging::Callback;

/// The most distinct destinations run at once; records for more are dropped (counted).
pub const MAX_SINKS: usize = 256;

/// The metric label of keys' own sinks.
pub const LABEL: &str = "key_callbacks";

enum Dest {
    Running {
        events: Events,
        tx: mpsc::Sender<Arc<Payload>>,
    },
    /// It could not start: why was logged once.
    Broken,
}

/// Route records to the destinations their keys name, until shutdown; then every sink
/// started delivers what it holds.
pub(super) async fn run(mut inbox: Inbox, closing: watch::Receiver<bool>, queue: usize) {
    let mut dests: HashMap<Callback, Dest> = HashMap::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let dropped = DROPPED.with_label_values(&[LABEL]);
    let mut route = |p: Arc<Payload>, dests: &mut HashMap<Callback, Dest>| {
        let Some(own) = p.own.clone() else {
            return;
        };
        let success = p.status == "success";
        for cb in &own.callbacks {
            if !(if success { cb.success } else { cb.failure }) {
                continue;
            }
            if !dests.contains_key(cb) {
                if dests.len() >= MAX_SINKS {
                    dropped.inc();
                    continue;
                }
                let d = start(cb, &closing, queue, &mut tasks);
                dests.insert(cb.clone(), d);
            }
            match dests.get(cb) {
                Some(Dest::Running { events, tx }) => {
                    let wanted = if success {
                        events.success
                    } else {
                        events.failure
                    };
                    if wanted && tx.try_send(p.clone()).is_err() {
                        dropped.inc();
                    }
                }
                _ => dropped.inc(),
            }
        }
    };
    while let Some(p) = inbox.next().await {
        route(p, &mut dests);
    }
    for p in inbox.rest() {
        route(p, &mut dests);
    }
    drop(dests);
    futures_util::future::join_all(tasks).await;
}

/// A sink for `cb`, from its `callback_vars` (`langfuse_public_key` stands for
/// `LANGFUSE_PUBLIC_KEY`; an `os.environ/NAME` value is read from the environment).
fn start(
    cb: &Callback,
    closing: &watch::Receiver<bool>,
    queue: usize,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Dest {
    let lookup = |var: &str| -> Option<String> {
        let v = cb.vars.get(&var.to_ascii_lowercase())?;
        match v.strip_prefix("os.environ/") {
            Some(name) => std::env::var(name).ok(),
            None => Some(v.clone()),
        }
        .filter(|v| !v.is_empty())
    };
    let events = Events {
        success: cb.success,
        failure: cb.failure,
    };
    match super::named::vendor(&cb.name, LABEL.to_string(), events, &lookup) {
        Ok(mut w) => {
            w.queue = queue;
            let (tx, rx) = mpsc::channel(queue.max(1));
            let inbox = Inbox {
                rx,
                closing: closing.clone(),
            };
            tasks.push(tokio::spawn(super::webhook::run(w, inbox)));
            Dest::Running { events, tx }
        }
        Err(e) => {
            log::warn!(
                "a key's logging callback \"{}\" cannot run: {}; its records are dropped",
                cb.name,
                e.message
            );
            Dest::Broken
        }
    }
}
