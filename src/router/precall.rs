//! Pre-call checks (`enable_pre_call_checks`): drop deployments whose context window is too
//! small for the prompt, or whose `rpm` is used up this minute, before any attempt.
//!
//! Prompt tokens are counted with OpenAI's tokenizers (`o200k_base` for the gpt-4o, gpt-4.1,
//! gpt-5 and o-series families, `cl100k_base` for other OpenAI models) and estimated for other
//! providers as one token per four bytes of text (the common rule of thumb; it over-counts
//! whitespace-heavy text slightly, which errs toward the larger model).

use serde::Deserialize;

use super::Deployment;

/// Which tokenizer counts a deployment's prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokenizer {
    O200k,
    Cl100k,
    Estimate,
}

impl Tokenizer {
    pub fn for_model(provider: &str, model: &str) -> Tokenizer {
        let openai_family =
            matches!(provider, "openai" | "azure" | "hosted_vllm") || model.starts_with("gpt-");
        if !openai_family {
            return Tokenizer::Estimate;
        }
        let m = model.rsplit('/').next().unwrap_or(model);
        if m.starts_with("gpt-4o")
            || m.starts_with("gpt-4.1")
            || m.starts_with("gpt-5")
            || m.starts_with("o1")
            || m.starts_with("o3")
            || m.starts_with("o4")
            || m.starts_with("chatgpt-4o")
        {
            Tokenizer::O200k
        } else if m.starts_with("gpt-") || m.starts_with("text-embedding") {
            Tokenizer::Cl100k
        } else {
            Tokenizer::Estimate
        }
    }

    fn count(self, text: &str) -> u64 {
        match self {
            Tokenizer::O200k => tiktoken_rs::o200k_base_singleton()
                .encode_ordinary(text)
                .len() as u64,
            Tokenizer::Cl100k => tiktoken_rs::cl100k_base_singleton()
                .encode_ordinary(text)
                .len() as u64,
            Tokenizer::Estimate => (text.len() as u64).div_ceil(4),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Part {
    text: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    content: Option<Content>,
    name: Option<String>,
}

/// The prompt's text: message contents (chat), or the prompt/input strings.
fn prompt_text(input: &[u8]) -> (String, u64) {
    let mut text = String::new();
    let mut messages = 0;
    if let Ok(list) = serde_json::from_slice::<Vec<Message>>(input) {
        for m in list {
            messages += 1;
            match m.content {
                Some(Content::Text(t)) => text.push_str(&t),
                Some(Content::Parts(parts)) => {
                    for t in parts.into_iter().filter_map(|p| p.text) {
                        text.push_str(&t);
                    }
                }
                _ => {}
            }
            if let Some(n) = m.name {
                text.push_str(&n);
            }
            text.push('\n');
        }
    } else if let Ok(s) = serde_json::from_slice::<String>(input) {
        text = s;
    } else if let Ok(list) = serde_json::from_slice::<Vec<String>>(input) {
        text = list.join("\n");
    }
    (text, messages)
}

/// Prompt tokens per tokenizer, counted at most once each per request.
pub struct PromptTokens {
    text: String,
    messages: u64,
    counted: [Option<u64>; 3],
}

impl PromptTokens {
    pub fn new(input: &[u8]) -> Self {
        let (text, messages) = prompt_text(input);
        PromptTokens {
            text,
            messages,
            counted: [None; 3],
        }
    }

    /// Tokens as `tokenizer` counts them, with OpenAI's per-message overhead (3 + 3).
    pub fn count(&mut self, tokenizer: Tokenizer) -> u64 {
        let slot = tokenizer as usize;
        if let Some(n) = self.counted[slot] {
            return n;
        }
        let overhead = if self.messages > 0 {
            3 * self.messages + 3
        } else {
            0
        };
        let n = tokenizer.count(&self.text) + overhead;
        self.counted[slot] = Some(n);
        n
    }
}

/// Whether a deployment can take a prompt of this size.
pub fn fits(dep: &Deployment, tokens: &mut PromptTokens) -> bool {
    match dep.max_input_tokens {
        Some(max) => tokens.count(dep.tokenizer) <= max,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizers_by_model_and_counts() {
        assert_eq!(
            Tokenizer::for_model("openai", "gpt-4o-mini"),
            Tokenizer::O200k
        );
        assert_eq!(
            Tokenizer::for_model("azure", "gpt-35-turbo"),
            Tokenizer::Cl100k
        );
        assert_eq!(
            Tokenizer::for_model("anthropic", "claude-sonnet"),
            Tokenizer::Estimate
        );
        let mut t = PromptTokens::new(br#"[{"role":"user","content":"Hello world"},{"role":"user","content":[{"type":"text","text":"again"}]}]"#);
        // "Hello world\nagain\n" is 5 o200k tokens; plus 3 per message and 3.
        assert_eq!(t.count(Tokenizer::O200k), 5 + 9);
        assert_eq!(t.count(Tokenizer::Estimate), 18u64.div_ceil(4) + 9);
        let mut p = PromptTokens::new(br#""just a prompt""#);
        assert_eq!(p.count(Tokenizer::Estimate), 4);
    }
}
