//! Observability through the real binary: the JSON access log and JSON application logs, keys'
//! and teams' own destinations, and
//! LiteLLM's generic API webhook against an in-test receiver (batches, headers, event types,
//! the environment's endpoint flushed at shutdown), and sinks that are down or hanging costing
//! requests nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly; a test reads one whole scenario"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::config::{openai, Config};
use common::gov::{poll, Api};
use common::{chat_as as chat, chat_body, client, metrics_text, refused_port, Gateway, MASTER_KEY};
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Script};

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Post {
    headers: http::HeaderMap,
    body: Value,
}

/// A webhook endpoint on loopback: records every POST and answers 200, or never answers.
struct Receiver {
    addr: SocketAddr,
    inner: common::http::Recorder,
}

impl Receiver {
    async fn start(hang: bool) -> Receiver {
        let inner = common::http::Recorder::start(hang).await;
        Receiver {
            addr: inner.addr,
            inner,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/logs", self.addr)
    }

    fn posts(&self) -> Vec<Post> {
        self.inner
            .received()
            .into_iter()
            .map(|r| Post {
                body: parse_batch(&r.headers, &r.body),
                headers: r.headers,
            })
            .collect()
    }

    /// Every record received so far, in order.
    fn records(&self) -> Vec<Value> {
        self.posts()
            .into_iter()
            .flat_map(|p| p.body.as_array().cloned().unwrap_or_default())
            .collect()
    }

    async fn await_records(&self, n: usize) -> Vec<Value> {
        poll(
            &format!("{n} records"),
            Duration::from_secs(20),
            async || {
                let r = self.records();
                (r.len() >= n).then_some(r)
            },
        )
        .await
    }
}

/// A JSON array, or NDJSON lines as an array.
fn parse_batch(headers: &http::HeaderMap, bytes: &[u8]) -> Value {
    let ndjson = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-ndjson"));
    if ndjson {
        let items = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        Value::Array(items)
    } else {
        serde_json::from_slice(bytes).unwrap()
    }
}

async fn mock() -> MockUpstream {
    MockUpstream::start(Script {
        default: Behavior::Ok,
        ..Script::named("m")
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn json_logs_write_an_access_line_per_request_and_app_logs_as_json() {
    let m = mock().await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.json_logs(true))
        .yaml();
    let gw = Gateway::start(&yaml);
    let (status, id) = chat(&gw, MASTER_KEY, "gpt").await;
    assert_eq!(status, 200);
    let line: Value = serde_json::from_str(&gw.next_stdout()).unwrap();
    assert_eq!(line["id"], id.as_str(), "{line}");
    assert_eq!(line["status"], "success");
    assert_eq!(line["status_code"], 200);
    assert_eq!(line["call_type"], "acompletion");
    assert_eq!(line["model_group"], "gpt");
    assert_eq!(line["model"], "upstream-gpt");
    assert_eq!(line["level"], "INFO");
    assert!(line["prompt_tokens"].as_u64().unwrap() > 0, "{line}");
    assert!(line["startTime"].as_f64().unwrap() <= line["endTime"].as_f64().unwrap());
    assert!(line["metadata"]["user_api_key_hash"].is_string(), "{line}");

    let (status, _) = chat(&gw, MASTER_KEY, "no-such-model").await;
    assert_eq!(status, 400);
    let line: Value = serde_json::from_str(&gw.next_stdout()).unwrap();
    assert_eq!(line["status"], "failure", "{line}");
    assert_eq!(line["status_code"], 400);
    let info = &line["error_information"];
    assert_eq!(info["error_class"], "invalid_request_error", "{line}");
    assert!(
        info["error_message"]
            .as_str()
            .unwrap()
            .contains("no-such-model"),
        "{line}"
    );

    // Application lines are JSON objects too (the readiness line among them).
    let ready = gw
        .log()
        .lines()
        .find(|l| l.contains("ready: SIGHUP"))
        .map(str::to_string)
        .unwrap();
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["level"], "INFO");
    assert!(ready["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_webhook_gets_batches_with_its_headers_and_only_the_events_it_asked_for() {
    let m = mock().await;
    let all = Receiver::start(false).await;
    let failures = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.callbacks(&["hook", "failures"]))
        .callback_settings(
            "hook",
            json!({"callback_type": "generic_api", "endpoint": all.url(),
                   "headers": {"Authorization": "Bearer log-token"},
                   "batch_size": 2, "flush_interval": 0.2}),
        )
        .callback_settings(
            "failures",
            json!({"callback_type": "generic_api", "endpoint": failures.url(),
                   "event_types": ["llm_api_failure"], "log_format": "ndjson",
                   "flush_interval": 0.2}),
        )
        .yaml();
    let gw = Gateway::start(&yaml);
    Api::new(&gw)
        .post_ok("/team/new", &json!({"team_id": "t-1"}))
        .await;
    let key = Api::new(&gw)
        .post_ok(
            "/key/generate",
            &json!({"key_alias": "ci-key", "team_id": "t-1"}),
        )
        .await;
    let key = key["key"].as_str().unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, id) = chat(&gw, key, "gpt").await;
        assert_eq!(status, 200);
        ids.push(id);
    }
    let (status, _) = chat(&gw, key, "no-such-model").await;
    assert_eq!(status, 400);

    let records = all.await_records(4).await;
    assert_eq!(records.len(), 4);
    let got: Vec<&str> = records[..3]
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids);
    assert!(records[..3].iter().all(|r| r["status"] == "success"));
    assert_eq!(records[3]["status"], "failure");
    let meta = &records[0]["metadata"];
    assert_eq!(meta["user_api_key_alias"], "ci-key", "{meta}");
    assert_eq!(meta["user_api_key_team_id"], "t-1", "{meta}");
    assert!(records[0]["response_cost"].as_f64().is_some());
    for post in all.posts() {
        assert_eq!(post.headers["authorization"], "Bearer log-token");
        assert!(post.body.as_array().unwrap().len() <= 2, "a batch over 2");
    }

    let only = failures.await_records(1).await;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["status"], "failure");
    assert_eq!(only[0]["status_code"], 400);
    assert_eq!(
        failures.posts()[0].headers["content-type"],
        "application/x-ndjson"
    );
}

// Multi-threaded: the receiver answers while the test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_api_from_the_environment_is_flushed_at_shutdown() {
    let m = mock().await;
    let sink = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.success_callback(&["generic_api"]))
        .yaml();
    let url = sink.url();
    let mut gw = Gateway::start_env(
        &yaml,
        &[
            ("GENERIC_LOGGER_ENDPOINT", url.as_str()),
            ("GENERIC_LOGGER_HEADERS", "X-Token=abc,X-Other=1"),
        ],
    );
    let (status, id) = chat(&gw, MASTER_KEY, "gpt").await;
    assert_eq!(status, 200);
    // The default batch waits 5 s; a shutdown delivers it at once.
    gw.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(gw.wait_exit().success());
    let records = sink.records();
    assert_eq!(records.len(), 1, "{:?}\n{}", sink.posts(), gw.log());
    assert_eq!(records[0]["id"], id.as_str());
    let post = &sink.posts()[0];
    assert_eq!(post.headers["x-token"], "abc");
    assert_eq!(post.headers["x-other"], "1");
}

#[tokio::test]
async fn a_dead_or_hanging_sink_costs_requests_nothing() {
    let m = mock().await;
    let dead = refused_port();
    let hanging = Receiver::start(true).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.callbacks(&["dead", "hang"]))
        .callback_settings(
            "dead",
            json!({"callback_type": "generic_api", "endpoint": format!("http://{}/x", dead.1),
                   "batch_size": 1, "flush_interval": 0.1}),
        )
        .callback_settings(
            "hang",
            json!({"callback_type": "generic_api", "endpoint": hanging.url(),
                   "batch_size": 1, "max_queue_size": 2}),
        )
        .yaml();
    let gw = Gateway::start(&yaml);
    for _ in 0..12 {
        let (status, _) = chat(&gw, MASTER_KEY, "gpt").await;
        assert_eq!(status, 200);
    }
    // One record is stuck in the hanging POST and two wait in its queue: the rest dropped.
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    };
    let text = poll(
        "the dead sink's failures",
        Duration::from_secs(20),
        async || {
            let t = metrics_text(&gw).await;
            (value(&t, "switchyard_logging_failed_total{sink=\"dead\"}") >= 12.0).then_some(t)
        },
    )
    .await;
    let dropped = value(&text, "switchyard_logging_dropped_total{sink=\"hang\"}");
    assert!((9.0..=11.0).contains(&dropped), "dropped {dropped}\n{text}");
    assert_eq!(hanging.posts().len(), 1, "one POST, still unanswered");
    assert_eq!(
        value(&text, "switchyard_logging_dropped_total{sink=\"dead\"}"),
        0.0
    );
}

#[tokio::test]
async fn langfuse_gets_a_trace_and_a_generation_whose_usage_and_cost_match_the_spend_log() {
    let m = mock().await;
    let sink = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())
        .untyped_param("input_cost_per_token", 0.000_001)
        .untyped_param("output_cost_per_token", 0.000_002)])
    .litellm(|l| l.success_callback(&["langfuse"]))
    .yaml();
    let host = format!("http://{}", sink.addr);
    let gw = Gateway::start_env(
        &yaml,
        &[
            ("LANGFUSE_PUBLIC_KEY", "pk-lf-test"),
            ("LANGFUSE_SECRET_KEY", "sk-lf-test"),
            ("LANGFUSE_HOST", host.as_str()),
        ],
    );
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(MASTER_KEY)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .json(&chat_body("gpt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-litellm-call-id"]
        .to_str()
        .unwrap()
        .to_string();
    let cost: f64 = r.headers()["x-litellm-response-cost"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = poll("a Langfuse batch", Duration::from_secs(20), async || {
        sink.posts().first().cloned()
    })
    .await;
    // Basic base64("pk-lf-test:sk-lf-test").
    assert_eq!(
        body.headers["authorization"],
        "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0"
    );
    let events = body.body["batch"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", body.body);
    assert_eq!(events[0]["type"], "trace-create");
    assert_eq!(
        events[0]["body"]["id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the client's trace"
    );
    let generation = &events[1];
    assert_eq!(generation["type"], "generation-create");
    let g = &generation["body"];
    assert_eq!(g["id"], id.as_str());
    assert_eq!(g["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(g["model"], "upstream-gpt");
    assert_eq!(g["level"], "DEFAULT");
    let api = Api::new(&gw);
    // Spend rows are written in batches: poll until this one is.
    let row = poll("the spend row", Duration::from_secs(20), async || {
        let (status, rows) = api.get(&format!("/spend/logs?request_id={id}")).await;
        (status == 200)
            .then(|| rows.as_array()?.first().cloned())
            .flatten()
    })
    .await;
    assert_eq!(g["usage"]["input"], row["prompt_tokens"], "{row}");
    assert_eq!(g["usage"]["output"], row["completion_tokens"]);
    let logged = g["usage"]["totalCost"].as_f64().unwrap();
    assert!(
        logged > 0.0 && (logged - cost).abs() < 1e-12,
        "{logged} vs {cost}"
    );
    assert!(
        (logged - row["spend"].as_f64().unwrap()).abs() < 1e-12,
        "{row}"
    );
}

#[tokio::test]
async fn datadog_gets_one_log_entry_per_request_with_its_key() {
    let m = mock().await;
    let sink = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.failure_callback(&["datadog"]))
        .yaml();
    let base = format!("http://{}", sink.addr);
    let mut gw = Gateway::start_env(
        &yaml,
        &[
            ("DD_API_KEY", "dd-test-key"),
            ("DD_BASE_URL", base.as_str()),
            ("DD_SERVICE", "gateway"),
            ("DD_ENV", "ci"),
        ],
    );
    let (status, _) = chat(&gw, MASTER_KEY, "gpt").await;
    assert_eq!(status, 200);
    let (status, _) = chat(&gw, MASTER_KEY, "no-such-model").await;
    assert_eq!(status, 400);
    let gw = tokio::task::spawn_blocking(move || {
        gw.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(gw.wait_exit().success());
        gw
    })
    .await
    .unwrap();
    let posts = sink.posts();
    assert_eq!(posts.len(), 1, "{}", gw.log());
    assert_eq!(posts[0].headers["dd-api-key"], "dd-test-key");
    let entries = posts[0].body.as_array().unwrap();
    assert_eq!(entries.len(), 1, "failures only: {entries:?}");
    let e = &entries[0];
    assert_eq!(e["status"], "error");
    assert_eq!(e["service"], "gateway");
    assert_eq!(e["ddsource"], "litellm");
    assert!(e["ddtags"]
        .as_str()
        .unwrap()
        .starts_with("env:ci,service:gateway"));
    let message: Value = serde_json::from_str(e["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["status_code"], 400);
}

#[tokio::test]
async fn keys_and_teams_log_to_their_own_destinations_and_a_disabled_team_to_none() {
    let m = mock().await;
    let global = Receiver::start(false).await;
    let key_langfuse = Receiver::start(false).await;
    let team_hook = Receiver::start(false).await;
    let yaml = Config::with([openai("gpt", &m.base_url())])
        .litellm(|l| l.callbacks(&["hook"]))
        .callback_settings(
            "hook",
            json!({"callback_type": "generic_api", "endpoint": global.url(), "flush_interval": 0.1}),
        )
        .yaml();
    let gw = Gateway::start(&yaml);
    let api = Api::new(&gw);
    for t in ["t-off", "t-cb"] {
        api.post_ok("/team/new", &json!({"team_id": t})).await;
    }
    api.post_ok("/team/t-off/disable_logging", &json!({})).await;
    api.post_ok(
        "/team/t-cb/callback",
        &json!({"callback_name": "generic_api", "callback_type": "success",
                "callback_vars": {"generic_logger_endpoint": team_hook.url()}}),
    )
    .await;
    let read = api.get_ok("/team/t-cb/callback").await;
    assert_eq!(
        read["data"]["success_callbacks"],
        json!(["generic_api"]),
        "{read}"
    );
    let bad = api
        .post("/team/t-cb/callback", &json!({"callback_name": "lunary"}))
        .await;
    assert_eq!(bad.0, 400, "{}", bad.1);

    let gw = &gw;
    let key = |body: Value| async move {
        let k = Api::new(gw).post_ok("/key/generate", &body).await;
        k["key"].as_str().unwrap().to_string()
    };
    let off = key(json!({"team_id": "t-off"})).await;
    let own = key(
        json!({"metadata": {"logging": [{"callback_name": "langfuse",
        "callback_type": "success_and_failure", "callback_vars": {
            "langfuse_public_key": "pk-key", "langfuse_secret_key": "sk-key",
            "langfuse_host": format!("http://{}", key_langfuse.addr)}}]}}),
    )
    .await;
    let in_team = key(json!({"team_id": "t-cb"})).await;
    // A team's destinations (and their secrets) are the admins' to set.
    let (status, body) = Api::new(gw)
        .post_as(&in_team, "/team/t-cb/disable_logging", &json!({}))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, off_id) = chat(gw, &off, "gpt").await;
    assert_eq!(status, 200);
    let (status, own_id) = chat(gw, &own, "gpt").await;
    assert_eq!(status, 200);
    let (status, team_id) = chat(gw, &in_team, "gpt").await;
    assert_eq!(status, 200);

    // The key's Langfuse project got its request, with the key's own credentials.
    let post = poll(
        "the key's Langfuse batch",
        Duration::from_secs(20),
        async || key_langfuse.posts().first().cloned(),
    )
    .await;
    assert_eq!(post.headers["authorization"], "Basic cGsta2V5OnNrLWtleQ==");
    assert_eq!(post.body["batch"][1]["body"]["id"], own_id.as_str());
    // The team's hook got the team key's request only.
    let team_records = team_hook.await_records(1).await;
    let ids: Vec<&str> = team_records
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [team_id.as_str()]);
    // The gateway's own sink got both of those, and nothing of the disabled team's.
    let records = global.await_records(2).await;
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&own_id.as_str()) && ids.contains(&team_id.as_str()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&off_id.as_str()),
        "a disabled team's request was logged"
    );
    assert_eq!(key_langfuse.posts().len(), 1);
}
