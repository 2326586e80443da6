//! Prometheus registry with LiteLLM's metric names; label handles resolved when configs build.

pub mod keys;

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// LiteLLM's `LATENCY_BUCKETS` (seconds; `+Inf` is implicit), used by every latency
/// histogram so dashboards carry over.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
    5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0,
    240.0, 300.0,
];

/// LiteLLM's deployment labels (its key and team labels are not emitted).
const DEPLOYMENT_LABELS: [&str; 5] = [
    "requested_model",
    "litellm_model_name",
    "model_id",
    "api_base",
    "api_provider",
];

/// `litellm_spend_metric`: Switchyard's `model_group` (kept so dashboards written before
/// per-key series keep working) then LiteLLM's labels. Without per-key series only
/// `model_group` and `model` carry a value (Prometheus ignores empty labels).
pub const SPEND_LABELS: [&str; 8] = [
    "model_group",
    "end_user",
    "hashed_api_key",
    "api_key_alias",
    "model",
    "team",
    "team_alias",
    "user",
];

/// LiteLLM's `litellm_requests_metric` labels.
const KEY_REQUEST_LABELS: [&str; 7] = [
    "end_user",
    "hashed_api_key",
    "api_key_alias",
    "model",
    "team",
    "team_alias",
    "user",
];

/// LiteLLM's token-counter labels: the upstream model, the group asked for, the deployment.
const TOKEN_LABELS: [&str; 3] = ["model", "requested_model", "model_id"];

pub struct Metrics {
    pub registry: Registry,
    pub total_requests: IntCounterVec,
    pub failed_requests: IntCounterVec,
    pub total_latency: HistogramVec,
    pub api_latency: HistogramVec,
    pub ttft: HistogramVec,
    pub overhead: HistogramVec,
    pub deployment_success: IntCounterVec,
    pub deployment_failure: IntCounterVec,
    pub in_flight: IntGauge,
    pub input_tokens: IntCounterVec,
    pub output_tokens: IntCounterVec,
    pub total_tokens: IntCounterVec,
    pub reloads: IntCounterVec,
    pub successful_fallbacks: IntCounterVec,
    pub failed_fallbacks: IntCounterVec,
    pub cooled_down: IntCounterVec,
    pub deployment_state: prometheus::IntGaugeVec,
    /// Spend in USD (LiteLLM's `litellm_spend_metric`): per model group, and per key, team
    /// and user when per-key series are on ([`SPEND_LABELS`]).
    pub spend: prometheus::CounterVec,
    /// LiteLLM's `litellm_requests_metric`: requests per key, team, user and model.
    pub key_requests: IntCounterVec,
    /// LiteLLM's `litellm_remaining_api_key_budget_metric` and `litellm_api_key_max_budget_metric`.
    pub key_budget_left: prometheus::GaugeVec,
    pub key_max_budget: prometheus::GaugeVec,
    /// LiteLLM's `litellm_remaining_api_key_{requests,tokens}_for_model`.
    pub key_requests_left: prometheus::IntGaugeVec,
    pub key_tokens_left: prometheus::IntGaugeVec,
    /// Requests whose model has no price (spend recorded as 0).
    pub unpriced: IntCounterVec,
    /// Shared-counter (Redis) calls that failed or timed out.
    pub counter_errors: IntCounter,
    /// Spend rows waiting for the ledger, dropped because the queue was full, and written.
    pub spend_queue: IntGauge,
    pub spend_dropped: IntGauge,
    pub spend_written: IntGauge,
    pub spend_flush_failures: IntGauge,
    /// USD left in each team's budget (teams with a `max_budget`).
    pub team_budget_left: prometheus::GaugeVec,
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(g.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    g
}

pub(crate) fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c =
        IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(c.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    c
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    let h = HistogramVec::new(opts, labels).unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(h.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    h
}

fn float_gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::GaugeVec {
    let g = prometheus::GaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(g.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    g
}

fn int_gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::IntGaugeVec {
    let g = prometheus::IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(g.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    g
}

/// The spend series of a model group without per-key labels.
pub fn group_spend(group: &str) -> prometheus::Counter {
    metrics()
        .spend
        .with_label_values(&[group, "", "", "", group, "", "", ""])
}

fn plain_counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).unwrap_or_else(|_| unreachable_metric());
    if let Err(e) = r.register(Box::new(c.clone())) {
        log::error!("metric {name} not registered: {e}");
    }
    c
}

#[expect(
    clippy::panic,
    reason = "metric definitions are static; a bad one is a programming error caught by the unit test"
)]
fn unreachable_metric<T>() -> T {
    panic!("invalid static metric definition")
}

impl Metrics {
    #[expect(clippy::too_many_lines, reason = "the registry built once at start")]
    fn new() -> Metrics {
        let r = Registry::new();
        let in_flight = IntGauge::new(
            "litellm_in_flight_requests",
            "Requests being served by the gateway right now",
        )
        .unwrap_or_else(|_| unreachable_metric());
        if let Err(e) = r.register(Box::new(in_flight.clone())) {
            log::error!("metric litellm_in_flight_requests not registered: {e}");
        }
        Metrics {
            total_requests: counter(
                &r,
                "litellm_proxy_total_requests_metric_total",
                "Total requests made to the proxy server",
                &["requested_model", "route", "status_code"],
            ),
            failed_requests: counter(
                &r,
                "litellm_proxy_failed_requests_metric_total",
                "Responses that failed, by status",
                &["requested_model", "route", "exception_status"],
            ),
            total_latency: histogram(
                &r,
                "litellm_request_total_latency_metric",
                "Total latency (seconds) of a request to the proxy",
                &["requested_model"],
                LATENCY_BUCKETS,
            ),
            api_latency: histogram(
                &r,
                "litellm_llm_api_latency_metric",
                "Latency (seconds) of one upstream LLM API call",
                &["model", "requested_model", "model_id"],
                LATENCY_BUCKETS,
            ),
            ttft: histogram(
                &r,
                "litellm_llm_api_time_to_first_token_metric",
                "Time to first token (seconds) of streamed calls",
                &["model", "requested_model", "model_id"],
                LATENCY_BUCKETS,
            ),
            overhead: histogram(
                &r,
                "litellm_overhead_latency_metric",
                "Latency (seconds) the gateway itself added",
                &["model_group"],
                LATENCY_BUCKETS,
            ),
            deployment_success: counter(
                &r,
                "litellm_deployment_success_responses_total",
                "Successful responses per deployment",
                &DEPLOYMENT_LABELS,
            ),
            deployment_failure: counter(
                &r,
                "litellm_deployment_failure_responses_total",
                "Failed upstream attempts per deployment",
                &[
                    "requested_model",
                    "litellm_model_name",
                    "model_id",
                    "api_base",
                    "api_provider",
                    "exception_status",
                ],
            ),
            input_tokens: counter(
                &r,
                "litellm_input_tokens_metric_total",
                "Prompt tokens per model group",
                &TOKEN_LABELS,
            ),
            output_tokens: counter(
                &r,
                "litellm_output_tokens_metric_total",
                "Completion tokens per model group",
                &TOKEN_LABELS,
            ),
            total_tokens: counter(
                &r,
                "litellm_total_tokens_metric_total",
                "Total tokens per model group",
                &TOKEN_LABELS,
            ),
            reloads: counter(
                &r,
                "switchyard_config_reloads_total",
                "Config reloads by result",
                &["result"],
            ),
            successful_fallbacks: counter(
                &r,
                "litellm_deployment_successful_fallbacks_total",
                "Fallbacks that answered, by original and fallback group",
                &["requested_model", "fallback_model"],
            ),
            failed_fallbacks: counter(
                &r,
                "litellm_deployment_failed_fallbacks_total",
                "Fallbacks that failed too, by original and fallback group",
                &["requested_model", "fallback_model"],
            ),
            cooled_down: counter(
                &r,
                "litellm_deployment_cooled_down_total",
                "Times a deployment entered cooldown, by reason",
                &["model_group", "model_id", "exception_status"],
            ),
            deployment_state: {
                let g = prometheus::IntGaugeVec::new(
                    Opts::new(
                        "litellm_deployment_state",
                        "Deployment state: 0 healthy, 2 cooling down (complete outage)",
                    ),
                    &["litellm_model_name", "model_id", "api_base", "api_provider"],
                )
                .unwrap_or_else(|_| unreachable_metric());
                if let Err(e) = r.register(Box::new(g.clone())) {
                    log::error!("metric litellm_deployment_state not registered: {e}");
                }
                g
            },
            spend: {
                let c = prometheus::CounterVec::new(
                    Opts::new(
                        "litellm_spend_metric_total",
                        "Spend in USD per model group (and per key, team and user when on)",
                    ),
                    &SPEND_LABELS,
                )
                .unwrap_or_else(|_| unreachable_metric());
                if let Err(e) = r.register(Box::new(c.clone())) {
                    log::error!("metric litellm_spend_metric_total not registered: {e}");
                }
                c
            },
            key_requests: counter(
                &r,
                "litellm_requests_metric_total",
                "Requests per key, team, user and model group",
                &KEY_REQUEST_LABELS,
            ),
            key_budget_left: float_gauge(
                &r,
                "litellm_remaining_api_key_budget_metric",
                "Remaining budget (USD) of each key with a max_budget",
                &["hashed_api_key", "api_key_alias"],
            ),
            key_max_budget: float_gauge(
                &r,
                "litellm_api_key_max_budget_metric",
                "Maximum budget (USD) of each key with a max_budget",
                &["hashed_api_key", "api_key_alias"],
            ),
            key_requests_left: int_gauge(
                &r,
                "litellm_remaining_api_key_requests_for_model",
                "Requests left this minute for a key with a per-model rpm limit",
                &["hashed_api_key", "api_key_alias", "model"],
            ),
            key_tokens_left: int_gauge(
                &r,
                "litellm_remaining_api_key_tokens_for_model",
                "Tokens left this minute for a key with a per-model tpm limit",
                &["hashed_api_key", "api_key_alias", "model"],
            ),
            unpriced: counter(
                &r,
                "switchyard_unpriced_requests_total",
                "Requests to models without a known price (spend recorded as 0)",
                &["model_group"],
            ),
            counter_errors: plain_counter(
                &r,
                "switchyard_shared_counter_errors_total",
                "Shared rate-limit and budget counter (Redis) calls that failed or timed out",
            ),
            spend_queue: gauge(
                &r,
                "switchyard_spend_queue_depth",
                "Spend rows waiting to be written to the ledger",
            ),
            spend_dropped: gauge(
                &r,
                "switchyard_spend_rows_dropped_total",
                "Spend rows dropped because the ledger queue was full",
            ),
            team_budget_left: {
                let g = prometheus::GaugeVec::new(
                    Opts::new(
                        "litellm_remaining_team_budget_metric",
                        "Remaining budget (USD) of each team with a max_budget",
                    ),
                    &["team", "team_alias"],
                )
                .unwrap_or_else(|_| unreachable_metric());
                if let Err(e) = r.register(Box::new(g.clone())) {
                    log::error!("metric litellm_remaining_team_budget_metric: {e}");
                }
                g
            },
            spend_flush_failures: gauge(
                &r,
                "switchyard_spend_flush_failures_total",
                "Spend-log batch writes that failed (each is retried; rows are kept)",
            ),
            spend_written: gauge(
                &r,
                "switchyard_spend_rows_written_total",
                "Spend rows written to the ledger",
            ),
            in_flight,
            registry: r,
        }
    }

    /// The Prometheus text exposition of every metric, with bucket bounds written as
    /// Python's prometheus_client writes them (`le="1.0"`, not `le="1"`), so LiteLLM
    /// dashboards that select a bucket by its `le` keep matching.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            log::error!("metrics encoding failed: {e}");
        }
        python_le(out)
    }
}

/// Rewrite every integral `le="N"` as `le="N.0"` (Python's `floatToGoString`).
fn python_le(text: Vec<u8>) -> Vec<u8> {
    const LE: &[u8] = b"le=\"";
    let mut out = Vec::with_capacity(text.len() + 1024);
    let mut rest = text.as_slice();
    while let Some(at) = rest.windows(LE.len()).position(|w| w == LE) {
        let start = at + LE.len();
        out.extend_from_slice(&rest[..start]);
        rest = &rest[start..];
        let len = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        let value = &rest[..len];
        out.extend_from_slice(value);
        // Only the `le` label itself, not one whose name merely ends in "le".
        let own_label =
            at == 0 || matches!(out.get(out.len() - len - LE.len() - 1), Some(b'{' | b','));
        if own_label && !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
            out.extend_from_slice(b".0");
        }
        rest = &rest[len..];
    }
    out.extend_from_slice(rest);
    out
}

/// The process-wide metric set.
pub fn metrics() -> &'static Metrics {
    static M: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &M
}

/// Handles for one deployment, resolved when the runtime is built.
#[derive(Clone)]
pub struct DeploymentMetrics {
    pub success: IntCounter,
    /// `litellm_deployment_state`: 0 healthy, 2 cooling down.
    pub state: prometheus::IntGauge,
    pub api_latency: prometheus::Histogram,
    pub ttft: prometheus::Histogram,
    pub input_tokens: IntCounter,
    pub output_tokens: IntCounter,
    pub total_tokens: IntCounter,
    /// `DEPLOYMENT_LABELS` values, for the failure counter's rare path.
    labels: [String; 5],
}

/// What a deployment's metric labels say, from its config.
pub struct DeploymentLabels<'a> {
    /// The model group (`requested_model`).
    pub group: &'a str,
    pub id: &'a str,
    pub provider: &'static str,
    /// The model sent upstream (`model` / `litellm_model_name`).
    pub model: &'a str,
    /// The upstream base URL (empty for mock deployments).
    pub api_base: &'a str,
}

impl DeploymentMetrics {
    pub fn new(l: DeploymentLabels<'_>) -> Self {
        let m = metrics();
        let DeploymentLabels {
            group,
            id,
            provider,
            model,
            api_base,
        } = l;
        let deployment = [group, model, id, api_base, provider];
        let tokens = [model, group, id];
        DeploymentMetrics {
            state: m
                .deployment_state
                .with_label_values(&[model, id, api_base, provider]),
            success: m.deployment_success.with_label_values(&deployment),
            api_latency: m.api_latency.with_label_values(&tokens),
            ttft: m.ttft.with_label_values(&tokens),
            input_tokens: m.input_tokens.with_label_values(&tokens),
            output_tokens: m.output_tokens.with_label_values(&tokens),
            total_tokens: m.total_tokens.with_label_values(&tokens),
            labels: deployment.map(str::to_string),
        }
    }

    /// A failed attempt (rare path: the status label is resolved here).
    pub fn failure(&self, status: u16) {
        let [group, model, id, api_base, provider] = &self.labels;
        metrics()
            .deployment_failure
            .with_label_values(&[group, model, id, api_base, provider, status_label(status)])
            .inc();
    }
}

/// Handles for one model group.
#[derive(Clone)]
pub struct GroupMetrics {
    pub total_latency: prometheus::Histogram,
    pub overhead: prometheus::Histogram,
    ok: [IntCounter; 3],
}

impl GroupMetrics {
    pub fn new(group: &str) -> Self {
        let m = metrics();
        let ok = |route: &str| m.total_requests.with_label_values(&[group, route, "200"]);
        GroupMetrics {
            total_latency: m.total_latency.with_label_values(&[group]),
            overhead: m.overhead.with_label_values(&[group]),
            ok: [
                ok("/chat/completions"),
                ok("/completions"),
                ok("/embeddings"),
            ],
        }
    }

    pub fn ok(&self, route_index: usize) -> Option<&IntCounter> {
        self.ok.get(route_index)
    }
}

/// Count one finished request: the common 200 path uses pre-resolved handles.
pub fn count_request(group: &str, route: &str, status: u16) {
    let m = metrics();
    let label = status_label(status);
    m.total_requests
        .with_label_values(&[group, route, label])
        .inc();
    if status >= 400 {
        m.failed_requests
            .with_label_values(&[group, route, label])
            .inc();
    }
}

/// Bounded status labels: known codes by value, anything else by class.
pub fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        529 => "529",
        0 => "0",
        s if s < 300 => "2xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests;
