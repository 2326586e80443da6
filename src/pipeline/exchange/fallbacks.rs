//! Which fallbacks a failed exchange tries, and the exchange re-aimed at a fallback entry that
//! carries request fields of its own.

use super::Exchange;
use crate::config::Runtime;
use crate::core::call::{Fallback, ModelCall};
use crate::core::failure::FallbackClass;

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
            .fallbacks
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
