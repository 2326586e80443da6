//! The bundled price and context-window table, derived from LiteLLM's model price map.
//!
//! `prices.json` keeps LiteLLM's text models (chat, completion, responses, embedding) and the
//! fields Switchyard reads; `.ci/derive-prices` regenerates it from a newer LiteLLM map.
//! Source: LiteLLM 1.109.1's `model_prices_and_context_window_backup.json` (MIT, BerriAI).
//! `model_info` / `litellm_params` cost and size fields always win over the table.
//! [`cost`] turns prices (configured or from the table) and usage into spend.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

pub mod cost;

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

/// A model the table knows, as LiteLLM's `models_by_provider` lists it.
#[derive(Debug)]
pub struct KnownModel {
    /// The table's key (with or without the provider prefix, as LiteLLM's map has it).
    pub name: String,
    pub mode: Option<String>,
    pub price: Price,
}

#[derive(Deserialize)]
struct Listing {
    litellm_provider: Option<String>,
    mode: Option<String>,
}

static BY_PROVIDER: LazyLock<HashMap<String, Vec<KnownModel>>> = LazyLock::new(|| {
    let listing: HashMap<String, Listing> =
        serde_json::from_str(include_str!("prices.json")).unwrap_or_default();
    let mut by: HashMap<String, Vec<KnownModel>> = HashMap::new();
    for (name, l) in listing {
        let (Some(provider), Some(price)) = (l.litellm_provider, TABLE.get(&name)) else {
            continue;
        };
        by.entry(provider).or_default().push(KnownModel {
            name,
            mode: l.mode,
            price: *price,
        });
    }
    for models in by.values_mut() {
        models.sort_by(|a, b| a.name.cmp(&b.name));
    }
    by
});

/// The models the table knows for a provider (LiteLLM's `models_by_provider`), by name.
pub fn models_of(provider: &str) -> &'static [KnownModel] {
    BY_PROVIDER.get(provider).map_or(&[], Vec::as_slice)
}

/// The entry for a model as LiteLLM keys it: `base_model` if given, then the bare model name,
/// then `provider/model`.
pub fn lookup(provider: &str, model: &str, base_model: Option<&str>) -> Option<&'static Price> {
    let t = &*TABLE;
    base_model
        .and_then(|b| t.get(b))
        .or_else(|| t.get(model))
        .or_else(|| t.get(&format!("{provider}/{model}")))
}

/// The entry for the model an answer names, as LiteLLM prices it when the deployment's own
/// name is unpriced (`_select_model_name_for_cost_calc`): `provider/model` first (Azure
/// prices differ from OpenAI's for some models), then the bare name; a name with a prefix
/// (`openai/gpt-4o`) is tried as named, with the provider, then without its prefix.
pub fn lookup_answer(provider: &str, model: &str) -> Option<&'static Price> {
    let t = &*TABLE;
    let prefixed = || t.get(&format!("{provider}/{model}"));
    match model.split_once('/') {
        Some((_, bare)) => t.get(model).or_else(prefixed).or_else(|| t.get(bare)),
        None => prefixed().or_else(|| t.get(model)),
    }
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

    #[test]
    fn answer_models_resolve_with_the_provider_first() {
        // Azure answers name the base model (`gpt-35-turbo`), which only `azure/` prices.
        let azure = lookup_answer("azure", "gpt-35-turbo").unwrap();
        assert_eq!(azure.input_cost_per_token, Some(5e-7));
        assert!(lookup_answer("openai", "gpt-4o-mini").is_some());
        assert!(lookup_answer("azure", "openai/gpt-4o").is_some());
        assert!(lookup_answer("azure", "surely-not-a-model").is_none());
    }

    #[test]
    fn models_by_provider() {
        let groq = models_of("groq");
        assert!(!groq.is_empty() && groq.iter().all(|m| m.name.starts_with("groq/")));
        assert!(models_of("anthropic")
            .iter()
            .any(|m| m.name.starts_with("claude-")));
        assert!(models_of("no-such-provider").is_empty());
    }
}
