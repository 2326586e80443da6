//! Service-account OAuth for Google APIs: an RS256-signed JWT assertion exchanged at the
//! account's `token_uri` for an access token, cached until five minutes before it expires.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::{Bytes, BytesMut};
use http::header::HeaderValue;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use pingora_core::connectors::http::Connector;
use pingora_core::protocols::http::client::HttpSession;
use pingora_http::RequestHeader;
use serde::Deserialize;

use crate::core::clock::unix_now;
use crate::core::error::{ApiError, ErrorKind};

/// The OAuth scope Vertex AI needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Where tokens come from when the service account does not say.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime asked for in the assertion (Google's maximum).
const ASSERTION_LIFETIME: u64 = 3600;
/// A token with less than this left is refreshed.
pub const REFRESH_MARGIN: u64 = 300;
/// The lifetime assumed when the token response has no `expires_in`.
const DEFAULT_EXPIRES_IN: u64 = 3600;
/// Largest token response read.
const RESPONSE_LIMIT: usize = 64 * 1024;
/// How long one token request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, form-encoded.
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// The fields of a service-account key file this module uses.
#[derive(Deserialize)]
pub struct ServiceAccount {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl ServiceAccount {
    /// Parse a key file's JSON; the message says what is wrong (never the key itself).
    pub fn parse(json: &str) -> Result<ServiceAccount, String> {
        let sa: ServiceAccount = serde_json::from_str(json)
            .map_err(|e| format!("not a service-account key file: {e}"))?;
        match sa.kind.as_deref() {
            None | Some("service_account") => Ok(sa),
            Some(other) => Err(format!(
                "credentials of type \"{other}\" are not supported (a \"service_account\" key file is)"
            )),
        }
    }
}

/// An access token and when it expires (Unix seconds).
pub struct Token {
    /// `Bearer <access_token>`, marked sensitive.
    pub header: HeaderValue,
    pub expires_at: u64,
}

/// How usable a cached token is at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// More than [`REFRESH_MARGIN`] left: use it.
    Fresh,
    /// Still valid, but due for a refresh.
    Stale,
    Expired,
}

impl Token {
    pub fn freshness(&self, now: u64) -> Freshness {
        if now >= self.expires_at {
            Freshness::Expired
        } else if self.expires_at - now < REFRESH_MARGIN {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }
}

/// Where the token endpoint is, parsed once.
struct Endpoint {
    host: String,
    port: u16,
    tls: bool,
    /// The `Host` header value (with a non-default port).
    authority: String,
    path: String,
}

/// A service account's credentials and its cached access token.
pub struct GoogleAuth {
    client_email: String,
    key: PKey<Private>,
    /// The assertion's `aud` and where it is posted.
    token_uri: String,
    endpoint: Endpoint,
    token: ArcSwapOption<Token>,
    /// Single-flights refreshes. It is taken only when the cached token is stale or missing,
    /// and is the one lock held across an `.await` (the token request): tasks that still
    /// have a valid token never wait on it, and tasks that have none wait for the one
    /// request in flight instead of each sending their own.
    refresh: tokio::sync::Mutex<()>,
}

impl GoogleAuth {
    /// From a parsed key file: the private key and the token URI are checked here.
    pub fn new(sa: &ServiceAccount) -> Result<GoogleAuth, String> {
        let key = PKey::private_key_from_pem(sa.private_key.as_bytes())
            .map_err(|_| "private_key is not a PEM private key".to_string())?;
        let token_uri = sa
            .token_uri
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string());
        let uri: http::Uri = token_uri
            .trim()
            .parse()
            .map_err(|e| format!("token_uri \"{token_uri}\" is not a URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("token_uri \"{token_uri}\" must be http(s)")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("token_uri \"{token_uri}\" has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = match uri.port_u16() {
            Some(p) => format!("{}:{p}", uri.host().unwrap_or_default()),
            None => host.clone(),
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        Ok(GoogleAuth {
            client_email: sa.client_email.clone(),
            key,
            token_uri,
            endpoint: Endpoint {
                host,
                port,
                tls,
                authority,
                path,
            },
            token: ArcSwapOption::const_empty(),
            refresh: tokio::sync::Mutex::new(()),
        })
    }

    /// The signed JWT assertion (`header.claims.signature`, base64url without padding).
    pub fn assertion(&self, iat: u64) -> Result<String, ApiError> {
        let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME,
        });
        let mut jwt = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        let signature = Signer::new(MessageDigest::sha256(), &self.key)
            .and_then(|mut s| s.sign_oneshot_to_vec(jwt.as_bytes()))
            .map_err(|e| token_error(502, format!("cannot sign the JWT assertion: {e}")))?;
        jwt.push('.');
        jwt.push_str(&b64url(&signature));
        Ok(jwt)
    }

    /// `Bearer <token>` for a request: the cached token, or a new one from the token URI.
    pub async fn bearer(&self, connector: &Connector) -> Result<HeaderValue, ApiError> {
        self.bearer_with(unix_now, || async {
            match tokio::time::timeout(FETCH_TIMEOUT, self.fetch(connector)).await {
                Ok(r) => r,
                Err(_) => Err(token_error(
                    502,
                    format!("token request timed out after {}s", FETCH_TIMEOUT.as_secs()),
                )),
            }
        })
        .await
    }

    /// [`GoogleAuth::bearer`] with the clock and the token request supplied (tests fake both).
    pub async fn bearer_with<F, Fut>(
        &self,
        now: impl Fn() -> u64,
        fetch: F,
    ) -> Result<HeaderValue, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, ApiError>>,
    {
        let usable = match self.token.load_full() {
            Some(t) => match t.freshness(now()) {
                Freshness::Fresh => return Ok(t.header.clone()),
                Freshness::Stale => Some(t.header.clone()),
                Freshness::Expired => None,
            },
            None => None,
        };
        // See `refresh`: a task with a still-valid token does not wait for another's refresh.
        let _single_flight = match (self.refresh.try_lock(), &usable) {
            (Ok(guard), _) => guard,
            (Err(_), Some(header)) => return Ok(header.clone()),
            (Err(_), None) => self.refresh.lock().await,
        };
        // Another task may have refreshed while this one waited.
        if let Some(t) = self.token.load_full() {
            if t.freshness(now()) == Freshness::Fresh {
                return Ok(t.header.clone());
            }
        }
        match fetch().await {
            Ok(token) => {
                let header = token.header.clone();
                self.token.store(Some(Arc::new(token)));
                Ok(header)
            }
            Err(e) => match usable {
                Some(header) => {
                    log::warn!("Google token refresh failed, using the current token: {e}");
                    Ok(header)
                }
                None => Err(e),
            },
        }
    }

    /// Exchange a new assertion for an access token.
    async fn fetch(&self, connector: &Connector) -> Result<Token, ApiError> {
        let now = unix_now();
        let body = Bytes::from(format!(
            "grant_type={GRANT_TYPE}&assertion={}",
            self.assertion(now)?
        ));
        let ep = &self.endpoint;
        let addr = tokio::net::lookup_host((ep.host.as_str(), ep.port))
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| token_error(502, format!("cannot resolve {}", ep.host)))?;
        let peer = crate::core::net::make_peer(addr, ep.tls, &ep.host);
        // A pooled connection may have gone stale: one retry on a fresh one.
        let mut last = String::new();
        for _ in 0..2 {
            let (mut session, reused) = connector
                .get_http_session(&peer)
                .await
                .map_err(|e| token_error(502, format!("cannot connect to {}: {e}", ep.host)))?;
            match self.exchange(&mut session, &body).await {
                Ok((status, response, complete)) => {
                    if complete {
                        connector
                            .release_http_session(session, &peer, peer.options.idle_timeout)
                            .await;
                    }
                    return parse_token(status, &response, now);
                }
                Err(e) if reused => last = e.to_string(),
                Err(e) => return Err(token_error(502, format!("token request failed: {e}"))),
            }
        }
        Err(token_error(502, format!("token request failed: {last}")))
    }

    /// Send the form and read the answer (up to [`RESPONSE_LIMIT`]; `true` when whole).
    async fn exchange(
        &self,
        session: &mut HttpSession,
        body: &Bytes,
    ) -> pingora_error::Result<(u16, Bytes, bool)> {
        let ep = &self.endpoint;
        let mut req = RequestHeader::build("POST", ep.path.as_bytes(), Some(5))?;
        req.insert_header(http::header::HOST, ep.authority.as_str())?;
        req.insert_header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )?;
        req.insert_header(http::header::CONTENT_LENGTH, body.len())?;
        req.insert_header(http::header::ACCEPT, "application/json")?;
        req.insert_header(
            http::header::USER_AGENT,
            concat!("switchyard/", env!("CARGO_PKG_VERSION")),
        )?;
        session.write_request_header(Box::new(req)).await?;
        session.write_request_body(body.clone(), true).await?;
        session.finish_request_body().await?;
        session.read_response_header().await?;
        let status = session.response_header().map_or(0, |h| h.status.as_u16());
        let mut buf = BytesMut::new();
        while let Some(chunk) = session.read_response_body().await? {
            if buf.len() + chunk.len() > RESPONSE_LIMIT {
                return Ok((status, buf.freeze(), false));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok((status, buf.freeze(), true))
    }
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

/// OAuth's error body (`{"error":"invalid_grant","error_description":"..."}`).
#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A token response as a [`Token`] (fetched at `now`), or the error the router sees: a
/// rejected assertion is a 401, anything else from the token endpoint a 502.
pub fn parse_token(status: u16, body: &[u8], now: u64) -> Result<Token, ApiError> {
    if !(200..300).contains(&status) {
        let detail = serde_json::from_slice::<OAuthError>(body)
            .ok()
            .map(|e| {
                [e.error, e.error_description]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(512)]).into());
        let http = if (400..500).contains(&status) {
            401
        } else {
            502
        };
        return Err(token_error(
            http,
            format!("token endpoint answered HTTP {status}: {detail}"),
        ));
    }
    let r: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| token_error(502, format!("token response is not a token: {e}")))?;
    let kind = r.token_type.as_deref().unwrap_or("Bearer");
    if !kind.eq_ignore_ascii_case("bearer") || r.access_token.is_empty() {
        return Err(token_error(
            502,
            format!("token response has no bearer token (token_type {kind:?})"),
        ));
    }
    let mut header = HeaderValue::from_str(&format!("Bearer {}", r.access_token))
        .map_err(|_| token_error(502, "access_token is not a valid header value"))?;
    header.set_sensitive(true);
    Ok(Token {
        header,
        expires_at: now.saturating_add(r.expires_in.unwrap_or(DEFAULT_EXPIRES_IN)),
    })
}

fn token_error(status: u16, message: impl std::fmt::Display) -> ApiError {
    let kind = if status == 401 {
        ErrorKind::Auth
    } else {
        ErrorKind::ApiError
    };
    ApiError::new(
        status,
        kind,
        format!("Vertex AI credentials: cannot get a Google access token: {message}"),
    )
}

/// Base64url without padding (JWT's encoding).
pub fn b64url(data: &[u8]) -> String {
    openssl::base64::encode_block(data)
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests;
