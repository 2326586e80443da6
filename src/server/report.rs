//! The daily spend report's source for alerting: governance's ledger, once it is open.

use std::sync::{Arc, OnceLock};

use crate::governance::Governance;
use crate::observe::alert::ReportFn;

/// A report reader over the governance set into `gov` (none yet: an error, and no report).
pub fn daily(gov: Arc<OnceLock<Arc<Governance>>>) -> ReportFn {
    Arc::new(move |window| {
        let gov = gov.get().cloned();
        Box::pin(async move {
            let gov = gov.ok_or("no store: governance is off (no master key)")?;
            gov.spend_report(window).await
        })
    })
}
