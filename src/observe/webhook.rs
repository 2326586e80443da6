//! Batched HTTP sinks: LiteLLM's generic API logger, Langfuse and Datadog. Records batched (`batch_size`, or whatever arrived within
//! `flush_interval` of a batch's first record) and POSTed as one JSON array (or NDJSON) with
//! the configured headers. A failed POST loses its batch (counted) and the sink goes on.

use std::sync::Arc;

use bytes::Bytes;
use pingora_core::connectors::http::Connector;

use super::hub::{Inbox, FAILED, SENT};
use super::post::post;
use super::settings::{LogFormat, Webhook};
use super::Payload;

pub(super) async fn run(w: Webhook, mut inbox: Inbox) {
    let connector = Connector::new(None);
    let size = w.batch_size.max(1);
    let mut batch: Vec<Arc<Payload>> = Vec::with_capacity(size.min(1024));
    loop {
        let open = inbox.fill(&mut batch, size, w.flush_interval).await;
        deliver(&connector, &w, &batch).await;
        batch.clear();
        if !open {
            break;
        }
    }
    // Shutdown: what is still queued goes out in full batches.
    for chunk in inbox.rest().chunks(size) {
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
        LogFormat::JsonArray => Ok((joined(b"[", batch, b",", b"]"), "application/json")),
        LogFormat::Single => match batch {
            [one] => Ok((one.json().clone(), "application/json")),
            _ => encode(&LogFormat::Ndjson, batch),
        },
        LogFormat::Ndjson => Ok((joined(b"", batch, b"\n", b"\n"), "application/x-ndjson")),
    }
}

/// The payloads' JSON (each made once, shared with the other sinks) between `open` and
/// `close`, separated by `sep`.
fn joined(open: &[u8], batch: &[Arc<Payload>], sep: &[u8], close: &[u8]) -> Bytes {
    let size: usize = batch.iter().map(|p| p.json().len() + sep.len()).sum();
    let mut out = Vec::with_capacity(open.len() + size + close.len());
    out.extend_from_slice(open);
    for (i, p) in batch.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(p.json());
    }
    out.extend_from_slice(close);
    Bytes::from(out)
}
