//! Embeddings translated to and from Gemini, Ollama and Bedrock (Titan, Cohere), and a clear
//! 400 for a chat-only provider.

use bytes::Bytes;
use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Script};

use crate::common::config::{Config, Model};
use crate::common::{client, Gateway, MASTER_KEY};
use crate::{raw, start, ANTHROPIC, GEMINI, OLLAMA};

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_to_a_chat_only_provider_are_a_clear_400() {
    let (mock, gw) = start(&ANTHROPIC).await;
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("anthropic does not support /embeddings"));
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_embeddings_translate_both_ways() {
    let (mock, gw) = start(&GEMINI).await;
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}"#),
    ));
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": ["a", "b"], "dimensions": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(
        v["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [0.3, 0.4]})
    );
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.path_and_query,
        "/v1/models/gemini-2.5-flash:batchEmbedContents"
    );
    let body = sent.json().unwrap();
    assert_eq!(
        body["requests"][0],
        json!({"model": "models/gemini-2.5-flash", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 2})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ollama_embeddings_translate_both_ways() {
    let (mock, gw) = start(&OLLAMA).await;
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"model":"llama3.2","embeddings":[[0.1,0.2],[0.3,0.4]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#),
    ));
    let r = client()
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(MASTER_KEY)
        .json(&json!({"model": "m", "input": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["data"][1],
        json!({"object": "embedding", "index": 1, "embedding": [0.3, 0.4]})
    );
    assert_eq!(v["usage"]["prompt_tokens"], 8);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path_and_query, "/api/embed");
    assert_eq!(
        sent.json().unwrap(),
        json!({"model": "llama3.2", "input": ["a", "b"]})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bedrock_embeddings_titan_and_cohere() {
    let mock = MockUpstream::start(Script::named("aws")).await.unwrap();
    mock.set_recording(true);
    let bedrock = |name: &str, model: &str| {
        Model::new(name, model)
            .api_base(&mock.base_url())
            .aws("AKIDEXAMPLE", "secret", "us-east-1")
    };
    let yaml = Config::with([
        bedrock("titan", "bedrock/amazon.titan-embed-text-v2:0"),
        bedrock("cohere", "bedrock/cohere.embed-english-v3"),
    ])
    .yaml();
    let gw = Gateway::start(&yaml);
    let embed = |model: &'static str, input: Value| {
        let gw = &gw;
        async move {
            client()
                .post(gw.url("/v1/embeddings"))
                .bearer_auth(MASTER_KEY)
                .json(&json!({"model": model, "input": input, "dimensions": 256}))
                .send()
                .await
                .unwrap()
        }
    };
    mock.push(raw(
        200,
        "application/json",
        Bytes::from_static(br#"{"embedding":[0.5,0.25],"inputTextTokenCount":3}"#),
    ));
    let r = embed("titan", json!("hello")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["embedding"], json!([0.5, 0.25]));
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.path_and_query,
        "/v1/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert!(sent
        .header("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256"));
    assert_eq!(
        sent.json().unwrap(),
        json!({"inputText": "hello", "dimensions": 256})
    );
    // Titan takes one text a call: a batch is a clear 400, nothing sent.
    let before = mock.request_count();
    let r = embed("titan", json!(["a", "b"])).await;
    assert_eq!(r.status(), 400);
    assert_eq!(mock.request_count(), before);

    mock.push(raw(200, "application/json", Bytes::from_static(br#"{"id":"x","embeddings":[[0.1],[0.2]],"texts":["a","b"],"response_type":"embeddings_floats"}"#)));
    let v: Value = embed("cohere", json!(["a", "b"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][1]["embedding"], json!([0.2]));
    assert_eq!(
        mock.requests().last().unwrap().json().unwrap(),
        json!({"texts": ["a", "b"], "input_type": "search_document"})
    );
}
