//! Unit tests of the registry: LiteLLM names, labels, suffixes and buckets.

use super::*;

const LABELS: DeploymentLabels<'static> = DeploymentLabels {
    group: "g",
    id: "id",
    provider: "openai",
    model: "gpt-x",
    api_base: "http://up",
};

/// Deployment metrics carry LiteLLM's label names.
#[test]
fn deployment_metrics_carry_litellm_labels() {
    let d = DeploymentMetrics::new(LABELS);
    d.success.inc();
    d.state.set(0);
    d.total_tokens.inc();
    let text = String::from_utf8(metrics().render()).unwrap();
    assert!(text.contains(
        "litellm_deployment_state{api_base=\"http://up\",api_provider=\"openai\",litellm_model_name=\"gpt-x\",model_id=\"id\"} 0"
    ), "{text}");
    assert!(text.contains(
        "litellm_deployment_success_responses_total{api_base=\"http://up\",api_provider=\"openai\",litellm_model_name=\"gpt-x\",model_id=\"id\",requested_model=\"g\"}"
    ), "{text}");
    assert!(text.contains(
        "litellm_total_tokens_metric_total{model=\"gpt-x\",model_id=\"id\",requested_model=\"g\"}"
    ), "{text}");
}

#[test]
fn all_families_register_and_render() {
    let m = metrics();
    DeploymentMetrics::new(LABELS).success.inc();
    m.in_flight.inc();
    m.in_flight.dec();
    let text = String::from_utf8(m.render()).unwrap();
    assert!(text.contains("litellm_deployment_success_responses_total"));
    assert!(text.contains("litellm_in_flight_requests"));
}

/// Counters come out as Python's prometheus_client renders LiteLLM's: `<name>_total` in
/// the HELP, TYPE and sample lines.
#[test]
fn counters_carry_the_total_suffix() {
    let m = metrics();
    count_request("g", "/chat/completions", 500);
    group_spend("g").inc_by(0.5);
    m.successful_fallbacks.with_label_values(&["g", "h"]).inc();
    m.failed_fallbacks.with_label_values(&["g", "h"]).inc();
    m.cooled_down.with_label_values(&["g", "id", "429"]).inc();
    let d = DeploymentMetrics::new(LABELS);
    d.success.inc();
    d.input_tokens.inc();
    d.output_tokens.inc();
    d.total_tokens.inc();
    d.failure(500);
    let text = String::from_utf8(m.render()).unwrap();
    for name in [
        "litellm_proxy_total_requests_metric",
        "litellm_proxy_failed_requests_metric",
        "litellm_deployment_success_responses",
        "litellm_deployment_failure_responses",
        "litellm_deployment_successful_fallbacks",
        "litellm_deployment_failed_fallbacks",
        "litellm_deployment_cooled_down",
        "litellm_input_tokens_metric",
        "litellm_output_tokens_metric",
        "litellm_total_tokens_metric",
        "litellm_spend_metric",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name}_total counter\n")),
            "{name}: {text}"
        );
        assert!(text.contains(&format!("\n{name}_total{{")), "{name}");
        assert!(!text.contains(&format!("\n{name}{{")), "{name}");
    }
}

#[test]
fn only_the_le_label_is_rewritten() {
    let text = b"a_bucket{g=\"x\",le=\"5\"} 1\nb{role=\"7\",le=\"0.5\"} 2\nc{le=\"+Inf\"} 3\n";
    assert_eq!(
        String::from_utf8(python_le(text.to_vec())).unwrap(),
        "a_bucket{g=\"x\",le=\"5.0\"} 1\nb{role=\"7\",le=\"0.5\"} 2\nc{le=\"+Inf\"} 3\n"
    );
}

/// Every latency histogram, the overhead one included, has LiteLLM's buckets.
#[test]
fn latency_histograms_use_litellm_buckets() {
    let m = metrics();
    GroupMetrics::new("b").overhead.observe(0.001);
    GroupMetrics::new("b").total_latency.observe(0.001);
    let text = String::from_utf8(m.render()).unwrap();
    for name in [
        "litellm_overhead_latency_metric",
        "litellm_request_total_latency_metric",
    ] {
        let les: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}_bucket{{")) && l.contains("=\"b\""))
            .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(les.len(), LATENCY_BUCKETS.len() + 1, "{name}");
        assert_eq!(les.first(), Some(&"0.005"), "{name}");
        assert_eq!(les.last(), Some(&"+Inf"), "{name}");
        assert!(
            les.contains(&"1.0") && les.contains(&"300.0"),
            "{name}: {les:?}"
        );
    }
}
