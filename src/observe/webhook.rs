//! Batched HTTP sinks: LiteLLM's generic API logger, Langfuse and Datadog. Records batched (`batch_size`, or whatever arrived within
//! `flush_interval` of a batch's first record) and POSTed as one JSON array (or NDJSON) with
//! the configured headers. A failed POST loses its batch (counted) and the sink goes on.

use std::sync::Arc;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use tokio::time::Instant;

use super::hub::{Inbox, FAILED, SENT};
use super::post::post;
use super::settings::{LogFormat, Webhook};
use super::Payload;

pub(super) async fn run(w: Webhook, mut inbox: Inbox) {
    let connector = Connector::new(None);
    let mut batch: Vec<Arc<Payload>> = Vec::with_capacity(w.batch_size.min(1024));
    let mut open = true;
    while open {
        let Some(first) = inbox.next().await else {
            break;
        };
        batch.push(first);
        let due = Instant::now() + w.flush_interval;
        while batch.len() < w.batch_size {
            match tokio::time::timeout_at(due, inbox.next()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        deliver(&connector, &w, &batch).await;
        batch.clear();
    }
    // Shutdown: what is still queued goes out in full batches.
    let rest = inbox.rest();
    for chunk in rest.chunks(w.batch_size.max(1)) {
        deliver(&connector, &w, chunk).await;
    }
}

async fn deliver(connector: &Connector, w: &Webhook, batch: &[Arc<Payload>]) {
    if batch.is_empty() {
        return;
    }
    let (body, content_type) = match encode(&w.format, batch) {
        Ok(b) => b,
        Err(e) => {
            log::warn!("{}: cannot encode a batch: {e}", w.name);
            return;
        }
    };
    let n = batch.len() as u64;
    match post(connector, &w.endpoint, &w.headers, content_type, body).await {
        Ok(status) if (200..300).contains(&status) => {
            SENT.with_label_values(&[&w.name]).inc_by(n);
        }
        Ok(status) => {
            FAILED.with_label_values(&[&w.name]).inc_by(n);
            log::warn!(
                "{}: {} answered {status}; {n} records lost",
                w.name,
                w.endpoint.authority
            );
        }
        Err(e) => {
            FAILED.with_label_values(&[&w.name]).inc_by(n);
            log::warn!("{}: {e}; {n} records lost", w.name);
        }
    }
}

fn encode(
    format: &LogFormat,
    batch: &[Arc<Payload>],
) -> Result<(Bytes, &'static str), serde_json::Error> {
    match format {
        LogFormat::Langfuse => Ok((super::vendors::langfuse(batch)?, "application/json")),
        LogFormat::Datadog {
            source,
            service,
            hostname,
            tags,
        } => {
            let body = super::vendors::datadog(batch, [source, service, hostname, tags])?;
            Ok((body, "application/json"))
        }
        LogFormat::JsonArray => {
            let items: Vec<&Payload> = batch.iter().map(|p| &**p).collect();
            Ok((Bytes::from(serde_json::to_vec(&items)?), "application/json"))
        }
        LogFormat::Single => match batch {
            [one] => Ok((Bytes::from(serde_json::to_vec(&**one)?), "application/json")),
            _ => encode(&LogFormat::Ndjson, batch),
        },
        LogFormat::Ndjson => {
            let mut out = Vec::new();
            for p in batch {
                serde_json::to_writer(&mut out, &**p)?;
                out.push(b'\n');
            }
            Ok((Bytes::from(out), "application/x-ndjson"))
        }
    }
}
