//! Admission counters: one check-then-reserve-then-settle semantics, in-process backend here.
//!
//! A request touches several scopes (key, team, user, customer, member, key×model, global).
//! [`Counters::admit`] checks every scope and, only when all have room, applies every increment
//! in one atomic step; [`Counters::settle`] later trues the reservation up to the actual.
//!
//! Semantics shared by both backends (`LocalCounters` here, `RedisCounters` in `redis.rs`):
//! - Windows are fixed 60-second windows aligned to the minute (LiteLLM's per-minute limits).
//!   rpm and tpm are counted for every scope, limited or not, so `usage` can report them.
//! - Per scope, limits are checked in the order **Budget, Rpm, Tpm, Parallel**; scopes in the
//!   order given. The first failure is the [`Denial`]. Budget goes first because it does not
//!   clear by waiting: reporting a rate limit that resets in 20 s when the budget is gone
//!   would invite useless retries. Parallel goes last because it clears soonest.
//! - rpm: deny when the window's count >= rpm. tpm: deny when the window's tokens (including
//!   tokens debited by in-flight requests) >= tpm; an admitted request may overshoot by its own
//!   estimate, as in LiteLLM. max_parallel: deny when in-flight >= max.
//! - budget: `spent` for a period starts from the ledger's figure when that period has no
//!   counter yet (seeded, never added). Deny when `spent + reserved >= max`; otherwise
//!   reserve `min(cost, max - spent - reserved)` in that scope (a request is admitted while
//!   any budget is left, as in LiteLLM, but its reservation fills what is left, so requests
//!   in flight together can never be promised more than the remainder). spent and reserved
//!   are tracked only for scopes that carry a budget. Reservations are not tied to a period: a
//!   request that straddles a period change is charged once, to the period named at settle.
//! - settle is idempotent per request id: in-flight −1, the reservation released, `spent +=
//!   cost_actual`, and the current window's tokens adjusted by `actual − reserved` (never
//!   below 0). Only admitted requests may be settled; `cost_reserved`/`tokens_reserved` must
//!   be what was passed to admit, and request ids must be unique per admit.
//! - Overshoot bound: Σ over in-flight requests of (actual − reserved)⁺ per budget, plus the
//!   tpm overshoot of one request's estimate per window and scope.
//!
//! `LocalCounters` is per-process (one replica only). It keeps no leases: the process that
//! admitted is the one that settles, so a dead replica takes its counters with it. Its windows
//! follow the [`WallClock`] it is given (governance's, so tests can move it by hand);
//! `RedisCounters` reads Redis's own `TIME` instead. Listing the
//! same scope id twice in one request is a caller error (it is checked once per listing).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::Hasher;
use std::sync::{Mutex, MutexGuard};

use crate::core::clock::WallClock;

/// The limits configured for one scope. `None` means unlimited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeLimits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub max_parallel: Option<u64>,
    pub budget: Option<BudgetLimit>,
}

/// A spend limit in nano-USD for one budget period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetLimit {
    /// The most that may be spent in the period.
    pub max_nano: i64,
    /// What the durable ledger says was spent this period (the seed for a fresh counter).
    pub ledger_spent_nano: i64,
    /// The period's start in unix seconds; 0 for a lifetime budget.
    pub period: i64,
}

/// One scope a request touches. `id` is stable, e.g. `"key:ab12…"`, `"team:t1"`, `"global"`.
pub struct Scope<'a> {
    pub id: &'a str,
    pub limits: &'a ScopeLimits,
}

/// One admission: every scope is checked and, when all have room, reserved atomically.
pub struct Admit<'a> {
    pub request_id: &'a str,
    pub scopes: &'a [Scope<'a>],
    /// Estimated tokens, debited to tpm now.
    pub tokens: u64,
    /// The cost reservation in nano-USD.
    pub cost_nano: i64,
}

/// Which limit denied a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Rpm,
    Tpm,
    Parallel,
    Budget,
}

/// Why a request was not admitted: the first failing scope and limit.
#[derive(Clone, Debug, PartialEq)]
pub struct Denial {
    /// Index into `Admit::scopes`.
    pub scope: usize,
    pub kind: LimitKind,
    pub limit: i64,
    pub current: i64,
    /// rpm/tpm: seconds to the window's end (>= 1); parallel: 1; budget: 0.
    pub reset_after_secs: u64,
}

/// The tightest rpm/tpm room left over all scopes after this request (x-ratelimit-* headers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Admitted {
    pub remaining_requests: Option<i64>,
    pub remaining_tokens: Option<i64>,
    pub reset_after_secs: u64,
    /// The first scope's spend this period before this request (when it has a budget), so
    /// the response can say it without another round trip.
    pub first_spent: Option<i64>,
}

/// The end of an admitted request: release what was reserved, charge what was used.
pub struct Settle<'a> {
    pub request_id: &'a str,
    pub scopes: &'a [Scope<'a>],
    pub tokens_reserved: u64,
    pub tokens_actual: u64,
    pub cost_reserved: i64,
    pub cost_actual: i64,
}

/// What a scope has used, for `/key/info` and metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScopeUsage {
    pub rpm_used: i64,
    pub tpm_used: i64,
    pub in_flight: i64,
    pub spent_nano: i64,
    pub reserved_nano: i64,
}

/// The counter store could not answer in time or at all.
#[derive(Debug)]
pub enum CounterError {
    Timeout,
    Unavailable(String),
}

impl fmt::Display for CounterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CounterError::Timeout => f.write_str("counter store timed out"),
            CounterError::Unavailable(why) => write!(f, "counter store unavailable: {why}"),
        }
    }
}

impl std::error::Error for CounterError {}

/// Admission counters; see the module doc for the semantics every backend shares.
#[async_trait::async_trait]
pub trait Counters: Send + Sync {
    /// `Ok(Ok(_))`: admitted and reserved; `Ok(Err(_))`: denied, nothing changed.
    async fn admit(&self, a: &Admit<'_>) -> Result<Result<Admitted, Denial>, CounterError>;
    /// Releases the reservation and charges the actual; a repeated request id changes nothing.
    async fn settle(&self, s: &Settle<'_>) -> Result<(), CounterError>;
    /// Current usage of one scope.
    async fn usage(&self, scope_id: &str, limits: &ScopeLimits)
        -> Result<ScopeUsage, CounterError>;
    /// `"memory"` or `"redis"`.
    fn backend(&self) -> &'static str;
}

/// Length of a rate window in seconds.
pub(crate) const WINDOW_SECS: i64 = 60;

/// The start (unix seconds) of the window holding `now_ms`.
pub(crate) fn window_start(now_ms: i64) -> i64 {
    now_ms.div_euclid(WINDOW_SECS * 1000) * WINDOW_SECS
}

/// Whole seconds from `now_ms` to the end of its window, rounded up, at least 1.
pub(crate) fn reset_after(now_ms: i64) -> u64 {
    let end_ms = (window_start(now_ms) + WINDOW_SECS) * 1000;
    let secs = (end_ms - now_ms + 999) / 1000;
    u64::try_from(secs.max(1)).unwrap_or(1)
}

/// A u64 limit as i64 (limits above i64::MAX are as good as unlimited).
pub(crate) fn limit_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// How many settled request ids `LocalCounters` remembers for idempotency.
const SETTLED_CAPACITY: usize = 65_536;

/// Per-scope state of the in-process backend.
#[derive(Default)]
struct ScopeState {
    window: i64,
    requests: i64,
    tokens: i64,
    in_flight: i64,
    /// The budget period the spend counter is for; `None` until first seeded.
    period: Option<i64>,
    spent: i64,
    reserved: i64,
}

impl ScopeState {
    /// Rolls the window and (re)seeds the budget period; invisible to the semantics.
    fn normalize(&mut self, limits: &ScopeLimits, window: i64) {
        if self.window != window {
            self.window = window;
            self.requests = 0;
            self.tokens = 0;
        }
        if let Some(b) = &limits.budget {
            match self.period {
                Some(p) if p == b.period => self.spent = self.spent.max(b.ledger_spent_nano),
                // A caller behind on the period is counted against the newest one.
                Some(p) if p > b.period => {}
                _ => {
                    self.period = Some(b.period);
                    self.spent = b.ledger_spent_nano;
                }
            }
        }
    }

    /// The first limit this scope fails for a request of `tokens` and `cost`, in check order.
    fn check(&self, i: usize, limits: &ScopeLimits, reset: u64) -> Option<Denial> {
        let deny = |kind, limit, current, reset_after_secs| Denial {
            scope: i,
            kind,
            limit,
            current,
            reset_after_secs,
        };
        if let Some(b) = &limits.budget {
            let cur = self.spent.saturating_add(self.reserved);
            if cur >= b.max_nano {
                return Some(deny(LimitKind::Budget, b.max_nano, cur, 0));
            }
        }
        if let Some(rpm) = limits.rpm.map(limit_i64) {
            if self.requests >= rpm {
                return Some(deny(LimitKind::Rpm, rpm, self.requests, reset));
            }
        }
        if let Some(tpm) = limits.tpm.map(limit_i64) {
            if self.tokens >= tpm {
                return Some(deny(LimitKind::Tpm, tpm, self.tokens, reset));
            }
        }
        if let Some(max) = limits.max_parallel.map(limit_i64) {
            if self.in_flight >= max {
                return Some(deny(LimitKind::Parallel, max, self.in_flight, 1));
            }
        }
        None
    }
}

/// Recently settled request ids, as 64-bit hashes, bounded to the last `SETTLED_CAPACITY`.
#[derive(Default)]
struct Settled {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Settled {
    /// Records `id`; false when it was already settled.
    /// Records the request id hashed by `id_hash`; false when it was already settled.
    fn insert(&mut self, h: u64) -> bool {
        if !self.set.insert(h) {
            return false;
        }
        if self.order.len() >= SETTLED_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(h);
        true
    }
}

#[derive(Default)]
struct Inner {
    scopes: HashMap<Box<str>, ScopeState>,
    settled: Settled,
    /// What each admitted request reserved per scope (admission order), until settled.
    reservations: HashMap<u64, Vec<i64>>,
}

fn id_hash(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(id.as_bytes());
    h.finish()
}

impl Inner {
    /// The state of scope `id`, created on first sight (the only time its key is allocated).
    fn scope(&mut self, id: &str) -> Option<&mut ScopeState> {
        if !self.scopes.contains_key(id) {
            self.scopes.insert(id.into(), ScopeState::default());
        }
        self.scopes.get_mut(id)
    }
}

/// In-process counters under one mutex (never held across an await).
pub struct LocalCounters {
    clock: WallClock,
    inner: Mutex<Inner>,
}

impl Default for LocalCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalCounters {
    /// Counters on the system clock.
    pub fn new() -> Self {
        Self::with_clock(WallClock::system())
    }

    /// Counters on `clock` (governance's, or a test's manual one).
    pub fn with_clock(clock: WallClock) -> Self {
        Self {
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock leaves counters consistent enough to keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The synchronous admission step behind [`Counters::admit`].
    pub fn admit_now(&self, a: &Admit<'_>) -> Result<Admitted, Denial> {
        let now = self.clock.now_ms();
        let window = window_start(now);
        let reset = reset_after(now);
        // Hashing and allocation happen before the lock, to keep the critical section short.
        let rid = id_hash(a.request_id);
        let mut amounts = Vec::with_capacity(a.scopes.len());
        let mut inner = self.lock();
        for (i, scope) in a.scopes.iter().enumerate() {
            let Some(st) = inner.scope(scope.id) else {
                continue;
            };
            st.normalize(scope.limits, window);
            if let Some(denial) = st.check(i, scope.limits, reset) {
                return Err(denial);
            }
        }
        let tokens = limit_i64(a.tokens);
        let mut out = Admitted {
            reset_after_secs: reset,
            ..Admitted::default()
        };
        if let Some(first) = a.scopes.first() {
            if first.limits.budget.is_some() {
                out.first_spent = inner.scopes.get(first.id).map(|st| st.spent);
            }
        }
        for scope in a.scopes {
            let Some(st) = inner.scope(scope.id) else {
                amounts.push(0);
                continue;
            };
            st.requests += 1;
            st.tokens = st.tokens.saturating_add(tokens);
            st.in_flight += 1;
            let mut amount = 0;
            if let Some(b) = &scope.limits.budget {
                let left = b.max_nano - st.spent.saturating_add(st.reserved);
                amount = a.cost_nano.min(left).max(0);
                st.reserved = st.reserved.saturating_add(amount);
            }
            amounts.push(amount);
            if let Some(rpm) = scope.limits.rpm.map(limit_i64) {
                tighten(&mut out.remaining_requests, rpm - st.requests);
            }
            if let Some(tpm) = scope.limits.tpm.map(limit_i64) {
                tighten(&mut out.remaining_tokens, tpm.saturating_sub(st.tokens));
            }
        }
        inner.reservations.insert(rid, amounts);
        Ok(out)
    }

    /// The synchronous step behind [`Counters::settle`].
    pub fn settle_now(&self, s: &Settle<'_>) {
        let window = window_start(self.clock.now_ms());
        let delta = limit_i64(s.tokens_actual).saturating_sub(limit_i64(s.tokens_reserved));
        let rid = id_hash(s.request_id);
        let mut inner = self.lock();
        if !inner.settled.insert(rid) {
            return;
        }
        let amounts = inner.reservations.remove(&rid);
        for (i, scope) in s.scopes.iter().enumerate() {
            let reserved = amounts
                .as_ref()
                .and_then(|a| a.get(i).copied())
                .unwrap_or(s.cost_reserved);
            let Some(st) = inner.scope(scope.id) else {
                continue;
            };
            st.normalize(scope.limits, window);
            st.in_flight = (st.in_flight - 1).max(0);
            st.tokens = st.tokens.saturating_add(delta).max(0);
            if scope.limits.budget.is_some() {
                st.reserved = st.reserved.saturating_sub(reserved).max(0);
                st.spent = st.spent.saturating_add(s.cost_actual);
            }
        }
        // Unlock before the reservation record is freed.
        drop(inner);
        drop(amounts);
    }

    /// The synchronous step behind [`Counters::usage`].
    pub fn usage_now(&self, scope_id: &str, limits: &ScopeLimits) -> ScopeUsage {
        let window = window_start(self.clock.now_ms());
        let ledger = limits.budget.map(|b| b.ledger_spent_nano);
        let inner = self.lock();
        let Some(st) = inner.scopes.get(scope_id) else {
            return ScopeUsage {
                spent_nano: ledger.unwrap_or(0),
                ..ScopeUsage::default()
            };
        };
        let current = st.window == window;
        let spent = match (&limits.budget, st.period) {
            (Some(b), Some(p)) if p == b.period => st.spent.max(b.ledger_spent_nano),
            (Some(b), Some(p)) if p < b.period => b.ledger_spent_nano,
            _ => st.spent,
        };
        ScopeUsage {
            rpm_used: if current { st.requests } else { 0 },
            tpm_used: if current { st.tokens } else { 0 },
            in_flight: st.in_flight,
            spent_nano: spent,
            reserved_nano: st.reserved,
        }
    }
}

/// Keeps the smaller remaining figure, never below 0.
fn tighten(slot: &mut Option<i64>, remaining: i64) {
    let r = remaining.max(0);
    *slot = Some(slot.map_or(r, |cur| cur.min(r)));
}

#[async_trait::async_trait]
impl Counters for LocalCounters {
    async fn admit(&self, a: &Admit<'_>) -> Result<Result<Admitted, Denial>, CounterError> {
        Ok(self.admit_now(a))
    }

    async fn settle(&self, s: &Settle<'_>) -> Result<(), CounterError> {
        self.settle_now(s);
        Ok(())
    }

    async fn usage(
        &self,
        scope_id: &str,
        limits: &ScopeLimits,
    ) -> Result<ScopeUsage, CounterError> {
        Ok(self.usage_now(scope_id, limits))
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::clock::ManualClock;

    /// Counters on a manual clock starting 15.5 s into a minute.
    fn manual() -> (LocalCounters, ManualClock) {
        let now = ManualClock::at(1_700_000_040_000 + 15_500);
        (LocalCounters::with_clock(now.clock()), now)
    }

    fn one<'a>(id: &'a str, scopes: &'a [Scope<'a>], cost: i64) -> Admit<'a> {
        Admit {
            request_id: id,
            scopes,
            tokens: 10,
            cost_nano: cost,
        }
    }

    #[test]
    fn windows_are_aligned_to_the_minute() {
        assert_eq!(window_start(1_700_000_040_000), 1_700_000_040);
        assert_eq!(window_start(1_700_000_099_999), 1_700_000_040);
        assert_eq!(reset_after(1_700_000_040_000), 60);
        assert_eq!(reset_after(1_700_000_055_500), 45);
        assert_eq!(reset_after(1_700_000_099_999), 1);
    }

    #[test]
    fn a_new_window_starts_empty() {
        let (c, now) = manual();
        let l = ScopeLimits {
            rpm: Some(1),
            tpm: Some(15),
            ..ScopeLimits::default()
        };
        let scopes = [Scope {
            id: "key:w",
            limits: &l,
        }];
        let ok = c.admit_now(&one("a", &scopes, 0)).unwrap();
        assert_eq!(
            (ok.remaining_requests, ok.remaining_tokens),
            (Some(0), Some(5))
        );
        assert_eq!(ok.reset_after_secs, 45);
        let d = c.admit_now(&one("b", &scopes, 0)).unwrap_err();
        assert_eq!((d.kind, d.reset_after_secs), (LimitKind::Rpm, 45));
        now.advance(Duration::from_secs(45));
        assert!(c.admit_now(&one("c", &scopes, 0)).is_ok());
        assert_eq!(c.usage_now("key:w", &l).rpm_used, 1);
    }

    #[test]
    fn a_ledger_that_moved_ahead_is_respected() {
        let (c, _) = manual();
        let budget = |ledger| ScopeLimits {
            budget: Some(BudgetLimit {
                max_nano: 1_000,
                ledger_spent_nano: ledger,
                period: 7,
            }),
            ..ScopeLimits::default()
        };
        let (low, high) = (budget(100), budget(995));
        c.admit_now(&one(
            "a",
            &[Scope {
                id: "k",
                limits: &low,
            }],
            10,
        ))
        .unwrap();
        let d = c
            .admit_now(&one(
                "b",
                &[Scope {
                    id: "k",
                    limits: &high,
                }],
                10,
            ))
            .unwrap_err();
        assert_eq!((d.kind, d.current), (LimitKind::Budget, 1005));
    }

    #[test]
    fn settled_ids_are_remembered_up_to_the_bound() {
        let mut s = Settled::default();
        assert!(s.insert(id_hash("first")));
        assert!(!s.insert(id_hash("first")));
        for i in 0..SETTLED_CAPACITY {
            assert!(s.insert(id_hash(&format!("id{i}"))));
        }
        assert_eq!(s.order.len(), SETTLED_CAPACITY);
        assert!(s.insert(id_hash("first")), "the oldest id was forgotten");
    }
}
