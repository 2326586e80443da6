//! `vertex_ai/` deployments built from config: bases, paths, credentials and their errors.

use openssl::pkey::PKey;
use openssl::rsa::Rsa;

use crate::config::{load_str, BuildOptions};
use crate::core::endpoint::Endpoint;
use crate::router::{Backend, HttpTarget};

fn pem() -> String {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap()
}

fn key_file_json(project_id: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "type": "service_account",
        "client_email": "sa@p.iam.gserviceaccount.com",
        "private_key": pem(),
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    if let Some(p) = project_id {
        v["project_id"] = p.into();
    }
    v.to_string()
}

/// A one-deployment config with these `litellm_params` lines (indented six spaces).
fn yaml(params: &str, env: &str) -> String {
    format!(
        "model_list:\n  - model_name: v\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n{params}{env}"
    )
}

fn build(yaml: &str) -> Result<crate::config::Runtime, String> {
    load_str(yaml, &BuildOptions::default()).map_err(|e| e.to_string())
}

fn with_target<T>(rt: &crate::config::Runtime, f: impl FnOnce(&HttpTarget) -> T) -> T {
    match &rt.router.group("v").unwrap().deployments[0].backend {
        Backend::Http(t) => f(t),
        _ => panic!("not an http backend"),
    }
}

/// The service-account JSON as a YAML single-quoted scalar.
fn quoted(json: &str) -> String {
    format!("'{}'", json.replace('\'', "''"))
}

#[test]
fn a_key_file_path_with_a_project_and_the_default_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sa.json");
    std::fs::write(&path, key_file_json(None)).unwrap();
    let rt = build(&yaml(
        &format!(
            "      vertex_project: my-proj\n      vertex_credentials: {}\n",
            path.display()
        ),
        "",
    ))
    .unwrap();
    with_target(&rt, |t| {
        assert_eq!(t.kind.as_str(), "vertex_ai");
        assert_eq!(t.addr.host, "us-central1-aiplatform.googleapis.com");
        assert!(t.addr.tls);
        assert_eq!(
            t.path(Endpoint::ChatCompletions),
            "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            t.stream_path.as_deref(),
            Some("/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        );
        assert!(t.credentials.as_ref().is_some_and(|c| c.has_token()));
        assert!(t.auth.is_none());
    });
}

#[test]
fn inline_json_global_location_and_project_from_the_key_file() {
    let rt = build(&yaml(
        &format!(
            "      vertex_location: global\n      vertex_credentials: {}\n",
            quoted(&key_file_json(Some("sa-proj")))
        ),
        "",
    ))
    .unwrap();
    with_target(&rt, |t| {
        assert_eq!(t.addr.host, "aiplatform.googleapis.com");
        assert_eq!(
            t.path(Endpoint::ChatCompletions),
            "/v1/projects/sa-proj/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
        );
    });
}

#[test]
fn environment_fallbacks_and_api_base() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sa.json");
    std::fs::write(&path, key_file_json(Some("ignored"))).unwrap();
    let env = format!(
        "environment_variables:\n  VERTEXAI_PROJECT: env-proj\n  VERTEXAI_LOCATION: europe-west4\n  GOOGLE_APPLICATION_CREDENTIALS: {}\n",
        path.display()
    );
    let rt = build(&yaml("      api_base: http://127.0.0.1:9/v1\n", &env)).unwrap();
    with_target(&rt, |t| {
        assert_eq!(t.addr.host, "127.0.0.1");
        assert_eq!(
            t.path(Endpoint::ChatCompletions),
            "/v1/projects/env-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert!(t.credentials.as_ref().is_some_and(|c| c.has_token()));
    });
}

#[test]
fn an_api_key_needs_no_service_account() {
    let rt = build(&yaml(
        "      vertex_project: p\n      api_key: AQ.express\n",
        "",
    ))
    .unwrap();
    with_target(&rt, |t| {
        assert!(t.credentials.is_none());
        assert_eq!(t.auth.as_ref().unwrap().0.as_str(), "x-goog-api-key");
    });
}

#[test]
fn a_missing_project_names_its_key() {
    let e = build(&yaml(
        &format!(
            "      vertex_credentials: {}\n",
            quoted(&key_file_json(None))
        ),
        "",
    ))
    .err()
    .unwrap();
    assert!(
        e.starts_with(
            "model_list[0].litellm_params.vertex_project: vertex_ai/ needs a Google Cloud project"
        ),
        "{e}"
    );
    assert!(e.contains("VERTEXAI_PROJECT"), "{e}");
}

#[test]
fn missing_or_bad_credentials_name_their_key() {
    let e = build(&yaml("      vertex_project: p\n", "")).err().unwrap();
    assert!(
        e.starts_with(
            "model_list[0].litellm_params.vertex_credentials: vertex_ai/ needs service-account credentials"
        ),
        "{e}"
    );
    let e = build(&yaml(
        "      vertex_project: p\n      vertex_credentials: /surely/not/here.json\n",
        "",
    ))
    .err()
    .unwrap();
    assert!(
        e.starts_with("model_list[0].litellm_params.vertex_credentials: cannot read the service-account file \"/surely/not/here.json\""),
        "{e}"
    );
    let e = build(&yaml(
        "      vertex_project: p\n      vertex_credentials: '{\"client_email\": \"a\"}'\n",
        "",
    ))
    .err()
    .unwrap();
    assert!(
        e.starts_with(
            "model_list[0].litellm_params.vertex_credentials: not a service-account key file"
        ),
        "{e}"
    );
    let bad_key = r#"{"type":"service_account","client_email":"a","private_key":"nope"}"#;
    let e = build(&yaml(
        &format!(
            "      vertex_project: p\n      vertex_credentials: {}\n",
            quoted(bad_key)
        ),
        "",
    ))
    .err()
    .unwrap();
    assert!(e.contains("private_key is not a PEM private key"), "{e}");
    assert!(!e.contains("nope"), "the key is never echoed: {e}");
}

#[test]
fn a_bad_location_names_its_key() {
    let e = build(&yaml(
        "      vertex_project: p\n      api_key: k\n      vertex_location: 'us central'\n",
        "",
    ))
    .err()
    .unwrap();
    assert!(
        e.starts_with("model_list[0].litellm_params.vertex_location:"),
        "{e}"
    );
}
