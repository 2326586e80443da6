//! Cloud credentials a deployment is built with: Vertex AI's project, location and service
//! account, and AWS SigV4 signing for Bedrock (moving into their providers in issue 16's step 6).

use std::sync::Arc;

use crate::config::env::Env;
use crate::config::error::ConfigError;
use crate::providers::credentials::AwsSigning;

/// Vertex AI's project, location and service account, resolved from `litellm_params`.
pub(super) struct VertexSettings {
    pub(super) project: String,
    pub(super) location: String,
    /// `None` with an `api_key` (express mode).
    pub(super) auth: Option<Arc<crate::providers::vertex::GoogleAuth>>,
}

/// `vertex_project`, `vertex_location` and `vertex_credentials`, else their environment
/// variables; the project may also come from the service account's `project_id`.
#[expect(clippy::too_many_lines, reason = "config load, not the request path")]
pub(super) fn vertex_settings(
    p: &crate::config::raw::RawLitellmParams,
    pp: &str,
    env: &Env,
) -> Result<VertexSettings, ConfigError> {
    use crate::providers::vertex::{self, auth::ServiceAccount, GoogleAuth};
    let location = p
        .vertex_location
        .clone()
        .or_else(|| env.get(vertex::LOCATION_ENV))
        .unwrap_or_else(|| vertex::DEFAULT_LOCATION.to_string());
    if location.is_empty()
        || !location
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(ConfigError::new(
            format!("{pp}.vertex_location"),
            format!("\"{location}\" is not a Vertex AI location"),
        )
        .hint("e.g. us-central1, europe-west4 or global"));
    }
    let key_path = format!("{pp}.vertex_credentials");
    let json = match &p.vertex_credentials {
        Some(serde_yaml::Value::String(s)) if s.trim_start().starts_with('{') => Some(s.clone()),
        Some(serde_yaml::Value::String(path)) => Some(read_credentials(path, &key_path)?),
        Some(v @ serde_yaml::Value::Mapping(_)) => Some(
            serde_json::to_string(v)
                .map_err(|e| ConfigError::new(&key_path, format!("cannot be read as JSON: {e}")))?,
        ),
        Some(_) => {
            return Err(ConfigError::new(
                &key_path,
                "expected a service-account key file's path or its JSON",
            ))
        }
        None => match env.get(vertex::CREDENTIALS_ENV) {
            Some(path) => Some(read_credentials(&path, &key_path).map_err(|e| ConfigError {
                message: format!("${}: {}", vertex::CREDENTIALS_ENV, e.message),
                ..e
            })?),
            None => None,
        },
    };
    let account = json
        .map(|j| ServiceAccount::parse(&j).map_err(|e| ConfigError::new(&key_path, e)))
        .transpose()?;
    let auth = match (&account, &p.api_key) {
        (Some(sa), _) => Some(Arc::new(
            GoogleAuth::new(sa).map_err(|e| ConfigError::new(&key_path, e))?,
        )),
        (None, Some(_)) => None,
        (None, None) => {
            return Err(
                ConfigError::new(&key_path, "vertex_ai/ needs service-account credentials").hint(
                    format!(
                        "set vertex_credentials to a key file's path or JSON, or ${}",
                        vertex::CREDENTIALS_ENV
                    ),
                ),
            )
        }
    };
    let project = p
        .vertex_project
        .clone()
        .or_else(|| env.get(vertex::PROJECT_ENV))
        .or_else(|| account.and_then(|a| a.project_id))
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                format!("{pp}.vertex_project"),
                "vertex_ai/ needs a Google Cloud project",
            )
            .hint(format!(
                "set vertex_project or ${}, or use a key file with project_id",
                vertex::PROJECT_ENV
            ))
        })?;
    if project.contains('/') {
        return Err(ConfigError::new(
            format!("{pp}.vertex_project"),
            format!("\"{project}\" is not a project id"),
        ));
    }
    Ok(VertexSettings {
        project,
        location,
        auth,
    })
}

/// A service-account key file's text (never echoed: it holds a private key).
fn read_credentials(path: &str, key_path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path.trim()).map_err(|e| {
        ConfigError::new(
            key_path,
            format!("cannot read the service-account file \"{path}\": {e}"),
        )
    })
}

/// Bedrock's IAM credentials (`aws_*` params, else the AWS environment variables).
pub(super) fn aws_signing(
    p: &crate::config::raw::RawLitellmParams,
    pp: &str,
    env: &Env,
    region: Option<&str>,
    uri: &http::Uri,
) -> Result<AwsSigning, ConfigError> {
    let pick = |own: &Option<String>, var: &str| own.clone().or_else(|| env.get(var));
    let missing = |what: &str, var: &str| {
        ConfigError::new(
            format!("{pp}.{what}"),
            format!("bedrock/ needs {what} (or ${var}), or an api_key (a Bedrock API key, $AWS_BEARER_TOKEN_BEDROCK)"),
        )
    };
    let access = pick(&p.aws_access_key_id, "AWS_ACCESS_KEY_ID")
        .ok_or_else(|| missing("aws_access_key_id", "AWS_ACCESS_KEY_ID"))?;
    let secret = pick(&p.aws_secret_access_key, "AWS_SECRET_ACCESS_KEY")
        .ok_or_else(|| missing("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"))?;
    let region = region.ok_or_else(|| missing("aws_region_name", "AWS_REGION"))?;
    let host = match uri.port_u16() {
        Some(port) => format!("{}:{port}", uri.host().unwrap_or_default()),
        None => uri.host().unwrap_or_default().to_string(),
    };
    Ok(AwsSigning {
        credentials: crate::providers::bedrock::sigv4::Credentials {
            access_key_id: access,
            secret_access_key: secret,
            session_token: pick(&p.aws_session_token, "AWS_SESSION_TOKEN"),
        },
        region: region.to_string(),
        host,
    })
}
