//! The plan of an admitted call: the model groups it may be served by, in order. First the
//! group admission cleared; after that group fails, the fallbacks of the failure's class (the
//! request's own list, else the config's), each handed out as a [`Turn`] only once the
//! clearance has let the key into that group (model access and its per-model limits). The
//! exchange runs turns; it cannot reach a group the plan did not authorize.

use std::sync::Arc;

use crate::config::Runtime;
use crate::core::call::{Fallback, ModelCall};
use crate::core::failure::FallbackClass;
use crate::governance::admission::Clearance;
use crate::router::ModelGroup;

/// One group's turn at serving the call.
pub struct Turn<'a> {
    pub group: Arc<ModelGroup>,
    /// A deployment id the fallback entry named, pinning the turn to it.
    pub fixed: Option<&'a str>,
    /// A request fallback entry with fields of its own (`{"model": .., "temperature": ..}`).
    pub entry: Option<&'a Fallback>,
}

/// The groups left to try; made by the exchange from an [`Admitted`](super::admit::Admitted)
/// call, whose group is the first turn.
pub struct Plan<'a> {
    call: &'a ModelCall,
    rt: &'a Runtime,
    primary: Arc<ModelGroup>,
    /// The fallback entries still to try, once the first turn failed.
    fallbacks: std::vec::IntoIter<(&'a str, Option<&'a Fallback>)>,
}

impl<'a> Plan<'a> {
    pub(super) fn new(rt: &'a Runtime, call: &'a ModelCall, primary: Arc<ModelGroup>) -> Self {
        Plan {
            call,
            rt,
            primary,
            fallbacks: Vec::new().into_iter(),
        }
    }

    /// The admitted group, cleared by admission itself.
    pub fn first(&self) -> Turn<'a> {
        Turn {
            group: self.primary.clone(),
            fixed: None,
            entry: None,
        }
    }

    pub fn primary(&self) -> &Arc<ModelGroup> {
        &self.primary
    }

    /// After the first turn failed with `class`: choose its fallback list (at most
    /// `max_fallbacks` entries). Returns whether the config or request has one.
    pub fn fall_back(&mut self, class: FallbackClass) -> bool {
        let mut list = entries(self.call, self.rt, &self.primary.name, class);
        let any = !list.is_empty();
        list.truncate(self.rt.router.fallbacks().max_fallbacks);
        self.fallbacks = list.into_iter();
        any
    }

    /// The next fallback group the key may enter; entries naming no group or deployment,
    /// and groups the clearance refuses, are skipped.
    pub async fn next(&mut self, clearance: &mut Clearance) -> Option<Turn<'a>> {
        for (name, entry) in self.fallbacks.by_ref() {
            let Some((group, fixed)) = self.rt.router.fallback_target(name) else {
                log::warn!("fallback \"{name}\" is neither a model group nor a deployment id");
                continue;
            };
            // A group the key may not use, or whose per-model limits are spent, is skipped;
            // with none left the client gets the original error.
            if let Err(e) = clearance.enter_group(&group.name).await {
                log::debug!("fallback {name} skipped: {}", e.message);
                continue;
            }
            return Some(Turn {
                group: group.clone(),
                fixed,
                entry,
            });
        }
        None
    }
}

/// The fallbacks to try after `primary` failed with `class`: the request's own list (for the
/// classes it covers), else the config's; each a group name or deployment id, with the
/// request's entry when it carries fields of its own.
fn entries<'a>(
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
