//! OpenAI-compatible hosted providers: LiteLLM's prefixes with their default base URLs and key
//! variables. They speak OpenAI's wire format, so they share the OpenAI module's encoding.

use super::Defaults;

/// One preset: a LiteLLM provider prefix and its defaults.
pub struct Preset {
    pub name: &'static str,
    pub defaults: Defaults,
}

const fn preset(
    name: &'static str,
    base: &'static str,
    key_env: &'static [&'static str],
    base_env: &'static [&'static str],
) -> Preset {
    Preset {
        name,
        defaults: Defaults {
            api_base: Some(base),
            key_env,
            base_env,
            version_env: &[],
            default_api_version: None,
            fallback_key: None,
        },
    }
}

/// Base URLs and key variables as LiteLLM uses them.
pub static PRESETS: &[Preset] = &[
    preset(
        "mistral",
        "https://api.mistral.ai/v1",
        &["MISTRAL_API_KEY"],
        &["MISTRAL_API_BASE"],
    ),
    preset(
        "groq",
        "https://api.groq.com/openai/v1",
        &["GROQ_API_KEY"],
        &["GROQ_API_BASE"],
    ),
    preset(
        "deepseek",
        "https://api.deepseek.com",
        &["DEEPSEEK_API_KEY"],
        &["DEEPSEEK_API_BASE"],
    ),
    preset(
        "openrouter",
        "https://openrouter.ai/api/v1",
        &["OPENROUTER_API_KEY", "OR_API_KEY"],
        &["OPENROUTER_API_BASE"],
    ),
    preset(
        "together_ai",
        "https://api.together.xyz/v1",
        &[
            "TOGETHERAI_API_KEY",
            "TOGETHER_API_KEY",
            "TOGETHER_AI_API_KEY",
        ],
        &["TOGETHER_AI_API_BASE"],
    ),
    preset(
        "xai",
        "https://api.x.ai/v1",
        &["XAI_API_KEY"],
        &["XAI_API_BASE"],
    ),
    preset(
        "fireworks_ai",
        "https://api.fireworks.ai/inference/v1",
        &[
            "FIREWORKS_AI_API_KEY",
            "FIREWORKS_API_KEY",
            "FIREWORKSAI_API_KEY",
        ],
        &["FIREWORKS_AI_API_BASE"],
    ),
    preset(
        "perplexity",
        "https://api.perplexity.ai",
        &["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"],
        &["PERPLEXITY_API_BASE"],
    ),
    preset(
        "cerebras",
        "https://api.cerebras.ai/v1",
        &["CEREBRAS_API_KEY"],
        &["CEREBRAS_API_BASE"],
    ),
    preset(
        "deepinfra",
        "https://api.deepinfra.com/v1/openai",
        &["DEEPINFRA_API_KEY"],
        &["DEEPINFRA_API_BASE"],
    ),
    preset(
        "nvidia_nim",
        "https://integrate.api.nvidia.com/v1",
        &["NVIDIA_NIM_API_KEY"],
        &["NVIDIA_NIM_API_BASE"],
    ),
    preset(
        "lm_studio",
        "http://localhost:1234/v1",
        &["LM_STUDIO_API_KEY"],
        &["LM_STUDIO_API_BASE"],
    ),
];

/// The index of a preset by prefix.
pub fn find(prefix: &str) -> Option<u8> {
    PRESETS
        .iter()
        .position(|p| p.name == prefix)
        .and_then(|i| u8::try_from(i).ok())
}
