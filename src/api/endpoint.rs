//! The route table: method and path to a typed endpoint, with and without the `/v1` prefix.

use crate::core::endpoint::Endpoint;
use crate::core::ids::ProviderKind;

/// What a request line resolved to.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    Found(Endpoint),
    MethodNotAllowed,
    NotFound,
}

/// The pass-through route prefixes (`/{provider}/*`) and the provider each one forwards to.
pub const PASS_THROUGH: &[(&str, ProviderKind)] = &[
    ("/openai/", ProviderKind::OpenAi),
    ("/anthropic/", ProviderKind::Anthropic),
    ("/gemini/", ProviderKind::Gemini),
    ("/azure/", ProviderKind::Azure),
    ("/bedrock/", ProviderKind::Bedrock),
    ("/vertex_ai/", ProviderKind::VertexAi),
];

/// Which pass-through route a path is, if any (the Azure-style model routes under
/// `/openai/deployments/` are served by the gateway itself, not passed through).
pub fn pass_through(path: &str) -> Option<ProviderKind> {
    if path.starts_with("/openai/deployments/") {
        return None;
    }
    PASS_THROUGH
        .iter()
        .find(|(p, _)| path.starts_with(p))
        .map(|(_, k)| *k)
}

/// Resolve a method and path (query already stripped).
pub fn route(method: &str, path: &str) -> Route {
    if let Some(kind) = pass_through(path) {
        return Route::Found(Endpoint::PassThrough(kind));
    }
    if is_management(path) {
        return Route::Found(Endpoint::Management);
    }
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let bare = path
        .strip_prefix("/v1")
        .filter(|p| p.starts_with('/'))
        .unwrap_or(path);
    let (endpoint, want_post) = match bare {
        "/chat/completions" => (Endpoint::ChatCompletions, true),
        "/completions" => (Endpoint::Completions, true),
        "/embeddings" => (Endpoint::Embeddings, true),
        "/messages" => (Endpoint::Messages, true),
        "/messages/count_tokens" => (Endpoint::CountTokens, true),
        "/responses" => (Endpoint::Responses, true),
        "/models" => (Endpoint::Models, false),
        "/health/liveliness" | "/health/liveness" => (Endpoint::Liveliness, false),
        "/health/readiness" => (Endpoint::Readiness, false),
        "/health/readiness/details" => (Endpoint::ReadinessDetails, false),
        "/metrics" => (Endpoint::Metrics, false),
        "/routes" => (Endpoint::Routes, false),
        "/health" => (Endpoint::Health, false),
        p if p.starts_with("/models/") && p.len() > "/models/".len() => (Endpoint::Model, false),
        // LiteLLM serves Azure-style deployment routes too.
        p if p.starts_with("/openai/deployments/") => match p.rsplit('/').next() {
            Some("completions") if p.ends_with("/chat/completions") => {
                (Endpoint::ChatCompletions, true)
            }
            Some("completions") => (Endpoint::Completions, true),
            Some("embeddings") => (Endpoint::Embeddings, true),
            _ => return Route::NotFound,
        },
        _ => return Route::NotFound,
    };
    let ok = if want_post {
        method == "POST"
    } else {
        method == "GET" || method == "HEAD"
    };
    if ok {
        Route::Found(endpoint)
    } else {
        Route::MethodNotAllowed
    }
}

/// The management routes: keys, teams, organizations, users, customers, budgets, spend,
/// model info and the audit log.
pub fn is_management(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/key/",
        "/team/",
        "/organization/",
        "/user/",
        "/customer/",
        "/end_user/",
        "/budget/",
        "/spend/",
        "/global/spend",
        "/audit/",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || matches!(
            path.trim_end_matches('/'),
            "/model/info"
                | "/v1/model/info"
                | "/model_group/info"
                | "/v1/model_group/info"
                | "/audit"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_and_without_v1() {
        for p in [
            "/v1/chat/completions",
            "/chat/completions",
            "/v1/chat/completions/",
        ] {
            assert_eq!(route("POST", p), Route::Found(Endpoint::ChatCompletions));
        }
        assert_eq!(route("GET", "/models"), Route::Found(Endpoint::Models));
        assert_eq!(
            route("GET", "/v1/models/gpt-4o"),
            Route::Found(Endpoint::Model)
        );
        assert_eq!(
            route("POST", "/openai/deployments/gpt-4o/chat/completions"),
            Route::Found(Endpoint::ChatCompletions)
        );
        assert_eq!(
            route("GET", "/v1/chat/completions"),
            Route::MethodNotAllowed
        );
        assert_eq!(route("GET", "/v2/nothing"), Route::NotFound);
        assert_eq!(route("GET", "/v1"), Route::NotFound);
    }
}
