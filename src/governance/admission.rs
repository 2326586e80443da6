//! One request's way through governance: key checks, then one atomic reservation across
//! every scope it touches (key, team or user, team member, the team's organization, per-key
//! model, customer, global), settled exactly once with the real cost when the request ends.
//!
//! Overshoot bound: a request is admitted while `spent + reserved < max` in every budgeted
//! scope, and reserves `min(estimate, max - spent - reserved)` there; the estimate prices the
//! prompt (about 4 bytes a token) plus `max_tokens`, else the model's output limit, else 4096
//! tokens, at the dearest deployment of the group. Requests in flight together are therefore
//! never promised more than what is left, and spend can pass `max` only by what they cost
//! beyond their reservations: at most the cost of the one request whose reservation was
//! capped by the remainder, plus the prompt-estimate error of the others.

use std::sync::Arc;

use super::counters::{Admit, Admitted, Denial, LimitKind, Scope, ScopeLimits, Settle};
use super::counters::{BudgetLimit, Counters};
use super::entities::from_nano;
use super::period::iso;
use super::tables::{CustomerView, Denier, KeyView, ScopeSpec, Tables};
use super::{alerts, Governance};
use crate::core::cleared::Cleared;
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::metrics::metrics;

/// A key's own checks, before the body is read: blocked and expired keys are refused.
pub fn check_key(key: &KeyView, now: i64) -> Result<(), ApiError> {
    if key.blocked {
        return Err(ApiError::unauthorized(
            "Authentication Error, Key is blocked. Update via `/key/unblock` if you're admin.",
        ));
    }
    if let Some(at) = key.expires_at {
        if now >= at {
            return Err(ApiError::unauthorized(format!(
                "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
                iso(at),
                iso(now)
            )));
        }
    }
    Ok(())
}

/// The refusal of a model the key may not call (group `group`, asked for as `asked`), as
/// LiteLLM 1.109.1 answers it: 403, typed by the list that refused (`key_`, `team_`, `org_`,
/// `user_model_access_denied`), with its client wording, which names the model and never the
/// lists (those go to the log).
pub fn model_denied(key: &KeyView, group: &str, asked: &str) -> ApiError {
    let (kind, list) = match key.denied_by(group, asked) {
        Some(Denier::Team) => (ErrorKind::TeamModelAccessDenied, &key.team_models),
        Some(Denier::Org) => (ErrorKind::OrgModelAccessDenied, &key.org_models),
        Some(Denier::User) => (ErrorKind::UserModelAccessDenied, &key.user_models),
        _ => (ErrorKind::KeyModelAccessDenied, &key.models),
    };
    log::debug!(
        "{}: {} may only call {:?}; tried {asked}",
        kind.as_str(),
        key.label(),
        list.as_deref().unwrap_or_default()
    );
    ApiError::new(
        403,
        kind,
        format!(
            "The requested model '{asked}' is not available for this API key, or the model name is invalid. Check the models available to you and try again."
        ),
    )
    .with_param("model")
}

/// What one request asks of governance.
pub struct Ask<'a> {
    pub request_id: &'a str,
    pub key: Option<Arc<KeyView>>,
    /// The model group the request resolved to.
    pub group: &'a str,
    pub end_user: Option<&'a str>,
    pub prompt_tokens: u64,
    pub cost_estimate: i64,
    /// Admit only the key's per-model limits of `group` (see [`Clearance::enter_group`]).
    pub model_only: bool,
}

/// An admitted request's reservation; settle it once with what the request really used.
pub struct Ticket {
    gov: Arc<Governance>,
    pub request_id: String,
    pub key: Option<Arc<KeyView>>,
    pub end_user: Option<String>,
    customer: Option<Arc<CustomerView>>,
    tables: Arc<Tables>,
    group: String,
    limits: Vec<ScopeLimits>,
    tokens: u64,
    cost: i64,
    /// Redis failed at admission: the reservation lives in the local counters.
    local: bool,
    /// Only the key's per-model limits of `group` (a fallback group's own ticket).
    model_only: bool,
    /// Tickets of the fallback groups tried, each holding that group's per-model limits.
    groups: Vec<Ticket>,
    pub admitted: Admitted,
    settled: bool,
}

impl Ticket {
    /// The scopes in admission order.
    fn specs(&self) -> impl Iterator<Item = &ScopeSpec> {
        let key = self.key.as_deref();
        let whole = !self.model_only;
        key.filter(|_| whole)
            .into_iter()
            .flat_map(|k| k.scopes.iter())
            .chain(key.and_then(|k| k.model_limits.get(&self.group)))
            .chain(self.customer.as_deref().filter(|_| whole).map(|c| &c.scope))
            .chain(self.tables.global.as_ref().filter(|_| whole))
    }

    fn counters(&self) -> &dyn Counters {
        if self.local {
            &*self.gov.local
        } else {
            &*self.gov.counters
        }
    }

    /// Settle with the real usage: spend moves from reserved to spent, in-flight slots and
    /// token estimates are trued up. Idempotent per request id in the counters. A fallback
    /// group's per-model limits are charged only when that group `served`.
    pub async fn settle(mut self, served: Option<&str>, tokens: u64, cost: i64) {
        self.settled = true;
        for g in std::mem::take(&mut self.groups) {
            let used = served == Some(g.group.as_str());
            let (t, c) = if used { (tokens, cost) } else { (0, 0) };
            Box::pin(g.settle(None, t, c)).await;
        }
        if self.limits.is_empty() {
            return;
        }
        let specs: Vec<&ScopeSpec> = self.specs().collect();
        let scopes = scopes_of(&specs, &self.limits);
        let settle = Settle {
            request_id: &self.request_id,
            scopes: &scopes,
            tokens_reserved: self.tokens,
            tokens_actual: tokens,
            cost_reserved: self.cost,
            cost_actual: cost,
        };
        if let Err(e) = self.counters().settle(&settle).await {
            metrics().counter_errors.inc();
            log::warn!("settle {}: {e}", self.request_id);
        }
    }

    /// The prompt tokens estimated at admission.
    pub fn prompt_estimate(&self) -> u64 {
        self.tokens
    }

    /// What LiteLLM's governance headers say about this request's key.
    pub fn key_headers(&self) -> KeyHeaders<'_> {
        let key = self.key.as_deref().and_then(|k| k.scopes.first());
        let a = &self.admitted;
        let limited = a.remaining_requests.is_some() || a.remaining_tokens.is_some();
        KeyHeaders {
            // The key's spend before this request, from admission (no extra round trip).
            spent_nano: self.key.as_ref().and(a.first_spent),
            max_budget_nano: key.and_then(|s| s.max_budget),
            // The end user's region, as LiteLLM names it (not the deployment's own).
            model_region: self
                .customer
                .as_deref()
                .and_then(|c| c.doc.allowed_model_region.as_deref()),
            reset_after_secs: limited.then_some(a.reset_after_secs),
            limit_requests: key.and_then(|s| s.rpm),
            limit_tokens: key.and_then(|s| s.tpm),
            remaining_requests: a.remaining_requests.map(|r| r.max(0)),
            remaining_tokens: a.remaining_tokens.map(|r| r.max(0)),
        }
    }
}

/// A request's key as LiteLLM's response headers report it (`x-litellm-key-spend`, the
/// key's `x-ratelimit-*`, ...): data, rendered by the pipeline.
#[derive(Debug, Default, PartialEq)]
pub struct KeyHeaders<'a> {
    /// The key's spend before this request.
    pub spent_nano: Option<i64>,
    pub max_budget_nano: Option<i64>,
    /// The end user's `allowed_model_region`.
    pub model_region: Option<&'a str>,
    /// Seconds until the rate windows reset, when the key has a limit.
    pub reset_after_secs: Option<u64>,
    pub limit_requests: Option<u64>,
    pub limit_tokens: Option<u64>,
    /// What is left of the key's rpm and tpm this minute, never below 0.
    pub remaining_requests: Option<i64>,
    pub remaining_tokens: Option<i64>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        // A path that forgot to settle (or unwound): release the reservation at cost 0.
        let t = Ticket {
            gov: self.gov.clone(),
            request_id: std::mem::take(&mut self.request_id),
            key: self.key.take(),
            end_user: None,
            customer: self.customer.take(),
            tables: self.tables.clone(),
            group: std::mem::take(&mut self.group),
            limits: std::mem::take(&mut self.limits),
            tokens: self.tokens,
            cost: self.cost,
            local: self.local,
            model_only: self.model_only,
            groups: std::mem::take(&mut self.groups),
            admitted: Admitted::default(),
            settled: true,
        };
        self.settled = true;
        self.gov.runtime.spawn(async move {
            let mut t = t;
            t.settled = false;
            t.settle(None, 0, 0).await;
        });
    }
}

/// Proof that a request was authorized and admitted. The upstream exchange, the
/// pass-through forwarder and the connection helpers under them take one, and only
/// [`Clearance::admit`] makes one for a client request, so no route can reach a provider
/// without passing model access and admission. It carries the key every fallback group is
/// checked against and the reservation that `logging` settles.
pub struct Clearance {
    key: Option<Arc<KeyView>>,
    gov: Option<Arc<Governance>>,
    ticket: Option<Ticket>,
    cleared: Cleared,
}

impl Clearance {
    /// Check that the key may use `ask.group` (asked for as `asked`) and, with governance,
    /// reserve room for the request in every scope it touches.
    pub async fn admit(
        gov: Option<&Arc<Governance>>,
        asked: &str,
        ask: Ask<'_>,
    ) -> Result<Clearance, ApiError> {
        if let Some(k) = &ask.key {
            if !k.allows(ask.group, asked) {
                return Err(model_denied(k, ask.group, asked));
            }
        }
        let key = ask.key.clone();
        let ticket = match gov {
            Some(g) => Some(g.admit(ask).await?),
            None => None,
        };
        Ok(Clearance {
            key,
            gov: gov.cloned(),
            ticket,
            cleared: Cleared::mint(),
        })
    }

    /// The gateway's own calls, never a client's: `/health` probes (admin only) and the
    /// background health checks.
    pub fn health_probe() -> Clearance {
        Clearance {
            key: None,
            gov: None,
            ticket: None,
            cleared: Cleared::mint(),
        }
    }

    /// The proof of admission the transport asks for.
    pub fn cleared(&self) -> &Cleared {
        &self.cleared
    }

    /// The end user's `allowed_model_region`: only deployments of that region may serve.
    pub fn region(&self) -> Option<&str> {
        let customer = self.ticket.as_ref()?.customer.as_deref()?;
        customer.doc.allowed_model_region.as_deref()
    }

    /// Whether the key (and its team) may use the model group `group`.
    pub fn permits(&self, group: &str) -> bool {
        self.key.as_deref().is_none_or(|k| k.allows(group, group))
    }

    /// Before a fallback group is tried: the key must be allowed to use it, and its
    /// per-model limits of that group (`model_rpm_limit`, ...) must admit the request.
    pub async fn enter_group(&mut self, group: &str) -> Result<(), ApiError> {
        if let Some(k) = &self.key {
            if !k.allows(group, group) {
                return Err(model_denied(k, group, group));
            }
        }
        let (Some(gov), Some(key), Some(t)) = (&self.gov, &self.key, &mut self.ticket) else {
            return Ok(());
        };
        let known = t.group == group || t.groups.iter().any(|g| g.group == group);
        if known || !key.model_limits.contains_key(group) {
            return Ok(());
        }
        let request_id = format!("{}/{group}", t.request_id);
        let sub = gov
            .admit(Ask {
                request_id: &request_id,
                key: Some(key.clone()),
                group,
                end_user: None,
                prompt_tokens: t.tokens,
                cost_estimate: t.cost,
                model_only: true,
            })
            .await?;
        t.groups.push(sub);
        Ok(())
    }

    pub fn ticket(&self) -> Option<&Ticket> {
        self.ticket.as_ref()
    }

    /// The reservation, for settlement at the end of the request.
    pub fn take_ticket(&mut self) -> Option<Ticket> {
        self.ticket.take()
    }
}

/// The counters' view of the scopes: each one's counter id and limits.
fn scopes_of<'a>(specs: &[&'a ScopeSpec], limits: &'a [ScopeLimits]) -> Vec<Scope<'a>> {
    specs
        .iter()
        .zip(limits)
        .map(|(s, l)| Scope {
            id: &s.counter,
            limits: l,
        })
        .collect()
}

pub(crate) fn limits_of(s: &ScopeSpec, now: i64, tz: i64) -> ScopeLimits {
    let (period, ledger) = match s.period {
        Some(p) => {
            let (_, end) = p.bounds(now, tz);
            // The ledger's spend counts only if it belongs to the current period.
            let current = s.ledger_reset_at.is_none_or(|r| r == end);
            (end, if current { s.ledger_spent } else { 0 })
        }
        None => (0, s.ledger_spent),
    };
    ScopeLimits {
        rpm: s.rpm,
        tpm: s.tpm,
        max_parallel: s.max_parallel,
        budget: s.kind.map(|_| BudgetLimit {
            max_nano: s.max_budget.unwrap_or(i64::MAX),
            ledger_spent_nano: ledger,
            period,
        }),
    }
}

impl Governance {
    /// Whether a request by `key` (for `end_user`) spends in any scope with a budget: the
    /// key's scopes, the customer's, or the proxy-wide budget.
    pub fn budgeted(&self, key: Option<&KeyView>, end_user: Option<&str>) -> bool {
        let tables = self.tables.load();
        let customer = end_user.and_then(|id| tables.customers.get(id));
        key.into_iter()
            .flat_map(|k| k.scopes.iter())
            .chain(customer.map(|c| &c.scope))
            .chain(tables.global.as_ref())
            .any(|s| s.max_budget.is_some())
    }

    /// Strict mode (`general_settings.reject_unpriced_models`): refuse, before admission, a
    /// budgeted request for `asked` whose price (`price`, called only in strict mode:
    /// `ModelGroup::price_for`) is unknown. A key that may not use the model is left to the
    /// model check's 403.
    pub fn check_priced(
        &self,
        ask: &Ask<'_>,
        asked: &str,
        price: impl FnOnce() -> crate::pricing::cost::Price,
    ) -> Result<(), ApiError> {
        if !self.settings.reject_unpriced_models {
            return Ok(());
        }
        let key = ask.key.as_deref();
        if key.is_some_and(|k| !k.allows(ask.group, asked)) {
            return Ok(());
        }
        let price = price();
        let budgeted = !price.known && self.budgeted(key, ask.end_user);
        crate::pricing::cost::check_priced(true, budgeted, &price, asked)
    }

    /// Reserve room for one request in every scope it touches, or say why not.
    pub async fn admit(self: &Arc<Self>, ask: Ask<'_>) -> Result<Ticket, ApiError> {
        let tables = self.tables.load_full();
        let customer = match ask.end_user {
            Some(id) => tables.customers.get(id).cloned(),
            None => None,
        };
        if let Some(c) = &customer {
            if c.doc.blocked {
                return Err(ApiError::new(
                    403,
                    ErrorKind::PermissionDenied,
                    format!(
                        "End User={} is blocked. Let your admin know, if this is a mistake.",
                        c.doc.user_id
                    ),
                ));
            }
        }
        let now = self.now_secs();
        let mut t = Ticket {
            gov: self.clone(),
            request_id: ask.request_id.to_string(),
            key: ask.key,
            end_user: ask.end_user.map(str::to_string),
            customer,
            tables,
            group: ask.group.to_string(),
            limits: Vec::new(),
            tokens: ask.prompt_tokens,
            cost: ask.cost_estimate,
            local: false,
            model_only: ask.model_only,
            groups: Vec::new(),
            admitted: Admitted::default(),
            settled: true,
        };
        let tz = self.settings.tz_offset;
        t.limits = t.specs().map(|s| limits_of(s, now, tz)).collect();
        if t.limits.is_empty() {
            return Ok(t);
        }
        let specs: Vec<&ScopeSpec> = t.specs().collect();
        let scopes = scopes_of(&specs, &t.limits);
        let admit = Admit {
            request_id: &t.request_id,
            scopes: &scopes,
            tokens: t.tokens,
            cost_nano: t.cost,
        };
        let (outcome, local) = self.count(&admit, &specs).await?;
        let alerts = &self.settings.alerts;
        let (key, end_user) = (t.key.as_deref(), ask.end_user);
        match outcome {
            Ok(a) => {
                drop(scopes);
                alerts::after_admit(alerts, &specs, &t.limits, a.first_spent, key, end_user);
                drop(specs);
                t.local = local;
                t.admitted = a;
                t.settled = false;
                Ok(t)
            }
            Err(d) => {
                let (s, l) = (specs[d.scope], &t.limits[d.scope]);
                if d.kind == LimitKind::Budget {
                    alerts::after_denial(alerts, s, l, d.current, key, end_user);
                }
                Err(denial(&d, s, l, now))
            }
        }
    }
    /// Admission in the shared counters; when they are unreachable, the local ones (`true`)
    /// unless a budget is at stake and `budget_fail_open` is off (503).
    async fn count(
        &self,
        admit: &Admit<'_>,
        specs: &[&ScopeSpec],
    ) -> Result<(Result<Admitted, Denial>, bool), ApiError> {
        match self.counters.admit(admit).await {
            Ok(o) => Ok((o, false)),
            Err(e) => {
                metrics().counter_errors.inc();
                let budgeted = specs.iter().any(|s| s.max_budget.is_some());
                if budgeted && !self.settings.budget_fail_open {
                    log::warn!("budget counters unavailable ({e}): refusing a budgeted request");
                    return Err(ApiError::new(
                        503,
                        ErrorKind::ServiceUnavailable,
                        "Budget state is unavailable (shared counters unreachable); retry shortly.",
                    ));
                }
                log::warn!("shared counters unavailable ({e}): limits enforced per replica");
                match self.local.admit(admit).await {
                    Ok(o) => Ok((o, true)),
                    Err(_) => Ok((Ok(Admitted::default()), true)),
                }
            }
        }
    }
}

fn denial(d: &Denial, s: &ScopeSpec, l: &ScopeLimits, now: i64) -> ApiError {
    if d.kind == LimitKind::Budget {
        let max = l.budget.map_or(0, |b| b.max_nano);
        return ApiError::new(
            400,
            ErrorKind::BudgetExceeded,
            format!(
                "Budget has been exceeded! {} Current cost: {}, Max budget: {}",
                s.label,
                from_nano(d.current),
                from_nano(max)
            ),
        );
    }
    let what = match d.kind {
        LimitKind::Rpm => "requests",
        LimitKind::Tpm => "tokens",
        _ => "max_parallel_requests",
    };
    let reset = d.reset_after_secs.max(1);
    let at = iso(now + reset as i64)
        .replacen('T', " ", 1)
        .replace("+00:00", " UTC");
    let mut e = ApiError::new(
        429,
        ErrorKind::RateLimit,
        format!(
            "Rate limit exceeded for {}. Limit type: {what}. Current limit: {}, Remaining: 0. Limit resets at: {at}",
            s.label, d.limit
        ),
    );
    e.headers.push(("retry-after", reset.to_string()));
    match d.kind {
        LimitKind::Rpm => {
            e.headers
                .push(("x-ratelimit-limit-requests", d.limit.to_string()));
            e.headers
                .push(("x-ratelimit-remaining-requests", "0".into()));
        }
        LimitKind::Tpm => {
            e.headers
                .push(("x-ratelimit-limit-tokens", d.limit.to_string()));
            e.headers.push(("x-ratelimit-remaining-tokens", "0".into()));
        }
        _ => {}
    }
    e
}
