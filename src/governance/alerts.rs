//! Budget alerts from admission: a budget crossed (the request refused for it) and a soft
//! budget reached (the request still admitted), raised as data for `observe` to dedup and
//! send. Nothing is built unless budget alerts are on.

use super::counters::ScopeLimits;
use super::tables::{KeyView, ScopeSpec};
use crate::core::alert::{Alert, AlertKind, AlertTx, BudgetAlert, BudgetEvent, BudgetOwner};
use crate::core::ids::hex;
use crate::store::Kind;

fn owner(kind: Option<Kind>) -> BudgetOwner {
    match kind {
        Some(Kind::Key) | None => BudgetOwner::Key,
        Some(Kind::User) => BudgetOwner::User,
        Some(Kind::Team) => BudgetOwner::Team,
        Some(Kind::TeamMember) => BudgetOwner::TeamMember,
        Some(Kind::Organization | Kind::OrgMember) => BudgetOwner::Organization,
        Some(Kind::Customer | Kind::Budget) => BudgetOwner::Customer,
        Some(Kind::Global) => BudgetOwner::Proxy,
    }
}

/// A request refused for scope `s`'s budget at `spend_nano`: the budget was crossed.
pub(super) fn after_denial(
    alerts: &AlertTx,
    s: &ScopeSpec,
    l: &ScopeLimits,
    spend_nano: i64,
    key: Option<&KeyView>,
    customer: Option<&str>,
) {
    if alerts.wants(AlertKind::Budget) {
        raise(
            alerts,
            BudgetEvent::Crossed,
            s,
            l,
            spend_nano,
            key,
            customer,
        );
    }
}

/// A request admitted across `specs` (with their `limits`): any soft budget reached.
pub(super) fn after_admit(
    alerts: &AlertTx,
    specs: &[&ScopeSpec],
    limits: &[ScopeLimits],
    first_spent: Option<i64>,
    key: Option<&KeyView>,
    customer: Option<&str>,
) {
    if alerts.wants(AlertKind::Budget) {
        let pairs = specs.iter().copied().zip(limits);
        soft_budgets(alerts, pairs, first_spent, key, customer);
    }
}

/// Raise `event` for scope `s` at `spend_nano`, naming the request's key and customer.
fn raise(
    alerts: &AlertTx,
    event: BudgetEvent,
    s: &ScopeSpec,
    l: &ScopeLimits,
    spend_nano: i64,
    key: Option<&KeyView>,
    customer: Option<&str>,
) {
    let doc = key.map(|k| &k.doc);
    alerts.raise(Alert::Budget(Box::new(BudgetAlert {
        event,
        owner: owner(s.kind),
        id: s.id.clone(),
        label: s.label.clone(),
        spend_nano,
        max_budget_nano: s.max_budget,
        soft_budget_nano: s.soft_budget,
        period_end: l.budget.map_or(0, |b| b.period),
        token: key.map(|k| hex(&k.hash)),
        key_alias: doc.and_then(|d| d.key_alias.clone()),
        user_id: doc.and_then(|d| d.user_id.clone()),
        team_id: doc.and_then(|d| d.team_id.clone()),
        team_alias: s.alias.clone(),
        customer_id: customer.map(str::to_string),
    })));
}

/// After an admission: each scope whose soft budget its spend has reached (but not its
/// max). The first scope's spend is the counters' (`first_spent`); the others' the ledger's
/// as last refreshed.
fn soft_budgets<'a>(
    alerts: &AlertTx,
    scopes: impl Iterator<Item = (&'a ScopeSpec, &'a ScopeLimits)>,
    first_spent: Option<i64>,
    key: Option<&KeyView>,
    customer: Option<&str>,
) {
    for (i, (s, l)) in scopes.enumerate() {
        let Some(soft) = s.soft_budget else { continue };
        let ledger = l.budget.map_or(0, |b| b.ledger_spent_nano);
        let spent = match (i, first_spent) {
            (0, Some(f)) => f.max(ledger),
            _ => ledger,
        };
        let under_max = s.max_budget.is_none_or(|m| spent < m);
        if spent >= soft && under_max {
            raise(alerts, BudgetEvent::SoftCrossed, s, l, spent, key, customer);
        }
    }
}
