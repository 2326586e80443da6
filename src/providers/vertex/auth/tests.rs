//! Unit tests of `providers::vertex::auth`.

use std::sync::atomic::{AtomicUsize, Ordering};

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use serde_json::Value;

use super::{b64url, parse_token, Freshness, GoogleAuth, ServiceAccount, Token, SCOPE};
use crate::core::error::ApiError;

fn b64url_decode(s: &str) -> Vec<u8> {
    let mut std: String = s
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while std.len() % 4 != 0 {
        std.push('=');
    }
    openssl::base64::decode_block(&std).unwrap()
}

fn account(pem: &str, token_uri: Option<&str>) -> ServiceAccount {
    ServiceAccount {
        kind: Some("service_account".into()),
        project_id: Some("p".into()),
        client_email: "sa@p.iam.gserviceaccount.com".into(),
        private_key: pem.into(),
        token_uri: token_uri.map(str::to_string),
    }
}

fn throwaway_key() -> (PKey<openssl::pkey::Private>, String) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (key, pem)
}

fn token(value: &str, expires_at: u64) -> Token {
    Token {
        header: format!("Bearer {value}").parse().unwrap(),
        expires_at,
    }
}

#[test]
fn b64url_has_no_padding_and_url_alphabet() {
    assert_eq!(b64url(b"\xfb\xff"), "-_8");
    assert_eq!(b64url(b"abcd"), "YWJjZA");
    assert_eq!(b64url_decode("YWJjZA"), b"abcd");
}

#[test]
fn assertion_is_an_rs256_jwt_with_the_claims() {
    let (key, pem) = throwaway_key();
    let auth = GoogleAuth::new(&account(&pem, None)).unwrap();
    let jwt = auth.assertion(1_700_000_000).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(!jwt.contains('='));
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0])).unwrap();
    assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1])).unwrap();
    assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(claims["iat"], 1_700_000_000u64);
    assert_eq!(claims["exp"], 1_700_003_600u64);
    let signed = format!("{}.{}", parts[0], parts[1]);
    let mut v = Verifier::new(MessageDigest::sha256(), &key).unwrap();
    v.update(signed.as_bytes()).unwrap();
    assert!(v.verify(&b64url_decode(parts[2])).unwrap());
    // Another key does not verify it.
    let (other, _) = throwaway_key();
    let mut v = Verifier::new(MessageDigest::sha256(), &other).unwrap();
    v.update(signed.as_bytes()).unwrap();
    assert!(!v.verify(&b64url_decode(parts[2])).unwrap());
}

#[test]
fn the_assertion_audience_is_the_token_uri() {
    let (_, pem) = throwaway_key();
    let auth = GoogleAuth::new(&account(&pem, Some("http://127.0.0.1:9/token"))).unwrap();
    assert_eq!(auth.endpoint.host, "127.0.0.1");
    assert_eq!(auth.endpoint.port, 9);
    assert!(!auth.endpoint.tls);
    assert_eq!(auth.endpoint.path, "/token");
    assert_eq!(auth.endpoint.authority, "127.0.0.1:9");
    let jwt = auth.assertion(0).unwrap();
    let claims: Value =
        serde_json::from_slice(&b64url_decode(jwt.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims["aud"], "http://127.0.0.1:9/token");
}

#[test]
fn bad_keys_and_files_are_refused() {
    assert!(GoogleAuth::new(&account("not a pem", None))
        .err()
        .unwrap()
        .contains("private_key"));
    let (_, pem) = throwaway_key();
    assert!(GoogleAuth::new(&account(&pem, Some("ftp://x/token"))).is_err());
    assert!(ServiceAccount::parse("{}").is_err());
    let user = r#"{"type":"authorized_user","client_email":"a","private_key":"b"}"#;
    assert!(ServiceAccount::parse(user)
        .err()
        .unwrap()
        .contains("authorized_user"));
}

#[test]
fn freshness_uses_a_five_minute_margin() {
    let t = token("a", 10_000);
    assert_eq!(t.freshness(9_000), Freshness::Fresh);
    assert_eq!(t.freshness(9_700), Freshness::Fresh);
    assert_eq!(t.freshness(9_701), Freshness::Stale);
    assert_eq!(t.freshness(9_999), Freshness::Stale);
    assert_eq!(t.freshness(10_000), Freshness::Expired);
}

#[test]
fn token_responses() {
    let t = parse_token(
        200,
        br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
        100,
    )
    .unwrap();
    assert_eq!(t.header, "Bearer ya29.x");
    assert!(t.header.is_sensitive());
    assert_eq!(t.expires_at, 3699);
    let e = parse_token(
        400,
        br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        0,
    )
    .err()
    .unwrap();
    assert_eq!(e.status, 401);
    assert!(
        e.message.contains("invalid_grant: Invalid JWT Signature."),
        "{}",
        e.message
    );
    assert_eq!(parse_token(503, b"down", 0).err().unwrap().status, 502);
    assert_eq!(parse_token(200, b"{}", 0).err().unwrap().status, 502);
}

#[tokio::test]
async fn the_cache_fetches_once_and_refreshes_near_expiry() {
    let (_, pem) = throwaway_key();
    let auth = GoogleAuth::new(&account(&pem, None)).unwrap();
    let fetches = AtomicUsize::new(0);
    let fetch = |value: &'static str, expires_at: u64| {
        let fetches = &fetches;
        move || async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ApiError>(token(value, expires_at))
        }
    };
    // First use fetches; later uses within the token's life do not.
    let h = auth
        .bearer_with(|| 1_000, fetch("one", 4_600))
        .await
        .unwrap();
    assert_eq!(h, "Bearer one");
    let h = auth.bearer_with(|| 4_000, fetch("two", 0)).await.unwrap();
    assert_eq!(h, "Bearer one");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // Less than five minutes left: refreshed.
    let h = auth
        .bearer_with(|| 4_301, fetch("two", 8_000))
        .await
        .unwrap();
    assert_eq!(h, "Bearer two");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_a_valid_token_but_not_an_expired_one() {
    let (_, pem) = throwaway_key();
    let auth = GoogleAuth::new(&account(&pem, None)).unwrap();
    auth.bearer_with(|| 0, || async { Ok::<_, ApiError>(token("old", 1_000)) })
        .await
        .unwrap();
    let fail = || async { Err::<Token, _>(super::token_error(502, "down")) };
    let h = auth.bearer_with(|| 900, fail).await.unwrap();
    assert_eq!(h, "Bearer old");
    let e = auth.bearer_with(|| 1_000, fail).await.err().unwrap();
    assert_eq!(e.status, 502);
    assert!(e.message.contains("Google access token"));
}

#[tokio::test]
async fn while_one_task_refreshes_a_stale_token_others_use_it() {
    let (_, pem) = throwaway_key();
    let auth = GoogleAuth::new(&account(&pem, None)).unwrap();
    auth.bearer_with(|| 0, || async { Ok::<_, ApiError>(token("old", 1_000)) })
        .await
        .unwrap();
    let held = auth.refresh.try_lock().unwrap();
    let h = auth
        .bearer_with(|| 800, || async { Ok::<_, ApiError>(token("new", 5_000)) })
        .await
        .unwrap();
    assert_eq!(
        h, "Bearer old",
        "a stale token is used while a refresh is in flight"
    );
    drop(held);
}
