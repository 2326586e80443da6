//! `GET /routes`: the routes this gateway serves, in LiteLLM's `{"routes": [...]}` shape.

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::{json, Value};

const POST: &[&str] = &["POST"];
const GET: &[&str] = &["GET"];
const PATCH: &[&str] = &["PATCH"];
const DELETE: &[&str] = &["DELETE"];
const GET_POST: &[&str] = &["GET", "POST"];
const ANY: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `(path, methods, handler name)`; each model route is also served under `/v1`.
const SERVED: &[(&str, &[&str], &str)] = &[
    ("/chat/completions", POST, "chat_completion"),
    ("/completions", POST, "completion"),
    ("/embeddings", POST, "embeddings"),
    ("/responses", POST, "responses_api"),
    ("/models", GET, "model_list"),
    ("/models/{model_id}", GET, "model_info"),
    (
        "/openai/deployments/{model}/chat/completions",
        POST,
        "chat_completion",
    ),
    (
        "/openai/deployments/{model}/completions",
        POST,
        "completion",
    ),
    ("/openai/deployments/{model}/embeddings", POST, "embeddings"),
    ("/v1/messages", POST, "anthropic_response"),
    ("/v1/messages/count_tokens", POST, "count_tokens"),
    ("/health", GET, "health_endpoint"),
    ("/health/liveliness", GET, "health_liveliness"),
    ("/health/liveness", GET, "health_liveliness"),
    ("/health/readiness", GET, "health_readiness"),
    ("/health/readiness/details", GET, "health_readiness_details"),
    ("/metrics", GET, "metrics"),
    ("/routes", GET, "get_routes"),
    ("/model/info", GET, "model_info_v1"),
    ("/v1/model/info", GET, "model_info_v1"),
    ("/model_group/info", GET, "model_group_info"),
    ("/key/generate", POST, "generate_key_fn"),
    ("/key/update", POST, "update_key_fn"),
    ("/key/delete", POST, "delete_key_fn"),
    ("/key/info", GET, "info_key_fn"),
    ("/key/list", GET, "list_keys"),
    ("/key/block", POST, "block_key"),
    ("/key/unblock", POST, "unblock_key"),
    ("/key/regenerate", POST, "regenerate_key_fn"),
    ("/key/{key}/regenerate", POST, "regenerate_key_fn"),
    ("/team/new", POST, "new_team"),
    ("/team/update", POST, "update_team"),
    ("/team/delete", POST, "delete_team"),
    ("/team/info", GET, "team_info"),
    ("/team/list", GET, "list_team"),
    ("/team/member_add", POST, "team_member_add"),
    ("/team/member_update", POST, "team_member_update"),
    ("/team/member_delete", POST, "team_member_delete"),
    ("/team/block", POST, "block_team"),
    ("/team/unblock", POST, "unblock_team"),
    ("/organization/new", POST, "new_organization"),
    ("/organization/update", PATCH, "update_organization"),
    ("/organization/delete", DELETE, "delete_organization"),
    ("/organization/info", GET_POST, "info_organization"),
    ("/organization/list", GET, "list_organization"),
    ("/organization/member_add", POST, "organization_member_add"),
    (
        "/organization/member_update",
        PATCH,
        "organization_member_update",
    ),
    (
        "/organization/member_delete",
        DELETE,
        "organization_member_delete",
    ),
    ("/user/new", POST, "new_user"),
    ("/user/update", POST, "user_update"),
    ("/user/delete", POST, "delete_user"),
    ("/user/info", GET, "user_info"),
    ("/user/list", GET, "get_users"),
    ("/customer/new", POST, "new_end_user"),
    ("/customer/update", POST, "update_end_user"),
    ("/customer/delete", POST, "delete_end_user"),
    ("/customer/info", GET, "end_user_info"),
    ("/customer/list", GET, "list_end_user"),
    ("/customer/block", POST, "block_user"),
    ("/customer/unblock", POST, "unblock_user"),
    ("/budget/new", POST, "new_budget"),
    ("/budget/update", POST, "update_budget"),
    ("/budget/info", POST, "info_budget"),
    ("/budget/list", GET, "list_budget"),
    ("/budget/delete", POST, "delete_budget"),
    ("/spend/logs", GET, "view_spend_logs"),
    ("/global/spend", GET, "global_spend"),
    ("/global/spend/keys", GET, "global_spend_keys"),
    ("/global/spend/teams", GET, "global_spend_per_team"),
    ("/global/spend/models", GET, "global_spend_models"),
    ("/global/spend/end_users", GET, "global_spend_end_users"),
];

/// The model routes also answered with a `/v1` prefix.
const V1_TOO: &[&str] = &[
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/responses",
    "/models",
    "/models/{model_id}",
];

/// The `GET /routes` body, rendered once: `{"routes": [{path, methods, name, endpoint}]}`.
pub(crate) fn body() -> Bytes {
    static BODY: LazyLock<Bytes> = LazyLock::new(|| {
        let entry = |path: String, methods: &[&str], name: &str| json!({"path": path, "methods": methods, "name": name, "endpoint": name});
        let mut routes: Vec<Value> = Vec::new();
        for (path, methods, name) in SERVED {
            if V1_TOO.contains(path) {
                routes.push(entry(format!("/v1{path}"), methods, name));
            }
            routes.push(entry((*path).to_string(), methods, name));
        }
        for (prefix, _) in crate::api::endpoint::PASS_THROUGH {
            let path = format!("{prefix}{{endpoint:path}}");
            routes.push(entry(path, ANY, "pass_through_endpoint"));
        }
        Bytes::from(json!({ "routes": routes }).to_string())
    });
    BODY.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::endpoint::{is_management, route, Route};

    /// Every listed path (placeholders filled in) is one the gateway routes.
    #[test]
    fn every_listed_route_is_served() {
        let v: Value = serde_json::from_slice(&body()).unwrap();
        let routes = v["routes"].as_array().unwrap();
        assert!(routes.len() > SERVED.len());
        for r in routes {
            let path = r["path"]
                .as_str()
                .unwrap()
                .replace("{model_id}", "m")
                .replace("{model}", "m")
                .replace("{key}", "k")
                .replace("{endpoint:path}", "x");
            let method = r["methods"][0].as_str().unwrap();
            let served = is_management(&path) || matches!(route(method, &path), Route::Found(_));
            assert!(served, "{path} {method}");
        }
    }
}
