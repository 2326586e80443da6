//! Model groups and deployments, and the choice of the next deployment for an attempt.

pub mod deployment;

use std::sync::Arc;

pub use deployment::{Backend, Deployment, DeploymentStats, HttpTarget};

use crate::metrics::GroupMetrics;

/// All deployments that serve one `model_name`.
pub struct ModelGroup {
    pub name: Arc<str>,
    pub deployments: Vec<Arc<Deployment>>,
    /// Selection weights (LiteLLM simple-shuffle: `weight`, else `rpm`, else `tpm`, else 1).
    weights: Vec<f64>,
    /// `litellm_params.num_retries` of the group's deployments, when one sets it.
    pub num_retries: Option<u32>,
    pub metrics: GroupMetrics,
}

impl ModelGroup {
    pub fn new(name: Arc<str>, deployments: Vec<Arc<Deployment>>) -> Self {
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
        ModelGroup {
            name,
            deployments,
            weights,
            num_retries,
            metrics,
        }
    }

    /// A plan for one request: the deployments it may try, in the order it will try them.
    pub fn plan(&self) -> Plan<'_> {
        Plan {
            group: self,
            tried: 0,
            last: None,
        }
    }
}

/// The attempt order for one request. Each call to [`Plan::next`] draws by weight among the
/// deployments not tried yet; once all were tried it draws again among all but the one
/// that just failed, so a retry never lands on the deployment that just failed while
/// another exists.
pub struct Plan<'a> {
    group: &'a ModelGroup,
    /// Bitset of tried deployment indexes (groups above 64 deployments reuse the low bits).
    tried: u64,
    last: Option<usize>,
}

impl<'a> Iterator for Plan<'a> {
    type Item = &'a Arc<Deployment>;

    fn next(&mut self) -> Option<&'a Arc<Deployment>> {
        let n = self.group.deployments.len();
        if n == 0 {
            return None;
        }
        let bit = |i: usize| 1u64 << (i % 64);
        let usable = |i: usize| self.group.deployments[i].backend.is_usable();
        let pick = |allowed: &dyn Fn(usize) -> bool| -> Option<usize> {
            let total: f64 = (0..n)
                .filter(|&i| allowed(i))
                .map(|i| self.group.weights[i])
                .sum();
            let candidates: Vec<usize> = (0..n).filter(|&i| allowed(i)).collect();
            if candidates.is_empty() {
                return None;
            }
            if total <= 0.0 {
                return candidates
                    .get(rand::random::<usize>() % candidates.len())
                    .copied();
            }
            let mut r = rand::random::<f64>() * total;
            for &i in &candidates {
                r -= self.group.weights[i];
                if r < 0.0 {
                    return Some(i);
                }
            }
            candidates.last().copied()
        };
        let tried = self.tried;
        let last = self.last;
        let i = pick(&|i| usable(i) && tried & bit(i) == 0)
            .or_else(|| pick(&|i| usable(i) && Some(i) != last))
            .or_else(|| pick(&usable))
            .or_else(|| pick(&|i| Some(i) != last))
            .or_else(|| pick(&|_| true))?;
        self.tried |= bit(i);
        self.last = Some(i);
        self.group.deployments.get(i)
    }
}
