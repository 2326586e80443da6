//! Upstream streams: the SSE framer and every provider's stream decoder hold bounded state,
//! never panic, and decode the same events however the bytes are cut.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use switchyard::core::chat::{Event, StreamDecoder};
use switchyard::providers::bedrock::eventstream::encode_frame;
use switchyard::providers::openai::OpenAiStream;
use switchyard::providers::{provider, ProviderKind};
use switchyard::wire::sse::{self, SseFramer, MAX_EVENT_BYTES};

use crate::inputs::{any_json, cases, cuts, edits, framing_soup, mutate, picks, renumber, split};

// ---- the SSE framer ----

/// Events, then whether the framer refused an event, for `chunks` fed in order.
fn frame(limit: usize, chunks: &[&[u8]]) -> (Vec<Bytes>, bool) {
    let mut f = SseFramer::with_limit(limit);
    let mut events = Vec::new();
    let mut failed = false;
    for c in chunks {
        if f.feed(c, |e| events.push(e)).is_err() {
            assert!(!failed, "the framer fails once");
            failed = true;
        }
        // Up to 3 bytes of a terminator may be held past the limit, never more.
        assert!(f.pending().len() <= limit + 3, "{} held", f.pending().len());
        if failed {
            assert!(f.pending().is_empty());
        }
    }
    (events, failed)
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn sse_framer_is_bounded_and_split_invariant(
        raw in framing_soup(),
        cuts in cuts(),
        limit in prop_oneof![0usize..64, Just(MAX_EVENT_BYTES)],
    ) {
        let whole = frame(limit, &[&raw]);
        let cut = frame(limit, &split(&raw, &cuts));
        prop_assert_eq!(&cut, &whole);
        for e in &whole.0 {
            prop_assert!(e.len() <= limit);
            if let Some(d) = sse::data(e) {
                let _kind = sse::classify(&d);
            }
        }
        let _usage = sse::usage_in_body(&raw);
    }
}

// ---- stream decoders ----

#[derive(Clone, Copy, Debug)]
enum Dec {
    OpenAi,
    Anthropic,
    Gemini,
    Vertex,
    Ollama,
    Bedrock,
}

const DECODERS: [Dec; 6] = [
    Dec::OpenAi,
    Dec::Anthropic,
    Dec::Gemini,
    Dec::Vertex,
    Dec::Ollama,
    Dec::Bedrock,
];

impl Dec {
    fn decoder(self) -> Box<dyn StreamDecoder> {
        let kind = match self {
            Dec::OpenAi => return Box::new(OpenAiStream::default()),
            Dec::Anthropic => ProviderKind::Anthropic,
            Dec::Gemini => ProviderKind::Gemini,
            Dec::Vertex => ProviderKind::VertexAi,
            Dec::Ollama => ProviderKind::Ollama,
            Dec::Bedrock => ProviderKind::Bedrock,
        };
        provider(kind).stream_decoder().expect("a stream decoder")
    }

    /// Recorded streams of this provider.
    fn recordings(self) -> Vec<&'static [u8]> {
        match self {
            Dec::OpenAi => vec![OPENAI_STREAM, OPENAI_TOOL_STREAM],
            Dec::Anthropic => vec![
                include_bytes!("../fixtures/anthropic/stream_text.sse"),
                include_bytes!("../fixtures/anthropic/stream_tool_use.sse"),
                include_bytes!("../fixtures/anthropic/stream_error.sse"),
            ],
            Dec::Gemini | Dec::Vertex => vec![
                include_bytes!("../fixtures/gemini/stream_text.sse"),
                include_bytes!("../fixtures/gemini/stream_tool.sse"),
                include_bytes!("../fixtures/gemini/conformance/stream_error.sse"),
            ],
            Dec::Ollama => vec![
                include_bytes!("../fixtures/ollama/stream_text.ndjson"),
                include_bytes!("../fixtures/ollama/stream_tool_calls.ndjson"),
                include_bytes!("../fixtures/ollama/stream_error.ndjson"),
            ],
            Dec::Bedrock => vec![
                include_bytes!("../fixtures/bedrock/conformance/stream_text.eventstream"),
                include_bytes!("../fixtures/bedrock/conformance/stream_tool_use.eventstream"),
                include_bytes!("../fixtures/bedrock/conformance/stream_error.eventstream"),
            ],
        }
    }
}

const OPENAI_STREAM: &[u8] = b"data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n: keep-alive\n\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \\u00e9\\n\\n\"}}]}\r\n\r\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n";
const OPENAI_TOOL_STREAM: &[u8] = b"data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\ndata: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: {\"error\":{\"message\":\"late\",\"type\":\"server_error\"}}\n\ndata: [DONE]\n\n";

/// An event without the ids decoders make up at random.
fn canon(e: &Event<'_>) -> String {
    match e {
        Event::Start { model, .. } => format!("Start({model})"),
        Event::ToolStart { index, name, .. } => format!("ToolStart({index}, {name})"),
        e => format!("{e:?}"),
    }
}

/// Everything a decoder emits for `chunks`, checking its held bytes after every feed.
fn decode(dec: Dec, chunks: &[&[u8]]) -> Vec<String> {
    let mut d = dec.decoder();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut |e| out.push(canon(&e)));
        assert!(
            d.buffered() <= MAX_EVENT_BYTES + 3,
            "{dec:?} holds {} bytes",
            d.buffered()
        );
    }
    d.finish(&mut |e| out.push(canon(&e)));
    out
}

/// Bedrock frames with arbitrary JSON payloads under the event types the decoder knows.
fn bedrock_frames() -> impl Strategy<Value = Vec<u8>> {
    let event_type = prop::sample::select(vec![
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "throttlingException",
        "x",
    ]);
    let message_type = prop::sample::select(vec!["event", "exception", "error", "other"]);
    let payload = prop_oneof![
        any_json().prop_map(|v| v.to_string().into_bytes()),
        Just(br#"{"delta":{"text":"hi"},"contentBlockIndex":0}"#.to_vec()),
        Just(
            br#"{"start":{"toolUse":{"toolUseId":"t","name":"f"}},"contentBlockIndex":1}"#.to_vec()
        ),
        Just(br#"{"delta":{"toolUse":{"input":"{\"a\":"}},"contentBlockIndex":1}"#.to_vec()),
        Just(br#"{"stopReason":"tool_use"}"#.to_vec()),
        Just(br#"{"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#.to_vec()),
        vec(any::<u8>(), 0..32),
    ];
    vec((message_type, event_type, payload), 0..10).prop_map(|frames| {
        frames
            .into_iter()
            .flat_map(|(m, t, p)| {
                let kind = if m == "exception" {
                    ":exception-type"
                } else {
                    ":event-type"
                };
                encode_frame(
                    &[(":message-type", m), (kind, t), (":error-message", "e")],
                    &p,
                )
            })
            .collect()
    })
}

/// NDJSON and SSE bodies made of arbitrary JSON values, one per line or event.
fn json_lines() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    vec(any_json(), 0..8).prop_map(|vals| {
        let lines: Vec<String> = vals.iter().map(Value::to_string).collect();
        let ndjson = lines.join("\n").into_bytes();
        let sse = lines
            .iter()
            .map(|l| format!("data: {l}\n\n"))
            .collect::<String>()
            .into_bytes();
        (ndjson, sse)
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn recorded_streams_decode_the_same_at_any_split(which in any::<Index>(), cuts in cuts()) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let rec = recs[which.index(recs.len())];
            prop_assert_eq!(decode(dec, &split(rec, &cuts)), decode(dec, &[rec]), "{:?}", dec);
        }
    }

    #[test]
    fn mutated_streams_never_panic_and_are_split_invariant(
        which in any::<Index>(),
        edits in edits(),
        cuts in cuts(),
    ) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let raw = mutate(recs[which.index(recs.len())], &edits);
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn streams_with_extreme_numbers_never_panic(which in any::<Index>(), picks in picks(), cuts in cuts()) {
        for dec in DECODERS {
            let recs = dec.recordings();
            let raw = renumber(recs[which.index(recs.len())], &picks);
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(
        raw in prop_oneof![vec(any::<u8>(), 0..512), framing_soup()],
        cuts in cuts(),
    ) {
        for dec in DECODERS {
            prop_assert_eq!(decode(dec, &split(&raw, &cuts)), decode(dec, &[&raw]), "{:?}", dec);
        }
    }

    #[test]
    fn arbitrary_json_events_never_panic_a_decoder((ndjson, sse) in json_lines(), cuts in cuts()) {
        for dec in DECODERS {
            let raw = if matches!(dec, Dec::Ollama) { &ndjson } else { &sse };
            prop_assert_eq!(decode(dec, &split(raw, &cuts)), decode(dec, &[raw]), "{:?}", dec);
        }
    }

    #[test]
    fn bedrock_frames_of_any_payload_decode_the_same_at_any_split(raw in bedrock_frames(), cuts in cuts()) {
        prop_assert_eq!(decode(Dec::Bedrock, &split(&raw, &cuts)), decode(Dec::Bedrock, &[&raw]));
    }
}

/// An event, line or message that never ends is cut at the cap: the decoder reports an error
/// and lets go of what it held, whatever it was fed before.
#[test]
fn an_unending_event_is_cut_at_the_cap_in_every_decoder() {
    let block = vec![b'x'; 256 * 1024];
    for dec in DECODERS {
        let mut d = dec.decoder();
        let mut errors = Vec::new();
        let prefix: &[u8] = match dec {
            Dec::Ollama => b"{\"model\":\"",
            Dec::Bedrock => b"",
            _ => b"data: {\"x\":\"",
        };
        if matches!(dec, Dec::Bedrock) {
            // A frame that claims the largest size the protocol allows and never arrives.
            let mut prelude = (MAX_EVENT_BYTES as u32).to_be_bytes().to_vec();
            prelude.extend_from_slice(&0u32.to_be_bytes());
            let crc = crc32fast::hash(&prelude);
            prelude.extend_from_slice(&crc.to_be_bytes());
            d.feed(&prelude, &mut |e| errors.push(canon(&e)));
        } else {
            d.feed(prefix, &mut |e| errors.push(canon(&e)));
        }
        let mut fed = prefix.len();
        while fed <= MAX_EVENT_BYTES + 2 * block.len() {
            d.feed(&block, &mut |e| errors.push(canon(&e)));
            fed += block.len();
            assert!(
                d.buffered() <= MAX_EVENT_BYTES + 3,
                "{dec:?} holds {}",
                d.buffered()
            );
        }
        d.finish(&mut |e| errors.push(canon(&e)));
        match dec {
            // The frame completes at its declared size; its CRC is wrong: a corrupt stream.
            Dec::Bedrock => assert!(
                errors.len() == 1 && errors[0].contains("corrupt"),
                "{dec:?}: {errors:?}"
            ),
            _ => assert!(
                errors.len() == 1 && errors[0].contains("longer than"),
                "{dec:?}: {errors:?}"
            ),
        }
        assert_eq!(d.buffered(), 0, "{dec:?} let go of the event");
    }
}

/// A Bedrock frame that claims more than the protocol's 16 MiB fails at its prelude.
#[test]
fn a_bedrock_frame_over_the_cap_fails_at_once() {
    let mut prelude = ((MAX_EVENT_BYTES + 1) as u32).to_be_bytes().to_vec();
    prelude.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&prelude);
    prelude.extend_from_slice(&crc.to_be_bytes());
    let out = decode(Dec::Bedrock, &[&prelude]);
    assert!(
        out.len() == 1 && out[0].contains("impossible frame length"),
        "{out:?}"
    );
}
