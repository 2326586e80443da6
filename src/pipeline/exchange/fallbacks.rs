//! Which fallbacks a failed exchange tries, and the exchange re-aimed at a fallback entry that
//! carries request fields of its own.

use pingora_proxy::Session;

use super::{Exchange, GroupResult};
use crate::config::Runtime;
use crate::core::call::{Fallback, ModelCall};
use crate::core::failure::{Failure, FallbackClass};
use crate::metrics::metrics;
use crate::router::ModelGroup;

/// The fallbacks to try after `primary` failed with `class`: the request's own list (for the
/// classes it covers), else the config's; each a group name or deployment id, with the
/// request's entry when it carries fields of its own.
pub(super) fn entries<'a>(
    call: &'a ModelCall,
    rt: &'a Runtime,
    primary: &str,
    class: FallbackClass,
) -> Vec<(&'a str, Option<&'a Fallback>)> {
    match (&call.fallbacks, class) {
        (
            Some(l),
            FallbackClass::Other | FallbackClass::ContextWindow | FallbackClass::ContentPolicy,
        ) => l
            .iter()
            .map(|e| {
                (
                    e.model.as_str(),
                    Some(e).filter(|e| !e.overrides.is_empty()),
                )
            })
            .collect(),
        _ => rt
            .router
            .fallbacks()
            .for_error(primary, class)
            .iter()
            .map(|n| (n.as_str(), None))
            .collect(),
    }
}

impl Exchange<'_> {
    /// This exchange sending `call` instead of the client's request (a fallback entry with
    /// fields of its own); the same admission, record and response headers.
    pub(super) fn with_call<'b>(&'b mut self, call: &'b ModelCall) -> Exchange<'b> {
        Exchange {
            connector: self.connector,
            call,
            endpoint: self.endpoint,
            rt: self.rt,
            group: self.group,
            num_retries: self.num_retries,
            wildcard: self.wildcard.clone(),
            meta: &mut *self.meta,
            record: &mut *self.record,
            clearance: &mut *self.clearance,
        }
    }
}

impl Exchange<'_> {
    /// The fallback groups after `primary` failed with `last`, in order, each entered through
    /// the clearance (model access and its per-model limits) before it is tried; a group the
    /// key may not use is skipped. `Failed` with the last failure when none serves.
    pub(super) async fn fall_back(
        &mut self,
        session: &mut Session,
        primary: &ModelGroup,
        mut last: Failure,
    ) -> GroupResult {
        let (call, rt) = (self.call, self.rt);
        let list = entries(call, rt, &primary.name, last.fallback);
        let max = rt.router.fallbacks().max_fallbacks;
        self.meta.max_fallbacks = (!list.is_empty()).then_some(max);
        for (name, entry) in list.into_iter().take(max) {
            let Some((group, fixed)) = rt.router.fallback_target(name) else {
                log::warn!("fallback \"{name}\" is neither a model group nor a deployment id");
                continue;
            };
            let group = group.clone();
            // A group the key may not use, or whose per-model limits are spent, is skipped;
            // with none left the client gets the original error.
            if let Err(e) = self.clearance.enter_group(&group.name).await {
                log::debug!("fallback {name} skipped: {}", e.message);
                continue;
            }
            self.meta.attempted_fallbacks += 1;
            self.meta.group = group.name.to_string();
            log::info!(
                "model group {} failed ({}); falling back to {name}",
                primary.name,
                last.error
            );
            let result = match entry.map(|e| call.with_overrides(e)) {
                None => self.run_group(session, &group, fixed, None).await,
                Some(Ok(alt)) => {
                    self.with_call(&alt)
                        .run_group(session, &group, fixed, None)
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
