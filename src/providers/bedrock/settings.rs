//! Bedrock's deployment settings, read and checked here: the region (`aws_region_name`, else
//! the AWS environment variables) and IAM credentials for SigV4 (`aws_*`, else
//! `$AWS_ACCESS_KEY_ID`, ...), each naming its key path when missing.

use crate::core::config_error::ConfigError;
use crate::core::env::Env;
use crate::providers::credentials::AwsSigning;
use crate::providers::{Credentials, Params, Placement};

/// The regional endpoint (unless `api_base` names one) and, without an API key, SigV4
/// credentials.
pub fn place(p: &Params<'_>, env: &Env) -> Result<Placement, ConfigError> {
    let region = region(p.aws_region_name, env);
    let credentials = if p.has_api_key {
        None
    } else {
        let signing = signing(p, env, region.as_deref())?;
        Some(Credentials::Aws(Box::new(signing)))
    };
    Ok(Placement {
        default_base: region.map(|r| format!("https://bedrock-runtime.{r}.amazonaws.com")),
        path_model: None,
        credentials,
    })
}

/// The region a deployment names, else `$AWS_REGION_NAME`, `$AWS_REGION`,
/// `$AWS_DEFAULT_REGION`.
fn region(own: Option<&str>, env: &Env) -> Option<String> {
    own.map(str::to_string).or_else(|| {
        ["AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|n| env.get(n))
    })
}

/// Bedrock's IAM credentials (`aws_*` params, else the AWS environment variables), not yet
/// bound to a host.
fn signing(p: &Params<'_>, env: &Env, region: Option<&str>) -> Result<AwsSigning, ConfigError> {
    let pp = p.path;
    let pick = |own: Option<&str>, var: &str| own.map(str::to_string).or_else(|| env.get(var));
    let missing = |what: &str, var: &str| {
        ConfigError::new(
            format!("{pp}.{what}"),
            format!("bedrock/ needs {what} (or ${var}), or an api_key (a Bedrock API key, $AWS_BEARER_TOKEN_BEDROCK)"),
        )
    };
    let access = pick(p.aws_access_key_id, "AWS_ACCESS_KEY_ID")
        .ok_or_else(|| missing("aws_access_key_id", "AWS_ACCESS_KEY_ID"))?;
    let secret = pick(p.aws_secret_access_key, "AWS_SECRET_ACCESS_KEY")
        .ok_or_else(|| missing("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"))?;
    let region = region.ok_or_else(|| missing("aws_region_name", "AWS_REGION"))?;
    Ok(AwsSigning {
        credentials: super::sigv4::Credentials {
            access_key_id: access,
            secret_access_key: secret,
            session_token: pick(p.aws_session_token, "AWS_SESSION_TOKEN"),
        },
        region: region.to_string(),
        host: String::new(),
    })
}
