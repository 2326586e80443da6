//! Alerts as data: what governance, the store writer and the pipeline raise ([`Alert`]), and
//! the handle they raise it through ([`AlertTx`]). Raising is one branch when alerting is off
//! and one non-blocking `try_send` when it is on; `observe::alert` dedups, formats and
//! delivers off the request path.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

/// The kinds of alert a part of the gateway can raise; a closed set (LiteLLM's `alert_types`
/// map onto it in `config::alerting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A budget crossed or a soft budget reached (`budget_alerts`).
    Budget,
    /// A deployment cooled down (an outage) or recovered (`cooldown_deployment`, `outage_alerts`).
    Deployment,
    /// A request slower than `alerting_threshold` (`llm_too_slow`).
    Slow,
    /// A request with no answer within `alerting_threshold` (`llm_requests_hanging`).
    Hanging,
    /// Spend writes failing, or the store back (`failed_tracking_spend`, `db_exceptions`).
    Store,
}

impl AlertKind {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Which of LiteLLM's entities a budget belongs to (its `event_group`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetOwner {
    Key,
    User,
    Team,
    TeamMember,
    Organization,
    Customer,
    Proxy,
}

impl BudgetOwner {
    /// LiteLLM's `Litellm_EntityType` value.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetOwner::Key => "key",
            BudgetOwner::User => "user",
            BudgetOwner::Team => "team",
            BudgetOwner::TeamMember => "team_member",
            BudgetOwner::Organization => "organization",
            BudgetOwner::Customer => "end_user",
            BudgetOwner::Proxy => "proxy",
        }
    }
}

/// What happened to a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetEvent {
    /// Spend reached `max_budget`: requests are refused.
    Crossed,
    /// Spend reached `soft_budget`: requests still pass.
    SoftCrossed,
}

impl BudgetEvent {
    /// LiteLLM's `WebhookEvent.event`.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetEvent::Crossed => "budget_crossed",
            BudgetEvent::SoftCrossed => "soft_budget_crossed",
        }
    }
}

/// One budget event: who, how much, and the budget period it belongs to (a new period may
/// alert again).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetAlert {
    pub event: BudgetEvent,
    pub owner: BudgetOwner,
    /// The entity's id (a key's hash, a team id, ...).
    pub id: String,
    /// How the gateway's errors name it (`Key=alias (sk-...abcd)`, `Team=t1`).
    pub label: String,
    pub spend_nano: i64,
    pub max_budget_nano: Option<i64>,
    pub soft_budget_nano: Option<i64>,
    /// The end (unix seconds) of the budget period; 0 for a budget without one.
    pub period_end: i64,
    /// The request's key (its hash), alias, user, team and customer, when known.
    pub token: Option<String>,
    pub key_alias: Option<String>,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub team_alias: Option<String>,
    pub customer_id: Option<String>,
}

/// Something an operator should hear about.
#[derive(Clone, Debug, PartialEq)]
pub enum Alert {
    Budget(Box<BudgetAlert>),
    /// A deployment cooled down after failures (`reason`: the failure class).
    DeploymentDown {
        group: String,
        deployment: String,
        api_base: String,
        reason: &'static str,
        cooldown: Duration,
    },
    /// A cooled-down deployment served a request again.
    DeploymentUp {
        group: String,
        deployment: String,
        api_base: String,
    },
    /// A request took `took` (over the threshold) from start to its last byte.
    Slow {
        group: String,
        deployment: String,
        api_base: String,
        took: Duration,
        stream: bool,
    },
    /// A request had no answer `after` it started (still running).
    Hanging {
        group: String,
        deployment: String,
        after: Duration,
    },
    /// Writing spend rows failed (`rows` held, retried); the first failure of an outage.
    StoreDown {
        error: String,
        rows: usize,
    },
    /// Spend rows are written again after a failure.
    StoreUp,
}

impl Alert {
    pub fn kind(&self) -> AlertKind {
        match self {
            Alert::Budget(_) => AlertKind::Budget,
            Alert::DeploymentDown { .. } | Alert::DeploymentUp { .. } => AlertKind::Deployment,
            Alert::Slow { .. } => AlertKind::Slow,
            Alert::Hanging { .. } => AlertKind::Hanging,
            Alert::StoreDown { .. } | Alert::StoreUp => AlertKind::Store,
        }
    }
}

/// Counted when an alert cannot be queued (full, or alerting stopped).
pub type OnDrop = Arc<dyn Fn() + Send + Sync>;

struct Inner {
    tx: mpsc::Sender<Alert>,
    /// One bit per wanted [`AlertKind`].
    wanted: u8,
    /// `alerting_threshold`: a request slower than this is slow, one without an answer by
    /// then is hanging.
    threshold: Duration,
    on_drop: OnDrop,
}

/// Where alerts go: cheap to clone; the default raises nothing.
#[derive(Clone, Default)]
pub struct AlertTx(Option<Arc<Inner>>);

impl std::fmt::Debug for AlertTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("AlertTx(off)"),
            Some(i) => write!(f, "AlertTx(kinds {:#b})", i.wanted),
        }
    }
}

impl AlertTx {
    /// A handle that queues the `wanted` kinds into `tx`; `on_drop` runs for each alert the
    /// queue could not take.
    pub fn new(
        tx: mpsc::Sender<Alert>,
        wanted: &[AlertKind],
        threshold: Duration,
        on_drop: OnDrop,
    ) -> AlertTx {
        let wanted = wanted.iter().fold(0, |bits, k| bits | k.bit());
        AlertTx(Some(Arc::new(Inner {
            tx,
            wanted,
            threshold,
            on_drop,
        })))
    }

    /// Whether alerts of `kind` are raised at all (check before building one).
    #[inline]
    pub fn wants(&self, kind: AlertKind) -> bool {
        self.0.as_ref().is_some_and(|i| i.wanted & kind.bit() != 0)
    }

    /// The slow/hanging threshold, when either kind is wanted.
    #[inline]
    pub fn threshold(&self, kind: AlertKind) -> Option<Duration> {
        self.0
            .as_ref()
            .filter(|i| i.wanted & kind.bit() != 0)
            .map(|i| i.threshold)
    }

    /// Queue `alert` without waiting; dropped (and counted) when the queue is full.
    pub fn raise(&self, alert: Alert) {
        let Some(inner) = &self.0 else { return };
        if inner.wanted & alert.kind().bit() == 0 {
            return;
        }
        if inner.tx.try_send(alert).is_err() {
            (inner.on_drop)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn off_raises_nothing_and_a_full_queue_counts_drops() {
        let off = AlertTx::default();
        assert!(!off.wants(AlertKind::Budget));
        off.raise(Alert::StoreUp);

        let (tx, mut rx) = mpsc::channel(1);
        let dropped = Arc::new(AtomicU64::new(0));
        let d = dropped.clone();
        let on = AlertTx::new(
            tx,
            &[AlertKind::Store],
            Duration::from_secs(5),
            Arc::new(move || {
                d.fetch_add(1, Ordering::Relaxed);
            }),
        );
        assert!(on.wants(AlertKind::Store) && !on.wants(AlertKind::Budget));
        assert_eq!(on.threshold(AlertKind::Slow), None);
        on.raise(Alert::StoreUp);
        on.raise(Alert::StoreUp);
        on.raise(Alert::Hanging {
            group: "g".into(),
            deployment: "d".into(),
            after: Duration::ZERO,
        });
        assert_eq!(rx.try_recv().ok(), Some(Alert::StoreUp));
        assert!(rx.try_recv().is_err());
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            1,
            "unwanted kinds are not drops"
        );
    }
}
