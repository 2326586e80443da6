//! Credentials a deployment authorizes each request with beyond a static key header: AWS
//! SigV4 (Bedrock with IAM credentials), which signs the final method, path and body, and a
//! Google service account (Vertex AI), whose cached bearer token is added per request. The
//! router holds them as data; only the head builders call [`Credentials::sign`] and
//! [`Credentials::token`].

use std::sync::Arc;
use std::time::SystemTime;

use http::header::{HeaderName, HeaderValue};
use pingora_core::connectors::http::Connector;

use super::bedrock::sigv4;
use super::vertex::GoogleAuth;
use crate::core::error::ApiError;

/// Per-request authorization a deployment carries.
pub enum Credentials {
    Aws(Box<AwsSigning>),
    Google(Arc<GoogleAuth>),
}

/// What SigV4 signs with.
#[derive(Debug)]
pub struct AwsSigning {
    pub credentials: sigv4::Credentials,
    pub region: String,
    /// The `Host` value signed (and sent): the authority of the base URL.
    pub host: String,
}

impl Credentials {
    /// Bind to the authority requests go to (SigV4 signs the `Host`); a token needs none.
    pub fn bind(&mut self, authority: &str) {
        if let Credentials::Aws(aws) = self {
            authority.clone_into(&mut aws.host);
        }
    }

    /// The headers that sign exactly this request (SigV4); none for a token.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Vec<(&'static str, String)> {
        match self {
            Credentials::Aws(aws) => sigv4::sign(
                &aws.credentials,
                &aws.region,
                super::bedrock::SIGNING_SERVICE,
                method,
                &aws.host,
                path_and_query,
                body,
                now,
            ),
            Credentials::Google(_) => Vec::new(),
        }
    }

    /// Whether a request waits for [`Credentials::token`] (a cached token may need a refresh).
    pub fn has_token(&self) -> bool {
        matches!(self, Credentials::Google(_))
    }

    /// `Authorization: Bearer <token>` for a Google service account (fetched with
    /// `connector` when the cached one is due); none for SigV4.
    pub async fn token(
        &self,
        connector: &Connector,
    ) -> Result<Option<(HeaderName, HeaderValue)>, ApiError> {
        match self {
            Credentials::Google(google) => Ok(Some((
                http::header::AUTHORIZATION,
                google.bearer(connector).await?,
            ))),
            Credentials::Aws(_) => Ok(None),
        }
    }
}
