//! OpenAI-compatible hosted providers: LiteLLM's prefixes with their default base URLs, key
//! variables and known quirks. They speak OpenAI's wire format: the body is spliced as for
//! OpenAI, with the quirks applied (renamed and rewritten members, parameters the provider
//! rejects turned into LiteLLM's 400 unless `drop_params` removes them).

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::unsupported_params;
use super::openai::{decode_openai_error, OpenAi};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::{ModelCall, Rewrites};
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;

/// One preset: a LiteLLM provider prefix, its defaults and its quirks.
pub struct Preset {
    pub name: &'static str,
    pub defaults: Defaults,
    pub quirks: Quirks,
}

/// What a provider does differently from OpenAI (as LiteLLM's per-provider configs).
pub struct Quirks {
    pub rewrites: Rewrites,
    /// OpenAI parameters the provider rejects.
    pub unsupported: &'static [&'static str],
    /// Only one choice per request (`n` must be 1).
    pub single_choice: bool,
}

const PLAIN: Quirks = Quirks {
    rewrites: Rewrites::NONE,
    unsupported: &[],
    single_choice: false,
};

const fn preset(
    name: &'static str,
    base: &'static str,
    key_env: &'static [&'static str],
    base_env: &'static [&'static str],
) -> Preset {
    with_quirks(name, base, key_env, base_env, PLAIN)
}

const fn with_quirks(
    name: &'static str,
    base: &'static str,
    key_env: &'static [&'static str],
    base_env: &'static [&'static str],
    quirks: Quirks,
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
        quirks,
    }
}

impl Provider for Preset {
    fn path(&self, base_path: &str, endpoint: Endpoint, model: &str, v: Option<&str>) -> String {
        OpenAi.path(base_path, endpoint, model, v)
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        OpenAi.auth_header(api_key)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        let q = &self.quirks;
        let set = |k: &str| call.raw_field(k).is_some_and(|v| v != b"null");
        let mut rejected: Vec<&str> = q.unsupported.iter().copied().filter(|k| set(k)).collect();
        if q.single_choice
            && call
                .raw_field("n")
                .is_some_and(|v| v != b"1" && v != b"null")
        {
            rejected.push("n");
        }
        if rejected.is_empty() {
            return Ok(call.splice_with(
                Some(target.model_json),
                target.defaults,
                target.additional_drop_params,
                &q.rewrites,
            ));
        }
        if !target.drop_params {
            return Err(unsupported_params(self.name, target.model, &rejected));
        }
        let drop: Vec<String> = target
            .additional_drop_params
            .iter()
            .cloned()
            .chain(rejected.iter().map(|s| s.to_string()))
            .collect();
        Ok(call.splice_with(Some(target.model_json), target.defaults, &drop, &q.rewrites))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_openai_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }
}

/// Base URLs and key variables as LiteLLM uses them.
pub static PRESETS: &[Preset] = &[
    // Mistral: `random_seed`, `tool_choice: "any"` for OpenAI's "required" (LiteLLM's map).
    with_quirks(
        "mistral",
        "https://api.mistral.ai/v1",
        &["MISTRAL_API_KEY"],
        &["MISTRAL_API_BASE"],
        Quirks {
            rewrites: Rewrites {
                rename: &[("seed", "random_seed")],
                values: &[("tool_choice", "\"required\"", "\"any\"")],
            },
            unsupported: &["logit_bias", "logprobs", "top_logprobs"],
            single_choice: false,
        },
    ),
    // Groq answers 400 to these, and to n > 1 (console.groq.com/docs/openai).
    with_quirks(
        "groq",
        "https://api.groq.com/openai/v1",
        &["GROQ_API_KEY"],
        &["GROQ_API_BASE"],
        Quirks {
            rewrites: Rewrites::NONE,
            unsupported: &["logprobs", "logit_bias", "top_logprobs"],
            single_choice: true,
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn encode(name: &str, body: Value, drop_params: bool) -> Result<Value, ApiError> {
        let p = &PRESETS[usize::from(find(name).unwrap())];
        let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
        let out = p.encode(
            &call,
            &EncodeTarget {
                model_json: b"\"up\"",
                model: "up",
                defaults: &[],
                drop_params,
                additional_drop_params: &[],
            },
        )?;
        Ok(serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn mistral_renames_seed_and_maps_required() {
        let v = encode(
            "mistral",
            json!({"model": "m", "seed": 7, "tool_choice": "required", "messages": []}),
            false,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"model": "up", "random_seed": 7, "tool_choice": "any", "messages": []})
        );
    }

    #[test]
    fn groq_rejects_or_drops_what_it_cannot_take() {
        let body = json!({"model": "m", "logprobs": true, "n": 2, "messages": []});
        let e = encode("groq", body.clone(), false).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message
                .contains("groq does not support parameters: ['logprobs', 'n']"),
            "{}",
            e.message
        );
        let v = encode("groq", body, true).unwrap();
        assert_eq!(v, json!({"model": "up", "messages": []}));
        let v = encode("groq", json!({"model": "m", "n": 1, "messages": []}), false).unwrap();
        assert_eq!(v["n"], 1);
    }
}
