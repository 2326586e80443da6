//! Bedrock's deployment settings, read and checked here: the region (`aws_region_name`, else
//! the AWS environment variables) and IAM credentials for SigV4 (`aws_*`, else
//! `$AWS_ACCESS_KEY_ID`, ...), each naming its key path when missing.

use crate::core::config_error::ConfigError;
use crate::core::env::Env;
use crate::providers::credentials::AwsSigning;

/// What a deployment's `litellm_params` say about AWS credentials.
pub struct AwsParams<'a> {
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: Option<&'a str>,
    pub session_token: Option<&'a str>,
}

/// The region a deployment names, else `$AWS_REGION_NAME`, `$AWS_REGION`,
/// `$AWS_DEFAULT_REGION`.
pub fn region(own: Option<&str>, env: &Env) -> Option<String> {
    own.map(str::to_string).or_else(|| {
        ["AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|n| env.get(n))
    })
}

/// Bedrock's IAM credentials (`aws_*` params, else the AWS environment variables).
pub fn signing(
    p: AwsParams<'_>,
    pp: &str,
    env: &Env,
    region: Option<&str>,
    uri: &http::Uri,
) -> Result<AwsSigning, ConfigError> {
    let pick = |own: Option<&str>, var: &str| own.map(str::to_string).or_else(|| env.get(var));
    let missing = |what: &str, var: &str| {
        ConfigError::new(
            format!("{pp}.{what}"),
            format!("bedrock/ needs {what} (or ${var}), or an api_key (a Bedrock API key, $AWS_BEARER_TOKEN_BEDROCK)"),
        )
    };
    let access = pick(p.access_key_id, "AWS_ACCESS_KEY_ID")
        .ok_or_else(|| missing("aws_access_key_id", "AWS_ACCESS_KEY_ID"))?;
    let secret = pick(p.secret_access_key, "AWS_SECRET_ACCESS_KEY")
        .ok_or_else(|| missing("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"))?;
    let region = region.ok_or_else(|| missing("aws_region_name", "AWS_REGION"))?;
    let host = match uri.port_u16() {
        Some(port) => format!("{}:{port}", uri.host().unwrap_or_default()),
        None => uri.host().unwrap_or_default().to_string(),
    };
    Ok(AwsSigning {
        credentials: super::sigv4::Credentials {
            access_key_id: access,
            secret_access_key: secret,
            session_token: pick(p.session_token, "AWS_SESSION_TOKEN"),
        },
        region: region.to_string(),
        host,
    })
}
