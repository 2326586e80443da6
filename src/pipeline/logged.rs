//! A finished request as the logging [`Payload`]: built once, from the [`Outcome`] the stages
//! left (before settlement takes its ticket), only when a sink runs.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::record::Detail;
use super::Outcome;
use crate::core::clock::now_ms;
use crate::core::endpoint::Endpoint;
use crate::core::ids::{hex, new_uuid};
use crate::core::key_logging::KeyLogging;
use crate::core::secret::MasterKey;
use crate::governance::entities::from_nano;
use crate::governance::tables::{hash_key, KeyView};
use crate::observe::payload::{
    AttemptSpan, Bodies, ErrorInformation, HiddenParams, Metadata, Payload, Trace, UsageObject,
    REDACTED,
};
use crate::observe::Wants;
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

impl Outcome {
    /// Keep what the running sinks want of this request: its trace context (from the
    /// client's `traceparent`, else a new trace when spans are exported), and room for span
    /// timings and the prompt and answer.
    /// The destinations of the key that made the request, its team's included.
    pub fn key_logging(&self) -> Option<std::sync::Arc<KeyLogging>> {
        let ticket = self.clearance.as_ref()?.ticket()?;
        ticket.key.as_ref()?.logging.clone()
    }

    pub fn observe(&mut self, wants: &Wants, headers: &http::HeaderMap) {
        let client = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::core::ids::traceparent);
        self.trace_id = client.map(|(t, _)| hex(&t));
        self.record.key_bodies = wants.key_bodies;
        if !(wants.spans || wants.bodies) {
            return;
        }
        let mut d = Detail {
            spans: wants.spans,
            forward: wants.forward_traceparent,
            bodies: wants.bodies,
            ..Detail::default()
        };
        if wants.spans {
            (d.trace_id, d.parent) = match client {
                Some((t, p)) => (t, Some(p)),
                None => (crate::core::ids::trace_id(), None),
            };
            d.span_id = crate::core::ids::span_id();
            self.trace_id = Some(hex(&d.trace_id));
        }
        self.record.detail = Some(Box::new(d));
    }
}

/// The payload of `out`, which ended with `out.status` written; `own` is its key's
/// destinations ([`Outcome::key_logging`], read once by the caller).
pub fn payload(
    out: &Outcome,
    endpoint: Endpoint,
    master_key: Option<&MasterKey>,
    wants: &Wants,
    own: Option<std::sync::Arc<KeyLogging>>,
) -> Payload {
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
    let error = (!success).then(|| {
        let mut e = error_information(out, provider.clone());
        if wants.privacy.redact_messages_in_exceptions {
            e.error_message = REDACTED.into();
        }
        e
    });
    let id = Some(&out.call_id)
        .filter(|c| !c.is_empty())
        .map_or_else(new_uuid, String::clone);
    let (key, master, end_user) = requester(out, master_key, wants);
    let (bodies, trace) = kept(out, wants, now);
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
        bodies,
        trace,
        own,
        ..Payload::default()
    }
}

/// Who made the request: the key, the master key's hash when it was used, the end user;
/// none of them under `redact_user_api_key_info`.
fn requester<'a>(
    out: &'a Outcome,
    master_key: Option<&MasterKey>,
    wants: &Wants,
) -> (Option<&'a KeyView>, Option<String>, Option<String>) {
    if wants.privacy.redact_user_api_key_info {
        return (None, None, None);
    }
    let ticket = out.clearance.as_ref().and_then(|c| c.ticket());
    let key = ticket.and_then(|t| t.key.as_deref());
    // A governed request without a virtual key was made with the master key (its hash, as
    // the spend row names it).
    let master = ticket
        .filter(|t| t.key.is_none())
        .and(master_key)
        .map(|m| hex(&hash_key(m.as_bytes())));
    (key, master, ticket.and_then(|t| t.end_user.clone()))
}

/// What the request kept for the sinks: its prompt and answer (or their redaction) and its
/// span tree.
fn kept(out: &Outcome, wants: &Wants, now: Instant) -> (Option<Bodies>, Option<Box<Trace>>) {
    let detail = out.record.detail.as_deref();
    let bodies = match detail {
        Some(d) if d.bodies => Some(Bodies {
            messages: d.messages.clone().unwrap_or_default(),
            response: d.response.clone(),
            redacted: false,
        }),
        _ if wants.privacy.turn_off_message_logging => Some(Bodies {
            redacted: true,
            ..Bodies::default()
        }),
        _ => None,
    };
    let trace = detail
        .filter(|d| d.spans)
        .map(|d| Box::new(trace(d, out.started, now)));
    (bodies, trace)
}

/// The request's span tree: its instants as unix nanoseconds (read against `now`).
fn trace(d: &Detail, started: Instant, now: Instant) -> Trace {
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |t| t.as_nanos() as u64);
    let ns = |i: Instant| now_ns.saturating_sub(now.saturating_duration_since(i).as_nanos() as u64);
    Trace {
        trace_id: d.trace_id,
        parent: d.parent,
        span_id: d.span_id,
        start: ns(started),
        end: now_ns,
        admission: d.admission.map(|(a, b, ok)| (ns(a), ns(b), ok)),
        attempts: d
            .attempts
            .iter()
            .map(|t| {
                let (host, port) = match &t.deployment.backend {
                    Backend::Http(h) => (h.addr.host.clone(), h.addr.port),
                    _ => (String::new(), 0),
                };
                AttemptSpan {
                    span_id: t.span_id,
                    start: ns(t.start),
                    end: ns(t.end),
                    deployment: t.deployment.id.to_string(),
                    model: t.deployment.upstream_model.to_string(),
                    provider: t.deployment.backend.provider_label().to_string(),
                    host,
                    port,
                    status: t.status,
                    error: t.error.map(|e| e.as_str()),
                }
            })
            .collect(),
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
    key: Option<&KeyView>,
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
