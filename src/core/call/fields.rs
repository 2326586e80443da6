//! Reading the top-level fields of a model call the gateway acts on (`model`, `stream`,
//! retries, timeouts, fallbacks, LiteLLM's mock switches, token limits, the required input).

use std::borrow::Cow;
use std::ops::Range;

use serde_json::value::RawValue;

use super::{field, limits, ModelCall};
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;

impl ModelCall {
    /// Read one top-level field the gateway acts on (the rest are only indexed).
    pub(super) fn read_field(
        &mut self,
        key: &str,
        raw: &RawValue,
        span: Range<usize>,
        required: &'static str,
        (model, required_seen): (&mut Option<String>, &mut bool),
    ) -> Result<(), ApiError> {
        match key {
            "model" => {
                let m: Cow<str> = field(raw, "model")?;
                limits::check_name("model", &m)?;
                *model = Some(m.into_owned());
                self.model_span = span;
            }
            "stream" => self.stream = field::<Option<bool>>(raw, "stream")?.unwrap_or(false),
            "stream_options" => {
                #[derive(serde::Deserialize)]
                struct StreamOptions {
                    include_usage: Option<bool>,
                }
                let so: Option<StreamOptions> = field(raw, "stream_options")?;
                self.include_usage = so.and_then(|s| s.include_usage).unwrap_or(false);
                self.stream_options_span = Some(span);
            }
            "num_retries" => {
                self.num_retries = limits::integer_field(raw, "num_retries", &limits::NUM_RETRIES)?
            }
            "n" => self.n = limits::integer_field(raw, "n", &limits::CHOICES)?,
            "best_of" => self.best_of = limits::integer_field(raw, "best_of", &limits::CHOICES)?,
            "timeout" => self.timeout = limits::seconds_field(raw, "timeout")?,
            "fallbacks" => self.fallbacks = field(raw, "fallbacks")?,
            "stream_timeout" => self.stream_timeout = limits::seconds_field(raw, "stream_timeout")?,
            "user" if raw.get().len() > limits::MAX_NAME_BYTES => {
                if let Ok(user) = serde_json::from_str::<Cow<str>>(raw.get()) {
                    limits::check_name("user", &user)?;
                }
            }
            "mock_testing_fallbacks" => {
                self.mock_testing_fallbacks =
                    field::<Option<bool>>(raw, "mock_testing_fallbacks")?.unwrap_or(false)
            }
            "mock_testing_rate_limit_error" => {
                self.mock_testing_rate_limit_error =
                    field::<Option<bool>>(raw, "mock_testing_rate_limit_error")?.unwrap_or(false)
            }
            "mock_timeout" => {
                self.mock_timeout = field::<Option<bool>>(raw, "mock_timeout")?.unwrap_or(false)
            }
            "drop_params" => {
                self.drop_params = field::<Option<bool>>(raw, "drop_params")?.unwrap_or(false)
            }
            "disable_fallbacks" => {
                self.disable_fallbacks =
                    field::<Option<bool>>(raw, "disable_fallbacks")?.unwrap_or(false)
            }
            "mock_response" => {
                self.mock_response =
                    field::<Option<Cow<str>>>(raw, "mock_response")?.map(Cow::into_owned)
            }
            "max_tokens" | "max_completion_tokens" | "max_output_tokens" => {
                self.max_tokens = limits::integer_field(raw, key, &limits::MAX_TOKENS)?
                    .map(u64::from)
                    .or(self.max_tokens)
            }
            k if k == required => {
                let first = raw.get().as_bytes().first().copied();
                let ok = match self.endpoint {
                    Endpoint::ChatCompletions | Endpoint::Messages => first == Some(b'['),
                    _ => first != Some(b'n'),
                };
                if !ok {
                    return Err(ApiError::bad_request(format!(
                        "Invalid value for '{required}': expected an array"
                    ))
                    .with_param(required));
                }
                *required_seen = true;
                self.input_span = span;
            }
            _ => {}
        }
        Ok(())
    }
}
