//! The `async-openai` crate against the gateway: what a Rust application sees.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::types::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
    CreateCompletionRequestArgs, CreateEmbeddingRequestArgs,
};
use async_openai::Client;
use common::config::{Config, Model};
use common::{Gateway, MASTER_KEY};
use futures::StreamExt;
use switchyard_mock::{stream_text, MockUpstream, Script};

async fn setup() -> (MockUpstream, Gateway, Client<OpenAIConfig>) {
    let up = MockUpstream::start(Script::named("up")).await.unwrap();
    let m = |name: &str| {
        Model::new(name, &format!("openai/{name}-upstream"))
            .api_base(&up.base_url())
            .api_key("k")
    };
    let gw = Gateway::start(&Config::with([m("chat"), m("embed")]).yaml());
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(gw.url("/v1"))
            .with_api_key(MASTER_KEY),
    );
    (up, gw, client)
}

fn chat(stream: bool) -> async_openai::types::CreateChatCompletionRequest {
    let msg = ChatCompletionRequestUserMessageArgs::default()
        .content("hi")
        .build()
        .unwrap();
    CreateChatCompletionRequestArgs::default()
        .model("chat")
        .messages([msg.into()])
        .stream(stream)
        .build()
        .unwrap()
}

#[tokio::test]
async fn chat_stream_embeddings_completions_models() {
    let (up, _gw, client) = setup().await;

    let r = client.chat().create(chat(false)).await.unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("Hello from up")
    );
    assert!(r.usage.unwrap().total_tokens > 0);
    assert_eq!(up.requests()[0].json().unwrap()["model"], "chat-upstream");

    let mut s = client.chat().create_stream(chat(true)).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        if let Some(c) = chunk.choices.first().and_then(|c| c.delta.content.clone()) {
            text.push_str(&c);
        }
    }
    assert_eq!(text, stream_text("up", Script::named("up").chunks));

    let e = client
        .embeddings()
        .create(
            CreateEmbeddingRequestArgs::default()
                .model("embed")
                .input(["a", "b"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(e.data.len(), 2);
    assert_eq!(e.data[0].embedding.len(), 8);

    let c = client
        .completions()
        .create(
            CreateCompletionRequestArgs::default()
                .model("chat")
                .prompt("hi")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(!c.choices[0].text.is_empty());

    let models = client.models().list().await.unwrap();
    let ids: Vec<_> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["chat", "embed"]);
}

#[tokio::test]
async fn errors_surface_as_api_errors() {
    let (_up, gw, _client) = setup().await;
    let wrong = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(gw.url("/v1"))
            .with_api_key("sk-wrong"),
    );
    match wrong.chat().create(chat(false)).await {
        Err(async_openai::error::OpenAIError::ApiError(e)) => {
            assert_eq!(e.r#type.as_deref(), Some("auth_error"))
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let right = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(gw.url("/v1"))
            .with_api_key(MASTER_KEY),
    );
    let mut req = chat(false);
    req.model = "no-such-model".into();
    match right.chat().create(req).await {
        Err(async_openai::error::OpenAIError::ApiError(e)) => {
            assert!(e.message.contains("/v1/models"), "{}", e.message)
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}
