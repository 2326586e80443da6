//! Vertex AI's deployment settings, read and checked here: the project, the location and the
//! service account (a key file's path or its JSON, else `$GOOGLE_APPLICATION_CREDENTIALS`),
//! each naming its key path when wrong.

use std::sync::Arc;

use super::auth::ServiceAccount;
use super::{GoogleAuth, CREDENTIALS_ENV, DEFAULT_LOCATION, LOCATION_ENV, PROJECT_ENV};
use crate::core::config_error::ConfigError;
use crate::core::env::Env;
use crate::providers::{Credentials, Params, Placement};

/// The location's regional endpoint, the model's resource path and the service account's
/// token (none with an `api_key`: express mode).
pub fn place(p: &Params<'_>, env: &Env) -> Result<Placement, ConfigError> {
    let s = settings(p, env)?;
    Ok(Placement {
        default_base: Some(super::default_base(&s.location)),
        path_model: Some(super::resource(&s.project, &s.location, p.model)),
        credentials: s.auth.map(Credentials::Google),
    })
}

/// Vertex AI's project, location and service account, resolved.
struct VertexSettings {
    project: String,
    location: String,
    /// `None` with an `api_key` (express mode).
    auth: Option<Arc<GoogleAuth>>,
}

/// `vertex_project`, `vertex_location` and `vertex_credentials`, else their environment
/// variables; the project may also come from the service account's `project_id`.
#[expect(clippy::too_many_lines, reason = "config load, not the request path")]
fn settings(p: &Params<'_>, env: &Env) -> Result<VertexSettings, ConfigError> {
    let pp = p.path;
    let location = p
        .vertex_location
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
    let json = match p.vertex_credentials {
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
        .vertex_project
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
