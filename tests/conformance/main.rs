//! The provider conformance matrix: for every provider module, the same cases (text,
//! stream, parallel tools, streamed tool arguments, JSON mode, vision, usage, finish reasons,
//! error statuses, an error inside a 200 stream) through the real gateway, against an
//! in-process upstream replaying recorded provider payloads (`tests/fixtures/<provider>/`).
//! Covered: the translating providers Anthropic, Gemini, Vertex AI (express mode, Gemini's
//! payloads), Ollama (`ollama_chat`) and Bedrock (Converse), and the OpenAI-shaped ones whose
//! bodies are spliced through: OpenAI, Azure OpenAI and an OpenAI-compatible preset (Groq),
//! sharing `tests/fixtures/openai/conformance/`.
//! The README's provider table is backed by these cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly"
)]

#[path = "../common/mod.rs"]
mod common;
mod embeddings;
mod failover;
mod matrix;
mod requests;

use bytes::Bytes;
use common::config::{Config, Model};
use common::{sse_payloads, Gateway};
use serde_json::{json, Value};
use switchyard_mock::{Behavior, MockUpstream, Recorded, Script};

/// One provider under test: how a deployment points at the mock and what it must send.
struct Case {
    provider: &'static str,
    /// Folder under `tests/fixtures/` with the recorded payloads.
    fixtures: &'static str,
    /// The deployment `m`, given the mock's bare `http://host:port` (its base URL is that
    /// plus `/v1`).
    params: fn(origin: &str) -> Model,
    json_type: &'static str,
    stream_type: &'static str,
    /// Checks the recorded upstream request for a plain chat call.
    check_request: fn(&Recorded, stream: bool),
    /// The extension of the recorded streams (`sse`, `ndjson`).
    stream_ext: &'static str,
    /// Where in `stream_error.*` the error begins.
    error_marker: &'static [u8],
    /// The provider speaks OpenAI's wire format, so the gateway splices the client's body
    /// through (a data-URL image reaches it unchanged) instead of translating it.
    spliced: bool,
}

impl Case {
    fn error_at(&self, body: &[u8]) -> usize {
        body.windows(self.error_marker.len())
            .position(|w| w == self.error_marker)
            .unwrap_or_else(|| panic!("{}: no error marker in stream_error.sse", self.provider))
    }
}

const GEMINI: Case = Case {
    provider: "gemini",
    fixtures: "gemini/conformance",
    params: |origin| {
        Model::new("m", "gemini/gemini-2.5-flash")
            .api_base(&format!("{origin}/v1"))
            .api_key("AIza-test")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        let want = if stream {
            "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        } else {
            "/v1/models/gemini-2.5-flash:generateContent"
        };
        assert_eq!(r.path_and_query, want);
        assert_eq!(r.header("x-goog-api-key"), Some("AIza-test"));
        assert!(r.header("authorization").is_none());
        let body = r.json().unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(body["contents"][0]["role"], "user");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
    },
    error_marker: b"data: {\"error\"",
    spliced: false,
};

const OLLAMA: Case = Case {
    provider: "ollama_chat",
    fixtures: "ollama/conformance",
    params: |origin| Model::new("m", "ollama_chat/llama3.2").api_base(&format!("{origin}/v1")),
    json_type: "application/json",
    stream_type: "application/x-ndjson",
    stream_ext: "ndjson",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/api/chat");
        let body = r.json().unwrap();
        assert_eq!(body["model"], "llama3.2");
        assert_eq!(body["stream"], stream, "stream is always explicit");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
    },
    error_marker: b"{\"error\"",
    spliced: false,
};

const BEDROCK: Case = Case {
    provider: "bedrock",
    fixtures: "bedrock/conformance",
    params: |origin| {
        Model::new("m", "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0")
            .api_base(&format!("{origin}/v1"))
            .aws(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "us-east-1",
            )
            .untyped_param("aws_session_token", "session-token-example")
    },
    json_type: "application/json",
    stream_type: "application/vnd.amazon.eventstream",
    stream_ext: "eventstream",
    check_request: |r, stream| {
        let route = if stream {
            "converse-stream"
        } else {
            "converse"
        };
        assert_eq!(
            r.path_and_query,
            format!("/v1/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/{route}")
        );
        let auth = r.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"),
            "{auth}"
        );
        assert_eq!(
            r.header("x-amz-security-token"),
            Some("session-token-example")
        );
        assert_eq!(r.header("x-amz-date").unwrap().len(), 16);
        let body = r.json().unwrap();
        assert_eq!(body["system"][0]["text"], "be brief");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["messages"][0]["content"][0]["text"], "hi");
    },
    error_marker: b":exception-type",
    spliced: false,
};

fn fixture(provider: &str, name: &str) -> Bytes {
    let path = format!(
        "{}/tests/fixtures/{provider}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn raw(status: u16, content_type: &str, body: Bytes) -> Behavior {
    Behavior::Raw {
        status,
        content_type: content_type.to_string(),
        body,
    }
}

const ANTHROPIC: Case = Case {
    provider: "anthropic",
    fixtures: "anthropic",
    params: |origin| {
        Model::new("m", "anthropic/claude-sonnet-4-5")
            .api_base(&format!("{origin}/v1"))
            .api_key("sk-ant-test")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/v1/messages");
        assert_eq!(r.header("x-api-key"), Some("sk-ant-test"));
        assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
        assert!(r.header("authorization").is_none());
        let body = r.json().unwrap();
        assert_eq!(body["model"], "claude-sonnet-4-5");
        assert_eq!(body["system"][0]["text"], "be brief");
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["max_tokens"], 4096);
        assert_eq!(body.get("stream").is_some(), stream);
    },
    error_marker: b"event: error",
    spliced: false,
};

/// The body every OpenAI-shaped provider must receive for a plain chat call: the client's
/// messages as they came (the system message stays a message), the deployment's model.
fn check_openai_body(r: &Recorded, stream: bool, model: &str) {
    let body = r.json().unwrap();
    assert_eq!(body["model"], model);
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    );
    assert_eq!(body["stream"], stream);
    if stream {
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}

const OPENAI: Case = Case {
    provider: "openai",
    fixtures: "openai/conformance",
    params: |origin| {
        Model::new("m", "openai/gpt-4o-mini")
            .api_base(&format!("{origin}/v1"))
            .api_key("sk-test")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/v1/chat/completions");
        assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
        assert!(r.header("api-key").is_none());
        check_openai_body(r, stream, "gpt-4o-mini");
    },
    error_marker: b"data: {\"error\"",
    spliced: true,
};

const AZURE: Case = Case {
    provider: "azure",
    fixtures: "openai/conformance",
    params: |origin| {
        Model::new("m", "azure/my-deployment")
            .api_base(origin)
            .api_key("az-test")
            .api_version("2024-10-21")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        assert_eq!(
            r.path_and_query,
            "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(r.header("api-key"), Some("az-test"));
        assert!(r.header("authorization").is_none());
        // Azure takes the model from the URL; the body names the deployment all the same.
        check_openai_body(r, stream, "my-deployment");
    },
    error_marker: b"data: {\"error\"",
    spliced: true,
};

/// An OpenAI-compatible preset: Groq's base URL already ends in `/openai/v1`.
const GROQ: Case = Case {
    provider: "groq",
    fixtures: "openai/conformance",
    params: |origin| {
        Model::new("m", "groq/llama-3.1-8b-instant")
            .api_base(&format!("{origin}/openai/v1"))
            .api_key("gsk-test")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        assert_eq!(r.path_and_query, "/openai/v1/chat/completions");
        assert_eq!(r.header("authorization"), Some("Bearer gsk-test"));
        check_openai_body(r, stream, "llama-3.1-8b-instant");
    },
    error_marker: b"data: {\"error\"",
    spliced: true,
};

/// Vertex AI in express mode (an `api_key`, no service account): Gemini's wire format under
/// the project/location resource path.
const VERTEX: Case = Case {
    provider: "vertex_ai",
    fixtures: "gemini/conformance",
    params: |origin| {
        Model::new("m", "vertex_ai/gemini-2.5-flash")
            .api_base(&format!("{origin}/v1"))
            .api_key("AQ-vertex-test")
            .untyped_param("vertex_project", "my-proj")
            .untyped_param("vertex_location", "europe-west4")
    },
    json_type: "application/json",
    stream_type: "text/event-stream",
    stream_ext: "sse",
    check_request: |r, stream| {
        let model =
            "/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash";
        let want = if stream {
            format!("{model}:streamGenerateContent?alt=sse")
        } else {
            format!("{model}:generateContent")
        };
        assert_eq!(r.path_and_query, want);
        assert_eq!(r.header("x-goog-api-key"), Some("AQ-vertex-test"));
        assert!(r.header("authorization").is_none());
        let body = r.json().unwrap();
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        assert_eq!(body["contents"][0]["role"], "user");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi");
    },
    error_marker: b"data: {\"error\"",
    spliced: false,
};

async fn start(case: &Case) -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start(Script::named(case.provider))
        .await
        .unwrap();
    mock.set_recording(true);
    let base = mock.base_url();
    let origin = base.strip_suffix("/v1").unwrap();
    let deployment = (case.params)(origin).id(&format!("dep-{}", case.provider));
    let yaml = Config::with([deployment])
        .router(|r| r.num_retries(0))
        .yaml();
    (mock, Gateway::start(&yaml))
}

fn chat(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]})
}

fn tools_body(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "weather and time?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]})
}

/// Every payload of a stream as JSON (without `[DONE]`), and whether `[DONE]` came.
async fn chunks(resp: reqwest::Response) -> (Vec<Value>, bool) {
    let (payloads, _) = sse_payloads(resp).await;
    let done = payloads.last().is_some_and(|p| p == "[DONE]");
    let json = payloads
        .iter()
        .filter(|p| *p != "[DONE]")
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    (json, done)
}

fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}
