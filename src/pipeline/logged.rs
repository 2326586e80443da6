//! A finished request as the logging [`Payload`]: built once, from the [`Outcome`] the stages
//! left (before settlement takes its ticket), only when a sink runs.

use std::time::Instant;

use super::Outcome;
use crate::core::clock::now_ms;
use crate::core::endpoint::Endpoint;
use crate::core::ids::{hex, new_uuid};
use crate::core::secret::MasterKey;
use crate::governance::entities::from_nano;
use crate::governance::tables::hash_key;
use crate::observe::payload::{ErrorInformation, HiddenParams, Metadata, Payload, UsageObject};
use crate::router::Backend;

/// LiteLLM's `call_type` of an endpoint.
fn call_type(e: Endpoint) -> &'static str {
    match e {
        Endpoint::ChatCompletions => "acompletion",
        Endpoint::Completions => "atext_completion",
        Endpoint::Embeddings => "aembedding",
        Endpoint::Messages => "anthropic_messages",
        Endpoint::Responses => "aresponses",
        Endpoint::CountTokens => "acount_tokens",
        Endpoint::PassThrough(_) => "pass_through_endpoint",
        _ => "other",
    }
}

/// The payload of `out`, which ended with `out.status` written.
pub fn payload(out: &Outcome, endpoint: Endpoint, master_key: Option<&MasterKey>) -> Payload {
    let record = &out.record;
    let dep = record.deployment.as_deref();
    let now = Instant::now();
    let elapsed = now.saturating_duration_since(out.started);
    let end = now_ms() as f64 / 1000.0;
    let start = end - elapsed.as_secs_f64();
    let first = record.committed_at.map_or(end, |c| {
        start + c.saturating_duration_since(out.started).as_secs_f64()
    });
    let usage = record.usage.unwrap_or_default();
    let price = record
        .price
        .or_else(|| dep.map(|d| d.price_for(&out.asked_model)));
    let cost = match (price, record.usage) {
        (Some(p), Some(u)) => from_nano(p.cost_over(&u, elapsed)),
        _ => 0.0,
    };
    let overhead = record.committed_at.map_or(elapsed, |c| {
        c.saturating_duration_since(out.started)
            .saturating_sub(record.upstream_wait)
    });
    let api_base = dep.and_then(|d| match &d.backend {
        Backend::Http(t) => Some(t.display.clone()),
        _ => None,
    });
    let success = out.status != 0 && out.status < 400;
    let provider = dep.map(|d| d.backend.provider_label().to_string());
    let error = (!success).then(|| error_information(out, provider.clone()));
    let id = if out.call_id.is_empty() {
        new_uuid()
    } else {
        out.call_id.clone()
    };
    let ticket = out.clearance.as_ref().and_then(|c| c.ticket());
    let key = ticket.and_then(|t| t.key.as_deref());
    // A governed request without a virtual key was made with the master key (its hash, as
    // the spend row names it).
    let master = ticket
        .filter(|t| t.key.is_none())
        .and(master_key)
        .map(|m| hex(&hash_key(m.as_bytes())));
    let end_user = ticket.and_then(|t| t.end_user.clone());
    Payload {
        trace_id: out.trace_id.clone().unwrap_or_else(|| id.clone()),
        id,
        call_type: call_type(endpoint),
        stream: out.stream,
        status: if success { "success" } else { "failure" },
        status_code: out.status,
        response_cost: cost,
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.total(),
        start_time: start,
        end_time: end,
        completion_start_time: first,
        response_time: elapsed.as_secs_f64(),
        model: dep.map_or_else(|| out.asked_model.clone(), |d| d.upstream_model.to_string()),
        model_id: dep.map(|d| d.id.to_string()),
        model_group: out.group.as_ref().map(|g| g.name.to_string()),
        custom_llm_provider: provider.clone(),
        api_base: api_base.clone().unwrap_or_default(),
        metadata: metadata(key, master, end_user.clone(), usage),
        cache_hit: false,
        request_tags: key.map(|k| k.doc.tags.clone()).unwrap_or_default(),
        end_user: end_user.unwrap_or_default(),
        requester_ip_address: None,
        error_str: error.as_ref().map(|e| e.error_message.clone()),
        error_information: error,
        hidden_params: HiddenParams {
            model_id: dep.map(|d| d.id.to_string()),
            api_base,
            response_cost: cost,
            litellm_overhead_time_ms: overhead.as_secs_f64() * 1000.0,
            requested_model: out.asked_model.clone(),
            attempted_retries: record.attempts,
            attempted_fallbacks: record.fallbacks,
        },
    }
}

/// Why the request failed: the error the client got (the exchange's last failure, else
/// the stage that refused it).
fn error_information(out: &Outcome, provider: Option<String>) -> ErrorInformation {
    let failure = out.record.failure.as_ref().or(out.error.as_ref());
    ErrorInformation {
        error_code: out.status.to_string(),
        error_class: failure.map_or("", |(kind, _)| kind.as_str()).to_string(),
        llm_provider: provider.unwrap_or_default(),
        error_message: failure.map(|(_, m)| m.clone()).unwrap_or_default(),
    }
}

/// Who made the request (the key's hash, never the key) and what it used.
fn metadata(
    key: Option<&crate::governance::tables::KeyView>,
    master: Option<String>,
    end_user: Option<String>,
    usage: crate::core::chat::Usage,
) -> Metadata {
    Metadata {
        user_api_key_hash: key.map(|k| hex(&k.hash)).or(master),
        user_api_key_alias: key.and_then(|k| k.doc.key_alias.clone()),
        user_api_key_team_id: key.and_then(|k| k.doc.team_id.clone()),
        user_api_key_user_id: key.and_then(|k| k.doc.user_id.clone()),
        user_api_key_end_user_id: end_user,
        usage_object: UsageObject {
            prompt_tokens: usage.prompt,
            completion_tokens: usage.completion,
            total_tokens: usage.total(),
            cache_read_input_tokens: usage.cache_read,
            cache_creation_input_tokens: usage.cache_write,
            reasoning_tokens: usage.reasoning,
        },
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if well formed
/// and not all zeros.
pub fn trace_id(headers: &http::HeaderMap) -> Option<String> {
    let v = headers.get("traceparent")?.to_str().ok()?;
    let mut parts = v.trim().split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let ok = trace.len() == 32
        && trace.bytes().all(|b| b.is_ascii_hexdigit())
        && trace.bytes().any(|b| b != b'0');
    ok.then(|| trace.to_ascii_lowercase())
}
