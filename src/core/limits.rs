//! Bounds on what a client may send: numeric fields and `x-litellm-*` headers range-checked,
//! JSON nesting capped; a value out of bounds is a 400 naming it, never arithmetic on it.
//!
//! The bounds (documented in the README's "Request limits"):
//!
//! | What | Accepted |
//! |---|---|
//! | `timeout`, `stream_timeout`, `x-litellm-timeout`, `x-litellm-stream-timeout` | seconds in (0, 86400] |
//! | `num_retries`, `x-litellm-num-retries` | an integer in [0, 100] (at most 10 are made) |
//! | `n`, `best_of` | an integer in [1, 128] (OpenAI's bound for `n`) |
//! | `max_tokens`, `max_completion_tokens`, `max_output_tokens` | an integer in [1, 2^32 - 1] |
//! | nesting of arrays and objects | 128 levels (`serde_json`'s own limit, which the Anthropic and Responses ingress already had) |
//! | `model`, `user` | 4 KiB of text |
//!
//! `null` is the same as leaving a field out. Integral floats (`2.0`) are accepted for integers.

use std::ops::RangeInclusive;

use serde_json::value::RawValue;

use crate::core::error::ApiError;

/// Longest per-request timeout, in seconds: one day (LiteLLM's default timeout is 600 s).
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;
/// Most retries a request may ask for (the exchange makes at most 10).
pub const NUM_RETRIES: RangeInclusive<u32> = 0..=100;
/// `n` and `best_of`: OpenAI accepts 1 to 128 choices.
pub const CHOICES: RangeInclusive<u32> = 1..=128;
/// `max_tokens` and its aliases: a positive `u32`, as every provider encodes it.
pub const MAX_TOKENS: RangeInclusive<u32> = 1..=u32::MAX;
/// Deepest nesting of arrays and objects a request body may have.
pub const MAX_JSON_DEPTH: usize = 128;
/// Longest `model` or `user` string, in bytes: both are echoed in errors and logs.
pub const MAX_NAME_BYTES: usize = 4096;

/// Shown in an error message: at most 40 characters of what the client sent.
fn shown(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn out_of_range(name: &str, got: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid value for '{name}': expected {expected}, got {}",
        shown(got.trim())
    ))
    .with_param(name)
}

fn seconds_in_range(v: f64) -> bool {
    v > 0.0 && v <= MAX_TIMEOUT_SECS
}

fn expected_seconds() -> String {
    format!("a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS}")
}

fn integer_in(v: f64, range: &RangeInclusive<u32>) -> Option<u32> {
    // NaN and infinities fail the comparisons; every `u32` is exact in an f64.
    let ok = v.fract() == 0.0 && v >= f64::from(*range.start()) && v <= f64::from(*range.end());
    ok.then_some(v as u32)
}

fn expected_integer(range: &RangeInclusive<u32>) -> String {
    format!("an integer from {} to {}", range.start(), range.end())
}

/// A body field in seconds (`timeout`, `stream_timeout`); `null` is `None`.
pub fn seconds_field(raw: &RawValue, name: &str) -> Result<Option<f64>, ApiError> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    match serde_json::from_str::<f64>(text) {
        Ok(v) if seconds_in_range(v) => Ok(Some(v)),
        _ => Err(out_of_range(name, text, &expected_seconds())),
    }
}

/// A body field holding a count in `range`; `null` is `None`.
pub fn integer_field(
    raw: &RawValue,
    name: &str,
    range: &RangeInclusive<u32>,
) -> Result<Option<u32>, ApiError> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    serde_json::from_str::<f64>(text)
        .ok()
        .and_then(|v| integer_in(v, range))
        .map(Some)
        .ok_or_else(|| out_of_range(name, text, &expected_integer(range)))
}

fn header_text<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("(not visible ASCII)").trim())
}

/// A header in seconds (`x-litellm-timeout`, `x-litellm-stream-timeout`).
pub fn seconds_header(headers: &http::HeaderMap, name: &str) -> Result<Option<f64>, ApiError> {
    let Some(text) = header_text(headers, name) else {
        return Ok(None);
    };
    match text.parse::<f64>() {
        Ok(v) if seconds_in_range(v) => Ok(Some(v)),
        _ => Err(out_of_range(name, text, &expected_seconds())),
    }
}

/// A header holding a count in `range` (`x-litellm-num-retries`).
pub fn integer_header(
    headers: &http::HeaderMap,
    name: &str,
    range: &RangeInclusive<u32>,
) -> Result<Option<u32>, ApiError> {
    let Some(text) = header_text(headers, name) else {
        return Ok(None);
    };
    text.parse::<f64>()
        .ok()
        .and_then(|v| integer_in(v, range))
        .map(Some)
        .ok_or_else(|| out_of_range(name, text, &expected_integer(range)))
}

/// A name the gateway echoes (`model`, `user`), refused over [`MAX_NAME_BYTES`].
pub fn check_name(name: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_NAME_BYTES {
        return Err(ApiError::bad_request(format!(
            "Invalid value for '{name}': longer than {MAX_NAME_BYTES} bytes ({} bytes)",
            value.len()
        ))
        .with_param(name));
    }
    Ok(())
}

/// Whether a JSON text nests arrays and objects deeper than `limit`. Strings are skipped
/// (escapes included); the text need not be valid JSON: this only counts brackets.
pub fn nested_deeper_than(json: &[u8], limit: usize) -> bool {
    // Most bodies open fewer brackets than the limit in all: one vectorised pass says so.
    if memchr::memchr2_iter(b'[', b'{', json)
        .take(limit + 1)
        .count()
        <= limit
    {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                // Jump to the closing quote: past every `\x` escape pair.
                i += 1;
                loop {
                    let Some(rest) = json.get(i..) else {
                        return false;
                    };
                    match memchr::memchr2(b'"', b'\\', rest) {
                        None => return false,
                        Some(at) if rest[at] == b'\\' => i += at + 2,
                        Some(at) => {
                            i += at;
                            break;
                        }
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// A body the handler reads with its own types (management API): one JSON value, valid
/// UTF-8, nothing after it, nested at most [`MAX_JSON_DEPTH`]; an empty body passes.
pub fn check_document(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    if nested_deeper_than(body, MAX_JSON_DEPTH) {
        return Err(too_deep());
    }
    serde_json::from_slice::<&RawValue>(body).map_err(|e| {
        ApiError::bad_request(format!("Invalid JSON in request body: {e}"))
            .with_code("invalid_json")
    })?;
    Ok(())
}

/// The 400 for a top-level member given twice (`{"model":"a","model":"b"}`): the gateway and
/// the upstream could read different values.
pub fn duplicate_key(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid JSON in request body: the member \"{}\" is given more than once",
        shown(name)
    ))
    .with_param(shown(name))
    .with_code("invalid_json")
}

/// The 400 for a body nested deeper than [`MAX_JSON_DEPTH`].
pub fn too_deep() -> ApiError {
    ApiError::bad_request(format!(
        "Invalid JSON in request body: arrays and objects nested deeper than {MAX_JSON_DEPTH} levels"
    ))
    .with_code("invalid_json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn seconds_accept_the_range_and_refuse_the_rest() {
        for ok in ["0.5", "1", "600", "86400", "8.64e4"] {
            assert!(
                seconds_field(&raw(ok), "timeout").unwrap().is_some(),
                "{ok}"
            );
        }
        assert_eq!(seconds_field(&raw("null"), "timeout").unwrap(), None);
        for bad in [
            "0", "-1", "86400.5", "1e19", "1e400", "\"NaN\"", "\"30\"", "{}", "[1]", "true",
        ] {
            let e = seconds_field(&raw(bad), "timeout").unwrap_err();
            assert_eq!(
                (e.status, e.param.as_deref()),
                (400, Some("timeout")),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers_accept_the_range_and_refuse_the_rest() {
        let f = |s: &str| integer_field(&raw(s), "n", &CHOICES);
        assert_eq!(f("1").unwrap(), Some(1));
        assert_eq!(f("128").unwrap(), Some(128));
        assert_eq!(f("2.0").unwrap(), Some(2));
        for bad in [
            "0",
            "-1",
            "129",
            "1.5",
            "1e19",
            "1e400",
            "18446744073709551616",
            "\"2\"",
            "{\"a\":1}",
        ] {
            let e = f(bad).unwrap_err();
            assert_eq!(e.param.as_deref(), Some("n"), "{bad}");
            assert!(e.message.contains("from 1 to 128"), "{}", e.message);
        }
        let max = u32::MAX.to_string();
        assert_eq!(
            integer_field(&raw(&max), "max_tokens", &MAX_TOKENS).unwrap(),
            Some(u32::MAX)
        );
        assert!(integer_field(&raw("4294967296"), "max_tokens", &MAX_TOKENS).is_err());
    }

    #[test]
    fn headers_are_checked_like_fields() {
        let mut h = http::HeaderMap::new();
        assert_eq!(seconds_header(&h, "x-litellm-timeout").unwrap(), None);
        for bad in ["1e19", "NaN", "inf", "-1", "0", "abc", "1e400", ""] {
            h.insert("x-litellm-timeout", bad.parse().unwrap());
            let e = seconds_header(&h, "x-litellm-timeout").unwrap_err();
            assert_eq!(e.param.as_deref(), Some("x-litellm-timeout"), "{bad}");
        }
        h.insert("x-litellm-timeout", " 2.5 ".parse().unwrap());
        assert_eq!(seconds_header(&h, "x-litellm-timeout").unwrap(), Some(2.5));
        h.insert("x-litellm-num-retries", "101".parse().unwrap());
        assert!(integer_header(&h, "x-litellm-num-retries", &NUM_RETRIES).is_err());
        h.insert("x-litellm-num-retries", "3".parse().unwrap());
        assert_eq!(
            integer_header(&h, "x-litellm-num-retries", &NUM_RETRIES).unwrap(),
            Some(3)
        );
    }

    #[test]
    fn errors_show_a_bounded_excerpt() {
        let long = format!("\"{}\"", "x".repeat(10_000));
        let e = seconds_field(&raw(&long), "timeout").unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message);
    }

    #[test]
    fn documents_are_one_valid_value() {
        assert!(check_document(b"").is_ok());
        assert!(check_document(b" \n").is_ok());
        assert!(check_document(br#"{"a":[1,{"b":null}]}"#).is_ok());
        for bad in [
            &b"{} x"[..],
            b"{\"a\":\"\xff\"}",
            b"{\"a\":NaN}",
            b"[[[",
            b"{",
        ] {
            let e = check_document(bad).unwrap_err();
            assert_eq!(e.code.as_deref(), Some("invalid_json"));
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(check_document(deep.as_bytes()).is_err());
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(!nested_deeper_than(deep(128).as_bytes(), 128));
        assert!(nested_deeper_than(deep(129).as_bytes(), 128));
        assert!(nested_deeper_than(deep(100_000).as_bytes(), 128));
        let in_string = format!(r#"{{"a":"{}\"\\{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(!nested_deeper_than(in_string.as_bytes(), 2));
        // Unterminated strings and stray escapes end the scan, never index out of bounds.
        for odd in [&b"\"abc"[..], b"\"\\", b"[\"\\\"", b"]]]}", b""] {
            assert!(!nested_deeper_than(odd, 2));
        }
    }
}
