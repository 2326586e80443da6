//! The routing table (`Router`): the model groups of one config snapshot, their aliases and
//! fallback lists, and what a model name resolves to (exact name, alias, wildcard by
//! specificity, fallback entry).

use std::collections::HashMap;
use std::sync::Arc;

use super::fallback::Fallbacks;
use super::{Backend, DeploymentStats, ModelGroup};
use crate::core::call::Fallback;
use crate::core::failure::FallbackClass;
use crate::upstream::ReplicaPool;

/// The model groups a request may name, and how names reach them. Immutable once built;
/// every method borrows.
pub struct Router {
    /// Group by `model_name`.
    groups: HashMap<Arc<str>, Arc<ModelGroup>>,
    /// The same groups in config order, for `/v1/models`, health and wildcard ties.
    ordered: Vec<Arc<ModelGroup>>,
    /// `model_group_alias`: alias -> (group, hidden from `/v1/models`).
    aliases: HashMap<String, (String, bool)>,
    fallbacks: Fallbacks,
}

impl Router {
    /// A table of `groups` in config order (names are unique: a repeated name keeps the
    /// first), with `aliases` (alias -> (group, hidden)) and the fallback lists.
    pub fn new(
        groups: impl IntoIterator<Item = ModelGroup>,
        aliases: HashMap<String, (String, bool)>,
        fallbacks: Fallbacks,
    ) -> Self {
        let mut by_name = HashMap::new();
        let mut ordered = Vec::new();
        for g in groups {
            if by_name.contains_key(&g.name) {
                continue;
            }
            let g = Arc::new(g);
            by_name.insert(g.name.clone(), g.clone());
            ordered.push(g);
        }
        Router {
            groups: by_name,
            ordered,
            aliases,
            fallbacks,
        }
    }

    /// The group with this exact `model_name`.
    pub fn group(&self, name: &str) -> Option<&Arc<ModelGroup>> {
        self.groups.get(name)
    }

    /// Every group, in config order.
    pub fn groups(&self) -> std::slice::Iter<'_, Arc<ModelGroup>> {
        self.ordered.iter()
    }

    /// How many model groups there are.
    pub fn group_count(&self) -> usize {
        self.ordered.len()
    }

    /// `model_group_alias`: alias -> (group, hidden from `/v1/models`).
    pub fn aliases(&self) -> &HashMap<String, (String, bool)> {
        &self.aliases
    }

    /// The fallback lists, per error class.
    pub fn fallbacks(&self) -> &Fallbacks {
        &self.fallbacks
    }

    /// The group a requested model name means: a `model_name`, else an alias.
    pub fn resolve(&self, name: &str) -> Option<&Arc<ModelGroup>> {
        self.groups.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|(g, _)| self.groups.get(g.as_str()))
        })
    }

    /// A wildcard group (`openai/*`, `*`) matching `name`, and the part the `*` matched,
    /// which replaces the `*` in the deployment's model. The most specific pattern wins, as
    /// in LiteLLM's pattern router (`groq/*` before `*`); config order breaks ties.
    pub fn resolve_wildcard(&self, name: &str) -> Option<(&Arc<ModelGroup>, String)> {
        let mut best: Option<((usize, usize), &Arc<ModelGroup>, &str)> = None;
        for group in &self.ordered {
            let Some((pre, post)) = group.name.split_once('*') else {
                continue;
            };
            let Some(mid) = name.strip_prefix(pre).and_then(|r| r.strip_suffix(post)) else {
                continue;
            };
            let key = pattern_specificity(&group.name);
            if best.as_ref().is_none_or(|(k, _, _)| key > *k) {
                best = Some((key, group, mid));
            }
        }
        best.map(|(_, g, mid)| (g, mid.to_string()))
    }

    /// The group holding a deployment id (fallback to a specific deployment).
    pub fn group_of_deployment(&self, id: &str) -> Option<&Arc<ModelGroup>> {
        self.ordered
            .iter()
            .find(|g| g.deployments.iter().any(|d| &*d.id == id))
    }

    /// A fallback entry: a model group (or alias), else the group holding that deployment
    /// id, with the id when it named one.
    pub fn fallback_target<'a>(
        &self,
        name: &'a str,
    ) -> Option<(&Arc<ModelGroup>, Option<&'a str>)> {
        match self.resolve(name) {
            Some(g) => Some((g, None)),
            None => self.group_of_deployment(name).map(|g| (g, Some(name))),
        }
    }

    /// Every group a request to `primary` may fall back to (the config lists of every error
    /// class, then the request's own list), at most `max_fallbacks` of each list.
    pub fn fallback_groups<'a>(
        &'a self,
        primary: &'a str,
        per_request: Option<&'a [Fallback]>,
    ) -> impl Iterator<Item = &'a Arc<ModelGroup>> {
        let f = &self.fallbacks;
        let max = f.max_fallbacks;
        [
            FallbackClass::Other,
            FallbackClass::ContextWindow,
            FallbackClass::ContentPolicy,
        ]
        .into_iter()
        .flat_map(move |class| f.for_error(primary, class).iter().take(max))
        .map(String::as_str)
        .chain(
            per_request
                .into_iter()
                .flatten()
                .take(max)
                .map(|e| e.model.as_str()),
        )
        .filter_map(move |name| self.fallback_target(name).map(|(g, _)| g))
    }

    /// Names `/v1/models` lists: groups in config order, then visible aliases.
    pub fn listed_models(&self) -> Vec<&str> {
        // Wildcard routes are not listed (LiteLLM lists them only on request).
        let mut out: Vec<&str> = self
            .ordered
            .iter()
            .map(|g| &*g.name)
            .filter(|m| !m.contains('*'))
            .collect();
        let mut aliases: Vec<&str> = self
            .aliases
            .iter()
            .filter(|(_, (_, hidden))| !hidden)
            .map(|(a, _)| a.as_str())
            .collect();
        aliases.sort_unstable();
        out.extend(aliases);
        out
    }

    /// Every replica pool in this table (deployments with several `api_base`s).
    pub fn replica_pools(&self) -> impl Iterator<Item = &ReplicaPool> {
        self.ordered
            .iter()
            .flat_map(|g| g.deployments.iter())
            .filter_map(|d| match &d.backend {
                Backend::Http(t) => t.addr.replicas.as_ref(),
                _ => None,
            })
    }

    /// How many deployments all groups hold together.
    pub fn deployment_count(&self) -> usize {
        self.ordered.iter().map(|g| g.deployments.len()).sum()
    }

    /// The shared state of the deployment with this id (a reload carries it over by id).
    pub fn stats(&self, id: &str) -> Option<Arc<DeploymentStats>> {
        self.ordered
            .iter()
            .flat_map(|g| g.deployments.iter())
            .find(|d| &*d.id == id)
            .map(|d| d.stats.clone())
    }
}

/// LiteLLM's specificity of a wildcard pattern: the length of the regex it becomes (Python's
/// `re.escape`, then each `*` as `(.*)`) and how many regex metacharacters that regex holds.
/// A larger key is more specific.
fn pattern_specificity(pattern: &str) -> (usize, usize) {
    const ESCAPED: &str = "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c";
    const COMPLEX: &str = "*+?\\^$|()";
    let (mut len, mut complexity) = (0, 0);
    for c in pattern.chars() {
        if c == '*' {
            // `(.*)`: four characters, three of them metacharacters.
            len += 4;
            complexity += 3;
        } else if ESCAPED.contains(c) {
            // A backslash before the character.
            len += 2;
            complexity += 1 + usize::from(COMPLEX.contains(c));
        } else {
            len += 1;
        }
    }
    (len, complexity)
}

#[cfg(test)]
mod tests;
