//! Per-key series (LiteLLM's `litellm_spend_metric`, `litellm_requests_metric`, the key's
//! remaining budget and per-model limits): handles resolved once per key and cached, a bounded
//! number of keys with labels of their own, every other key in one `other` label set.
//!
//! Cardinality: at most `limit` keys have their own `hashed_api_key` at a time. A key seen
//! while every slot is held goes to `other` (`hashed_api_key="other"`, every other identity
//! label empty); a slot whose key has been idle for [`IDLE_SECS`] is given to the next new key
//! (least recently used first) and its series are removed. Per key, at most
//! [`MAX_MODELS_PER_KEY`] model groups have their own `model` label; the rest count as
//! `model="other"`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use prometheus::{Gauge, IntCounter, IntGauge};

use super::metrics;
use crate::core::clock::mono_ms;

/// The label value of the shared bucket.
pub const OTHER: &str = "other";
/// Keys with series of their own when the config does not say (`prometheus_max_key_series`).
pub const DEFAULT_LIMIT: usize = 1000;
/// A key idle this long gives its slot to the next new key.
pub const IDLE_SECS: u64 = 3600;
/// Model groups with their own `model` label per key.
pub const MAX_MODELS_PER_KEY: usize = 64;

/// Who a key is, as its labels say (borrowed from the key's table entry).
pub struct KeyIdentity<'a> {
    pub hash: &'a [u8; 32],
    /// `hashed_api_key`: the key's SHA-256 in hex (never the key).
    pub hashed_api_key: &'a str,
    pub alias: &'a str,
    pub team: &'a str,
    pub team_alias: &'a str,
    pub user: &'a str,
    /// The key's own `max_budget` in USD.
    pub max_budget: Option<f64>,
}

/// `hashed_api_key`, `api_key_alias`, `team`, `team_alias`, `user`.
type Labels = [Box<str>; 5];

/// One finished request of a key, as its series record it.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyRequest<'a> {
    /// The model group (`model` label).
    pub model: &'a str,
    pub cost_usd: f64,
    /// What is left of the key's budget after this request (keys with a budget).
    pub budget_left: Option<f64>,
    /// The key has a per-model rpm/tpm for this group; what is left of them this minute.
    pub model_limited: bool,
    pub requests_left: Option<i64>,
    pub tokens_left: Option<i64>,
}

/// The series of one model group of one key.
struct ModelHandles {
    model: Box<str>,
    spend: prometheus::Counter,
    requests: IntCounter,
    requests_left: Option<IntGauge>,
    tokens_left: Option<IntGauge>,
}

/// The resolved series of one key (or of the `other` bucket).
pub struct KeyHandles {
    labels: Labels,
    models: ArcSwap<Vec<Arc<ModelHandles>>>,
    budget_left: Option<Gauge>,
    /// Seconds on the monotonic clock of the last request.
    last_used: AtomicU64,
    /// Its slot was taken back: the holder resolves the key again.
    retired: AtomicBool,
    own: bool,
}

impl fmt::Debug for KeyHandles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHandles")
            .field("hashed_api_key", &self.labels[0])
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    mono_ms() / 1000
}

impl KeyHandles {
    fn new(labels: Labels, max_budget: Option<f64>, own: bool) -> KeyHandles {
        let m = metrics();
        let key = [&*labels[0], &*labels[1]];
        let budget_left = max_budget.filter(|_| own).map(|max| {
            m.key_max_budget.with_label_values(&key).set(max);
            m.key_budget_left.with_label_values(&key)
        });
        KeyHandles {
            labels,
            models: ArcSwap::from_pointee(Vec::new()),
            budget_left,
            last_used: AtomicU64::new(now_secs()),
            retired: AtomicBool::new(false),
            own,
        }
    }

    /// Whether its slot was taken back (resolve the key again).
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    fn same(&self, id: &KeyIdentity<'_>) -> bool {
        let [h, a, t, ta, u] = &self.labels;
        **h == *id.hashed_api_key
            && **a == *id.alias
            && **t == *id.team
            && **ta == *id.team_alias
            && **u == *id.user
            && self.budget_left.is_some() == id.max_budget.is_some()
    }

    /// Count one finished request: no lock, no allocation once the model group was seen.
    pub fn record(&self, r: &KeyRequest<'_>) {
        self.last_used.store(now_secs(), Ordering::Relaxed);
        let m = self.model(r.model, r.model_limited && self.own);
        m.requests.inc();
        if r.cost_usd > 0.0 {
            m.spend.inc_by(r.cost_usd);
        }
        if let (Some(g), Some(left)) = (&self.budget_left, r.budget_left) {
            g.set(left);
        }
        if let (Some(g), Some(left)) = (&m.requests_left, r.requests_left) {
            g.set(left);
        }
        if let (Some(g), Some(left)) = (&m.tokens_left, r.tokens_left) {
            g.set(left);
        }
    }

    /// The handles of model group `model` (built on its first request).
    fn model(&self, model: &str, limited: bool) -> Arc<ModelHandles> {
        let found = self
            .models
            .load()
            .iter()
            .find(|h| &*h.model == model)
            .cloned();
        match found {
            Some(h) if !limited || h.requests_left.is_some() => h,
            _ => self.add_model(model, limited),
        }
    }

    #[cold]
    fn add_model(&self, model: &str, limited: bool) -> Arc<ModelHandles> {
        let full = self.models.load().len() >= MAX_MODELS_PER_KEY;
        let name = if full { OTHER } else { model };
        let h = Arc::new(self.model_handles(name, limited && !full));
        self.models.rcu(|v| {
            let mut v: Vec<Arc<ModelHandles>> =
                v.iter().filter(|m| *m.model != *name).cloned().collect();
            v.push(h.clone());
            v
        });
        h
    }

    fn model_handles(&self, model: &str, limited: bool) -> ModelHandles {
        let m = metrics();
        let [h, a, t, ta, u] = &self.labels;
        // `model_group` (Switchyard's, kept for dashboards before per-key series) then
        // LiteLLM's labels; `end_user` stays empty (not tracked per key).
        let spend = [model, "", h, a, model, t, ta, u];
        let requests = ["", h, a, model, t, ta, u];
        let key_model = [&**h, &**a, model];
        ModelHandles {
            model: model.into(),
            spend: m.spend.with_label_values(&spend),
            requests: m.key_requests.with_label_values(&requests),
            requests_left: limited.then(|| m.key_requests_left.with_label_values(&key_model)),
            tokens_left: limited.then(|| m.key_tokens_left.with_label_values(&key_model)),
        }
    }

    /// Take the key's series off `/metrics` (its slot goes to another key).
    fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
        let m = metrics();
        let [h, a, t, ta, u] = &self.labels;
        let key = [&**h, &**a];
        if self.budget_left.is_some() {
            let _ = m.key_budget_left.remove_label_values(&key);
            let _ = m.key_max_budget.remove_label_values(&key);
        }
        for mh in self.models.load().iter() {
            let model = &*mh.model;
            let _ = m
                .spend
                .remove_label_values(&[model, "", h, a, model, t, ta, u]);
            let _ = m
                .key_requests
                .remove_label_values(&["", h, a, model, t, ta, u]);
            if mh.requests_left.is_some() {
                let _ = m.key_requests_left.remove_label_values(&[h, a, model]);
                let _ = m.key_tokens_left.remove_label_values(&[h, a, model]);
            }
        }
    }
}

/// The keys with series of their own, and the `other` bucket.
pub struct KeySeries {
    limit: usize,
    slots: Mutex<HashMap<[u8; 32], Arc<KeyHandles>>>,
    other: Arc<KeyHandles>,
}

impl fmt::Debug for KeySeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySeries")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl KeySeries {
    /// At most `limit` keys with series of their own.
    pub fn new(limit: usize) -> KeySeries {
        let other = [OTHER, "", "", "", ""].map(Box::<str>::from);
        KeySeries {
            limit,
            slots: Mutex::new(HashMap::new()),
            other: Arc::new(KeyHandles::new(other, None, false)),
        }
    }

    /// The handles of key `id`: its own while a slot is free (or held by it), else `other`.
    /// Takes the slot table's lock: call once per key and cache the result.
    pub fn resolve(&self, id: &KeyIdentity<'_>) -> Arc<KeyHandles> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = slots.get(id.hash) {
            if h.same(id) && !h.is_retired() {
                return h.clone();
            }
            // Its alias, team or budget changed: new labels.
            h.retire();
            slots.remove(id.hash);
        }
        if slots.len() >= self.limit && !Self::evict_idle(&mut slots) {
            return self.other.clone();
        }
        let labels =
            [id.hashed_api_key, id.alias, id.team, id.team_alias, id.user].map(Box::<str>::from);
        let h = Arc::new(KeyHandles::new(labels, id.max_budget, true));
        slots.insert(*id.hash, h.clone());
        h
    }

    /// Free the slot of the least recently used key idle for [`IDLE_SECS`]; false if none.
    fn evict_idle(slots: &mut HashMap<[u8; 32], Arc<KeyHandles>>) -> bool {
        let now = now_secs();
        let oldest = slots
            .iter()
            .map(|(k, h)| (h.last_used.load(Ordering::Relaxed), k))
            .filter(|(used, _)| now.saturating_sub(*used) >= IDLE_SECS)
            .min_by_key(|(used, _)| *used)
            .map(|(_, k)| *k);
        let Some(k) = oldest else { return false };
        if let Some(h) = slots.remove(&k) {
            h.retire();
        }
        true
    }

    /// Keys holding a slot now.
    pub fn len(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(hash: &'a [u8; 32], hex: &'a str) -> KeyIdentity<'a> {
        KeyIdentity {
            hash,
            hashed_api_key: hex,
            alias: "",
            team: "t",
            team_alias: "",
            user: "",
            max_budget: None,
        }
    }

    /// Past the limit, new keys share `other`; a key keeps its handles when resolved again.
    #[test]
    fn keys_past_the_limit_share_other() {
        let ks = KeySeries::new(2);
        let hashes: Vec<[u8; 32]> = (0..5u8).map(|i| [i; 32]).collect();
        let hexes: Vec<String> = (0..5).map(|i| format!("keys-test-{i}")).collect();
        let hs: Vec<_> = hashes
            .iter()
            .zip(&hexes)
            .map(|(h, x)| ks.resolve(&id(h, x)))
            .collect();
        assert!(hs[0].own && hs[1].own);
        assert!(hs[2..].iter().all(|h| !h.own && Arc::ptr_eq(h, &hs[2])));
        assert!(Arc::ptr_eq(&ks.resolve(&id(&hashes[0], &hexes[0])), &hs[0]));
        assert_eq!(ks.len(), 2);
        hs[0].record(&KeyRequest {
            model: "g",
            cost_usd: 0.5,
            ..KeyRequest::default()
        });
        let text = String::from_utf8(metrics().render()).unwrap();
        assert!(text.contains("hashed_api_key=\"keys-test-0\""), "{text}");
        assert!(!text.contains("hashed_api_key=\"keys-test-3\""));
    }

    /// A key whose team changed gets new labels, and its old series leave `/metrics`.
    #[test]
    fn changed_labels_replace_the_old_series() {
        let ks = KeySeries::new(10);
        let hash = [42u8; 32];
        let first = ks.resolve(&id(&hash, "keys-test-relabel"));
        first.record(&KeyRequest {
            model: "g",
            ..KeyRequest::default()
        });
        let moved = KeyIdentity {
            team: "t2",
            ..id(&hash, "keys-test-relabel")
        };
        let second = ks.resolve(&moved);
        assert!(first.is_retired() && !second.is_retired());
        second.record(&KeyRequest {
            model: "g",
            ..KeyRequest::default()
        });
        let text = String::from_utf8(metrics().render()).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("litellm_requests_metric_total{") && l.contains("keys-test-relabel")
            })
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("team=\"t2\""), "{lines:?}");
    }
}
