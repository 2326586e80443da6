//! Unit tests of `api::request`.

use super::*;
use serde_json::{json, Value};

fn parse(body: &str) -> Result<ModelCall, ApiError> {
    ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))
}

#[test]
fn splice_replaces_model_and_keeps_everything_else() {
    let body = r#"{ "model" : "gpt" , "messages":[{"role":"user","content":"h\"i"}], "x_unknown": {"a":[1,2]}}"#;
    let c = parse(body).unwrap();
    assert_eq!(c.model, "gpt");
    let out = c.splice(Some(br#""gpt-4o-mini""#), &[], &[]);
    let s = std::str::from_utf8(&out).unwrap();
    assert_eq!(s, body.replace(r#""gpt""#, r#""gpt-4o-mini""#));
}

#[test]
fn escaped_keys_are_read_as_their_text() {
    let c = parse(r#"{"m\u006fdel":"gpt","messages":[],"num_r\u0065tries":2}"#).unwrap();
    assert_eq!((c.model.as_str(), c.num_retries), ("gpt", Some(2)));
    let v: Value = serde_json::from_slice(&c.splice(Some(br#""u""#), &[], &[])).unwrap();
    assert_eq!(v, json!({"model":"u","messages":[]}));
}

#[test]
fn stream_injects_usage_and_strips_gateway_fields() {
    let c =
        parse(r#"{"num_retries":3,"model":"m","stream":true,"messages":[],"mock_response":"x"}"#)
            .unwrap();
    assert_eq!(c.num_retries, Some(3));
    assert!(c.stream && !c.include_usage);
    let v: Value = serde_json::from_slice(&c.splice(Some(br#""u""#), &[], &[])).unwrap();
    assert_eq!(
        v,
        json!({"model":"u","stream":true,"messages":[],"stream_options":{"include_usage":true}})
    );
    let c = parse(r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false},"messages":[]}"#).unwrap();
    let v: Value = serde_json::from_slice(&c.splice(None, &[], &[])).unwrap();
    assert_eq!(
        v["stream_options"],
        json!({"include_obfuscation":false,"include_usage":true})
    );
}

#[test]
fn adjacent_removals_keep_valid_json() {
    let c = parse(
        r#"{ "num_retries":1 , "mock_response":"x","model":"m","seed":3,"messages":[],"logit_bias":{}}"#,
    )
    .unwrap();
    let out = c.splice(None, &[], &["seed".into(), "logit_bias".into()]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v, json!({"model":"m","messages":[]}));
    let defaults = vec![(
        "top_k".to_string(),
        RawValue::from_string("2".into()).unwrap(),
    )];
    let v: Value = serde_json::from_slice(&c.splice(None, &defaults, &[])).unwrap();
    assert_eq!(
        v,
        json!({"top_k":2,"model":"m","seed":3,"messages":[],"logit_bias":{}})
    );
}

#[test]
fn defaults_fill_only_missing_fields() {
    let c = parse(r#"{"model":"m","temperature":0.1,"messages":[]}"#).unwrap();
    let defaults = vec![
        (
            "temperature".to_string(),
            RawValue::from_string("0.9".into()).unwrap(),
        ),
        (
            "max_tokens".to_string(),
            RawValue::from_string("64".into()).unwrap(),
        ),
    ];
    let v: Value = serde_json::from_slice(&c.splice(None, &defaults, &[])).unwrap();
    assert_eq!(
        v,
        json!({"model":"m","temperature":0.1,"max_tokens":64,"messages":[]})
    );
}

#[test]
fn errors_name_the_problem() {
    let e = parse(r#"{"model":"m","messages":[}"#).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.message.contains("Invalid JSON"), "{}", e.message);
    let e = parse(r#"{"model":"m"}"#).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("messages"));
    let e = parse(r#"{"messages":[]}"#).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("model"));
    let e = parse(r#"{"model":5,"messages":[]}"#).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("model"));
    assert!(parse("[1,2]").is_err());
    assert!(parse("").is_err());
}

#[test]
fn hostile_bodies_are_refused_with_a_reason() {
    let deep = format!(
        r#"{{"model":"m","messages":[],"x":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = parse(&deep).unwrap_err();
    assert!(
        e.message.contains("nested deeper than 128"),
        "{}",
        e.message
    );
    let e = parse(r#"{"model":"a","messages":[],"m\u006fdel":"b"}"#).unwrap_err();
    assert_eq!((e.status, e.param.as_deref()), (400, Some("model")));
    let many: String = (0..100).map(|i| format!(r#""k{i}":1,"#)).collect();
    let e = parse(&format!(r#"{{{many}"model":"m","messages":[],"k7":2}}"#)).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("k7"));
    // Nested duplicates are the upstream's to judge.
    assert!(parse(r#"{"model":"m","messages":[],"x":{"a":1,"a":2}}"#).is_ok());
    let long = "x".repeat(limits::MAX_NAME_BYTES + 1);
    let e = parse(&format!(r#"{{"model":"{long}","messages":[]}}"#)).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("model"));
    let e = parse(&format!(r#"{{"model":"m","messages":[],"user":"{long}"}}"#)).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("user"));
    // A long prompt is not a long name.
    let prompt = "y".repeat(2 << 20);
    assert!(parse(&format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{prompt}"}}]}}"#
    ))
    .is_ok());
}

#[test]
fn numbers_are_read_within_bounds() {
    let c = parse(r#"{"model":"m","messages":[],"n":3,"best_of":5,"max_completion_tokens":7,"timeout":2.5,"stream_timeout":1,"num_retries":4}"#).unwrap();
    assert_eq!((c.n, c.best_of, c.max_tokens), (Some(3), Some(5), Some(7)));
    assert_eq!(
        (c.timeout, c.stream_timeout, c.num_retries),
        (Some(2.5), Some(1.0), Some(4))
    );
    for (field, value) in [
        ("n", "0"),
        ("n", "129"),
        ("best_of", "-1"),
        ("max_tokens", "0"),
        ("max_tokens", "1e19"),
        ("timeout", "1e19"),
        ("timeout", "-1"),
        ("stream_timeout", "0"),
        ("num_retries", "101"),
        ("max_completion_tokens", "{}"),
    ] {
        let e = parse(&format!(
            r#"{{"model":"m","messages":[],"{field}":{value}}}"#
        ))
        .unwrap_err();
        assert_eq!(
            (e.status, e.param.as_deref()),
            (400, Some(field)),
            "{field}={value}"
        );
    }
}

#[test]
fn headers_override_the_body_within_bounds() {
    let mut c = parse(r#"{"model":"m","messages":[],"timeout":5,"num_retries":1}"#).unwrap();
    let mut h = http::HeaderMap::new();
    h.insert("x-litellm-timeout", "7".parse().unwrap());
    h.insert("x-litellm-num-retries", "3".parse().unwrap());
    c.apply_headers(&h).unwrap();
    assert_eq!(
        (c.timeout, c.num_retries, c.stream_timeout),
        (Some(7.0), Some(3), None)
    );
    h.insert("x-litellm-stream-timeout", "1e19".parse().unwrap());
    let e = c.apply_headers(&h).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("x-litellm-stream-timeout"));
}

proptest::proptest! {
    #[test]
    fn splice_always_yields_valid_json(model in "[a-z\"\\\\é]{0,12}", stream in proptest::bool::ANY, retries in proptest::option::of(0u32..5)) {
        let mut v = json!({"model": model, "messages": [{"role":"user","content":"hi"}], "stream": stream});
        if let Some(r) = retries { v["num_retries"] = json!(r); }
        let c = parse(&v.to_string()).unwrap();
        let out = c.splice(Some(&json_string("up")), &[], &[]);
        let back: Value = serde_json::from_slice(&out).unwrap();
        proptest::prop_assert_eq!(&back["model"], "up");
        proptest::prop_assert!(back.get("num_retries").is_none());
        proptest::prop_assert_eq!(back["stream_options"]["include_usage"] == true, stream);
    }
}
