//! LiteLLM's `s3` callback: batches of records as JSON-lines objects in an S3-compatible
//! bucket (`s3_callback_params`), each PUT signed with SigV4. Objects are named
//! `{s3_path}/{YYYY-MM-DD}/{unix ms}-{first call id}.jsonl`, so a day's records list together
//! and no two batches share a name.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pingora_core::connectors::http::Connector;

use super::hub::{Inbox, FAILED, SENT};
use super::jsonlog::iso_ms;
use super::settings::S3;
use super::Payload;
use crate::core::clock::now_ms;
use crate::core::sigv4::{sign, uri_encode};

pub(super) async fn run(s: S3, mut inbox: Inbox) {
    let connector = Connector::new(None);
    let size = s.batch_size.max(1);
    let mut batch: Vec<Arc<Payload>> = Vec::with_capacity(size.min(1024));
    loop {
        let open = inbox.fill(&mut batch, size, s.flush_interval).await;
        put(&connector, &s, &batch).await;
        batch.clear();
        if !open {
            break;
        }
    }
    for chunk in inbox.rest().chunks(size) {
        put(&connector, &s, chunk).await;
    }
}

/// The object's key for a batch written at `ms`.
fn object_key(prefix: &str, ms: i64, first: &str) -> String {
    let day = &iso_ms(ms)[..10];
    let name = format!("{day}/{ms}-{first}.jsonl");
    match prefix.trim_matches('/') {
        "" => name,
        p => format!("{p}/{name}"),
    }
}

/// The request path of `key` in the bucket: path style under the endpoint's own path, or
/// virtual-hosted (the bucket is in the host).
fn request_path(s: &S3, key: &str) -> String {
    let key: Vec<String> = key
        .split('/')
        .map(|seg| uri_encode(seg.as_bytes()))
        .collect();
    let key = key.join("/");
    if s.path_style {
        let base = s
            .endpoint
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        format!("{base}/{}/{key}", uri_encode(s.bucket.as_bytes()))
    } else {
        format!("/{key}")
    }
}

async fn put(connector: &Connector, s: &S3, batch: &[Arc<Payload>]) {
    let Some(first) = batch.first() else {
        return;
    };
    let size: usize = batch.iter().map(|p| p.json().len() + 1).sum();
    let mut body = Vec::with_capacity(size);
    for p in batch {
        body.extend_from_slice(p.json());
        body.push(b'\n');
    }
    let key = object_key(&s.prefix, now_ms(), &first.id);
    let mut to = s.endpoint.clone();
    to.path = request_path(s, &key);
    let signed = sign(
        &s.credentials,
        &s.region,
        "s3",
        "PUT",
        &to.authority,
        &to.path,
        &body,
        SystemTime::now(),
    );
    let headers: Vec<(HeaderName, HeaderValue)> = signed
        .into_iter()
        .filter_map(|(k, v)| Some((HeaderName::from_static(k), HeaderValue::try_from(v).ok()?)))
        .collect();
    let n = batch.len() as u64;
    let sent = super::post::request(
        connector,
        "PUT",
        &to,
        &headers,
        "application/x-ndjson",
        Bytes::from(body),
    )
    .await;
    match sent {
        Ok(status) if (200..300).contains(&status) => SENT.with_label_values(&[&s.name]).inc_by(n),
        Ok(status) => {
            FAILED.with_label_values(&[&s.name]).inc_by(n);
            log::warn!("{}: PUT {key} answered {status}; {n} records lost", s.name);
        }
        Err(e) => {
            FAILED.with_label_values(&[&s.name]).inc_by(n);
            log::warn!("{}: {e}; {n} records lost", s.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_by_day_time_and_first_call() {
        assert_eq!(
            object_key("/logs/gw/", 1_795_322_600_123, "call-1"),
            "logs/gw/2026-11-22/1795322600123-call-1.jsonl"
        );
        assert_eq!(object_key("", 0, "c"), "1970-01-01/0-c.jsonl");
    }
}
