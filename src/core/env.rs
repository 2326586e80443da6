//! Environment lookups for config and provider settings: the config's `environment_variables`
//! first, then the process (empty values count as unset).

use std::collections::BTreeMap;

/// Environment lookups: the config's `environment_variables` first, then the process.
#[derive(Debug, Clone, Default)]
pub struct Env {
    overlay: BTreeMap<String, String>,
}

impl Env {
    pub fn new(overlay: BTreeMap<String, String>) -> Self {
        Env { overlay }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.overlay
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
    }
}
