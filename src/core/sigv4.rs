//! AWS Signature Version 4 for one request: the headers that authenticate a call signed with
//! an access key (and, for temporary credentials, a session token).
//!
//! Signed headers are exactly `host`, `x-amz-date`, for S3 `x-amz-content-sha256` (which S3
//! requires), and with a session token `x-amz-security-token`. The caller must send the `Host` header with the very value passed
//! as `host` (port included when it is in the URL), the path and query byte for byte as passed,
//! the body whose bytes were hashed, and every header [`sign`] returns. Other headers
//! (`content-type`, `accept`, ...) are not signed and may be set freely.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::core::ids::hex;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Long-term or temporary AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// STS session token of temporary credentials; sent as `x-amz-security-token`.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Sign a request; returns the headers to add to it: `x-amz-date`, `x-amz-security-token`
/// (only with a session token) and `authorization`, in that order, names lowercase.
///
/// `path_and_query` is the request target exactly as sent on the wire (already
/// percent-encoded, e.g. `/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse`).
/// For every service but `s3` each path segment is percent-encoded once more in the canonical
/// URI, as AWS requires (`%3A` is signed as `%253A`).
#[expect(
    clippy::too_many_arguments,
    reason = "each input is part of what is signed; a struct would only rename them"
)]
pub fn sign(
    creds: &Credentials,
    region: &str,
    service: &str,
    method: &str,
    host: &str,
    path_and_query: &str,
    payload: &[u8],
    now: SystemTime,
) -> Vec<(&'static str, String)> {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let payload_hash = hex(&Sha256::digest(payload));
    let (canonical, signed_headers) = canonical_request(
        method,
        host,
        path_and_query,
        service,
        &amz_date,
        creds.session_token.as_deref(),
        &payload_hash,
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(&creds.secret_access_key, date, region, service);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let mut headers = Vec::with_capacity(4);
    if service == "s3" {
        headers.push(("x-amz-content-sha256", payload_hash.clone()));
    }
    headers.push(("x-amz-date", amz_date.clone()));
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    headers.push((
        "authorization",
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    headers
}

/// The canonical request and its `SignedHeaders` list.
fn canonical_request(
    method: &str,
    host: &str,
    path_and_query: &str,
    service: &str,
    amz_date: &str,
    session_token: Option<&str>,
    payload_hash: &str,
) -> (String, &'static str) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let uri = canonical_uri(path, service != "s3");
    let query = canonical_query(query);
    let host = host.trim();
    let content = if service == "s3" {
        format!("x-amz-content-sha256:{payload_hash}\n")
    } else {
        String::new()
    };
    let token = session_token.map_or_else(String::new, |t| {
        format!("x-amz-security-token:{}\n", t.trim())
    });
    let headers = format!("host:{host}\n{content}x-amz-date:{amz_date}\n{token}");
    let signed = match (service == "s3", session_token.is_some()) {
        (true, true) => "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
        (true, false) => "host;x-amz-content-sha256;x-amz-date",
        (false, true) => "host;x-amz-date;x-amz-security-token",
        (false, false) => "host;x-amz-date",
    };
    (
        format!("{method}\n{uri}\n{query}\n{headers}\n{signed}\n{payload_hash}"),
        signed,
    )
}

/// The path as signed: each segment encoded again when `double_encode` (every service but
/// S3), so an on-the-wire `%3A` is `%253A` here. No dot-segment normalisation is done.
fn canonical_uri(path: &str, double_encode: bool) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    if !double_encode {
        return path.to_string();
    }
    path.split('/')
        .map(|segment| uri_encode(segment.as_bytes()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Query parameters decoded, re-encoded with AWS's unreserved set, sorted by name then value.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encode everything but `A-Z a-z 0-9 - _ . ~`, with uppercase hex.
pub fn uri_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex_pair = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex_pair) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// `YYYYMMDDTHHMMSSZ` in UTC (times before 1970 are clamped to the epoch).
fn amz_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let (y, m, d) = crate::core::clock::civil(z);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// 2015-08-30T12:36:00Z, the aws-sig-v4-test-suite's clock.
    fn suite_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn suite_creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        }
    }

    fn suite_sign(method: &str, target: &str, token: Option<&str>) -> Vec<(&'static str, String)> {
        sign(
            &suite_creds(token),
            "us-east-1",
            "service",
            method,
            "example.amazonaws.com",
            target,
            b"",
            suite_time(),
        )
    }

    fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> &'a str {
        h.iter().find(|(n, _)| *n == name).unwrap().1.as_str()
    }

    #[test]
    fn formats_the_suite_date() {
        assert_eq!(amz_date(suite_time()), "20150830T123600Z");
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // 2024-02-29T23:59:59Z: a leap day.
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "20240229T235959Z"
        );
    }

    #[test]
    fn get_vanilla() {
        let (creq, signed) = canonical_request(
            "GET",
            "example.amazonaws.com",
            "/",
            "service",
            "20150830T123600Z",
            None,
            &hex(&Sha256::digest(b"")),
        );
        assert_eq!(
            creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            hex(&Sha256::digest(creq.as_bytes())),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        let h = suite_sign("GET", "/", None);
        assert_eq!(
            h.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["x-amz-date", "authorization"]
        );
        assert_eq!(header(&h, "x-amz-date"), "20150830T123600Z");
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn more_suite_vectors() {
        let sig = |h: Vec<(&'static str, String)>| {
            let auth = header(&h, "authorization").to_string();
            auth.rsplit_once("Signature=").unwrap().1.to_string()
        };
        assert_eq!(
            sig(suite_sign("POST", "/", None)),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
        // get-vanilla-query-order-key-case and get-vanilla-query-order-value: sorted params.
        assert_eq!(
            sig(suite_sign("GET", "/?Param2=value2&Param1=value1", None)),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
        assert_eq!(
            sig(suite_sign("GET", "/?Param1=value2&Param1=value1", None)),
            "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"
        );
        // post-sts-token/post-sts-header-before: the session token is a signed header.
        let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
        let h = suite_sign("POST", "/", Some(token));
        assert_eq!(header(&h, "x-amz-security-token"), token);
        assert!(header(&h, "authorization")
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token, "));
        assert_eq!(
            sig(h),
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
        );
    }

    #[test]
    fn path_segments_are_encoded_twice_except_for_s3() {
        let wire = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
        assert_eq!(
            canonical_uri(wire, true),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"
        );
        assert_eq!(canonical_uri(wire, false), wire);
        let (creq, _) = canonical_request(
            "POST",
            "bedrock-runtime.us-east-1.amazonaws.com",
            wire,
            "bedrock",
            "20150830T123600Z",
            None,
            "x",
        );
        assert!(
            creq.starts_with(
                "POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\n"
            ),
            "{creq}"
        );
        // A colon sent unencoded (as some clients do) is signed as a single encoding.
        assert_eq!(
            canonical_uri("/model/a:b/converse", true),
            "/model/a%3Ab/converse"
        );
        assert_eq!(canonical_uri("", true), "/");
    }

    #[test]
    fn the_payload_hash_is_signed() {
        let at = |body: &[u8]| {
            sign(
                &suite_creds(None),
                "us-east-1",
                "bedrock",
                "POST",
                "bedrock-runtime.us-east-1.amazonaws.com",
                "/model/m/converse",
                body,
                suite_time(),
            )
        };
        assert_ne!(at(b"{}"), at(b"{ }"));
        assert_eq!(at(b"{}"), at(b"{}"));
    }

    #[test]
    fn debug_hides_secrets() {
        let s = format!("{:?}", suite_creds(Some("tok")));
        assert!(s.contains("AKIDEXAMPLE"));
        assert!(!s.contains("wJalr") && !s.contains("tok\""), "{s}");
    }
}
