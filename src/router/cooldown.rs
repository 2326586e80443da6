//! Per-deployment cooldown: a small explicit state machine, read lock-free on the hot path.
//!
//! LiteLLM's rule: a deployment cools down once its failures in the current minute exceed
//! `allowed_fails` (per error class with `allowed_fails_policy`), or at once on a 429 when its
//! group has other deployments. While cooling it is skipped; it recovers when `cooldown_time`
//! has passed. Failures are recorded under a short lock (never held across an await); the
//! request path only reads one atomic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The error classes LiteLLM's `allowed_fails_policy` distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    RateLimit,
    Timeout,
    Auth,
    NotFound,
    BadRequest,
    ContentPolicy,
    Server,
}

impl FailureClass {
    /// Classify an upstream status; `None` for statuses that never cool a deployment.
    pub fn of(status: u16, code: Option<&str>) -> Option<FailureClass> {
        match status {
            429 => Some(FailureClass::RateLimit),
            408 => Some(FailureClass::Timeout),
            401 | 403 => Some(FailureClass::Auth),
            404 => Some(FailureClass::NotFound),
            400 if matches!(code, Some("content_filter" | "content_policy_violation")) => {
                Some(FailureClass::ContentPolicy)
            }
            500..=599 => Some(FailureClass::Server),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::RateLimit => "rate_limit",
            FailureClass::Timeout => "timeout",
            FailureClass::Auth => "auth",
            FailureClass::NotFound => "not_found",
            FailureClass::BadRequest => "bad_request",
            FailureClass::ContentPolicy => "content_policy",
            FailureClass::Server => "server_error",
        }
    }
}

/// `allowed_fails_policy`: per-class overrides of `allowed_fails`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllowedFailsPolicy {
    pub rate_limit: Option<u32>,
    pub timeout: Option<u32>,
    pub auth: Option<u32>,
    pub bad_request: Option<u32>,
    pub content_policy: Option<u32>,
    pub server: Option<u32>,
}

/// Cooldown settings for one deployment (router defaults, deployment overrides).
#[derive(Clone, Debug, PartialEq)]
pub struct CooldownPolicy {
    pub disabled: bool,
    pub allowed_fails: u32,
    pub cooldown: Duration,
    pub policy: AllowedFailsPolicy,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        // LiteLLM's defaults: allowed_fails 3, cooldown_time 5 s.
        CooldownPolicy {
            disabled: false,
            allowed_fails: 3,
            cooldown: Duration::from_secs(5),
            policy: AllowedFailsPolicy::default(),
        }
    }
}

impl CooldownPolicy {
    fn allowed(&self, class: FailureClass) -> u32 {
        let p = &self.policy;
        let specific = match class {
            FailureClass::RateLimit => p.rate_limit,
            FailureClass::Timeout => p.timeout,
            FailureClass::Auth => p.auth,
            FailureClass::BadRequest | FailureClass::NotFound => p.bad_request,
            FailureClass::ContentPolicy => p.content_policy,
            FailureClass::Server => p.server,
        };
        specific.unwrap_or(self.allowed_fails)
    }
}

/// A deployment's health as the router sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentState {
    Healthy,
    CoolingDown { until_ms: u64 },
}

#[derive(Default, Debug)]
struct Window {
    minute: u64,
    fails: u32,
}

/// Mutable cooldown state; lives in `DeploymentStats` so it survives reloads.
#[derive(Default, Debug)]
pub struct Cooldown {
    /// 0 = healthy; otherwise the `mono_ms()` at which the deployment recovers.
    until_ms: AtomicU64,
    has_fails: std::sync::atomic::AtomicBool,
    window: Mutex<Window>,
}

/// What recording a failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    CooledDown { for_ms: u64 },
}

impl Cooldown {
    pub fn state(&self, now: u64) -> DeploymentState {
        let until = self.until_ms.load(Ordering::Relaxed);
        if until > now {
            DeploymentState::CoolingDown { until_ms: until }
        } else {
            DeploymentState::Healthy
        }
    }

    pub fn is_cooling(&self, now: u64) -> bool {
        self.until_ms.load(Ordering::Relaxed) > now
    }

    /// Milliseconds until recovery, if cooling.
    pub fn remaining_ms(&self, now: u64) -> Option<u64> {
        let until = self.until_ms.load(Ordering::Relaxed);
        (until > now).then(|| until - now)
    }

    /// Record a failure. `alone` is true when the group has no other deployment: such a
    /// deployment is never cooled for rate limits (there is nowhere else to send traffic).
    pub fn record_failure(
        &self,
        class: FailureClass,
        policy: &CooldownPolicy,
        alone: bool,
        now: u64,
        retry_after: Option<Duration>,
    ) -> Transition {
        if policy.disabled || (alone && class == FailureClass::RateLimit) {
            return Transition::None;
        }
        let minute = now / 60_000;
        let trip = {
            let Ok(mut w) = self.window.lock() else {
                return Transition::None;
            };
            if w.minute != minute {
                *w = Window { minute, fails: 0 };
            }
            w.fails += 1;
            self.has_fails.store(true, Ordering::Relaxed);
            let over = w.fails > policy.allowed(class);
            // A 429 with somewhere else to go cools at once (LiteLLM).
            over || (class == FailureClass::RateLimit && !alone)
        };
        if !trip {
            return Transition::None;
        }
        let for_ms = retry_after
            .filter(|d| *d <= Duration::from_secs(60))
            .unwrap_or(policy.cooldown)
            .max(policy.cooldown)
            .as_millis() as u64;
        let until = now + for_ms;
        let before = self.until_ms.fetch_max(until, Ordering::Relaxed);
        if before > now {
            return Transition::None; // already cooling: extended, not a new transition
        }
        Transition::CooledDown { for_ms }
    }

    /// A success clears the minute's failure count; true if the deployment had been cooled
    /// down before (the recovery transition).
    pub fn record_success(&self) -> bool {
        // Read-only unless there is something to clear: this runs on every success.
        if self.has_fails.load(Ordering::Relaxed) {
            self.has_fails.store(false, Ordering::Relaxed);
            if let Ok(mut w) = self.window.lock() {
                w.fails = 0;
            }
        }
        self.until_ms.load(Ordering::Relaxed) != 0 && self.until_ms.swap(0, Ordering::Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cools_after_allowed_fails_and_recovers() {
        let c = Cooldown::default();
        let p = CooldownPolicy {
            allowed_fails: 2,
            cooldown: Duration::from_secs(10),
            ..Default::default()
        };
        let t0 = 1_000_000;
        assert_eq!(
            c.record_failure(FailureClass::Server, &p, false, t0, None),
            Transition::None
        );
        assert_eq!(
            c.record_failure(FailureClass::Server, &p, false, t0, None),
            Transition::None
        );
        assert_eq!(
            c.record_failure(FailureClass::Server, &p, false, t0, None),
            Transition::CooledDown { for_ms: 10_000 }
        );
        assert!(c.is_cooling(t0 + 9_999));
        assert_eq!(c.state(t0 + 10_000), DeploymentState::Healthy);
    }

    #[test]
    fn rate_limits_cool_at_once_unless_alone() {
        let p = CooldownPolicy::default();
        let c = Cooldown::default();
        assert_eq!(
            c.record_failure(FailureClass::RateLimit, &p, true, 0, None),
            Transition::None
        );
        assert!(!c.is_cooling(0));
        assert_eq!(
            c.record_failure(
                FailureClass::RateLimit,
                &p,
                false,
                0,
                Some(Duration::from_secs(20))
            ),
            Transition::CooledDown { for_ms: 20_000 }
        );
    }

    #[test]
    fn failures_reset_each_minute_and_policy_per_class() {
        let mut p = CooldownPolicy {
            allowed_fails: 1,
            ..Default::default()
        };
        p.policy.timeout = Some(5);
        let c = Cooldown::default();
        for _ in 0..5 {
            assert_eq!(
                c.record_failure(FailureClass::Timeout, &p, false, 0, None),
                Transition::None
            );
        }
        assert!(matches!(
            c.record_failure(FailureClass::Timeout, &p, false, 0, None),
            Transition::CooledDown { .. }
        ));
        let c = Cooldown::default();
        c.record_failure(FailureClass::Server, &p, false, 0, None);
        assert_eq!(
            c.record_failure(FailureClass::Server, &p, false, 60_000, None),
            Transition::None
        );
        let off = CooldownPolicy {
            disabled: true,
            ..Default::default()
        };
        assert_eq!(
            c.record_failure(FailureClass::RateLimit, &off, false, 0, None),
            Transition::None
        );
    }
}
