//! What one request leaves behind, and its end: the stages fill an [`Outcome`] (group,
//! clearance, the exchange's record, ids); `finish` counts it in the metrics, settles its
//! reservation and queues its spend row, on every exit (`logging` calls it).

use std::sync::Arc;
use std::time::Instant;

use super::Record;
use crate::config::Runtime;
use crate::core::endpoint::Endpoint;
use crate::governance::admission::Clearance;
use crate::governance::spend::{Served, SpendCtx};
use crate::governance::Governance;
use crate::metrics::count_request;
use crate::router::ModelGroup;

/// One request's trail, read when it ends.
pub struct Outcome {
    pub started: Instant,
    /// The status written (0: the client left before an answer).
    pub status: u16,
    pub(super) group: Option<Arc<ModelGroup>>,
    pub(super) record: Record,
    /// What admission granted; its reservation is settled in `finish`.
    pub(super) clearance: Option<Clearance>,
    pub(super) call_id: String,
    pub(super) asked_model: String,
    /// The path of a pass-through call, for its spend row.
    pub(super) route: String,
    /// Whether the client asked for a stream.
    pub(super) stream: bool,
    /// The W3C trace id of the client's `traceparent`, read when logging sinks run.
    pub trace_id: Option<String>,
    /// The error the client got before an exchange ran (auth, body, admission).
    pub error: Option<(crate::core::error::ErrorKind, String)>,
}

impl Outcome {
    pub fn new(started: Instant) -> Outcome {
        Outcome {
            started,
            status: 0,
            group: None,
            record: Record::default(),
            clearance: None,
            call_id: String::new(),
            asked_model: String::new(),
            route: String::new(),
            stream: false,
            trace_id: None,
            error: None,
        }
    }
}

/// Raise `llm_too_slow` when a served request took longer than `alerting_threshold` (one
/// branch when that alert is off).
pub fn alert_if_slow(out: &Outcome, alerts: &crate::core::alert::AlertTx) {
    let Some(threshold) = alerts.threshold(crate::core::alert::AlertKind::Slow) else {
        return;
    };
    let took = out.started.elapsed();
    let Some(dep) = out.record.deployment.as_deref() else {
        return;
    };
    if took <= threshold || out.status == 0 || out.status >= 400 {
        return;
    }
    alerts.raise(crate::core::alert::Alert::Slow {
        group: dep.group.to_string(),
        deployment: dep.id.to_string(),
        api_base: api_base(dep),
        took,
        stream: out.stream,
    });
}

/// A deployment's upstream as alerts name it (its display URL; empty for a mock).
pub(crate) fn api_base(dep: &crate::router::Deployment) -> String {
    match &dep.backend {
        crate::router::Backend::Http(t) => t.display.clone(),
        _ => String::new(),
    }
}

/// Metrics, settlement and the spend row of one finished request.
pub async fn finish(gov: Option<&Governance>, rt: &Runtime, endpoint: Endpoint, out: &mut Outcome) {
    if let Endpoint::PassThrough(_) = endpoint {
        // Pass-through usage counts against the deployment whose credentials it used.
        count_tokens(&out.record);
        let model = out.asked_model.clone();
        if let Some(settled) = settle(gov, rt, out, endpoint, &model) {
            settled.await;
        }
        return;
    }
    if !endpoint.is_model_call() {
        return;
    }
    let group = out.group.clone();
    let group = group.as_deref();
    let name = group.map_or("unknown", |g| &g.name);
    match (group, out.status) {
        (Some(g), 200) => {
            let idx = match endpoint {
                Endpoint::Completions => 1,
                Endpoint::Embeddings => 2,
                _ => 0,
            };
            if let Some(c) = g.metrics.ok(idx) {
                c.inc();
            }
        }
        _ => count_request(name, endpoint.as_str(), out.status),
    }
    if let Some(settled) = settle(gov, rt, out, endpoint, name) {
        settled.await;
    }
    if let Some(g) = group {
        g.metrics
            .total_latency
            .observe(out.started.elapsed().as_secs_f64());
        if let Some(at) = out.record.committed_at {
            let overhead = (at - out.started).saturating_sub(out.record.upstream_wait);
            g.metrics.overhead.observe(overhead.as_secs_f64());
        }
    }
    count_tokens(&out.record);
}

/// The tokens of a served request, on the deployment that served it.
fn count_tokens(record: &Record) {
    if let (Some(d), Some(u)) = (&record.deployment, record.usage) {
        d.metrics.input_tokens.inc_by(u.prompt);
        d.metrics.output_tokens.inc_by(u.completion);
        d.metrics.total_tokens.inc_by(u.total());
    }
}

/// Settle the request's reservation and queue its spend row.
/// (A plain function returning `finish`'s future, so that future is not moved into
/// another one.)
fn settle<'a>(
    gov: Option<&'a Governance>,
    rt: &'a Runtime,
    out: &'a mut Outcome,
    endpoint: Endpoint,
    group: &'a str,
) -> Option<impl std::future::Future<Output = ()> + 'a> {
    let gov = gov?;
    let ticket = out.clearance.as_mut().and_then(Clearance::take_ticket);
    let response_id = out.record.response_id.take();
    let out: &'a Outcome = out;
    let c = SpendCtx {
        call_id: &out.call_id,
        asked_model: &out.asked_model,
        group,
        endpoint,
        status: out.status,
        started: out.started,
        served: served(&out.record, &out.asked_model),
        master_key: rt.master_key.as_ref(),
        route: &out.route,
        response_id,
        prompt: out
            .record
            .detail
            .as_ref()
            .and_then(|d| d.messages.as_deref()),
        answer: out
            .record
            .detail
            .as_ref()
            .and_then(|d| d.response.as_deref()),
    };
    Some(crate::governance::spend::finish(gov, ticket, c))
}

/// What settlement reads of the exchange's record. A wildcard deployment is priced by the
/// model asked for (a table lookup); any other deployment returns its own price.
fn served<'a>(record: &'a Record, asked: &str) -> Served<'a> {
    let d = record.deployment.as_deref();
    Served {
        usage: record.usage,
        answered: record.committed_at.is_some() || record.abandoned,
        stream_events: record.stream_events,
        price: record.price.or_else(|| d.map(|d| d.price_for(asked))),
        group: d.map(|d| &*d.group),
        model_id: d.map(|d| &*d.id),
        provider: d.map(|d| d.backend.provider_label()),
    }
}
