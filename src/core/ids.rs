//! Ids: UUIDv7 strings for calls, teams, users and budgets; lower-case hex.

/// A UUIDv7 string (RFC 9562; call ids, mock response ids): 48 bits of Unix milliseconds, then
/// random bits. Time-ordered ids land next to each other in the spend log's primary-key index,
/// so a batch of inserts touches a few index pages instead of one page per row.
pub fn new_uuid() -> String {
    let ms = u128::try_from(super::clock::now_ms()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    let random: u128 = rand::random();
    let mut v = (ms << 80) | (random & ((1u128 << 80) - 1));
    v = (v & !(0xFu128 << 76)) | (0x7u128 << 76); // version 7
    v = (v & !(0x3u128 << 62)) | (0x2u128 << 62); // variant 10
    let mut out = hex(&v.to_be_bytes());
    for at in [8, 13, 18, 23] {
        out.insert(at, '-');
    }
    out
}

/// Lower-case hex of bytes (key hashes, SigV4 digests).
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    s
}

/// Providers this build can call. Everything else in LiteLLM's list loads but answers 501. The
/// names, defaults and dispatch of each kind are `providers`' (its `impl ProviderKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// `openai/`, `custom_openai/`, `openai_like/`, `litellm_proxy/`, `text-completion-openai/`.
    OpenAi,
    /// `hosted_vllm/`: an OpenAI-compatible server that needs `api_base`.
    HostedVllm,
    /// `azure/`: deployment URLs with `api-version` and the `api-key` header.
    Azure,
    /// `anthropic/`: the Messages API.
    Anthropic,
    /// `gemini/`: Google AI Studio's generateContent.
    Gemini,
    /// `ollama_chat/` and `ollama/`: Ollama's native `/api/chat` (NDJSON streams).
    Ollama,
    /// `bedrock/`: the Converse API, SigV4-signed (or a Bedrock API key).
    Bedrock,
    /// `vertex_ai/` and `vertex_ai_beta/`: Gemini on Vertex AI, service-account OAuth.
    VertexAi,
    /// A hosted OpenAI-compatible provider (`mistral/`, `groq/`, ...): index into
    /// `providers::presets::PRESETS`.
    Preset(u8),
}

/// Every provider prefix LiteLLM understands (for "did you mean" and "not yet" messages).
pub const PROVIDERS: &[&str] = &[
    "openai",
    "azure",
    "azure_ai",
    "azure_text",
    "text-completion-openai",
    "custom_openai",
    "openai_like",
    "hosted_vllm",
    "litellm_proxy",
    "anthropic",
    "anthropic_text",
    "bedrock",
    "sagemaker",
    "sagemaker_chat",
    "vertex_ai",
    "vertex_ai_beta",
    "gemini",
    "mistral",
    "codestral",
    "text-completion-codestral",
    "groq",
    "deepseek",
    "openrouter",
    "together_ai",
    "xai",
    "fireworks_ai",
    "perplexity",
    "cerebras",
    "deepinfra",
    "nvidia_nim",
    "ollama",
    "ollama_chat",
    "vllm",
    "lm_studio",
    "cohere",
    "cohere_chat",
    "huggingface",
    "replicate",
    "databricks",
    "watsonx",
    "watsonx_text",
    "ai21",
    "ai21_chat",
    "nlp_cloud",
    "anyscale",
    "cloudflare",
    "voyage",
    "jina_ai",
    "github",
    "sambanova",
    "friendliai",
    "predibase",
    "triton",
    "nscale",
    "hyperbolic",
    "novita",
    "featherless_ai",
    "llamafile",
    "infinity",
    "dashscope",
    "moonshot",
    "volcengine",
    "clarifai",
    "baseten",
    "petals",
    "aleph_alpha",
    "palm",
    "maritalk",
    "empower",
    "galadriel",
    "lambda_ai",
    "nebius",
    "snowflake",
    "topaz",
    "dataforseo",
    "oci",
];

/// A random, non-zero W3C trace id.
pub fn trace_id() -> [u8; 16] {
    rand::random::<std::num::NonZeroU128>().get().to_be_bytes()
}

/// A random, non-zero W3C span id.
pub fn span_id() -> [u8; 8] {
    rand::random::<std::num::NonZeroU64>().get().to_be_bytes()
}

/// The span ids of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`): its trace id and
/// parent span id, if well formed and not all zeros.
pub fn traceparent(v: &str) -> Option<([u8; 16], [u8; 8])> {
    let mut parts = v.trim().split('-');
    let (_version, trace, span) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(trace, 32) || !hex(span, 16) {
        return None;
    }
    let trace = u128::from_str_radix(trace, 16).ok()?;
    let span = u64::from_str_radix(span, 16).ok()?;
    (trace != 0 && span != 0).then(|| (trace.to_be_bytes(), span.to_be_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "7");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        let dashes: Vec<usize> = u.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
        // The first 48 bits are the time in milliseconds: ids sort by creation time.
        let ms = i64::from_str_radix(&u.replace('-', "")[..12], 16).unwrap_or(0);
        let now = crate::core::clock::now_ms();
        assert!(now.abs_diff(ms) < 60_000, "{u}: {ms} vs {now}");
    }
}
