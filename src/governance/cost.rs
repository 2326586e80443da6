//! What a request costs: a deployment's per-token prices (config over the bundled table)
//! applied to the upstream's usage, in integer nano-USD.

use crate::providers::sse::Usage;

/// A deployment's prices in nano-USD per token (fractions allowed: $0.15 per million tokens
/// is 0.15 nano-USD a token).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens (defaults to `input`).
    pub cache_read: f64,
    /// Prompt tokens written to the cache (defaults to `input`).
    pub cache_write: f64,
    /// Whether any price was known; unknown models cost 0 and are counted in a metric.
    pub known: bool,
    /// The model's output limit, which bounds a reservation when `max_tokens` is not sent.
    pub max_output: Option<u64>,
}

/// Output tokens reserved when a request does not say `max_tokens` and the model's limit
/// is unknown.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 4096;

impl Price {
    /// Build from USD-per-token figures as the config and the table give them.
    pub fn from_usd(
        input: Option<f64>,
        output: Option<f64>,
        cache_read: Option<f64>,
        cache_write: Option<f64>,
        max_output: Option<u64>,
    ) -> Price {
        let nano = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v * 1e9);
        let i = nano(input);
        Price {
            input: i.unwrap_or(0.0),
            output: nano(output).unwrap_or(0.0),
            cache_read: nano(cache_read).or(i).unwrap_or(0.0),
            cache_write: nano(cache_write).or(i).unwrap_or(0.0),
            known: input.is_some() || output.is_some(),
            max_output,
        }
    }

    /// The cost of a finished request.
    pub fn cost(&self, u: &Usage) -> i64 {
        let read = u.cache_read().min(u.prompt_tokens);
        let write = u.cache_write().min(u.prompt_tokens - read);
        let plain = u.prompt_tokens - read - write;
        let total = plain as f64 * self.input
            + read as f64 * self.cache_read
            + write as f64 * self.cache_write
            + u.completion_tokens as f64 * self.output;
        nano(total)
    }

    /// The reservation for a request before it runs: its prompt estimate plus the output
    /// it may produce (`max_tokens`, else the model's limit, else a default).
    pub fn estimate(&self, prompt_tokens: u64, max_tokens: Option<u64>) -> i64 {
        let out = max_tokens
            .or(self.max_output)
            .unwrap_or(DEFAULT_OUTPUT_ESTIMATE)
            .min(self.max_output.unwrap_or(u64::MAX));
        nano(prompt_tokens as f64 * self.input.max(self.cache_write) + out as f64 * self.output)
    }

    /// The dearer of two prices, field by field (a group's worst case).
    pub fn max(self, o: Price) -> Price {
        Price {
            input: self.input.max(o.input),
            output: self.output.max(o.output),
            cache_read: self.cache_read.max(o.cache_read),
            cache_write: self.cache_write.max(o.cache_write),
            known: self.known || o.known,
            max_output: match (self.max_output, o.max_output) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        }
    }
}

fn nano(v: f64) -> i64 {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= i64::MAX as f64 {
        i64::MAX
    } else {
        v.round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::sse::PromptDetails;

    fn usage(p: u64, c: u64, read: u64, write: u64) -> Usage {
        Usage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: p + c,
            prompt_tokens_details: Some(PromptDetails {
                cached_tokens: Some(read),
            }),
            cache_creation_input_tokens: Some(write),
        }
    }

    #[test]
    fn prompt_completion_and_cache_tokens_are_priced_apart() {
        // $1/M input, $2/M output, $0.1/M cache read, $1.25/M cache write.
        let p = Price::from_usd(Some(1e-6), Some(2e-6), Some(1e-7), Some(1.25e-6), None);
        assert_eq!(p.cost(&usage(1000, 500, 0, 0)), 2_000_000);
        // 600 read at 0.1, 100 written at 1.25, 300 plain at 1, 500 out at 2.
        assert_eq!(
            p.cost(&usage(1000, 500, 600, 100)),
            60_000 + 125_000 + 300_000 + 1_000_000
        );
        // Reported cache counts larger than the prompt cannot make cost negative.
        assert_eq!(p.cost(&usage(10, 0, 50, 50)), 1_000);
    }

    #[test]
    fn unknown_prices_cost_nothing_and_estimates_bound_output() {
        let none = Price::from_usd(None, None, None, None, None);
        assert!(!none.known);
        assert_eq!(none.cost(&usage(1000, 1000, 0, 0)), 0);
        let p = Price::from_usd(Some(1e-6), Some(1e-6), None, None, Some(100));
        assert_eq!(p.estimate(10, None), 110_000);
        assert_eq!(
            p.estimate(10, Some(5000)),
            110_000,
            "clamped to the model's limit"
        );
        assert_eq!(p.estimate(10, Some(20)), 30_000);
        let open = Price::from_usd(Some(1e-6), Some(1e-6), None, None, None);
        assert_eq!(open.estimate(0, None), 4_096_000);
    }
}
