//! What a provider changes in an OpenAI body beyond the model (renames, replaced values), the
//! usage option streams always carry, and model names encoded once.

use bytes::Bytes;

/// A provider's edits to an OpenAI body: key renames and whole-value replacements.
#[derive(Debug, Default)]
pub struct Rewrites {
    /// `(from, to)`: a member renamed (Mistral's `seed` is `random_seed`).
    pub rename: &'static [(&'static str, &'static str)],
    /// `(key, raw JSON value, replacement)`: e.g. `tool_choice` `"required"` to `"any"`.
    pub values: &'static [(&'static str, &'static str, &'static str)],
}

impl Rewrites {
    pub const NONE: Rewrites = Rewrites {
        rename: &[],
        values: &[],
    };

    pub(super) fn is_empty(&self) -> bool {
        self.rename.is_empty() && self.values.is_empty()
    }
}

/// `stream_options` with `include_usage: true`, other members kept.
pub(super) fn force_usage(raw: &[u8]) -> Vec<u8> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(raw).unwrap_or_default();
    map.insert("include_usage".into(), serde_json::Value::Bool(true));
    serde_json::to_vec(&map).unwrap_or_else(|_| br#"{"include_usage":true}"#.to_vec())
}

/// Encode a model name as a JSON string literal, once per deployment.
pub fn json_string(s: &str) -> Bytes {
    Bytes::from(serde_json::to_vec(s).unwrap_or_default())
}
