//! One error type for everything the client can see, mapped once to status and OpenAI JSON.

use bytes::Bytes;
use serde::Serialize;

/// The OpenAI `error.type` values Switchyard emits (LiteLLM's names where it has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Auth,
    PermissionDenied,
    NotFound,
    RateLimit,
    Timeout,
    ApiError,
    ServiceUnavailable,
    NotImplemented,
    /// LiteLLM's `budget_exceeded` (400).
    BudgetExceeded,
    /// LiteLLM's `key_model_access_denied` (403).
    KeyModelAccessDenied,
    /// LiteLLM's `team_model_access_denied` (403): the key's team may not call the model.
    TeamModelAccessDenied,
    /// LiteLLM's `org_model_access_denied` (403): the team's organization may not call it.
    OrgModelAccessDenied,
    /// LiteLLM's `user_model_access_denied` (403): a personal key's user may not call it.
    UserModelAccessDenied,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Auth => "auth_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ApiError => "api_error",
            ErrorKind::ServiceUnavailable => "service_unavailable",
            ErrorKind::NotImplemented => "not_implemented_error",
            ErrorKind::BudgetExceeded => "budget_exceeded",
            ErrorKind::KeyModelAccessDenied => "key_model_access_denied",
            ErrorKind::TeamModelAccessDenied => "team_model_access_denied",
            ErrorKind::OrgModelAccessDenied => "org_model_access_denied",
            ErrorKind::UserModelAccessDenied => "user_model_access_denied",
        }
    }
}

/// A client-visible error: HTTP status plus the four OpenAI error fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<String>,
    /// Extra response headers (`retry-after`, `x-ratelimit-*`).
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: u16, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            param: None,
            code: Some(status.to_string()),
            headers: Vec::new(),
        }
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, ErrorKind::InvalidRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(401, ErrorKind::Auth, message)
    }

    pub fn not_found_route(method: &str, path: &str) -> Self {
        ApiError::new(
            404,
            ErrorKind::NotFound,
            format!("Route {method} {path} not found"),
        )
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        ApiError::new(408, ErrorKind::Timeout, message)
    }

    /// The JSON body `{"error":{"message","type","param","code"}}`.
    pub fn body(&self) -> Bytes {
        let body = Body {
            error: Inner {
                message: &self.message,
                kind: self.kind.as_str(),
                param: self.param.as_deref(),
                code: self.code.as_deref(),
            },
        };
        // Serializing plain strings into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// The same error as one SSE event, for failures after a stream was committed.
    pub fn sse_event(&self) -> Bytes {
        let body = self.body();
        let mut out = Vec::with_capacity(body.len() + 8);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\n\n");
        Bytes::from(out)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            self.kind.as_str(),
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_openai_shape() {
        let e = ApiError::bad_request("missing messages").with_param("messages");
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["error"]["message"], "missing messages");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "messages");
        assert_eq!(v["error"]["code"], "400");
    }
}
