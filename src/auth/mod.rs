//! Who is calling: the master key (constant-time) or a virtual key (looked up by its
//! SHA-256 in the in-memory key table), from any header LiteLLM accepts.

use std::sync::Arc;

use pingora_http::RequestHeader;

use crate::core::error::ApiError;
use crate::core::secret::MasterKey;
use crate::governance::tables::{hash_key, KeyView};
use crate::governance::Governance;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub enum Principal {
    /// Presented the master key.
    Master,
    /// No master key is configured: every caller is let in (LiteLLM's behaviour).
    Open,
    /// A virtual key from `/key/generate`, neither blocked nor expired.
    Key(Arc<KeyView>),
}

impl Principal {
    /// The virtual key, when the caller presented one.
    pub fn key(&self) -> Option<Arc<KeyView>> {
        match self {
            Principal::Key(k) => Some(k.clone()),
            _ => None,
        }
    }

    /// The master key, or a virtual key with the `proxy_admin` role.
    pub fn is_admin(&self) -> bool {
        match self {
            Principal::Master | Principal::Open => true,
            Principal::Key(k) => k.user_role.as_deref() == Some("proxy_admin"),
        }
    }
}

impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Principal::Master, Principal::Master) | (Principal::Open, Principal::Open) => true,
            (Principal::Key(a), Principal::Key(b)) => a.hash == b.hash,
            _ => false,
        }
    }
}

/// The presented key, in LiteLLM's header precedence.
fn presented(req: &RequestHeader) -> Result<Option<&[u8]>, ApiError> {
    let h = &req.headers;
    if let Some(v) = h.get("x-litellm-api-key") {
        let v = v.as_bytes();
        return Ok(Some(strip_bearer(v).unwrap_or(v)));
    }
    if let Some(v) = h.get(http::header::AUTHORIZATION) {
        return match strip_bearer(v.as_bytes()) {
            Some(k) => Ok(Some(k)),
            None => Err(ApiError::unauthorized(
                "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.",
            )),
        };
    }
    for name in [
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    ] {
        if let Some(v) = h.get(name) {
            return Ok(Some(v.as_bytes()));
        }
    }
    Ok(None)
}

fn strip_bearer(v: &[u8]) -> Option<&[u8]> {
    v.strip_prefix(b"Bearer ")
        .or_else(|| v.strip_prefix(b"bearer "))
        .map(<[u8]>::trim_ascii)
}

/// Authenticate a request against the master key and, with governance, the virtual keys.
pub fn authenticate(
    master_key: Option<&MasterKey>,
    gov: Option<&Governance>,
    req: &RequestHeader,
) -> Result<Principal, ApiError> {
    let Some(master) = master_key else {
        return Ok(Principal::Open);
    };
    match presented(req)? {
        None => Err(ApiError::unauthorized(
            "Authentication Error, No api key passed in.",
        )),
        Some([]) => Err(ApiError::unauthorized(
            "Authentication Error, No api key passed in.",
        )),
        Some(k) if master.matches(k) => Ok(Principal::Master),
        Some(k) => {
            let invalid = || {
                ApiError::unauthorized("Authentication Error, Invalid proxy server token passed.")
            };
            let gov = gov.ok_or_else(invalid)?;
            let key = gov.tables().keys.get(&hash_key(k)).cloned();
            let key = key.ok_or_else(invalid)?;
            crate::governance::admission::check_key(&key, gov.now_secs())?;
            Ok(Principal::Key(key))
        }
    }
}

/// Whether a virtual key may call this route: its `allowed_routes` (paths, `prefix*`, or
/// LiteLLM's groups `llm_api_routes`, `openai_routes`, `management_routes`, `info_routes`),
/// else what its `key_type` allows. With neither, a key may call every model route and the
/// management routes that check the caller themselves.
pub fn route_allowed(key: &KeyView, path: &str, model_route: bool, management: bool) -> bool {
    let info = management && path.contains("/info");
    let one = |r: &str| match r {
        "llm_api_routes" | "openai_routes" => model_route,
        "management_routes" => management,
        "info_routes" => info || path.ends_with("/models"),
        "/*" | "*" => true,
        r => match r.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => r == path || path.strip_prefix("/v1").is_some_and(|p| p == r),
        },
    };
    if !key.doc.allowed_routes.is_empty() {
        return key.doc.allowed_routes.iter().any(|r| one(r));
    }
    match key.doc.key_type.as_deref() {
        Some("llm_api") => model_route,
        Some("management") => management,
        Some("read_only") => info,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, BuildOptions};

    fn req(headers: &[(&str, &str)]) -> RequestHeader {
        let mut r = RequestHeader::build("POST", b"/v1/chat/completions", None).unwrap();
        for (k, v) in headers {
            r.insert_header(k.to_string(), *v).unwrap();
        }
        r
    }

    #[test]
    fn every_header_and_error() {
        let rt = load_str(
            "general_settings:\n  master_key: sk-very-secret-key\n",
            &BuildOptions::default(),
        )
        .unwrap();
        for h in ["authorization", "x-litellm-api-key", "api-key", "x-api-key"] {
            let v = if h == "authorization" {
                "Bearer sk-very-secret-key"
            } else {
                "sk-very-secret-key"
            };
            assert_eq!(
                authenticate(rt.master_key.as_ref(), None, &req(&[(h, v)])),
                Ok(Principal::Master),
                "{h}"
            );
        }
        let e = authenticate(rt.master_key.as_ref(), None, &req(&[])).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (401, "Authentication Error, No api key passed in.")
        );
        let e = authenticate(
            rt.master_key.as_ref(),
            None,
            &req(&[("authorization", "Bearer sk-wrong")]),
        )
        .unwrap_err();
        assert_eq!(e.kind.as_str(), "auth_error");
        let e = authenticate(
            rt.master_key.as_ref(),
            None,
            &req(&[("authorization", "sk-very-secret-key")]),
        )
        .unwrap_err();
        assert!(e.message.contains("Malformed"));
        let open = load_str("", &BuildOptions::default()).unwrap();
        assert_eq!(
            authenticate(open.master_key.as_ref(), None, &req(&[])),
            Ok(Principal::Open)
        );
    }
}
