//! Who is calling: the master key (constant-time) from any header LiteLLM accepts.

use pingora_http::RequestHeader;

use crate::api::ApiError;
use crate::config::Runtime;

/// The authenticated caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Presented the master key.
    Master,
    /// No master key is configured: every caller is let in (LiteLLM's behaviour).
    Open,
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

/// Authenticate a request against the runtime's keys.
pub fn authenticate(rt: &Runtime, req: &RequestHeader) -> Result<Principal, ApiError> {
    let Some(master) = &rt.master_key else {
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
        Some(_) => Err(ApiError::unauthorized(
            "Authentication Error, Invalid proxy server token passed.",
        )),
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
                authenticate(&rt, &req(&[(h, v)])),
                Ok(Principal::Master),
                "{h}"
            );
        }
        let e = authenticate(&rt, &req(&[])).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (401, "Authentication Error, No api key passed in.")
        );
        let e = authenticate(&rt, &req(&[("authorization", "Bearer sk-wrong")])).unwrap_err();
        assert_eq!(e.kind.as_str(), "auth_error");
        let e = authenticate(&rt, &req(&[("authorization", "sk-very-secret-key")])).unwrap_err();
        assert!(e.message.contains("Malformed"));
        let open = load_str("", &BuildOptions::default()).unwrap();
        assert_eq!(authenticate(&open, &req(&[])), Ok(Principal::Open));
    }
}
