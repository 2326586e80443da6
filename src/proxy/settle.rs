//! The request's settlement: its reservation settled and its spend row queued, from what the
//! exchange recorded.

use super::{Ctx, Gateway};
use crate::core::endpoint::Endpoint;
use crate::governance::admission::Clearance;
use crate::governance::spend::{Served, SpendCtx};
use crate::upstream::Record;

impl Gateway {
    /// Settle the request's reservation and queue its spend row.
    /// (A plain function returning `finish`'s future, so that future is not moved into
    /// another one.)
    pub(super) fn settle<'a>(
        &'a self,
        ctx: &'a mut Ctx,
        endpoint: Endpoint,
        group: &'a str,
    ) -> Option<impl std::future::Future<Output = ()> + 'a> {
        let gov = self.gov.as_deref()?;
        let ticket = ctx.clearance.as_mut().and_then(Clearance::take_ticket);
        let response_id = ctx.record.response_id.take();
        let ctx: &'a Ctx = ctx;
        let c = SpendCtx {
            call_id: &ctx.call_id,
            asked_model: &ctx.asked_model,
            group,
            endpoint,
            status: ctx.status,
            started: ctx.started,
            served: served(&ctx.record, &ctx.asked_model),
            master_key: ctx.rt.master_key.as_ref(),
            route: &ctx.route,
            response_id,
        };
        Some(crate::governance::spend::finish(gov, ticket, c))
    }
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
