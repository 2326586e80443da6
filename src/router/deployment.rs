//! One deployment: where it lives, how to reach it, and its prebuilt request parts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use serde_json::value::RawValue;

use super::cooldown::{Cooldown, CooldownPolicy};
use super::strategy::{LatencyWindow, MinuteUsage};
use crate::core::call::MockSpec;
use crate::core::endpoint::Endpoint;
use crate::metrics::DeploymentMetrics;
use crate::providers::{Credentials, ProviderKind};

/// Mutable per-deployment state, keyed by deployment id so it survives reloads.
#[derive(Default, Debug)]
pub struct DeploymentStats {
    pub in_flight: AtomicI64,
    pub cooldown: Cooldown,
    pub latency: LatencyWindow,
    pub usage: MinuteUsage,
    /// The last health probe failed (`/health` or background checks).
    pub probe_failed: std::sync::atomic::AtomicBool,
}

impl DeploymentStats {
    pub fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Enter unless `limit` requests are already in flight (`max_parallel_requests`).
    pub fn try_enter(self: &Arc<Self>, limit: Option<u32>) -> Option<InFlight> {
        let Some(limit) = limit else {
            return Some(self.enter());
        };
        let mut cur = self.in_flight.load(Ordering::Relaxed);
        loop {
            if cur >= i64::from(limit) {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(InFlight(self.clone())),
                Err(now) => cur = now,
            }
        }
    }

    pub fn at_capacity(&self, limit: Option<u32>) -> bool {
        limit.is_some_and(|l| self.in_flight.load(Ordering::Relaxed) >= i64::from(l))
    }
}

/// Decrements the in-flight count when the attempt ends, however it ends.
pub struct InFlight(Arc<DeploymentStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Deployment {
    /// `model_info.id`, or a stable hash of the deployment's params (as LiteLLM).
    pub id: Arc<str>,
    pub group: Arc<str>,
    /// The model name sent upstream (provider prefix removed).
    pub upstream_model: Arc<str>,
    /// `upstream_model` encoded as a JSON string, for splicing.
    pub model_json: Bytes,
    pub backend: Backend,
    pub weight: Option<f64>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    /// Priority tier: lower tiers are used first (`litellm_params.order`).
    pub order: Option<u32>,
    /// `input_cost_per_token + output_cost_per_token`, for cost-based routing.
    pub cost_per_token: Option<f64>,
    /// Per-token prices for spend (config over the bundled table).
    pub price: crate::pricing::cost::Price,
    /// A wildcard deployment without configured prices: priced per request by the model
    /// asked for (see [`Deployment::price_for`]).
    pub table_pricing: Option<Box<crate::pricing::cost::TablePricing>>,
    pub cooldown: CooldownPolicy,
    /// `model_info.max_input_tokens`, for the pre-call context-window check.
    pub max_input_tokens: Option<u64>,
    /// How pre-call checks count this deployment's prompt tokens.
    pub tokenizer: super::precall::Tokenizer,
    /// `model_info.health_check_model`: the model name health probes send.
    pub health_check_model: Option<String>,
    /// `model_info.mode` (chat, embedding, completion ...), for health probes.
    pub mode: Option<String>,
    /// The config's `model_info` as given (custom keys included), built once at load for
    /// `/model/info`.
    pub model_info: serde_json::Map<String, serde_json::Value>,
    /// `max_parallel_requests`: attempts beyond this many in flight go elsewhere.
    pub max_parallel: Option<u32>,
    /// `litellm_params.use_in_pass_through`: its credentials serve the pass-through route.
    pub use_in_pass_through: bool,
    /// `litellm_params.region_name`, for end users with an `allowed_model_region`.
    pub region: Option<Box<str>>,
    pub timeout: Duration,
    /// `timeout` as `x-litellm-timeout` shows it (Python's float form), built once.
    pub timeout_header: http::HeaderValue,
    pub stream_timeout: Option<Duration>,
    pub num_retries: Option<u32>,
    /// Default request params from `litellm_params` (sent when the client omits them).
    pub defaults: Vec<(String, Box<RawValue>)>,
    /// `drop_params` (deployment, else `litellm_settings`).
    pub drop_params: bool,
    /// `additional_drop_params`: removed from every request to this deployment.
    pub additional_drop_params: Vec<String>,
    pub metrics: DeploymentMetrics,
    pub stats: Arc<DeploymentStats>,
}

impl Deployment {
    /// The price of a request that asked for `asked`: for a wildcard deployment without
    /// configured prices, the bundled table's price of the model asked for (unknown when
    /// the table has none); else the deployment's own price. Cheap for other deployments.
    pub fn price_for(&self, asked: &str) -> crate::pricing::cost::Price {
        match &self.table_pricing {
            Some(t) => t.price(asked).unwrap_or(self.price),
            None => self.price,
        }
    }

    /// This minute's requests or tokens reached `rpm` / `tpm`.
    pub fn over_rate_limit(&self, minute: u64) -> bool {
        let (requests, tokens) = self.stats.usage.get(minute);
        self.rpm.is_some_and(|r| requests >= r) || self.tpm.is_some_and(|t| tokens >= t)
    }
}

/// Seconds as Python prints a float (`1.0`, `0.05`): LiteLLM's `x-litellm-timeout`.
pub fn python_float(secs: f64) -> http::HeaderValue {
    http::HeaderValue::try_from(format!("{secs:?}"))
        .unwrap_or(http::HeaderValue::from_static("0.0"))
}

/// How a deployment answers.
pub enum Backend {
    Mock(MockSpec),
    Http(Box<HttpTarget>),
    /// A LiteLLM provider this build does not implement yet; requests get a 501.
    Unsupported(String),
}

impl Backend {
    pub fn is_usable(&self) -> bool {
        !matches!(self, Backend::Unsupported(_))
    }

    pub fn provider_label(&self) -> &'static str {
        match self {
            Backend::Mock(_) => "mock",
            Backend::Http(t) => t.kind.as_str(),
            Backend::Unsupported(_) => "unsupported",
        }
    }
}

/// An HTTP upstream with everything per-request work needs, built once.
pub struct HttpTarget {
    pub kind: ProviderKind,
    /// Where it lives: peer, replicas, host.
    pub addr: crate::upstream::Address,
    pub host_header: HeaderValue,
    /// Path and query per endpoint: chat, completions, embeddings.
    pub paths: [String; 3],
    /// The path of a streamed chat request, where the provider uses another one.
    pub stream_path: Option<String>,
    /// The base URL's path and the API version, for paths built per request (a wildcard
    /// deployment whose provider puts the model in the URL).
    pub base_path: String,
    pub api_version: Option<String>,
    /// The model as the provider's path names it (Vertex: the full resource name).
    pub path_model: String,
    pub auth: Option<(HeaderName, HeaderValue)>,
    /// SigV4 signing (Bedrock with IAM credentials) or a Google service account's token
    /// (Vertex AI), applied to every request.
    pub credentials: Option<Credentials>,
    pub extra_headers: Vec<(HeaderName, HeaderValue)>,
    /// `scheme://host:port` for logs (never carries credentials).
    pub display: String,
}

impl HttpTarget {
    pub fn path(&self, endpoint: Endpoint) -> &str {
        match endpoint {
            Endpoint::Completions => &self.paths[1],
            Endpoint::Embeddings => &self.paths[2],
            _ => &self.paths[0],
        }
    }
}
