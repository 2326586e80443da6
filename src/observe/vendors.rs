//! The bodies of the vendor sinks, from the same payloads: Langfuse's batch ingestion (a
//! `trace-create` and a `generation-create` event per request, with usage and cost, as
//! LiteLLM's Langfuse integration sends them) and Datadog's logs intake (one entry per
//! request, the payload as its JSON message, as LiteLLM's Datadog logger sends it).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use super::jsonlog::iso_ms;
use super::Payload;
use crate::core::ids::new_uuid;

fn iso(secs: f64) -> String {
    iso_ms((secs * 1000.0) as i64)
}

/// `{"batch": [...]}` for `POST /api/public/ingestion`.
pub(super) fn langfuse(batch: &[Arc<Payload>]) -> Result<Bytes, serde_json::Error> {
    let mut events = Vec::with_capacity(batch.len() * 2);
    for p in batch {
        let name = format!("litellm-{}", p.call_type);
        let at = iso(p.end_time);
        let user = p.metadata.user_api_key_user_id.as_deref();
        let failed = p.status != "success";
        events.push(json!({
            "id": new_uuid(),
            "timestamp": at,
            "type": "trace-create",
            "body": {
                "id": p.trace_id,
                "name": name,
                "timestamp": iso(p.start_time),
                "userId": user.or(Some(p.end_user.as_str()).filter(|u| !u.is_empty())),
                "tags": p.request_tags,
                "metadata": {"user_api_key_alias": p.metadata.user_api_key_alias,
                             "user_api_key_team_id": p.metadata.user_api_key_team_id},
            },
        }));
        events.push(json!({
            "id": new_uuid(),
            "timestamp": at,
            "type": "generation-create",
            "body": {
                "id": p.id,
                "traceId": p.trace_id,
                "name": name,
                "startTime": iso(p.start_time),
                "endTime": iso(p.end_time),
                "completionStartTime": iso(p.completion_start_time),
                "model": p.model,
                "usage": {
                    "input": p.prompt_tokens,
                    "output": p.completion_tokens,
                    "total": p.total_tokens,
                    "unit": "TOKENS",
                    "totalCost": p.response_cost,
                },
                "metadata": {
                    "model_group": p.model_group,
                    "model_id": p.model_id,
                    "custom_llm_provider": p.custom_llm_provider,
                    "api_base": p.api_base,
                    "cache_hit": p.cache_hit,
                    "user_api_key_hash": p.metadata.user_api_key_hash,
                },
                "level": if failed { "ERROR" } else { "DEFAULT" },
                "statusMessage": p.error_str,
            },
        }));
    }
    serde_json::to_vec(&json!({ "batch": events })).map(Bytes::from)
}

/// A JSON array of log entries for `POST /api/v2/logs`.
pub(super) fn datadog(
    batch: &[Arc<Payload>],
    [source, service, hostname, tags]: [&String; 4],
) -> Result<Bytes, serde_json::Error> {
    let mut entries: Vec<Value> = Vec::with_capacity(batch.len());
    for p in batch {
        entries.push(json!({
            "ddsource": source,
            "ddtags": tags,
            "hostname": hostname,
            "service": service,
            "message": std::str::from_utf8(p.json()).unwrap_or_default(),
            "status": if p.status == "success" { "info" } else { "error" },
        }));
    }
    serde_json::to_vec(&entries).map(Bytes::from)
}
