//! Typed config builder over `switchyard::config::raw`: a test states its config as values
//! and `serde_yaml` writes the YAML the gateway reads, instead of hand-indented `format!` text.
//!
//! ```ignore
//! Config::new()
//!     .master_key(MASTER_KEY)
//!     .model(Model::new("g", "openai/gpt-4o").api_base(&url).api_key("sk").id("a"))
//!     .router(|r| r.num_retries(0))
//!     .yaml()
//! ```
//!
//! A key the typed methods do not cover goes through an `untyped*` method, which takes any
//! serializable value (`json!(...)`, a number, a string) and is meant to stand out.

use serde::Serialize;
use serde_yaml::Value;
use switchyard::config::raw::{
    ApiBase, RawConfig, RawLitellmSettings, RawModel, RawRouterSettings, Rest,
};

use super::MASTER_KEY;

fn value(v: impl Serialize) -> Value {
    serde_yaml::to_value(v).expect("a YAML value")
}

fn set(rest: &mut Rest, key: &str, v: impl Serialize) {
    rest.insert(key.to_string(), value(v));
}

/// A whole `config.yaml`.
#[derive(Default)]
pub struct Config(RawConfig);

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// The usual test gateway: these models and [`MASTER_KEY`].
    pub fn with(models: impl IntoIterator<Item = Model>) -> Self {
        Self::new().master_key(MASTER_KEY).models(models)
    }

    pub fn master_key(mut self, key: &str) -> Self {
        self.0.general_settings.master_key = Some(key.to_string());
        self
    }

    pub fn database_url(mut self, url: &str) -> Self {
        self.0.general_settings.database_url = Some(url.to_string());
        self
    }

    pub fn model(mut self, model: Model) -> Self {
        self.0.model_list.push(model.0);
        self
    }

    pub fn models(mut self, models: impl IntoIterator<Item = Model>) -> Self {
        self.0.model_list.extend(models.into_iter().map(|m| m.0));
        self
    }

    pub fn router(mut self, f: impl FnOnce(Router) -> Router) -> Self {
        self.0.router_settings = f(Router(std::mem::take(&mut self.0.router_settings))).0;
        self
    }

    pub fn litellm(mut self, f: impl FnOnce(Litellm) -> Litellm) -> Self {
        self.0.litellm_settings = f(Litellm(std::mem::take(&mut self.0.litellm_settings))).0;
        self
    }

    /// A `callback_settings.<name>` entry, e.g.
    /// `json!({"callback_type": "generic_api", "endpoint": url})`.
    pub fn callback_settings(mut self, name: &str, v: impl Serialize) -> Self {
        let entry = serde_yaml::from_value(value(v)).expect("callback_settings entry");
        self.0.callback_settings.insert(name.to_string(), entry);
        self
    }

    /// A `general_settings` key the typed methods do not cover.
    pub fn untyped_general(mut self, key: &str, v: impl Serialize) -> Self {
        set(&mut self.0.general_settings.rest, key, v);
        self
    }

    pub fn yaml(&self) -> String {
        serde_yaml::to_string(&self.0).expect("config YAML")
    }
}

/// A model_list entry on an OpenAI-compatible base URL: `model_name: name` on
/// `openai/upstream-{name}` at `base_url`, with the provider key the mocks expect.
pub fn openai(name: &str, base_url: &str) -> Model {
    Model::new(name, &format!("openai/upstream-{name}"))
        .api_base(base_url)
        .api_key("sk-provider-secret")
}

/// One `model_list` entry.
pub struct Model(RawModel);

impl Model {
    /// `model_name: name`, `litellm_params.model: model`.
    pub fn new(name: &str, model: &str) -> Self {
        let entry = serde_json::json!({"model_name": name, "litellm_params": {"model": model}});
        Self(serde_yaml::from_value(value(entry)).expect("a model entry"))
    }

    pub fn api_base(mut self, url: &str) -> Self {
        self.0.litellm_params.api_base = Some(ApiBase::One(url.to_string()));
        self
    }

    /// A self-hosted pool's replica URLs.
    pub fn api_bases(mut self, urls: &[&str]) -> Self {
        let urls = urls.iter().map(ToString::to_string).collect();
        self.0.litellm_params.api_base = Some(ApiBase::Replicas(urls));
        self
    }

    pub fn api_key(mut self, key: &str) -> Self {
        self.0.litellm_params.api_key = Some(key.to_string());
        self
    }

    pub fn api_version(mut self, version: &str) -> Self {
        self.0.litellm_params.api_version = Some(version.to_string());
        self
    }

    pub fn weight(mut self, weight: impl Into<f64>) -> Self {
        self.0.litellm_params.weight = Some(weight.into());
        self
    }

    pub fn order(mut self, order: u32) -> Self {
        self.0.litellm_params.order = Some(order);
        self
    }

    pub fn rpm(mut self, rpm: u64) -> Self {
        self.0.litellm_params.rpm = Some(rpm);
        self
    }

    pub fn tpm(mut self, tpm: u64) -> Self {
        self.0.litellm_params.tpm = Some(tpm);
        self
    }

    pub fn timeout(mut self, secs: impl Into<f64>) -> Self {
        self.0.litellm_params.timeout = Some(secs.into());
        self
    }

    pub fn stream_timeout(mut self, secs: impl Into<f64>) -> Self {
        self.0.litellm_params.stream_timeout = Some(secs.into());
        self
    }

    /// Bedrock's `aws_access_key_id`, `aws_secret_access_key` and `aws_region_name`.
    pub fn aws(mut self, key_id: &str, secret: &str, region: &str) -> Self {
        let p = &mut self.0.litellm_params;
        p.aws_access_key_id = Some(key_id.to_string());
        p.aws_secret_access_key = Some(secret.to_string());
        p.aws_region_name = Some(region.to_string());
        self
    }

    pub fn num_retries(mut self, n: u32) -> Self {
        self.0.litellm_params.num_retries = Some(n);
        self
    }

    /// This deployment's own `cooldown_time`.
    pub fn cooldown_time(mut self, secs: impl Into<f64>) -> Self {
        self.0.litellm_params.cooldown_time = Some(secs.into());
        self
    }

    pub fn max_parallel_requests(mut self, n: u32) -> Self {
        self.0.litellm_params.max_parallel_requests = Some(n);
        self
    }

    pub fn region_name(mut self, region: &str) -> Self {
        self.0.litellm_params.region_name = Some(region.to_string());
        self
    }

    pub fn mock_response(mut self, response: &str) -> Self {
        self.0.litellm_params.mock_response = Some(value(response));
        self
    }

    pub fn output_cost_per_token(mut self, usd: f64) -> Self {
        self.0.litellm_params.prices.output_cost_per_token = Some(usd);
        self
    }

    pub fn input_cost_per_token(mut self, usd: f64) -> Self {
        self.0.litellm_params.prices.input_cost_per_token = Some(usd);
        self
    }

    /// A `litellm_params` key the typed methods do not cover.
    pub fn untyped_param(mut self, key: &str, v: impl Serialize) -> Self {
        set(&mut self.0.litellm_params.rest, key, v);
        self
    }

    /// `model_info.id`.
    pub fn id(mut self, id: &str) -> Self {
        self.0.model_info.id = Some(id.to_string());
        self
    }

    /// `model_info.mode` (`embedding`, ...).
    pub fn mode(mut self, mode: &str) -> Self {
        self.0.model_info.mode = Some(mode.to_string());
        self
    }

    pub fn max_input_tokens(mut self, tokens: u64) -> Self {
        self.0.model_info.max_input_tokens = Some(tokens);
        self
    }

    /// A `model_info` key the typed methods do not cover.
    pub fn untyped_info(mut self, key: &str, v: impl Serialize) -> Self {
        set(&mut self.0.model_info.rest, key, v);
        self
    }
}

/// `router_settings`.
pub struct Router(RawRouterSettings);

impl Router {
    pub fn num_retries(mut self, n: u32) -> Self {
        self.0.num_retries = Some(n);
        self
    }

    pub fn routing_strategy(mut self, strategy: &str) -> Self {
        self.0.routing_strategy = Some(strategy.to_string());
        self
    }

    /// `fallbacks`, e.g. `json!([{"g": ["backup"]}])`.
    pub fn fallbacks(mut self, v: impl Serialize) -> Self {
        self.0.routing.fallbacks = Some(value(v));
        self
    }

    pub fn context_window_fallbacks(mut self, v: impl Serialize) -> Self {
        self.0.routing.context_window_fallbacks = Some(value(v));
        self
    }

    pub fn content_policy_fallbacks(mut self, v: impl Serialize) -> Self {
        self.0.routing.content_policy_fallbacks = Some(value(v));
        self
    }

    pub fn enable_pre_call_checks(mut self, on: bool) -> Self {
        self.0.enable_pre_call_checks = Some(on);
        self
    }

    pub fn disable_cooldowns(mut self, on: bool) -> Self {
        self.0.routing.disable_cooldowns = Some(on);
        self
    }

    pub fn allowed_fails(mut self, n: u32) -> Self {
        self.0.routing.allowed_fails = Some(n);
        self
    }

    pub fn cooldown_time(mut self, secs: impl Into<f64>) -> Self {
        self.0.routing.cooldown_time = Some(secs.into());
        self
    }

    /// A `router_settings` key the typed methods do not cover.
    pub fn untyped(mut self, key: &str, v: impl Serialize) -> Self {
        set(&mut self.0.rest, key, v);
        self
    }
}

/// `litellm_settings`.
pub struct Litellm(RawLitellmSettings);

impl Litellm {
    pub fn num_retries(mut self, n: u32) -> Self {
        self.0.num_retries = Some(n);
        self
    }

    pub fn max_budget(mut self, usd: f64) -> Self {
        self.0.max_budget = Some(usd);
        self
    }

    pub fn budget_duration(mut self, period: &str) -> Self {
        self.0.budget_duration = Some(period.to_string());
        self
    }

    /// The budget (USD) of an `internal_user` without its own.
    pub fn max_internal_user_budget(mut self, usd: f64) -> Self {
        self.0.max_internal_user_budget = Some(usd);
        self
    }

    /// The most a `/key/generate` may set, e.g. `json!({"max_budget": 10})`.
    pub fn upperbound_key_generate_params(mut self, v: impl Serialize) -> Self {
        let bounds = serde_yaml::from_value(value(v)).expect("upperbound_key_generate_params");
        self.0.upperbound_key_generate_params = Some(bounds);
        self
    }

    /// What `/key/generate` fills in for fields left out, e.g. `json!({"rpm_limit": 7})`.
    pub fn default_key_generate_params(mut self, v: impl Serialize) -> Self {
        let defaults = serde_yaml::from_value(value(v)).expect("default_key_generate_params");
        self.0.default_key_generate_params = Some(defaults);
        self
    }

    pub fn json_logs(mut self, on: bool) -> Self {
        self.0.json_logs = Some(on);
        self
    }

    /// `callbacks`: sinks for every request.
    pub fn callbacks(mut self, names: &[&str]) -> Self {
        self.0.callbacks = Some(names_of(names));
        self
    }

    pub fn success_callback(mut self, names: &[&str]) -> Self {
        self.0.success_callback = Some(names_of(names));
        self
    }

    pub fn failure_callback(mut self, names: &[&str]) -> Self {
        self.0.failure_callback = Some(names_of(names));
        self
    }

    /// A `litellm_settings` key the typed methods do not cover.
    pub fn untyped(mut self, key: &str, v: impl Serialize) -> Self {
        set(&mut self.0.rest, key, v);
        self
    }
}

fn names_of(names: &[&str]) -> switchyard::config::raw_observe::Names {
    switchyard::config::raw_observe::Names::Many(names.iter().map(|n| n.to_string()).collect())
}
