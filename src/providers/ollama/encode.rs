//! OpenAI chat request -> Ollama `/api/chat` body: pure, borrowing from the request.
//!
//! Sampling parameters go into `options`; `stream` is always written (Ollama streams unless
//! told not to). Where a client gives both an OpenAI parameter and its Ollama spelling, the
//! more Ollama-specific one wins: top-level native keys over the `options` object over the
//! mapped OpenAI parameters (`num_predict` over `max_tokens`, `think` over
//! `reasoning_effort`, `format` over `response_format`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::chat::{
    data_url, ChatRequest, Content, Message, Part, ResponseFormat, Role, Tool, ToolChoice,
};
use crate::providers::EncodeTarget;

/// Keys of Ollama's `options` (its `Options` and `Runner`, current and older servers) that a
/// client may give at the top level, as LiteLLM forwards them; a server ignores the ones it
/// no longer knows.
const OPTION_KEYS: &[&str] = &[
    "num_keep",
    "num_predict",
    "top_k",
    "min_p",
    "typical_p",
    "tfs_z",
    "repeat_last_n",
    "repeat_penalty",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "penalize_newline",
    "num_ctx",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "num_gqa",
    "num_thread",
    "numa",
    "low_vram",
    "f16_kv",
    "vocab_only",
    "use_mmap",
    "use_mlock",
    "logits_all",
    "draft_num_predict",
];

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    /// Always present: Ollama's default is `true`.
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Format<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    options: BTreeMap<Cow<'a, str>, Opt<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    think: Option<Think<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_alive: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncate: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shift: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<CallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_name: Option<&'a str>,
    /// Read by current servers (older ones ignore it).
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
struct CallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    /// An object, never OpenAI's JSON string.
    arguments: Value,
}

#[derive(Serialize)]
struct ToolOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters: &'a RawValue,
}

/// `format`: JSON mode, or a JSON schema the output must match.
#[derive(Serialize)]
#[serde(untagged)]
enum Format<'a> {
    Json(&'static str),
    Raw(&'a RawValue),
}

#[derive(Serialize)]
#[serde(untagged)]
enum Think<'a> {
    Bool(bool),
    Raw(&'a RawValue),
}

/// One `options` value.
#[derive(Serialize)]
#[serde(untagged)]
enum Opt<'a> {
    Float(f64),
    Count(u64),
    Seed(i64),
    Stop(&'a [Cow<'a, str>]),
    Raw(&'a RawValue),
}

fn invalid(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Invalid value for '{param}': {message}")).with_param(param)
}

fn raw_value<'a>(raw: &'a str, param: &str) -> Result<&'a RawValue, ApiError> {
    serde_json::from_str(raw).map_err(|e| invalid(param, e))
}

fn number(raw: &str, param: &str) -> Result<f64, ApiError> {
    serde_json::from_str(raw).map_err(|e| invalid(param, e))
}

fn unsupported(what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "litellm.BadRequestError: ollama_chat does not support {what}"
    ))
    .with_param("messages")
}

/// `{"type":"object","properties":{}}`: the schema for tools that declare none.
fn empty_schema() -> &'static RawValue {
    static EMPTY: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| {
        RawValue::from_string(r#"{"type":"object","properties":{}}"#.into())
            .unwrap_or_else(|_| Box::<RawValue>::default())
    })
}

fn put<'a>(options: &mut BTreeMap<Cow<'a, str>, Opt<'a>>, key: &'static str, v: Option<Opt<'a>>) {
    if let Some(v) = v {
        options.insert(Cow::Borrowed(key), v);
    }
}

/// The request body for `/api/chat`.
pub(super) fn encode(call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
    // Deployment defaults and `additional_drop_params` apply to the client's body first, as
    // for OpenAI-shaped providers; the result is read like any request.
    let merged;
    let call = if target.defaults.is_empty() && target.additional_drop_params.is_empty() {
        call
    } else {
        let body = call.splice(None, target.defaults, target.additional_drop_params);
        merged = ModelCall::parse(Endpoint::ChatCompletions, body)?;
        &merged
    };
    let mut req = ChatRequest::parse(call)?;
    // The penalties are Ollama options; any other OpenAI-only parameter (logprobs,
    // logit_bias, ...) is refused, or left out with drop_params, as is `n` > 1.
    let (mut presence, mut frequency) = (None, None);
    req.other_openai.retain(|&(key, raw)| {
        let slot = match key {
            "presence_penalty" => &mut presence,
            "frequency_penalty" => &mut frequency,
            _ => return true,
        };
        *slot = Some(raw);
        false
    });
    req.check_supported("ollama_chat", target.model, &[], target.drop_params)?;

    let mut options: BTreeMap<Cow<str>, Opt> = BTreeMap::new();
    put(&mut options, "temperature", req.temperature.map(Opt::Float));
    put(&mut options, "top_p", req.top_p.map(Opt::Float));
    put(&mut options, "num_predict", req.max_tokens.map(Opt::Count));
    put(&mut options, "seed", req.seed.map(Opt::Seed));
    let stop = (!req.stop.is_empty()).then_some(Opt::Stop(&req.stop));
    put(&mut options, "stop", stop);
    for (key, raw) in [
        ("presence_penalty", presence),
        ("frequency_penalty", frequency),
    ] {
        let value = raw.map(|r| number(r, key)).transpose()?;
        put(&mut options, key, value.map(Opt::Float));
    }

    let mut format = match &req.response_format {
        Some(ResponseFormat::JsonObject) => Some(Format::Json("json")),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            Some(json_schema.schema.map_or(Format::Json("json"), Format::Raw))
        }
        Some(ResponseFormat::Text) | None => None,
    };
    let mut think = req
        .reasoning_effort
        .as_deref()
        .map(|effort| Think::Bool(!matches!(effort, "none" | "disable")));

    // Ollama's own parameters: the `options` object, then top-level option keys, then the
    // top-level members; other unknown keys are left out (as LiteLLM does).
    let (mut keep_alive, mut truncate, mut shift) = (None, None, None);
    let mut top_level_options = Vec::new();
    for &(key, raw) in &req.extra {
        if raw == "null" {
            continue;
        }
        match key {
            "options" => {
                let given: BTreeMap<Cow<str>, &RawValue> =
                    serde_json::from_str(raw).map_err(|e| invalid(key, e))?;
                options.extend(
                    given
                        .into_iter()
                        .filter(|(_, v)| v.get() != "null")
                        .map(|(k, v)| (k, Opt::Raw(v))),
                );
            }
            k if OPTION_KEYS.contains(&k) => top_level_options.push((k, raw_value(raw, k)?)),
            "keep_alive" => keep_alive = Some(raw_value(raw, key)?),
            "think" => think = Some(Think::Raw(raw_value(raw, key)?)),
            "format" => format = Some(Format::Raw(raw_value(raw, key)?)),
            "truncate" => truncate = Some(raw_value(raw, key)?),
            "shift" => shift = Some(raw_value(raw, key)?),
            other => log::debug!("ollama_chat: leaving out unknown parameter {other:?}"),
        }
    }
    for (k, v) in top_level_options {
        options.insert(Cow::Borrowed(k), Opt::Raw(v));
    }

    let out = Request {
        model: target.model,
        messages: messages(&req.messages)?,
        tools: tools(&req.tools, req.tool_choice.as_ref()),
        stream: req.stream,
        format,
        options,
        think,
        keep_alive,
        truncate,
        shift,
    };
    serde_json::to_vec(&out).map(Bytes::from).map_err(|e| {
        ApiError::new(
            500,
            ErrorKind::ApiError,
            format!("encoding the Ollama request: {e}"),
        )
    })
}

/// Tools in OpenAI's nested shape, which Ollama takes as it is. Ollama has no
/// `tool_choice`: `none` sends no tools and a named function sends only that one;
/// `auto` and `required` send them all.
fn tools<'a>(tools: &'a [Tool<'a>], choice: Option<&ToolChoice<'_>>) -> Vec<ToolOut<'a>> {
    let only = match choice {
        Some(ToolChoice::None) => return Vec::new(),
        Some(ToolChoice::Function(name)) => Some(name.as_ref()),
        _ => None,
    };
    tools
        .iter()
        .filter(|t| only.is_none_or(|n| t.function.name == n))
        .map(|t| ToolOut {
            kind: "function",
            function: FunctionOut {
                name: &t.function.name,
                description: t.function.description.as_deref(),
                parameters: t.function.parameters.unwrap_or_else(|| empty_schema()),
            },
        })
        .collect()
}

fn messages<'a>(messages: &'a [Message<'a>]) -> Result<Vec<MessageOut<'a>>, ApiError> {
    // tool_call_id -> function name: a tool result names its function in `tool_name`.
    let mut names: HashMap<&'a str, &'a str> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        let (content, images) = content(&m.content)?;
        let mut msg = MessageOut {
            role: "user",
            content,
            thinking: None,
            images,
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        };
        match m.role {
            Role::System | Role::Developer => msg.role = "system",
            Role::User => {}
            Role::Assistant => {
                msg.role = "assistant";
                msg.thinking = m.reasoning_content.as_deref().filter(|r| !r.is_empty());
                for call in m.tool_calls.iter().flatten() {
                    let id = call.id.as_deref().filter(|id| !id.is_empty());
                    if let Some(id) = id {
                        names.insert(id, &call.function.name);
                    }
                    let arguments = match call.function.arguments_value() {
                        v @ Value::Object(_) => v,
                        _ => Value::Object(serde_json::Map::new()),
                    };
                    msg.tool_calls.push(CallOut {
                        id,
                        function: CallFunction {
                            name: &call.function.name,
                            arguments,
                        },
                    });
                }
            }
            Role::Tool | Role::Function => {
                msg.role = "tool";
                msg.tool_call_id = m.tool_call_id.as_deref().filter(|id| !id.is_empty());
                msg.tool_name = msg
                    .tool_call_id
                    .and_then(|id| names.get(id).copied())
                    .or(m.name.as_deref());
            }
        }
        out.push(msg);
    }
    Ok(out)
}

/// A message's text (parts joined) and its images as bare base64.
fn content<'a>(content: &'a Option<Content<'a>>) -> Result<(Cow<'a, str>, Vec<&'a str>), ApiError> {
    let parts = match content {
        None => return Ok((Cow::Borrowed(""), Vec::new())),
        Some(Content::Text(t)) => return Ok((Cow::Borrowed(t), Vec::new())),
        Some(Content::Parts(parts)) => parts,
    };
    let mut texts: Vec<&str> = Vec::new();
    let mut images = Vec::new();
    for part in parts {
        match part {
            Part::Text { text } => texts.push(text),
            Part::Refusal { refusal } => texts.push(refusal),
            Part::ImageUrl { image_url } => images.push(image(image_url.url())?),
            Part::File { file } => match file.file_data.as_deref().and_then(data_url) {
                Some((media, data)) if media.starts_with("image/") => images.push(data),
                _ => return Err(unsupported("file parts other than base64 images")),
            },
            Part::InputAudio { .. } => return Err(unsupported("input_audio content parts")),
            Part::Other { kind } => return Err(unsupported(&format!("{kind} content parts"))),
        }
    }
    let text = match texts.as_slice() {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(*one),
        many => Cow::Owned(many.concat()),
    };
    Ok((text, images))
}

/// An `image_url` as the bare base64 Ollama takes: the payload of a `data:` URL, or a URL
/// that already is bare base64. Ollama does not fetch URLs, and neither does the gateway.
fn image(url: &str) -> Result<&str, ApiError> {
    if let Some((_, data)) = data_url(url) {
        return Ok(data);
    }
    let bare_base64 = !url.is_empty()
        && url
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if bare_base64 {
        return Ok(url);
    }
    Err(ApiError::bad_request(
        "litellm.BadRequestError: ollama_chat takes images only as base64: send the image as a \
         data: URL (data:image/png;base64,...); image URLs are not fetched",
    )
    .with_param("messages"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode_with(body: Value, drop_params: bool) -> Result<Value, ApiError> {
        let call = ModelCall::parse(Endpoint::ChatCompletions, Bytes::from(body.to_string()))?;
        let target = EncodeTarget {
            model_json: b"\"llama3.1:8b\"",
            model: "llama3.1:8b",
            defaults: &[],
            drop_params,
            additional_drop_params: &[],
        };
        encode(&call, &target).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn encodes_a_whole_conversation() {
        let v = encode_with(
            json!({
                "model": "ollama", "stream": false,
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
                    {"role": "user", "content": [
                        {"type": "text", "text": "Weather in "},
                        {"type": "text", "text": "this city?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                        {"type": "image_url", "image_url": "R0lGODlhAQABAAAAACw="}]},
                    {"role": "assistant", "content": null, "reasoning_content": "Need the tools.",
                     "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\": 18}"},
                    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "14:05"}]},
                    {"role": "user", "content": "Thanks"}],
                "tools": [
                    {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                    {"type": "function", "function": {"name": "get_time"}}],
                "tool_choice": "auto",
                "response_format": {"type": "json_schema", "json_schema": {"name": "w",
                    "schema": {"type": "object", "properties": {"temp": {"type": "number"}}}}},
                "reasoning_effort": "low", "temperature": 0.5, "top_p": 0.9, "max_completion_tokens": 256,
                "stop": ["END"], "seed": 7, "presence_penalty": 0.25, "frequency_penalty": 0.5,
                "top_k": 40, "num_ctx": 8192, "keep_alive": "5m", "user": "u-1", "unknown_knob": 1
            }),
            false,
        )
        .unwrap();
        let expected = json!({
            "model": "llama3.1:8b",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "system", "content": "Use metric units."},
                {"role": "user", "content": "Weather in this city?",
                 "images": ["iVBORw0KGgo=", "R0lGODlhAQABAAAAACw="]},
                {"role": "assistant", "content": "", "thinking": "Need the tools.", "tool_calls": [
                    {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                    {"id": "call_2", "function": {"name": "get_time", "arguments": {}}}]},
                {"role": "tool", "content": "{\"temp_c\": 18}", "tool_name": "get_weather", "tool_call_id": "call_1"},
                {"role": "tool", "content": "14:05", "tool_name": "get_time", "tool_call_id": "call_2"},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                {"type": "function", "function": {"name": "get_time",
                    "parameters": {"type": "object", "properties": {}}}}
            ],
            "stream": false,
            "format": {"type": "object", "properties": {"temp": {"type": "number"}}},
            "options": {"temperature": 0.5, "top_p": 0.9, "num_predict": 256, "seed": 7, "stop": ["END"],
                        "presence_penalty": 0.25, "frequency_penalty": 0.5, "top_k": 40, "num_ctx": 8192},
            "think": true,
            "keep_alive": "5m"
        });
        assert_eq!(v, expected, "{}", serde_json::to_string_pretty(&v).unwrap());
    }

    #[test]
    fn stream_is_always_explicit() {
        let v = encode_with(
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            false,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}], "stream": false})
        );
        let v = encode_with(
            json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "hi"}]}),
            false,
        )
        .unwrap();
        assert_eq!(v["stream"], true);
        assert!(v.get("stream_options").is_none());
    }

    #[test]
    fn json_mode_and_thinking() {
        let base = |extra: Value| {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            encode_with(body, false).unwrap()
        };
        let v =
            base(json!({"response_format": {"type": "json_object"}, "reasoning_effort": "none"}));
        assert_eq!((&v["format"], &v["think"]), (&json!("json"), &json!(false)));
        let v = base(json!({"response_format": {"type": "text"}, "reasoning_effort": "high"}));
        assert!(v.get("format").is_none());
        assert_eq!(v["think"], true);
        // Ollama's own spellings win over the OpenAI parameters.
        let v = base(
            json!({"reasoning_effort": "low", "think": "high", "max_tokens": 10,
            "num_predict": 20, "options": {"num_predict": 30, "temperature": 0.1, "top_k": null},
            "temperature": 0.7, "format": "json", "response_format": {"type": "json_object"},
            "truncate": false, "shift": true}),
        );
        assert_eq!(v["think"], "high");
        assert_eq!(v["options"], json!({"num_predict": 20, "temperature": 0.1}));
        assert_eq!(v["format"], "json");
        assert_eq!((&v["truncate"], &v["shift"]), (&json!(false), &json!(true)));
    }

    #[test]
    fn tool_choice_narrows_the_tools() {
        let body = |choice: Value| {
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": choice,
                "tools": [{"type": "function", "function": {"name": "a"}},
                          {"type": "function", "function": {"name": "b"}}]})
        };
        let names = |v: &Value| -> Vec<String> {
            v.get("tools")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let all = encode_with(body(json!("required")), false).unwrap();
        assert_eq!(names(&all), ["a", "b"]);
        let none = encode_with(body(json!("none")), false).unwrap();
        assert!(names(&none).is_empty());
        let one = encode_with(
            body(json!({"type": "function", "function": {"name": "b"}})),
            false,
        )
        .unwrap();
        assert_eq!(names(&one), ["b"]);
    }

    #[test]
    fn tool_results_name_their_function() {
        let v = encode_with(
            json!({"model": "m", "messages": [
                {"role": "assistant", "tool_calls": [{"id": "x", "type": "function",
                    "function": {"name": "lookup", "arguments": "not json"}}]},
                {"role": "tool", "tool_call_id": "x", "content": "1"},
                {"role": "tool", "tool_call_id": "orphan", "name": "named", "content": "2"},
                {"role": "function", "name": "legacy", "content": "3"}]}),
            false,
        )
        .unwrap();
        let m = &v["messages"];
        assert_eq!(m[0]["tool_calls"][0]["function"]["arguments"], json!({}));
        assert_eq!(m[1]["tool_name"], "lookup");
        assert_eq!(
            (&m[2]["tool_name"], &m[2]["tool_call_id"]),
            (&json!("named"), &json!("orphan"))
        );
        assert_eq!(
            m[3],
            json!({"role": "tool", "content": "3", "tool_name": "legacy"})
        );
    }

    #[test]
    fn refuses_what_ollama_cannot_take() {
        let url = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
        let e = encode_with(url, false).unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some("messages")));
        assert!(e.message.contains("base64"), "{}", e.message);
        for part in [
            json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}),
            json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}),
            json!({"type": "video_url", "video_url": {"url": "x"}}),
        ] {
            let body = json!({"model": "m", "messages": [{"role": "user", "content": [part]}]});
            assert_eq!(encode_with(body, false).unwrap_err().status, 400);
        }
        let image_file = json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:image/jpeg;base64,/9j/4AAQ"}}]}]});
        assert_eq!(
            encode_with(image_file, false).unwrap()["messages"][0]["images"],
            json!(["/9j/4AAQ"])
        );
    }

    #[test]
    fn unsupported_params_follow_drop_params() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "logit_bias": {"1": 2}, "logprobs": true, "n": 2});
        let e = encode_with(body.clone(), false).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_deref()),
            (400, Some("unsupported_params"))
        );
        assert!(
            e.message.contains(
                "ollama_chat does not support parameters: ['logit_bias', 'logprobs', 'n']"
            ),
            "{}",
            e.message
        );
        let v = encode_with(body, true).unwrap();
        assert_eq!(
            v,
            json!({"model": "llama3.1:8b", "messages": [{"role": "user", "content": "hi"}], "stream": false})
        );
    }

    #[test]
    fn deployment_defaults_and_drops_apply() {
        let call = ModelCall::parse(
            Endpoint::ChatCompletions,
            Bytes::from_static(
                br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":1,"top_p":0.5}"#,
            ),
        )
        .unwrap();
        let defaults = vec![
            (
                "num_ctx".to_string(),
                RawValue::from_string("16384".into()).unwrap(),
            ),
            (
                "keep_alive".to_string(),
                RawValue::from_string("-1".into()).unwrap(),
            ),
            (
                "top_p".to_string(),
                RawValue::from_string("0.1".into()).unwrap(),
            ),
        ];
        let target = EncodeTarget {
            model_json: b"\"m\"",
            model: "qwen3:8b",
            defaults: &defaults,
            drop_params: false,
            additional_drop_params: &["seed".to_string()],
        };
        let v: Value = serde_json::from_slice(&encode(&call, &target).unwrap()).unwrap();
        assert_eq!(v["options"], json!({"top_p": 0.5, "num_ctx": 16384}));
        assert_eq!(v["keep_alive"], -1);
    }
}
