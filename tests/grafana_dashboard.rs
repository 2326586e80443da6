//! `deploy/grafana/switchyard.json` reads only names `/metrics` serves: the dashboard's
//! queries are parsed and every metric name in them is looked for in a scrape of the real
//! binary after traffic that fills each panel (keys with budgets, a stream, a failure, a
//! cooldown, a logging sink), so a renamed series fails here. Also checks the dashboard's
//! shape: recent schema, the data source as a variable used by every panel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_mock::{rate_limited, Behavior, MockUpstream, Script};

use common::config::{Config, Model};
use common::gov::{chat_for, poll, Api, IN_COST, OUT_COST};
use common::{metrics_text, Gateway};

const DASHBOARD: &str = include_str!("../deploy/grafana/switchyard.json");

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("the dashboard is JSON")
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

/// Every PromQL expression: panel targets and template-variable queries.
fn expressions(d: &Value) -> Vec<String> {
    let mut out: Vec<String> = panels(d)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    for v in d["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            out.push(q.to_string());
        }
    }
    out
}

/// The metric names an expression reads (ours and LiteLLM's prefixes): not label values
/// (quoted), label matchers (`{...}`) or grouping labels (`by (...)`, `without (...)`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let unquoted: String = expr
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| format!("{part} "))
        .collect();
    let mut kept = String::new();
    let mut rest = unquoted.as_str();
    while let Some(i) = rest.find(['{', '(']) {
        let (before, after) = rest.split_at(i);
        kept.push_str(before);
        let word = before.trim_end();
        let grouping = word.ends_with(" by") || word.ends_with(" without") || word == "by";
        if after.starts_with('{') || grouping {
            let close = if after.starts_with('{') { '}' } else { ')' };
            rest = after.find(close).map_or("", |j| &after[j + 1..]);
            kept.push(' ');
        } else {
            kept.push('(');
            rest = &after[1..];
        }
    }
    kept.push_str(rest);
    kept.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("litellm_") || w.starts_with("switchyard_"))
        .map(str::to_string)
        .collect()
}

/// The sample names of a Prometheus text scrape.
fn served(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_dashboard_has_a_datasource_variable_and_a_recent_schema() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36, "schemaVersion");
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(
        vars.iter().any(|v| v["type"] == "datasource"
            && v["query"] == "prometheus"
            && v["name"] == "datasource"),
        "a Prometheus data source variable"
    );
    let ds = json!({"type": "prometheus", "uid": "${datasource}"});
    for p in panels(&d).into_iter().filter(|p| p["type"] != "row") {
        assert_eq!(p["datasource"], ds, "panel {}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert_eq!(t["datasource"], ds, "panel {}", p["title"]);
        }
    }
    let names: BTreeSet<String> = expressions(&d)
        .iter()
        .flat_map(|e| metric_names(e))
        .collect();
    for must in [
        "litellm_proxy_total_requests_metric_total",
        "litellm_proxy_failed_requests_metric_total",
        "litellm_request_total_latency_metric_bucket",
        "litellm_llm_api_time_to_first_token_metric_bucket",
        "litellm_total_tokens_metric_total",
        "litellm_spend_metric_total",
        "litellm_requests_metric_total",
        "litellm_deployment_state",
        "litellm_deployment_cooled_down_total",
        "switchyard_spend_queue_depth",
        "switchyard_logging_dropped_total",
    ] {
        assert!(names.contains(must), "the dashboard shows {must}");
    }
}

fn priced(m: Model) -> Model {
    m.input_cost_per_token(IN_COST)
        .output_cost_per_token(OUT_COST)
}

/// Group `g`: a rate-limited deployment that cools down on the first request, and a healthy
/// one that answers; per-key series and the JSON access log (a logging sink) on.
async fn gateway() -> (MockUpstream, MockUpstream, Gateway) {
    let start = |name: &str, default: Behavior| {
        MockUpstream::start(Script {
            default,
            ..Script::named(name)
        })
    };
    let bad = start("bad", rate_limited()).await.unwrap();
    let ok = start("ok", Behavior::Ok).await.unwrap();
    let dep = |name: &str, m: &MockUpstream| {
        priced(Model::new("g", &format!("openai/upstream-{name}")))
            .api_base(&m.base_url())
            .api_key("sk-provider")
            .id(&format!("dep-{name}"))
    };
    let cfg = Config::with([dep("bad", &bad).weight(1), dep("ok", &ok).weight(0)])
        .router(|r| r.cooldown_time(60))
        .litellm(|l| l.callbacks(&["prometheus"]).json_logs(true));
    let gw = Gateway::start(&cfg.yaml());
    (bad, ok, gw)
}

#[tokio::test]
async fn every_metric_the_dashboard_reads_is_served() {
    let (_bad, _ok, gw) = gateway().await;
    let api = Api::new(&gw);
    let team = api
        .post_ok(
            "/team/new",
            &json!({"team_alias": "t", "max_budget": 100.0}),
        )
        .await;
    let key = api
        .new_key(json!({"team_id": team["team_id"], "max_budget": 10.0}))
        .await;
    // A cooldown and a fallback to the healthy deployment; a stream; an unknown model.
    assert_eq!(api.chat(&key, "g").await.status, 200);
    let streamed = api.chat_with(&key, &chat_for("g", None, true), &[]).await;
    assert_eq!(streamed.status, 200);
    assert_eq!(api.chat(&key, "no-such-model").await.status, 400);

    let wanted: BTreeSet<String> = expressions(&dashboard())
        .iter()
        .flat_map(|e| metric_names(e))
        .collect();
    assert!(wanted.len() >= 15, "{wanted:?}");
    // Metrics are updated as requests end: poll until every name the dashboard reads is served.
    poll(
        "/metrics to serve every series the dashboard reads",
        Duration::from_secs(10),
        async || {
            let have = served(&metrics_text(&gw).await);
            wanted.iter().all(|n| have.contains(n)).then_some(())
        },
    )
    .await;
}

/// A drifted name would be caught: the check reads names, not just text.
#[test]
fn names_are_read_from_promql() {
    let e = "histogram_quantile(0.95, sum by (le, litellm_model_name) (rate(litellm_x_bucket{litellm_label=\"litellm_not_a_name\"}[5m]))) + switchyard_y";
    let got = metric_names(e);
    assert!(got.contains("litellm_x_bucket") && got.contains("switchyard_y"));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(served("a_total{x=\"1\"} 2\n# HELP b c\nb 1\n").contains("b"));
}
