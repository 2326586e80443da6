//! Bedrock's ConverseStream decoder against hand-built event-stream frames, at every split.

use super::eventstream::encode_frame;
use super::*;
use crate::providers::chat::{Event, Finish, Usage};
use crate::providers::testkit;
use serde_json::{json, Value};

fn event(kind: &str, payload: Value) -> Vec<u8> {
    encode_frame(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn exception(kind: &str, message: &str) -> Vec<u8> {
    encode_frame(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        json!({ "message": message }).to_string().as_bytes(),
    )
}

/// Text, reasoning and two tool calls, as ConverseStream sends them (with `p` padding).
fn full_stream() -> Vec<u8> {
    let frames = [
        event(
            "messageStart",
            json!({"p": "abcdefgh", "role": "assistant"}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Weather "}}, "p": "ab"}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqoB"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"text": "Let me "}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"text": "check \u{e9}\u{1F600}."}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{\"city\":"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 2, "delta": {"toolUse": {"input": "\"Paris\"}"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 2})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 3, "start": {"toolUse": {"toolUseId": "tooluse_b", "name": "get_time"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 3, "delta": {"toolUse": {"input": "{}"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 3})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 20, "outputTokens": 30, "totalTokens": 55,
                "cacheReadInputTokens": 5}, "metrics": {"latencyMs": 300}}),
        ),
    ];
    frames.concat()
}

/// Feed `chunks` then close, collecting the events as text.
fn events_of(chunks: &[&[u8]]) -> Vec<String> {
    testkit::events(&mut ConverseStream::with_id("chatcmpl-test".into()), chunks)
}

#[test]
fn stream_maps_every_event() {
    let events = events_of(&[&full_stream()]);
    let usage = Usage {
        prompt: 25,
        completion: 30,
        cache_read: 5,
        ..Usage::default()
    };
    let expected: Vec<String> = [
        Event::Start {
            id: "chatcmpl-test",
            model: "",
        },
        Event::Reasoning("Weather ".into()),
        Event::Text("Let me ".into()),
        Event::Text("check \u{e9}\u{1F600}.".into()),
        Event::ToolStart {
            index: 0,
            id: "tooluse_a".into(),
            name: "get_weather".into(),
        },
        Event::ToolArgs {
            index: 0,
            args: "{\"city\":".into(),
        },
        Event::ToolArgs {
            index: 0,
            args: "\"Paris\"}".into(),
        },
        Event::ToolStart {
            index: 1,
            id: "tooluse_b".into(),
            name: "get_time".into(),
        },
        Event::ToolArgs {
            index: 1,
            args: "{}".into(),
        },
        Event::Finish(Finish::ToolCalls),
        Event::Usage(usage),
        Event::Done,
    ]
    .iter()
    .map(|e| format!("{e:?}"))
    .collect();
    assert_eq!(events, expected);
}

#[test]
fn stream_is_the_same_at_every_split() {
    let stream = full_stream();
    let whole = events_of(&[&stream]);
    for cut in 0..=stream.len() {
        assert_eq!(
            events_of(&[&stream[..cut], &stream[cut..]]),
            whole,
            "cut at {cut}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(events_of(&bytes), whole);
    let sevens: Vec<&[u8]> = stream.chunks(7).collect();
    assert_eq!(events_of(&sevens), whole);
}

#[test]
fn stream_end_without_metadata_and_cut_streams() {
    let mut s = event("messageStart", json!({"role": "assistant"}));
    s.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
    ));
    let cut = events_of(&[&s]);
    assert_eq!(cut.len(), 2, "{cut:?}");
    assert!(!cut.iter().any(|e| e == "Done"));

    s.extend(event("messageStop", json!({"stopReason": "max_tokens"})));
    let ended = events_of(&[&s]);
    assert_eq!(&ended[2..], ["Finish(Length)", "Done"]);
}

#[test]
fn stream_exceptions_become_errors() {
    for (kind, status) in [
        ("throttlingException", 429),
        ("serviceUnavailableException", 503),
        ("modelStreamErrorException", 502),
        ("validationException", 400),
        ("internalServerException", 500),
    ] {
        let mut s = event("messageStart", json!({"role": "assistant"}));
        s.extend(exception(kind, "went wrong"));
        s.extend(event(
            "contentBlockDelta",
            json!({"delta": {"text": "late"}}),
        ));
        let mut d = ConverseStream::with_id("x".into());
        let mut errors = Vec::new();
        let mut others = 0;
        d.feed(&s, &mut |e| match e {
            Event::Error(err) => errors.push(err),
            _ => others += 1,
        });
        d.finish(&mut |_| others += 1);
        assert_eq!(others, 1, "{kind}: only Start before the error");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].status, status, "{kind}");
        assert_eq!(errors[0].code.as_deref(), Some(kind));
        assert_eq!(errors[0].message, "litellm.BedrockException - went wrong");
    }
}

#[test]
fn stream_corruption_is_an_error() {
    let mut s = full_stream();
    let at = s.len() / 2;
    s[at] ^= 0x20;
    let events = events_of(&[&s]);
    let last = events.last().unwrap();
    assert!(
        last.starts_with("Error(") && last.contains("corrupt event stream") && last.contains("CRC"),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e == "Done"));
    assert_eq!(events.iter().filter(|e| e.starts_with("Error(")).count(), 1);
}

#[test]
fn stream_json_mode_is_text() {
    let s = [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t", "name": "json_tool_call"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{\"a\":1}"}}}),
        ),
        event("messageStop", json!({"stopReason": "tool_use"})),
    ]
    .concat();
    assert_eq!(
        events_of(&[&s])[1..],
        [
            "Text(\"{\\\"a\\\":1}\")".to_string(),
            "Finish(Stop)".to_string(),
            "Done".to_string()
        ]
    );
}
