//! Vertex AI's deployment settings, read and checked here: the project, the location and the
//! service account (a key file's path or its JSON, else `$GOOGLE_APPLICATION_CREDENTIALS`),
//! each naming its key path when wrong.

use std::sync::Arc;

use super::auth::ServiceAccount;
use super::{GoogleAuth, CREDENTIALS_ENV, DEFAULT_LOCATION, LOCATION_ENV, PROJECT_ENV};
use crate::core::config_error::ConfigError;
use crate::core::env::Env;

/// What a deployment's `litellm_params` say about Vertex AI.
pub struct VertexParams<'a> {
    pub project: Option<&'a str>,
    pub location: Option<&'a str>,
    pub credentials: Option<&'a serde_yaml::Value>,
    /// An `api_key` (express mode) stands in for a service account.
    pub has_api_key: bool,
}

/// Vertex AI's project, location and service account, resolved.
pub struct VertexSettings {
    pub project: String,
    pub location: String,
    /// `None` with an `api_key` (express mode).
    pub auth: Option<Arc<GoogleAuth>>,
}

/// `vertex_project`, `vertex_location` and `vertex_credentials`, else their environment
/// variables; the project may also come from the service account's `project_id`.
#[expect(clippy::too_many_lines, reason = "config load, not the request path")]
pub fn settings(p: VertexParams<'_>, pp: &str, env: &Env) -> Result<VertexSettings, ConfigError> {
    let location = p
        .location
        .map(str::to_string)
        .or_else(|| env.get(LOCATION_ENV))
        .unwrap_or_else(|| DEFAULT_LOCATION.to_string());
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
    let json = match p.credentials {
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
        None => match env.get(CREDENTIALS_ENV) {
            Some(path) => Some(read_credentials(&path, &key_path).map_err(|e| ConfigError {
                message: format!("${}: {}", CREDENTIALS_ENV, e.message),
                ..e
            })?),
            None => None,
        },
    };
    let account = json
        .map(|j| ServiceAccount::parse(&j).map_err(|e| ConfigError::new(&key_path, e)))
        .transpose()?;
    let auth = match (&account, p.has_api_key) {
        (Some(sa), _) => Some(Arc::new(
            GoogleAuth::new(sa).map_err(|e| ConfigError::new(&key_path, e))?,
        )),
        (None, true) => None,
        (None, false) => {
            return Err(
                ConfigError::new(&key_path, "vertex_ai/ needs service-account credentials").hint(
                    format!(
                        "set vertex_credentials to a key file's path or JSON, or ${}",
                        CREDENTIALS_ENV
                    ),
                ),
            )
        }
    };
    let project = p
        .project
        .map(str::to_string)
        .or_else(|| env.get(PROJECT_ENV))
        .or_else(|| account.and_then(|a| a.project_id))
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                format!("{pp}.vertex_project"),
                "vertex_ai/ needs a Google Cloud project",
            )
            .hint(format!(
                "set vertex_project or ${}, or use a key file with project_id",
                PROJECT_ENV
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
