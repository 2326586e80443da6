//! The plan's fallback turns after the first failed, and the exchange re-aimed at a fallback
//! entry that carries request fields of its own.

use pingora_proxy::Session;

use super::{Exchange, GroupResult};
use crate::core::call::ModelCall;
use crate::core::failure::Failure;
use crate::metrics::metrics;
use crate::pipeline::plan::Plan;

impl Exchange<'_> {
    /// This exchange sending `call` instead of the client's request (a fallback entry with
    /// fields of its own); the same admission, record and response headers.
    pub(super) fn with_call<'b>(&'b mut self, call: &'b ModelCall) -> Exchange<'b> {
        Exchange {
            connector: self.connector,
            call,
            endpoint: self.endpoint,
            rt: self.rt,
            num_retries: self.num_retries,
            wildcard: self.wildcard.clone(),
            meta: &mut *self.meta,
            record: &mut *self.record,
            clearance: &mut *self.clearance,
            alerts: self.alerts,
        }
    }
}

impl Exchange<'_> {
    /// The plan's fallback turns after its first failed with `last`, in order, until one
    /// serves. `Failed` with the last failure when none does.
    pub(super) async fn fall_back(
        &mut self,
        session: &mut Session,
        plan: &mut Plan<'_>,
        mut last: Failure,
    ) -> GroupResult {
        let call = self.call;
        let primary = plan.primary().clone();
        let max = self.rt.router.fallbacks().max_fallbacks;
        self.meta.max_fallbacks = plan.fall_back(last.fallback).then_some(max);
        while let Some(turn) = plan.next(self.clearance).await {
            let group = turn.group;
            self.meta.attempted_fallbacks += 1;
            self.record.fallbacks += 1;
            self.meta.group = group.name.to_string();
            log::info!(
                "model group {} failed ({}); falling back to {}",
                primary.name,
                last.error,
                turn.fixed.unwrap_or(&group.name)
            );
            let result = match turn.entry.map(|e| call.with_overrides(e)) {
                None => self.run_group(session, &group, turn.fixed, None).await,
                Some(Ok(alt)) => {
                    self.with_call(&alt)
                        .run_group(session, &group, turn.fixed, None)
                        .await
                }
                Some(Err(e)) => GroupResult::Failed(Failure::new(e)),
            };
            let counter = match &result {
                GroupResult::Done(_) => &metrics().successful_fallbacks,
                GroupResult::Gone => return GroupResult::Gone,
                GroupResult::Failed(_) => &metrics().failed_fallbacks,
            };
            counter
                .with_label_values(&[&primary.name, &group.name])
                .inc();
            match result {
                GroupResult::Failed(f) => last = f,
                done => return done,
            }
        }
        GroupResult::Failed(last)
    }
}
