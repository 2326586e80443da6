//! `bedrock/` deployments built from config: the regional base, SigV4 credentials bound to
//! the base's authority, an API key in their place, and the errors naming the key path.

use crate::config::{load_str, BuildOptions, Runtime};
use crate::providers::Credentials;
use crate::router::{Backend, HttpTarget};

fn build(params: &str) -> Result<Runtime, String> {
    let yaml = format!(
        "model_list:\n  - model_name: b\n    litellm_params:\n      model: bedrock/anthropic.claude-3-haiku\n{params}"
    );
    load_str(&yaml, &BuildOptions::default()).map_err(|e| e.to_string())
}

fn with_target<T>(rt: &Runtime, f: impl FnOnce(&HttpTarget) -> T) -> T {
    match &rt.router.group("b").unwrap().deployments[0].backend {
        Backend::Http(t) => f(t),
        _ => panic!("not an http backend"),
    }
}

const IAM: &str = "      aws_access_key_id: AKIDEXAMPLE\n      aws_secret_access_key: secret\n";

/// The `Host` a target's SigV4 credentials sign, and the signature's `Authorization`.
fn signed(t: &HttpTarget) -> (String, String) {
    let Some(creds @ Credentials::Aws(aws)) = t.credentials.as_ref() else {
        panic!("no SigV4 credentials");
    };
    let headers = creds.sign(
        "POST",
        "/model/m/converse",
        b"{}",
        std::time::SystemTime::now(),
    );
    let auth = headers
        .iter()
        .find(|(k, _)| *k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    (aws.host.clone(), auth)
}

#[test]
fn the_region_gives_the_base_and_signing_names_its_host() {
    let rt = build(&format!("{IAM}      aws_region_name: eu-west-1\n")).unwrap();
    with_target(&rt, |t| {
        assert_eq!(t.display, "https://bedrock-runtime.eu-west-1.amazonaws.com");
        assert!(t.auth.is_none());
        let (host, auth) = signed(t);
        assert_eq!(host, "bedrock-runtime.eu-west-1.amazonaws.com");
        assert!(auth.contains("/eu-west-1/bedrock/aws4_request"), "{auth}");
    });
}

#[test]
fn an_api_base_with_a_port_is_the_signed_host() {
    let rt = build(&format!(
        "{IAM}      aws_region_name: us-east-1\n      api_base: http://127.0.0.1:9/\n"
    ))
    .unwrap();
    with_target(&rt, |t| assert_eq!(signed(t).0, "127.0.0.1:9"));
}

#[test]
fn an_api_key_stands_in_for_iam_credentials() {
    let rt = build("      aws_region_name: us-east-1\n      api_key: bedrock-api-key\n").unwrap();
    with_target(&rt, |t| {
        assert!(t.credentials.is_none());
        assert!(t.auth.is_some());
    });
}

#[test]
fn missing_credentials_and_region_name_their_keys() {
    let Err(e) = build("      aws_region_name: us-east-1\n") else {
        panic!("built without credentials")
    };
    assert!(
        e.contains("model_list[0].litellm_params.aws_access_key_id"),
        "{e}"
    );
    let Err(e) = build(&format!("{IAM}      api_base: http://127.0.0.1:9\n")) else {
        panic!("built without a region")
    };
    assert!(
        e.contains("model_list[0].litellm_params.aws_region_name"),
        "{e}"
    );
    let Err(e) = build(IAM) else {
        panic!("built with neither region nor api_base")
    };
    assert!(
        e.contains("aws_region_name") || e.contains("api_base"),
        "{e}"
    );
}
