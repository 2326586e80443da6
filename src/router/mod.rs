//! Model groups and deployments, the table that resolves a model name to its group
//! ([`Router`]), and the choice of the next deployment for an attempt: priority tiers
//! (`order`), cooldowns, then the group's routing strategy.

pub mod cooldown;
pub mod deployment;
pub mod fallback;
pub mod precall;
pub mod retry;
pub mod strategy;
mod table;

use std::sync::Arc;

pub use deployment::{Backend, Deployment, DeploymentStats, HttpTarget};
pub use strategy::Strategy;
pub use table::Router;

use crate::metrics::GroupMetrics;

/// All deployments that serve one `model_name`.
pub struct ModelGroup {
    pub name: Arc<str>,
    pub deployments: Vec<Arc<Deployment>>,
    /// Selection weights (LiteLLM simple-shuffle: `weight`, else `rpm`, else `tpm`, else 1).
    weights: Vec<f64>,
    pub strategy: Strategy,
    /// `litellm_params.num_retries` of the group's deployments, when one sets it.
    pub num_retries: Option<u32>,
    /// `model_group_retry_policy` for this group, else the router's `retry_policy`.
    pub retry_policy: retry::RetryPolicy,
    /// `enable_health_check_routing`: skip deployments whose last probe failed.
    pub health_routing: bool,
    /// `enable_pre_call_checks`: rule out deployments whose context window or rpm is too small.
    pub pre_call_checks: bool,
    /// `optional_pre_call_checks: [enforce_model_rate_limits]`: `rpm`/`tpm` are hard limits.
    pub enforce_rate_limits: bool,
    pub metrics: GroupMetrics,
    /// The dearest price among the deployments, field by field: what a budget reservation
    /// is priced at, before the deployment is chosen.
    pub worst_price: crate::pricing::cost::Price,
    /// Whether a deployment is priced per request by the model asked for (wildcards).
    priced_per_model: bool,
}

impl ModelGroup {
    pub fn new(name: Arc<str>, deployments: Vec<Arc<Deployment>>, strategy: Strategy) -> Self {
        let pick = |f: fn(&Deployment) -> Option<f64>| -> Option<Vec<f64>> {
            deployments.iter().any(|d| f(d).is_some()).then(|| {
                deployments
                    .iter()
                    .map(|d| f(d).unwrap_or(0.0).max(0.0))
                    .collect()
            })
        };
        let weights = pick(|d| d.weight)
            .or_else(|| pick(|d| d.rpm.map(|v| v as f64)))
            .or_else(|| pick(|d| d.tpm.map(|v| v as f64)))
            .filter(|w| w.iter().sum::<f64>() > 0.0)
            .unwrap_or_else(|| vec![1.0; deployments.len()]);
        let metrics = GroupMetrics::new(&name);
        let num_retries = deployments.iter().find_map(|d| d.num_retries);
        let worst_price = deployments
            .iter()
            .map(|d| d.price)
            .reduce(crate::pricing::cost::Price::max)
            .unwrap_or_default();
        let priced_per_model = deployments.iter().any(|d| d.table_pricing.is_some());
        ModelGroup {
            worst_price,
            priced_per_model,
            name,
            deployments,
            weights,
            strategy,
            num_retries,
            retry_policy: retry::RetryPolicy::default(),
            health_routing: false,
            pre_call_checks: false,
            enforce_rate_limits: false,
            metrics,
        }
    }

    /// What a request for `asked` is reserved and checked at: the dearest price among the
    /// deployments, wildcard deployments priced by the model asked for
    /// ([`Deployment::price_for`]); `worst_price` itself for groups without wildcards.
    pub fn price_for(&self, asked: &str) -> crate::pricing::cost::Price {
        if !self.priced_per_model {
            return self.worst_price;
        }
        self.deployments
            .iter()
            .map(|d| d.price_for(asked))
            .reduce(crate::pricing::cost::Price::max)
            .unwrap_or_default()
    }

    /// Set the group's retry policy (from `model_group_retry_policy` / `retry_policy`).
    pub fn with_retry_policy(mut self, policy: retry::RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// A plan for one request: the deployments it may try, in the order it will try them.
    pub fn plan(&self) -> Plan<'_> {
        Plan {
            group: self,
            tried: 0,
            excluded: 0,
            last: None,
            fixed: None,
        }
    }

    /// A plan that only ever offers one deployment (fallback to a deployment id).
    pub fn plan_for(&self, id: &str) -> Option<Plan<'_>> {
        let i = self.deployments.iter().position(|d| &*d.id == id)?;
        Some(Plan {
            group: self,
            tried: 0,
            excluded: 0,
            last: None,
            fixed: Some(i),
        })
    }

    /// Milliseconds until the first cooling deployment recovers, if all usable ones cool.
    pub fn all_cooling_for(&self, now: u64) -> Option<u64> {
        let mut usable = self
            .deployments
            .iter()
            .filter(|d| d.backend.is_usable())
            .peekable();
        usable.peek()?;
        usable
            .map(|d| d.stats.cooldown.remaining_ms(now))
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .min()
    }
}

/// Why pre-call checks left no deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreCallRejection {
    ContextWindow,
    RateLimit,
}

/// Why a plan offered nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// Every usable deployment is cooling down; the first recovers in this many ms.
    Cooling(u64),
    /// Every healthy deployment is at its `max_parallel_requests`.
    Busy,
    /// Every deployment used up its hard `rpm`/`tpm`; the minute turns in this many ms.
    RateLimited(u64),
    /// Nothing left to try.
    Empty,
}

/// The attempt order for one request. Each step keeps the lowest `order` tier that has a
/// healthy deployment not tried yet, and lets the strategy choose inside it. Once every
/// deployment was tried it offers again all but the one that just failed, so a retry never
/// lands on the deployment that just failed while another exists.
pub struct Plan<'a> {
    group: &'a ModelGroup,
    /// Bitset of tried deployment indexes (groups above 64 deployments reuse the low bits).
    tried: u64,
    /// Bitset of deployments pre-call checks ruled out for this request.
    excluded: u64,
    last: Option<usize>,
    fixed: Option<usize>,
}

impl<'a> Plan<'a> {
    pub fn group(&self) -> &'a ModelGroup {
        self.group
    }

    /// The next deployment, or why there is none.
    pub fn next_at(&mut self, now: u64) -> Result<&'a Arc<Deployment>, Exhausted> {
        let g = self.group;
        if let Some(i) = self.fixed {
            return g.deployments.get(i).ok_or(Exhausted::Empty);
        }
        let n = g.deployments.len();
        let bit = |i: usize| 1u64 << (i % 64);
        let healthy = |i: usize| {
            let d = &g.deployments[i];
            self.excluded & bit(i) == 0
                && d.backend.is_usable()
                && !d.stats.cooldown.is_cooling(now)
                && !d.stats.at_capacity(d.max_parallel)
                && !(g.enforce_rate_limits && d.over_rate_limit(now / 60_000))
        };
        let mut candidates: Vec<usize> = (0..n)
            .filter(|&i| healthy(i) && self.tried & bit(i) == 0)
            .collect();
        if g.health_routing {
            // Prefer deployments whose last probe passed; if none did, probes do not decide.
            let probed_ok = |i: &usize| {
                !g.deployments[*i]
                    .stats
                    .probe_failed
                    .load(std::sync::atomic::Ordering::Relaxed)
            };
            if candidates.iter().any(probed_ok) {
                candidates.retain(probed_ok);
            }
        }
        if candidates.is_empty() {
            candidates = (0..n)
                .filter(|&i| healthy(i) && Some(i) != self.last)
                .collect();
        }
        if candidates.is_empty() {
            if let Some(ms) = g.all_cooling_for(now) {
                return Err(Exhausted::Cooling(ms));
            }
            if g.enforce_rate_limits
                && g.deployments
                    .iter()
                    .any(|d| d.over_rate_limit(now / 60_000))
            {
                return Err(Exhausted::RateLimited(60_000 - now % 60_000));
            }
            if g.deployments
                .iter()
                .any(|d| d.stats.at_capacity(d.max_parallel))
            {
                return Err(Exhausted::Busy);
            }
            // Only the deployment that just failed (or unusable ones) is left.
            candidates = (0..n).filter(|&i| healthy(i)).collect();
            if candidates.is_empty() {
                candidates = (0..n)
                    .filter(|&i| !g.deployments[i].backend.is_usable())
                    .collect();
            }
        }
        let tier = candidates
            .iter()
            .map(|&i| g.deployments[i].order.unwrap_or(u32::MAX))
            .min();
        candidates.retain(|&i| Some(g.deployments[i].order.unwrap_or(u32::MAX)) == tier);
        let i = strategy::pick(g.strategy, &g.deployments, &g.weights, &candidates, now)
            .ok_or(Exhausted::Empty)?;
        self.tried |= bit(i);
        self.last = Some(i);
        g.deployments.get(i).ok_or(Exhausted::Empty)
    }
}

impl Plan<'_> {
    /// Pre-call checks: rule out deployments for this request. Returns why every usable
    /// deployment was ruled out, if so (context window wins over rate limit).
    pub fn pre_call_filter(
        &mut self,
        tokens: &mut precall::PromptTokens,
        minute: u64,
    ) -> Option<PreCallRejection> {
        let mut context = false;
        let mut rpm = false;
        let mut usable = 0;
        for (i, d) in self.group.deployments.iter().enumerate() {
            if !d.backend.is_usable() {
                continue;
            }
            usable += 1;
            if !precall::fits(d, tokens) {
                context = true;
            } else if d.rpm.is_some_and(|r| d.stats.usage.get(minute).0 >= r) {
                rpm = true;
            } else {
                continue;
            }
            self.excluded |= 1u64 << (i % 64);
        }
        let all = usable > 0 && self.excluded.count_ones() as usize >= usable.min(64);
        match (all, context, rpm) {
            (true, true, _) => Some(PreCallRejection::ContextWindow),
            (true, false, true) => Some(PreCallRejection::RateLimit),
            _ => None,
        }
    }

    /// Rule out deployments outside `region` (an end user's `allowed_model_region`); false
    /// when the group has none there.
    pub fn keep_region(&mut self, region: &str) -> bool {
        let in_region = |d: &Deployment| d.region.as_deref() == Some(region);
        if let Some(i) = self.fixed {
            return self.group.deployments.get(i).is_some_and(|d| in_region(d));
        }
        let mut left = false;
        for (i, d) in self.group.deployments.iter().enumerate() {
            if in_region(d) {
                left |= self.excluded & (1u64 << (i % 64)) == 0;
            } else {
                self.excluded |= 1u64 << (i % 64);
            }
        }
        left
    }

    /// Whether a healthy deployment other than the one just tried is available now.
    pub fn has_alternative(&self, now: u64) -> bool {
        if self.fixed.is_some() {
            return false;
        }
        self.group.deployments.iter().enumerate().any(|(i, d)| {
            Some(i) != self.last && d.backend.is_usable() && !d.stats.cooldown.is_cooling(now)
        })
    }
}

impl<'a> Iterator for Plan<'a> {
    type Item = &'a Arc<Deployment>;

    fn next(&mut self) -> Option<&'a Arc<Deployment>> {
        self.next_at(crate::core::clock::mono_ms()).ok()
    }
}
