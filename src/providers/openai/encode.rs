//! Requests spliced as they came, the model replaced (and `max_tokens` renamed for the
//! reasoning models).

use bytes::Bytes;

use super::super::EncodeTarget;
use crate::core::call::{ModelCall, Rewrites};

/// The client's body with the deployment's model, defaults and drops applied.
pub(super) fn splice(call: &ModelCall, target: &EncodeTarget<'_>) -> Bytes {
    // OpenAI's reasoning models refuse `max_tokens` (LiteLLM renames it for them), which
    // is what `/v1/messages` and older clients send.
    let rewrites = if is_reasoning_model(target.model) && !call.has_field("max_completion_tokens") {
        &REASONING
    } else {
        &Rewrites::NONE
    };
    call.splice_with(
        Some(target.model_json),
        target.defaults,
        target.additional_drop_params,
        rewrites,
    )
}

const REASONING: Rewrites = Rewrites {
    rename: &[("max_tokens", "max_completion_tokens")],
    values: &[],
};

/// OpenAI's o-series and GPT-5 family, which take `max_completion_tokens` only.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| {
        m.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    })
}
