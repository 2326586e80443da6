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

    let mut options = sampling_options(&req, presence, frequency)?;

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

/// OpenAI's sampling parameters as Ollama `options`.
fn sampling_options<'a>(
    req: &'a ChatRequest<'a>,
    presence: Option<&'a str>,
    frequency: Option<&'a str>,
) -> Result<BTreeMap<Cow<'a, str>, Opt<'a>>, ApiError> {
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
    Ok(options)
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
mod tests;
