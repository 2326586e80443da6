//! The bundled price and context-window table, derived from LiteLLM's model price map.
//!
//! `prices.json` keeps LiteLLM's text models (chat, completion, responses, embedding) and the
//! fields Switchyard reads; `.ci/derive-prices` regenerates it from a newer LiteLLM map.
//! Source: LiteLLM 1.109.1's `model_prices_and_context_window_backup.json` (MIT, BerriAI).
//! `model_info` / `litellm_params` cost and size fields always win over the table.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// One model's entry.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
pub struct Price {
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    pub cache_read_input_token_cost: Option<f64>,
    pub cache_creation_input_token_cost: Option<f64>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
}

static TABLE: LazyLock<HashMap<String, Price>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("prices.json")).unwrap_or_else(|e| {
        log::error!("bundled price table unreadable: {e}");
        HashMap::new()
    })
});

/// The entry for a model as LiteLLM keys it: `base_model` if given, then the bare model name,
/// then `provider/model`.
pub fn lookup(provider: &str, model: &str, base_model: Option<&str>) -> Option<&'static Price> {
    let t = &*TABLE;
    base_model
        .and_then(|b| t.get(b))
        .or_else(|| t.get(model))
        .or_else(|| t.get(&format!("{provider}/{model}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_models_resolve() {
        let p = lookup("openai", "gpt-4o", None).unwrap();
        assert!(p.input_cost_per_token.unwrap() > 0.0);
        assert!(p.max_input_tokens.unwrap() >= 128_000);
        assert!(lookup("azure", "my-deployment", Some("gpt-4o")).is_some());
        assert!(lookup("openai", "surely-not-a-model", None).is_none());
    }
}
