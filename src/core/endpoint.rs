//! The endpoints the gateway serves, as one typed value every layer can name (the route table
//! that finds them from a request line is `api::endpoint::route`).

use super::ids::ProviderKind;

/// Every route the gateway serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions,
    Completions,
    Embeddings,
    /// `POST /v1/messages`: Anthropic's Messages API, routed like chat.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1/responses`: OpenAI's Responses API, bridged to chat.
    Responses,
    /// `/{provider}/*`: forwarded to the provider as it is (any method).
    PassThrough(ProviderKind),
    Models,
    /// `GET /v1/models/{id}`: the id is read from the path again when answering.
    Model,
    /// `GET /health`: probes every deployment (master key).
    Health,
    Liveliness,
    Readiness,
    /// `GET /health/readiness/details`: readiness for any valid key, as LiteLLM answers it.
    ReadinessDetails,
    Metrics,
    /// `GET /routes`: the served routes (public, as LiteLLM's).
    Routes,
    /// LiteLLM's management API (`/key/*`, `/team/*`, `/spend/*`, …), any method.
    Management,
}

impl Endpoint {
    /// Whether this endpoint carries a model request body.
    pub fn is_model_call(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions
                | Endpoint::Completions
                | Endpoint::Embeddings
                | Endpoint::Messages
                | Endpoint::CountTokens
                | Endpoint::Responses
        )
    }

    /// Routes that answer without a key unless the config says otherwise (`/routes` is one of
    /// LiteLLM's public routes: the list of what this gateway serves, nothing of its config).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Endpoint::Liveliness | Endpoint::Readiness | Endpoint::Metrics | Endpoint::Routes
        )
    }

    /// A bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/chat/completions",
            Endpoint::Completions => "/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::Responses => "/v1/responses",
            Endpoint::PassThrough(_) => "/{provider}/*",
            Endpoint::Models => "/models",
            Endpoint::Model => "/models/{id}",
            Endpoint::Liveliness => "/health/liveliness",
            Endpoint::Readiness => "/health/readiness",
            Endpoint::ReadinessDetails => "/health/readiness/details",
            Endpoint::Metrics => "/metrics",
            Endpoint::Routes => "/routes",
            Endpoint::Management => "/management",
            Endpoint::Health => "/health",
        }
    }
}
