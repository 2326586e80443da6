//! The one place that dispatches on [`ProviderKind`]: a row per kind with its metric label,
//! the LiteLLM prefixes that name it, its defaults and its implementation. Presets (Mistral,
//! Groq, ...) are rows of their own table in `presets`.

use super::{anthropic, azure, bedrock, gemini, ollama, openai, presets, vertex};
use super::{Defaults, Provider, ProviderKind};
use crate::core::chat::ClientWire;

/// Everything the gateway knows of one provider kind.
#[derive(Clone, Copy)]
pub struct KindInfo {
    /// The `api_provider` label and the name in logs and errors.
    pub label: &'static str,
    /// LiteLLM model prefixes (`openai/`, `custom_openai/`, ...) that select this kind.
    pub prefixes: &'static [&'static str],
    pub defaults: &'static Defaults,
    pub provider: &'static dyn Provider,
    /// The client API this kind serves itself, so a client speaking it is spliced through
    /// untranslated (OpenAI: Responses; Anthropic: Messages).
    pub native: Option<ClientWire>,
    /// How its `/{provider}/*` pass-through route reads a call.
    pub pass_through: PassThrough,
}

/// What a pass-through call of a kind says in its path and query, beyond the body.
#[derive(Clone, Copy, Default)]
pub struct PassThrough {
    /// The model is named in the path (`models/{m}:generateContent`, `model/{m}/invoke`,
    /// `deployments/{m}/...`) before the body's `model`.
    pub model_in_path: bool,
    /// The client may authenticate with `?key=` (Gemini's SDKs): that is the gateway key and
    /// is dropped from the forwarded query.
    pub key_in_query: bool,
}

const BODY_MODEL: PassThrough = PassThrough {
    model_in_path: false,
    key_in_query: false,
};
const PATH_MODEL: PassThrough = PassThrough {
    model_in_path: true,
    key_in_query: false,
};

/// The built-in kinds, in the order of [`info`]'s arms.
static BUILT_IN: [(ProviderKind, KindInfo); 8] = [
    (
        ProviderKind::OpenAi,
        KindInfo {
            label: "openai",
            prefixes: &[
                "openai",
                "custom_openai",
                "openai_like",
                "litellm_proxy",
                "text-completion-openai",
            ],
            defaults: &openai::DEFAULTS,
            provider: &openai::OpenAi,
            native: Some(ClientWire::Responses),
            pass_through: BODY_MODEL,
        },
    ),
    (
        ProviderKind::HostedVllm,
        KindInfo {
            label: "hosted_vllm",
            prefixes: &["hosted_vllm"],
            defaults: &openai::VLLM_DEFAULTS,
            provider: &openai::OpenAi,
            native: None,
            pass_through: BODY_MODEL,
        },
    ),
    (
        ProviderKind::Azure,
        KindInfo {
            label: "azure",
            prefixes: &["azure"],
            defaults: &azure::DEFAULTS,
            provider: &azure::Azure,
            native: None,
            pass_through: PATH_MODEL,
        },
    ),
    (
        ProviderKind::Anthropic,
        KindInfo {
            label: "anthropic",
            prefixes: &["anthropic"],
            defaults: &anthropic::DEFAULTS,
            provider: &anthropic::Anthropic,
            native: Some(ClientWire::Anthropic),
            pass_through: BODY_MODEL,
        },
    ),
    (
        ProviderKind::Gemini,
        KindInfo {
            label: "gemini",
            prefixes: &["gemini"],
            defaults: &gemini::DEFAULTS,
            provider: &gemini::Gemini,
            native: None,
            pass_through: PassThrough {
                model_in_path: true,
                key_in_query: true,
            },
        },
    ),
    (
        ProviderKind::Ollama,
        KindInfo {
            label: "ollama_chat",
            prefixes: &["ollama_chat", "ollama"],
            defaults: &ollama::DEFAULTS,
            provider: &ollama::OllamaChat,
            native: None,
            pass_through: BODY_MODEL,
        },
    ),
    (
        ProviderKind::Bedrock,
        KindInfo {
            label: "bedrock",
            prefixes: &["bedrock"],
            defaults: &bedrock::DEFAULTS,
            provider: &bedrock::Bedrock,
            native: None,
            pass_through: PATH_MODEL,
        },
    ),
    (
        ProviderKind::VertexAi,
        KindInfo {
            label: "vertex_ai",
            prefixes: &["vertex_ai", "vertex_ai_beta"],
            defaults: &vertex::DEFAULTS,
            provider: &vertex::Vertex,
            native: None,
            pass_through: PATH_MODEL,
        },
    ),
];

/// The row of a kind. An unknown preset index (never built by [`from_prefix`]) reads as
/// OpenAI.
pub fn info(kind: ProviderKind) -> KindInfo {
    let i = match kind {
        ProviderKind::OpenAi => 0,
        ProviderKind::HostedVllm => 1,
        ProviderKind::Azure => 2,
        ProviderKind::Anthropic => 3,
        ProviderKind::Gemini => 4,
        ProviderKind::Ollama => 5,
        ProviderKind::Bedrock => 6,
        ProviderKind::VertexAi => 7,
        ProviderKind::Preset(i) => {
            return match presets::PRESETS.get(usize::from(i)) {
                Some(p) => KindInfo {
                    label: p.name,
                    prefixes: &[],
                    defaults: &p.defaults,
                    provider: p,
                    native: None,
                    pass_through: BODY_MODEL,
                },
                None => BUILT_IN[0].1,
            };
        }
    };
    BUILT_IN[i].1
}

/// The kind for a LiteLLM provider prefix, if this build implements it.
pub fn from_prefix(prefix: &str) -> Option<ProviderKind> {
    BUILT_IN
        .iter()
        .find(|(_, k)| k.prefixes.contains(&prefix))
        .map(|(kind, _)| *kind)
        .or_else(|| presets::find(prefix).map(ProviderKind::Preset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_sits_at_its_kinds_index() {
        for (kind, row) in &BUILT_IN {
            assert_eq!(info(*kind).label, row.label);
            for p in row.prefixes {
                assert_eq!(from_prefix(p), Some(*kind), "{p}");
            }
        }
        assert_eq!(from_prefix("groq").map(|k| info(k).label), Some("groq"));
        assert_eq!(from_prefix("nope"), None);
    }
}
