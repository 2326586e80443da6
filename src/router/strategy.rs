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
    /// Lowest mean of the last `list_size` latencies younger than `ttl_ms`; deployments without
    /// a sample first; those within `buffer` of the best shuffled.
    LatencyBased {
        buffer: f64,
        list_size: usize,
        ttl_ms: u64,
    },
    /// Fewest tokens used this minute among deployments under their rpm/tpm.
    UsageBased,
    /// Cheapest by `input_cost_per_token + output_cost_per_token`.
    CostBased,
}

impl Strategy {
    /// `args`: `routing_strategy_args` (lowest_latency_buffer, max_latency_list_size, ttl s).
    pub fn parse(name: &str, args: (Option<f64>, Option<usize>, Option<f64>)) -> Option<Strategy> {
        let (buffer, list_size, ttl) = args;
        Some(match name {
            "simple-shuffle" => Strategy::SimpleShuffle,
            "least-busy" => Strategy::LeastBusy,
            // LiteLLM's defaults: no buffer, 10 samples, one hour.
            "latency-based-routing" => Strategy::LatencyBased {
                buffer: buffer.unwrap_or(0.0),
                list_size: list_size.unwrap_or(10).max(1),
                ttl_ms: (ttl.unwrap_or(3600.0).max(0.001) * 1000.0) as u64,
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

/// LiteLLM's latency list: the mean of the last samples younger than the ttl. Written under a
/// short lock on each success; read lock-free (the mean is kept in an atomic).
#[derive(Default, Debug)]
pub struct LatencyWindow {
    mean_us: AtomicU64,
    updated_ms: AtomicU64,
    samples: std::sync::Mutex<std::collections::VecDeque<(u64, u64)>>,
}

impl LatencyWindow {
    pub fn observe(&self, micros: u64, now_ms: u64, list_size: usize, ttl_ms: u64) {
        let Ok(mut s) = self.samples.lock() else {
            return;
        };
        s.push_back((now_ms, micros.max(1)));
        while s.len() > list_size || s.front().is_some_and(|(at, _)| at + ttl_ms < now_ms) {
            s.pop_front();
        }
        let mean = s.iter().map(|(_, v)| v).sum::<u64>() / s.len().max(1) as u64;
        self.mean_us.store(mean.max(1), Ordering::Relaxed);
        self.updated_ms.store(now_ms, Ordering::Relaxed);
    }

    /// The mean latency in microseconds; `None` without a sample younger than the ttl.
    pub fn get(&self, now_ms: u64, ttl_ms: u64) -> Option<u64> {
        let mean = self.mean_us.load(Ordering::Relaxed);
        let fresh = self.updated_ms.load(Ordering::Relaxed) + ttl_ms >= now_ms;
        (mean != 0 && fresh).then_some(mean)
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
    now_ms: u64,
) -> Option<usize> {
    let minute = now_ms / 60_000;
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
        Strategy::LatencyBased { buffer, ttl_ms, .. } => {
            let untried: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| deployments[i].stats.latency.get(now_ms, ttl_ms).is_none())
                .collect();
            if !untried.is_empty() {
                return random_of(&untried);
            }
            let lat = |i: usize| {
                deployments[i]
                    .stats
                    .latency
                    .get(now_ms, ttl_ms)
                    .unwrap_or(u64::MAX) as f64
            };
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::config::{load_str, BuildOptions, Runtime};
    use crate::core::clock::mono_ms;

    fn runtime(strategy: &str, params: &[&str]) -> Runtime {
        let mut y = String::from("model_list:\n");
        for (i, p) in params.iter().enumerate() {
            y.push_str(&format!(
                "  - model_name: g\n    litellm_params: {{model: openai/m, api_base: 'http://127.0.0.1:9/v1'{p}}}\n    model_info: {{id: d{i}}}\n"
            ));
        }
        y.push_str(&format!(
            "router_settings:\n  routing_strategy: {strategy}\n"
        ));
        load_str(&y, &BuildOptions::default()).unwrap()
    }

    /// How often each deployment comes first over `n` plans.
    fn shares(rt: &Runtime, n: usize) -> Vec<f64> {
        let g = rt.router.group("g").unwrap();
        let mut counts = vec![0usize; g.deployments.len()];
        for _ in 0..n {
            let d = g.plan().next().unwrap();
            counts[g.deployments.iter().position(|x| x.id == d.id).unwrap()] += 1;
        }
        counts.into_iter().map(|c| c as f64 / n as f64).collect()
    }

    #[test]
    fn simple_shuffle_follows_weight_then_rpm() {
        // 20,000 draws: a 3-sigma band is under ±0.01; ±0.03 never flakes.
        let s = shares(
            &runtime("simple-shuffle", &[", weight: 3", ", weight: 1"]),
            20_000,
        );
        assert!((s[0] - 0.75).abs() < 0.03, "{s:?}");
        let s = shares(
            &runtime("simple-shuffle", &[", rpm: 100", ", rpm: 300"]),
            20_000,
        );
        assert!((s[1] - 0.75).abs() < 0.03, "{s:?}");
        let s = shares(&runtime("simple-shuffle", &["", "", "", ""]), 20_000);
        assert!(s.iter().all(|x| (x - 0.25).abs() < 0.03), "{s:?}");
    }

    #[test]
    fn least_busy_latency_usage_and_cost_pick_as_documented() {
        let rt = runtime("least-busy", &["", "", ""]);
        let g = rt.router.group("g").unwrap();
        g.deployments[0].stats.in_flight.store(3, Ordering::Relaxed);
        g.deployments[2].stats.in_flight.store(1, Ordering::Relaxed);
        assert_eq!(shares(&rt, 200), vec![0.0, 1.0, 0.0]);

        let rt = runtime("latency-based-routing", &["", "", ""]);
        let g = rt.router.group("g").unwrap();
        g.deployments[0]
            .stats
            .latency
            .observe(5_000, mono_ms(), 10, 3_600_000);
        g.deployments[1]
            .stats
            .latency
            .observe(1_000, mono_ms(), 10, 3_600_000);
        // d2 has no sample yet: it is tried first.
        assert_eq!(shares(&rt, 100), vec![0.0, 0.0, 1.0]);
        g.deployments[2]
            .stats
            .latency
            .observe(1_050, mono_ms(), 10, 3_600_000);
        let s = shares(&rt, 200);
        assert_eq!(s[0], 0.0, "the slow deployment is not picked: {s:?}");
        let rt = runtime("latency-based-routing", &["", ""]);
        let rt_buf = {
            let g = rt.router.group("g").unwrap();
            g.deployments[0]
                .stats
                .latency
                .observe(1_000, mono_ms(), 10, 3_600_000);
            g.deployments[1]
                .stats
                .latency
                .observe(1_040, mono_ms(), 10, 3_600_000);
            shares(&rt, 200)
        };
        assert_eq!(rt_buf, vec![1.0, 0.0], "no buffer: strictly the fastest");

        let rt = runtime("usage-based-routing-v2", &[", tpm: 1000", ", tpm: 1000"]);
        let g = rt.router.group("g").unwrap();
        let minute = mono_ms() / 60_000;
        g.deployments[0].stats.usage.add_tokens(minute, 900);
        g.deployments[1].stats.usage.add_tokens(minute, 100);
        assert_eq!(shares(&rt, 100), vec![0.0, 1.0]);

        let rt = runtime(
            "cost-based-routing",
            &[
                ", input_cost_per_token: 0.00001",
                ", input_cost_per_token: 0.000001",
                "",
            ],
        );
        assert_eq!(shares(&rt, 100), vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn latency_window_keeps_the_last_samples_within_the_ttl() {
        let w = super::LatencyWindow::default();
        for (i, v) in [100, 200, 300, 400].into_iter().enumerate() {
            w.observe(v, 1_000 + i as u64, 2, 10_000);
        }
        assert_eq!(w.get(1_010, 10_000), Some(350), "mean of the last two");
        assert_eq!(
            w.get(20_000, 10_000),
            None,
            "stale after the ttl: tried again as untried"
        );
    }

    #[test]
    fn cost_based_uses_the_bundled_price_table() {
        let y = "model_list:\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o, api_base: 'http://127.0.0.1:9/v1'}\n  - model_name: g\n    litellm_params: {model: openai/gpt-4o-mini, api_base: 'http://127.0.0.1:9/v1'}\nrouter_settings:\n  routing_strategy: cost-based-routing\n";
        let rt = load_str(y, &BuildOptions::default()).unwrap();
        assert_eq!(shares(&rt, 100), vec![0.0, 1.0]);
        let g = rt.router.group("g").unwrap();
        assert_eq!(
            g.deployments[0].max_input_tokens,
            Some(128_000),
            "context windows come from the table too"
        );
    }

    #[test]
    fn tiers_and_cooldowns_come_before_the_strategy() {
        let rt = runtime(
            "simple-shuffle",
            &[
                ", order: 2, weight: 100",
                ", order: 1, weight: 1",
                ", order: 1, weight: 1",
            ],
        );
        let s = shares(&rt, 2000);
        assert_eq!(s[0], 0.0);
        let g = rt.router.group("g").unwrap();
        let policy = crate::router::cooldown::CooldownPolicy {
            allowed_fails: 0,
            ..Default::default()
        };
        for d in &g.deployments[1..] {
            d.stats.cooldown.record_failure(
                crate::router::cooldown::FailureClass::Server,
                &policy,
                false,
                mono_ms(),
                None,
            );
        }
        // Tier 1 is cooling: tier 2 serves.
        assert_eq!(shares(&rt, 50), vec![1.0, 0.0, 0.0]);
    }
}
