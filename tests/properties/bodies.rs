//! Non-stream upstream bodies: every provider's completion, embeddings and error decoders (and
//! Vertex AI's token response) on arbitrary bytes, mutated recordings and extreme numbers.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use switchyard::core::call::ModelCall;
use switchyard::core::endpoint::Endpoint;
use switchyard::providers::provider;
use switchyard::wire::sse;

use crate::inputs::{any_json, cases, edits, framing_soup, kinds, mutate, picks, renumber};

const BODIES: &[&[u8]] = &[
    include_bytes!("../fixtures/anthropic/text.json"),
    include_bytes!("../fixtures/anthropic/tool_use.json"),
    include_bytes!("../fixtures/anthropic/error_overloaded.json"),
    include_bytes!("../fixtures/gemini/text.json"),
    include_bytes!("../fixtures/gemini/function_call.json"),
    include_bytes!("../fixtures/gemini/blocked.json"),
    include_bytes!("../fixtures/gemini/error_429.json"),
    include_bytes!("../fixtures/ollama/text.json"),
    include_bytes!("../fixtures/ollama/tool_calls.json"),
    include_bytes!("../fixtures/ollama/error_404.json"),
    include_bytes!("../fixtures/bedrock/converse_text.json"),
    include_bytes!("../fixtures/bedrock/converse_tool_use.json"),
    include_bytes!("../fixtures/bedrock/error_throttling.json"),
    br#"{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
    br#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
    br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"embedding":{"values":[1]},"embeddings":[[1.0]],"usage":{"prompt_tokens":1}}"#,
];

/// Every provider's non-stream decoders on one body: no panic, whatever they conclude.
fn decode_bodies(body: &[u8]) {
    let call = ModelCall::parse(
        Endpoint::Embeddings,
        Bytes::from_static(br#"{"model":"m","input":["a","b"]}"#),
    )
    .unwrap();
    for kind in kinds() {
        let p = provider(kind);
        let _completion = p.decode_completion(body);
        let _embeddings = p.decode_embeddings(body, &call);
        for status in [400, 429, 500, 529] {
            let e = p.decode_error(status, &http::HeaderMap::new(), body);
            assert!(e.status >= 400, "{kind:?}: {e}");
        }
    }
    let _completion = switchyard::providers::openai::decode_completion_body(body);
    for status in [200, 400] {
        let _token = switchyard::providers::vertex::auth::parse_token(status, body, u64::MAX - 1);
    }
    let _usage = sse::usage_in_body(body);
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn response_decoders_take_arbitrary_bytes(raw in prop_oneof![vec(any::<u8>(), 0..256), framing_soup()]) {
        decode_bodies(&raw);
    }

    #[test]
    fn response_decoders_take_mutated_recordings(which in any::<Index>(), edits in edits()) {
        decode_bodies(&mutate(BODIES[which.index(BODIES.len())], &edits));
    }

    #[test]
    fn response_decoders_take_extreme_numbers(which in any::<Index>(), picks in picks()) {
        decode_bodies(&renumber(BODIES[which.index(BODIES.len())], &picks));
    }

    #[test]
    fn response_decoders_take_any_json(v in any_json()) {
        decode_bodies(v.to_string().as_bytes());
    }
}
