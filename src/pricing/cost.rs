//! What a request costs: a deployment's prices (config over the bundled table) applied to
//! the upstream's usage and the call's duration, in integer nano-USD; and strict mode's
//! refusal of budgeted requests to models without a price.

use std::time::Duration;

use crate::core::chat::Usage;
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;

/// A deployment's prices in nano-USD per token (fractions allowed: $0.15 per million tokens
/// is 0.15 nano-USD a token) and per second of the call.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens (defaults to `input`).
    pub cache_read: f64,
    /// Prompt tokens written to the cache (defaults to `input`).
    pub cache_write: f64,
    /// Per second of the call, for the input side when `input` is 0 (LiteLLM's
    /// `input_cost_per_second`).
    pub input_per_second: f64,
    /// Per second of the call, for the output side when `output` is 0.
    pub output_per_second: f64,
    /// Whether any price was known; unknown models cost 0 and are counted in a metric.
    pub known: bool,
    /// The model's output limit, which bounds a reservation when `max_tokens` is not sent.
    pub max_output: Option<u64>,
}

/// USD figures as the config (`litellm_params`, `model_info`) and the table give them.
#[derive(Clone, Copy, Debug, Default)]
pub struct UsdPrices {
    pub input_per_token: Option<f64>,
    pub output_per_token: Option<f64>,
    pub cache_read_per_token: Option<f64>,
    pub cache_write_per_token: Option<f64>,
    pub input_per_second: Option<f64>,
    pub output_per_second: Option<f64>,
}

impl UsdPrices {
    /// Field by field, `self` where it has a value, else `other`.
    pub fn or(self, other: UsdPrices) -> UsdPrices {
        UsdPrices {
            input_per_token: self.input_per_token.or(other.input_per_token),
            output_per_token: self.output_per_token.or(other.output_per_token),
            cache_read_per_token: self.cache_read_per_token.or(other.cache_read_per_token),
            cache_write_per_token: self.cache_write_per_token.or(other.cache_write_per_token),
            input_per_second: self.input_per_second.or(other.input_per_second),
            output_per_second: self.output_per_second.or(other.output_per_second),
        }
    }

    /// Whether any price is given.
    pub fn any(&self) -> bool {
        [
            self.input_per_token,
            self.output_per_token,
            self.cache_read_per_token,
            self.cache_write_per_token,
            self.input_per_second,
            self.output_per_second,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// Output tokens reserved when a request does not say `max_tokens` and the model's limit
/// is unknown.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 4096;

/// Seconds of a per-second price reserved before a call (its real length is billed after).
pub const DEFAULT_SECONDS_ESTIMATE: f64 = 60.0;

impl Price {
    /// Build from USD figures (per token and per second); negative, NaN and infinite
    /// figures count as unset.
    pub fn from_prices(p: UsdPrices, max_output: Option<u64>) -> Price {
        let nano = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v * 1e9);
        let i = nano(p.input_per_token);
        Price {
            input: i.unwrap_or(0.0),
            output: nano(p.output_per_token).unwrap_or(0.0),
            cache_read: nano(p.cache_read_per_token).or(i).unwrap_or(0.0),
            cache_write: nano(p.cache_write_per_token).or(i).unwrap_or(0.0),
            input_per_second: nano(p.input_per_second).unwrap_or(0.0),
            output_per_second: nano(p.output_per_second).unwrap_or(0.0),
            known: p.input_per_token.is_some()
                || p.output_per_token.is_some()
                || p.input_per_second.is_some()
                || p.output_per_second.is_some(),
            max_output,
        }
    }

    /// The cost of a finished request's tokens (per-second prices count 0 seconds).
    pub fn cost(&self, u: &Usage) -> i64 {
        self.cost_over(u, Duration::ZERO)
    }

    /// The cost of a request that used `u` and took `elapsed`. As LiteLLM: each side (input,
    /// output) is billed per token when it has a per-token price, else per second.
    pub fn cost_over(&self, u: &Usage, elapsed: Duration) -> i64 {
        let secs = elapsed.as_secs_f64();
        let input = if self.input == 0.0 && self.input_per_second > 0.0 {
            secs * self.input_per_second
        } else {
            let read = u.cache_read.min(u.prompt);
            let write = u.cache_write.min(u.prompt - read);
            let plain = u.prompt - read - write;
            plain as f64 * self.input
                + read as f64 * self.cache_read
                + write as f64 * self.cache_write
        };
        let output = if self.output == 0.0 && self.output_per_second > 0.0 {
            secs * self.output_per_second
        } else {
            u.completion as f64 * self.output
        };
        nano(input + output)
    }

    /// The reservation for a request before it runs: its prompt estimate plus the output
    /// it may produce (`max_tokens`, else the model's limit, else a default), and
    /// [`DEFAULT_SECONDS_ESTIMATE`] of any per-second price.
    pub fn estimate(&self, prompt_tokens: u64, max_tokens: Option<u64>) -> i64 {
        let out = max_tokens
            .or(self.max_output)
            .unwrap_or(DEFAULT_OUTPUT_ESTIMATE)
            .min(self.max_output.unwrap_or(u64::MAX));
        let timed = (self.input_per_second + self.output_per_second) * DEFAULT_SECONDS_ESTIMATE;
        nano(
            prompt_tokens as f64 * self.input.max(self.cache_write)
                + out as f64 * self.output
                + timed,
        )
    }

    /// The dearer of two prices, field by field (a group's worst case); known only when
    /// both are.
    pub fn max(self, o: Price) -> Price {
        Price {
            input: self.input.max(o.input),
            output: self.output.max(o.output),
            cache_read: self.cache_read.max(o.cache_read),
            cache_write: self.cache_write.max(o.cache_write),
            input_per_second: self.input_per_second.max(o.input_per_second),
            output_per_second: self.output_per_second.max(o.output_per_second),
            known: self.known && o.known,
            max_output: match (self.max_output, o.max_output) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            },
        }
    }
}

/// A wildcard deployment's prices (`model: openai/*` without configured prices): the
/// bundled table's price of the model each request asks for, found as LiteLLM finds it
/// (the model with its provider prefix stripped, then `provider/model`).
#[derive(Clone, Debug)]
pub struct TablePricing {
    /// The deployment's provider (`openai`), which the table keys some models by.
    pub provider: String,
    /// The group's `model_name` (`openai/*`, `*`), matched against the model asked for.
    pub pattern: String,
    /// The deployment's model with its `*` (`*`, `gpt-*`), filled with what `*` matched.
    pub template: String,
    /// `model_info.max_output_tokens`, over the table's.
    pub max_output: Option<u64>,
}

impl TablePricing {
    /// The model a request for `asked` reaches upstream, provider prefix stripped.
    fn model_for<'a>(&self, asked: &'a str) -> (Option<&'a str>, String) {
        let matched = self
            .pattern
            .split_once('*')
            .and_then(|(pre, post)| asked.strip_prefix(pre)?.strip_suffix(post));
        let model = match matched {
            Some(m) => self.template.replacen('*', m, 1),
            None => asked.to_string(),
        };
        let prefix = asked
            .split_once('/')
            .map(|(p, _)| p)
            .filter(|p| crate::core::ids::PROVIDERS.contains(p));
        (prefix, model)
    }

    /// The table's price of the model `asked` reaches, if the table has it.
    pub fn price(&self, asked: &str) -> Option<Price> {
        let (asked_provider, model) = self.model_for(asked);
        let stripped = model
            .split_once('/')
            .filter(|(p, _)| crate::core::ids::PROVIDERS.contains(p));
        let t = super::lookup(&self.provider, &model, None)
            .or_else(|| stripped.and_then(|(p, m)| super::lookup(p, m, None)))
            .or_else(|| asked_provider.and_then(|p| super::lookup(p, &model, None)))?;
        Some(Price::from_prices(
            UsdPrices::of_table(t),
            self.max_output.or(t.max_output_tokens),
        ))
    }
}

/// The price of the model an answer names (`gpt-35-turbo` from an Azure deployment), for a
/// deployment without one of its own; `max_output` bounds reservations as the deployment's.
pub fn answer_price(provider: &str, model: &str, max_output: Option<u64>) -> Option<Price> {
    let t = super::lookup_answer(provider, model)?;
    Some(Price::from_prices(
        UsdPrices::of_table(t),
        max_output.or(t.max_output_tokens),
    ))
}

impl UsdPrices {
    /// The bundled table's figures for one model.
    pub fn of_table(t: &crate::pricing::Price) -> UsdPrices {
        UsdPrices {
            input_per_token: t.input_cost_per_token,
            output_per_token: t.output_cost_per_token,
            cache_read_per_token: t.cache_read_input_token_cost,
            cache_write_per_token: t.cache_creation_input_token_cost,
            input_per_second: None,
            output_per_second: None,
        }
    }
}

/// Strict mode (`general_settings.reject_unpriced_models`): a budgeted request to a model
/// without a price is refused (400) instead of being served for free. `price` is what the
/// request would be priced at (`ModelGroup::price_for`); `budgeted` whether any scope it
/// spends in has a `max_budget` (`Governance::budgeted`).
pub fn check_priced(
    strict: bool,
    budgeted: bool,
    price: &Price,
    model: &str,
) -> Result<(), ApiError> {
    if !strict || !budgeted || price.known {
        return Ok(());
    }
    Err(ApiError::new(
        400,
        ErrorKind::InvalidRequest,
        format!(
            "model={model} has no price, and this gateway refuses budgeted requests to unpriced models (general_settings.reject_unpriced_models). Set input_cost_per_token and output_cost_per_token in its model_info or litellm_params."
        ),
    )
    .with_param("model"))
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

    fn usage(p: u64, c: u64, read: u64, write: u64) -> Usage {
        Usage {
            prompt: p,
            completion: c,
            cache_read: read,
            cache_write: write,
            reasoning: 0,
            reported_total: Some(p + c),
        }
    }

    #[test]
    fn prompt_completion_and_cache_tokens_are_priced_apart() {
        // $1/M input, $2/M output, $0.1/M cache read, $1.25/M cache write.
        let p = Price::from_prices(
            UsdPrices {
                input_per_token: Some(1e-6),
                output_per_token: Some(2e-6),
                cache_read_per_token: Some(1e-7),
                cache_write_per_token: Some(1.25e-6),
                ..UsdPrices::default()
            },
            None,
        );
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
        let none = Price::from_prices(UsdPrices::default(), None);
        assert!(!none.known);
        assert_eq!(none.cost(&usage(1000, 1000, 0, 0)), 0);
        let p = Price::from_prices(tokens(1e-6, 1e-6), Some(100));
        assert_eq!(p.estimate(10, None), 110_000);
        assert_eq!(
            p.estimate(10, Some(5000)),
            110_000,
            "clamped to the model's limit"
        );
        assert_eq!(p.estimate(10, Some(20)), 30_000);
        let open = Price::from_prices(tokens(1e-6, 1e-6), None);
        assert_eq!(open.estimate(0, None), 4_096_000);
    }

    fn tokens(input: f64, output: f64) -> UsdPrices {
        UsdPrices {
            input_per_token: Some(input),
            output_per_token: Some(output),
            ..UsdPrices::default()
        }
    }

    #[test]
    fn per_second_prices_bill_the_duration_where_no_token_price_is_set() {
        // $0.01/s for the input side, $0.02/s for the output side.
        let timed = Price::from_prices(
            UsdPrices {
                input_per_second: Some(0.01),
                output_per_second: Some(0.02),
                ..UsdPrices::default()
            },
            None,
        );
        assert!(timed.known);
        let u = usage(1000, 500, 0, 0);
        assert_eq!(timed.cost_over(&u, Duration::from_millis(1500)), 45_000_000);
        assert_eq!(timed.cost(&u), 0, "no time, no cost");
        assert_eq!(
            timed.estimate(1000, Some(10)),
            1_800_000_000,
            "60 s reserved"
        );
        // A per-token side wins over its per-second price (LiteLLM's order).
        let mixed = Price::from_prices(
            UsdPrices {
                input_per_token: Some(1e-6),
                input_per_second: Some(1.0),
                output_per_second: Some(0.02),
                ..UsdPrices::default()
            },
            None,
        );
        assert_eq!(
            mixed.cost_over(&u, Duration::from_secs(2)),
            1_000_000 + 40_000_000
        );
    }

    #[test]
    fn a_group_is_known_only_when_every_price_is() {
        let priced = Price::from_prices(tokens(1e-6, 2e-6), None);
        let unpriced = Price::default();
        assert!(!priced.max(unpriced).known);
        assert!(priced.max(priced).known);
        assert_eq!(priced.max(unpriced).output, priced.output);
    }

    #[test]
    fn wildcards_are_priced_by_the_model_asked_for() {
        let t = |pattern: &str, template: &str| TablePricing {
            provider: "openai".into(),
            pattern: pattern.into(),
            template: template.into(),
            max_output: None,
        };
        let table = crate::pricing::lookup("openai", "gpt-4o", None).unwrap();
        let gpt4o = Price::from_prices(UsdPrices::of_table(table), table.max_output_tokens);
        assert!(gpt4o.known && gpt4o.input > 0.0);
        assert_eq!(t("openai/*", "*").price("openai/gpt-4o"), Some(gpt4o));
        assert_eq!(t("*", "*").price("gpt-4o"), Some(gpt4o));
        assert_eq!(
            t("*", "*").price("openai/gpt-4o"),
            Some(gpt4o),
            "prefix stripped"
        );
        assert_eq!(t("my-*", "gpt-*").price("my-4o"), Some(gpt4o));
        assert_eq!(t("openai/*", "*").price("openai/surely-not-a-model"), None);
    }

    #[test]
    fn strict_mode_refuses_only_budgeted_requests_to_unpriced_models() {
        let unpriced = Price::default();
        let priced = Price::from_prices(tokens(1e-6, 2e-6), None);
        assert!(check_priced(false, true, &unpriced, "m").is_ok());
        assert!(check_priced(true, false, &unpriced, "m").is_ok());
        assert!(check_priced(true, true, &priced, "m").is_ok());
        let e = check_priced(true, true, &unpriced, "m").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.param.as_deref(), Some("model"));
        assert!(e.message.contains("model=m has no price"), "{e}");
    }
}
