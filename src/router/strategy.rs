//! Routing strategies (LiteLLM's `routing_strategy` names) over the usable deployments.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Deployment;

/// `router_settings.routing_strategy`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// Weighted random by `weight`, else `rpm`, else `tpm` (the default).
    SimpleShuffle,
    /// Fewest requests in flight.
    LeastBusy,
    /// Lowest recent latency (EWMA); untried deployments first; ties within `buffer` shuffled.
    LatencyBased { buffer: f64 },
    /// Fewest tokens used this minute among deployments under their rpm/tpm.
    UsageBased,
    /// Cheapest by `input_cost_per_token + output_cost_per_token`.
    CostBased,
}

impl Strategy {
    pub fn parse(name: &str, buffer: Option<f64>) -> Option<Strategy> {
        Some(match name {
            "simple-shuffle" => Strategy::SimpleShuffle,
            "least-busy" => Strategy::LeastBusy,
            "latency-based-routing" => Strategy::LatencyBased {
                buffer: buffer.unwrap_or(0.0),
            },
            "usage-based-routing" | "usage-based-routing-v2" => Strategy::UsageBased,
            "cost-based-routing" => Strategy::CostBased,
            _ => return None,
        })
    }
}

/// Per-minute request and token counts, reset lazily when the minute changes.
#[derive(Default, Debug)]
pub struct MinuteUsage {
    minute: AtomicU64,
    requests: AtomicU64,
    tokens: AtomicU64,
}

impl MinuteUsage {
    fn roll(&self, minute: u64) {
        let seen = self.minute.load(Ordering::Relaxed);
        if seen != minute
            && self
                .minute
                .compare_exchange(seen, minute, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.requests.store(0, Ordering::Relaxed);
            self.tokens.store(0, Ordering::Relaxed);
        }
    }

    pub fn add_request(&self, minute: u64) {
        self.roll(minute);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_tokens(&self, minute: u64, tokens: u64) {
        self.roll(minute);
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
    }

    /// (requests, tokens) this minute.
    pub fn get(&self, minute: u64) -> (u64, u64) {
        if self.minute.load(Ordering::Relaxed) != minute {
            return (0, 0);
        }
        (
            self.requests.load(Ordering::Relaxed),
            self.tokens.load(Ordering::Relaxed),
        )
    }
}

/// Exponentially weighted latency in microseconds (0 = no sample yet).
#[derive(Default, Debug)]
pub struct LatencyEwma(AtomicU64);

impl LatencyEwma {
    const ALPHA: f64 = 0.3;

    pub fn observe(&self, micros: u64) {
        let old = self.0.load(Ordering::Relaxed);
        let new = if old == 0 {
            micros.max(1)
        } else {
            ((1.0 - Self::ALPHA) * old as f64 + Self::ALPHA * micros as f64) as u64
        };
        self.0.store(new.max(1), Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v),
        }
    }
}

fn random_of(items: &[usize]) -> Option<usize> {
    (!items.is_empty()).then(|| items[rand::random::<usize>() % items.len()])
}

/// Pick one of `candidates` (indexes into `deployments`). `weights` are simple-shuffle's.
pub fn pick(
    strategy: Strategy,
    deployments: &[std::sync::Arc<Deployment>],
    weights: &[f64],
    candidates: &[usize],
    minute: u64,
) -> Option<usize> {
    match strategy {
        Strategy::SimpleShuffle => weighted(weights, candidates),
        Strategy::LeastBusy => {
            let busy = |i: usize| deployments[i].stats.in_flight.load(Ordering::Relaxed);
            let min = candidates.iter().map(|&i| busy(i)).min()?;
            let best: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| busy(i) == min)
                .collect();
            random_of(&best)
        }
        Strategy::LatencyBased { buffer } => {
            let untried: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| deployments[i].stats.latency.get().is_none())
                .collect();
            if !untried.is_empty() {
                return random_of(&untried);
            }
            let lat = |i: usize| deployments[i].stats.latency.get().unwrap_or(u64::MAX) as f64;
            let min = candidates
                .iter()
                .map(|&i| lat(i))
                .fold(f64::INFINITY, f64::min);
            let best: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| lat(i) <= min * (1.0 + buffer))
                .collect();
            random_of(&best)
        }
        Strategy::UsageBased => {
            let under = |i: usize| {
                let d = &deployments[i];
                let (req, tok) = d.stats.usage.get(minute);
                d.rpm.is_none_or(|r| req < r) && d.tpm.is_none_or(|t| tok < t)
            };
            let pool: Vec<usize> = candidates.iter().copied().filter(|&i| under(i)).collect();
            let pool = if pool.is_empty() {
                candidates.to_vec()
            } else {
                pool
            };
            let tokens = |i: usize| deployments[i].stats.usage.get(minute).1;
            let min = pool.iter().map(|&i| tokens(i)).min()?;
            let best: Vec<usize> = pool.into_iter().filter(|&i| tokens(i) == min).collect();
            random_of(&best)
        }
        Strategy::CostBased => {
            let cost = |i: usize| deployments[i].cost_per_token.unwrap_or(f64::INFINITY);
            let min = candidates
                .iter()
                .map(|&i| cost(i))
                .fold(f64::INFINITY, f64::min);
            let best: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| cost(i) <= min)
                .collect();
            random_of(&best)
        }
    }
}

/// Weighted random draw; uniform when every candidate weighs 0.
pub fn weighted(weights: &[f64], candidates: &[usize]) -> Option<usize> {
    let total: f64 = candidates.iter().map(|&i| weights[i]).sum();
    if total <= 0.0 {
        return random_of(candidates);
    }
    let mut r = rand::random::<f64>() * total;
    for &i in candidates {
        r -= weights[i];
        if r < 0.0 {
            return Some(i);
        }
    }
    candidates.last().copied()
}
