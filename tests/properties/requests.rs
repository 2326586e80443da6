//! The request path: Anthropic and Responses ingress, the request parser, the splice and every
//! provider's encoder, on arbitrary bytes, generated JSON and mutated real requests.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use switchyard::core::call::ModelCall;
use switchyard::core::chat::ClientWire;
use switchyard::core::endpoint::Endpoint;
use switchyard::providers::{provider, EncodeTarget};

use crate::inputs::{
    cases, edits, framing_soup, json_text, kinds, mutate, picks, renumber, request_json,
};

const MODEL_ENDPOINTS: [Endpoint; 6] = [
    Endpoint::ChatCompletions,
    Endpoint::Completions,
    Endpoint::Embeddings,
    Endpoint::Messages,
    Endpoint::CountTokens,
    Endpoint::Responses,
];

/// What the proxy does with a client body: bridge, parse, splice and encode for every provider.
/// Whatever it accepts must come out as JSON.
fn request_pipeline(endpoint: Endpoint, body: &[u8]) {
    let (wire, chat, client) = match endpoint {
        Endpoint::Messages | Endpoint::CountTokens => {
            match switchyard::api::messages::to_openai(body) {
                Ok(chat) => (Endpoint::ChatCompletions, chat, ClientWire::Anthropic),
                Err(e) => return assert_client_error(&e),
            }
        }
        Endpoint::Responses => match switchyard::api::responses::to_openai(body) {
            Ok(chat) => (Endpoint::ChatCompletions, chat, ClientWire::Responses),
            Err(e) => return assert_client_error(&e),
        },
        e => (e, Bytes::copy_from_slice(body), ClientWire::OpenAi),
    };
    if client != ClientWire::OpenAi {
        assert_json(&chat, "bridged body");
    }
    let mut call = match ModelCall::parse(wire, chat) {
        Ok(c) => c,
        Err(e) => return assert_client_error(&e),
    };
    call.client = client;
    if client != ClientWire::OpenAi {
        if let Ok(native) = ModelCall::parse(endpoint, Bytes::copy_from_slice(body)) {
            call.native = Some(Box::new(native));
        }
    }
    let model_json = serde_json::to_vec("upstream/model-1").unwrap();
    let defaults = vec![(
        "temperature".to_string(),
        serde_json::value::RawValue::from_string("0.5".into()).unwrap(),
    )];
    let drop = vec!["metadata".to_string(), "user".to_string()];
    let spliced = call.splice(Some(&model_json), &defaults, &drop);
    assert_json(&spliced, "spliced body");
    for kind in kinds() {
        for drop_params in [false, true] {
            let target = EncodeTarget {
                model_json: &model_json,
                model: "upstream/model-1",
                defaults: &defaults,
                drop_params,
                additional_drop_params: &drop,
            };
            match provider(kind).encode(&call, &target) {
                Ok(out) => assert_json(&out, kind.as_str()),
                Err(e) => assert_client_error(&e),
            }
        }
    }
}

fn assert_json(bytes: &[u8], what: &str) {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
        );
    }
}

fn assert_client_error(e: &switchyard::core::error::ApiError) {
    assert!(
        (400..500).contains(&e.status),
        "client input must fail as a 4xx, got {e}"
    );
}

/// Realistic requests of every client API, every feature the translators read.
const REQUESTS: &[&str] = &[
    r#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"max_tokens":100,"max_completion_tokens":100,"n":1,"temperature":0.5,"top_p":1,"seed":1,"stop":["x"],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"reasoning_effort":"high","stream":true,"stream_options":{"include_usage":true},"top_k":40,"thinking":{"type":"enabled","budget_tokens":1024},"timeout":10,"stream_timeout":5,"num_retries":2,"logprobs":true,"top_logprobs":2,"user":"u","metadata":{"tags":["a"]}}"#,
    r#"{"model":"m","max_tokens":1024,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"x"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ok"}],"is_error":false},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}],"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"thinking":{"type":"enabled","budget_tokens":2048},"temperature":1,"top_p":0.9,"top_k":5,"stop_sequences":["x"],"stream":true,"metadata":{"user_id":"u"}}"#,
    r#"{"model":"m","instructions":"be","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},{"role":"assistant","content":[{"type":"output_text","text":"x"}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"},{"type":"reasoning","summary":[]}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}],"tool_choice":{"type":"function","name":"f"},"max_output_tokens":100,"temperature":0.2,"top_p":1,"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},"reasoning":{"effort":"low"},"stream":true,"store":false,"parallel_tool_calls":false,"user":"u"}"#,
    r#"{"model":"m","input":"just text","max_output_tokens":16}"#,
    r#"{"model":"m","input":["a","b"],"dimensions":256,"encoding_format":"float"}"#,
    r#"{"model":"m","input":[[1,2,3]],"dimensions":3}"#,
    r#"{"model":"m","prompt":"hi","max_tokens":5,"n":2,"best_of":3,"echo":true,"logprobs":1}"#,
];

/// The recordings the request properties start from are accepted as they are, so mutations
/// of them reach the translators.
#[test]
fn real_requests_reach_every_encoder() {
    let accepted = |e: Endpoint, body: &str| -> bool {
        let chat = match e {
            Endpoint::Messages => switchyard::api::messages::to_openai(body.as_bytes()),
            Endpoint::Responses => switchyard::api::responses::to_openai(body.as_bytes()),
            _ => Ok(Bytes::copy_from_slice(body.as_bytes())),
        };
        let wire = match e {
            Endpoint::Messages | Endpoint::Responses => Endpoint::ChatCompletions,
            e => e,
        };
        chat.and_then(|c| ModelCall::parse(wire, c)).is_ok()
    };
    let expect = [
        Endpoint::ChatCompletions,
        Endpoint::Messages,
        Endpoint::Responses,
        Endpoint::Responses,
        Endpoint::Embeddings,
        Endpoint::Embeddings,
        Endpoint::Completions,
    ];
    for (body, e) in REQUESTS.iter().zip(expect) {
        assert!(accepted(e, body), "{e:?}: {body}");
        request_pipeline(e, body.as_bytes());
    }
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn request_parsers_take_arbitrary_bytes(raw in prop_oneof![vec(any::<u8>(), 0..256), framing_soup()]) {
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_any_json(body in request_json()) {
        let raw = body.to_string();
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, raw.as_bytes());
        }
    }

    #[test]
    fn request_parsers_take_hand_written_json(raw in json_text()) {
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, raw.as_bytes());
        }
    }

    #[test]
    fn request_parsers_take_real_requests_with_extreme_numbers(which in any::<Index>(), picks in picks()) {
        let raw = renumber(REQUESTS[which.index(REQUESTS.len())].as_bytes(), &picks);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_mutated_real_requests(which in any::<Index>(), edits in edits()) {
        let raw = mutate(REQUESTS[which.index(REQUESTS.len())].as_bytes(), &edits);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }

    #[test]
    fn request_parsers_take_mutated_json(body in request_json(), edits in edits()) {
        let raw = mutate(body.to_string().as_bytes(), &edits);
        for e in MODEL_ENDPOINTS {
            request_pipeline(e, &raw);
        }
    }
}
