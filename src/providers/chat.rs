//! The provider-neutral chat exchange: the OpenAI request read into borrowed types (for
//! providers that are not OpenAI-shaped), and the result every translated upstream decodes
//! into and every client format encodes from.
//!
//! Request side: [`ChatRequest::parse`] reads the fields of an already-indexed [`ModelCall`]
//! (each top-level value is deserialized once, borrowing from the client's body).
//! Response side: a non-stream body becomes a [`Completion`]; a stream becomes [`Event`]s fed
//! to the client encoder, one upstream event at a time.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};

pub use crate::core::chat::{
    ClientWire, Completion, Event, Finish, StreamDecoder, ToolCall, Usage,
};
pub use crate::core::json::{json_into, push_u64};

/// A chat/completions request, read into borrowed types for translation.
#[derive(Debug, Default)]
pub struct ChatRequest<'a> {
    pub messages: Vec<Message<'a>>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop: Vec<Cow<'a, str>>,
    pub n: Option<u32>,
    pub seed: Option<i64>,
    pub tools: Vec<Tool<'a>>,
    pub tool_choice: Option<ToolChoice<'a>>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat<'a>>,
    pub reasoning_effort: Option<Cow<'a, str>>,
    pub user: Option<Cow<'a, str>>,
    pub stream: bool,
    /// Other OpenAI parameters present in the request, by name (the translator decides
    /// whether each is supported).
    pub other_openai: Vec<(&'a str, &'a str)>,
    /// Keys OpenAI does not define: provider-specific parameters passed through, as LiteLLM
    /// forwards unknown kwargs (e.g. `top_k`, `thinking`).
    pub extra: Vec<(&'a str, &'a str)>,
}

/// OpenAI chat parameters a translator may not support (checked against `drop_params`).
const OPENAI_PARAMS: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "store",
    "service_tier",
    "modalities",
    "audio",
    "prediction",
    "verbosity",
    "web_search_options",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "functions",
    "function_call",
    "stream_options",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

/// One message of the conversation.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    pub role: Role,
    #[serde(borrow, default)]
    pub content: Option<Content<'a>>,
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<ToolCallIn<'a>>>,
    #[serde(borrow, default)]
    pub tool_call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// Non-standard reasoning text some clients echo back (LiteLLM's convention).
    #[serde(borrow, default)]
    pub reasoning_content: Option<Cow<'a, str>>,
}

impl Message<'_> {
    /// The message's text parts joined (images and files left out).
    pub fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(t)) => t.to_string(),
            Some(Content::Parts(parts)) => {
                let mut s = String::new();
                for p in parts {
                    if let Part::Text { text } = p {
                        s.push_str(text);
                    }
                }
                s
            }
        }
    }
}

/// A message's `content`: a string or an array of parts.
#[derive(Debug)]
pub enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Part<'a>>),
}

// Hand-written so strings stay borrowed and nothing is buffered (serde's untagged and
// internally tagged enums buffer their input, which also rules out `RawValue` inside).
impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Owned(v.to_string())))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(p) = seq.next_element()? {
                    parts.push(p);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One content part. Unknown part types are kept as `Other` with their type name.
#[derive(Debug)]
pub enum Part<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl<'a> },
    InputAudio { input_audio: &'a RawValue },
    File { file: FilePart<'a> },
    Refusal { refusal: Cow<'a, str> },
    Other { kind: Cow<'a, str> },
}

#[derive(Deserialize)]
struct PartFields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    image_url: Option<ImageUrl<'a>>,
    #[serde(borrow, default)]
    input_audio: Option<&'a RawValue>,
    #[serde(borrow, default)]
    file: Option<FilePart<'a>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Part<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = PartFields::deserialize(d)?;
        let missing = |field: &str| D::Error::custom(format!("{} part without {field}", f.kind));
        Ok(match f.kind.as_ref() {
            "text" | "input_text" => Part::Text {
                text: f.text.ok_or_else(|| missing("text"))?,
            },
            "image_url" => Part::ImageUrl {
                image_url: f.image_url.ok_or_else(|| missing("image_url"))?,
            },
            "input_audio" => Part::InputAudio {
                input_audio: f.input_audio.ok_or_else(|| missing("input_audio"))?,
            },
            "file" => Part::File {
                file: f.file.ok_or_else(|| missing("file"))?,
            },
            "refusal" => Part::Refusal {
                refusal: f.refusal.unwrap_or_default(),
            },
            _ => Part::Other { kind: f.kind },
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ImageUrl<'a> {
    Object {
        #[serde(borrow)]
        url: Cow<'a, str>,
    },
    Plain(#[serde(borrow)] Cow<'a, str>),
}

impl ImageUrl<'_> {
    pub fn url(&self) -> &str {
        match self {
            ImageUrl::Object { url } | ImageUrl::Plain(url) => url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct FilePart<'a> {
    #[serde(borrow, default)]
    pub file_data: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub file_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub filename: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub format: Option<Cow<'a, str>>,
}

/// An embeddings request's `input` as texts (a string or an array of strings; token ids are
/// a 400 naming the provider).
pub fn embedding_texts<'a>(
    call: &'a ModelCall,
    provider: &str,
) -> Result<Vec<Cow<'a, str>>, ApiError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Input<'a> {
        #[serde(borrow)]
        One(Cow<'a, str>),
        #[serde(borrow)]
        Many(Vec<Cow<'a, str>>),
    }
    let raw = std::str::from_utf8(call.input_json()).unwrap_or_default();
    match serde_json::from_str::<Input>(raw) {
        Ok(Input::One(s)) => Ok(vec![s]),
        Ok(Input::Many(v)) => Ok(v),
        Err(_) => Err(ApiError::bad_request(format!(
            "{provider} embeddings take a string or an array of strings (not token ids)"
        ))
        .with_param("input")),
    }
}

/// A `data:` URL split into media type and base64 payload.
pub fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (media, data) = rest.split_once(";base64,")?;
    Some((media, data))
}

#[derive(Debug, Deserialize)]
pub struct ToolCallIn<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub function: FunctionCallIn<'a>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionCallIn<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub arguments: Option<Cow<'a, str>>,
}

impl FunctionCallIn<'_> {
    /// The arguments as a JSON value: `""` or missing is `{}`; text that is not JSON is
    /// kept as a string, as LiteLLM does.
    pub fn arguments_value(&self) -> serde_json::Value {
        match self.arguments.as_deref().map(str::trim) {
            None | Some("") => serde_json::Value::Object(Default::default()),
            Some(a) => serde_json::from_str(a).unwrap_or_else(|_| a.into()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Tool<'a> {
    #[serde(rename = "type", default)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub function: FunctionDef<'a>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionDef<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub parameters: Option<&'a RawValue>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `tool_choice`: `"none" | "auto" | "required"` or a named function.
#[derive(Debug, PartialEq)]
pub enum ToolChoice<'a> {
    None,
    Auto,
    Required,
    Function(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ToolChoice<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Named<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            #[serde(borrow)]
            Mode(Cow<'a, str>),
            Object {
                #[serde(borrow)]
                function: Named<'a>,
            },
        }
        match Raw::deserialize(d)? {
            Raw::Mode(m) => match m.as_ref() {
                "none" => Ok(ToolChoice::None),
                "auto" => Ok(ToolChoice::Auto),
                "required" | "any" => Ok(ToolChoice::Required),
                other => Err(serde::de::Error::custom(format!(
                    "unknown tool_choice \"{other}\" (expected none, auto or required)"
                ))),
            },
            Raw::Object { function } => Ok(ToolChoice::Function(function.name)),
        }
    }
}

/// `response_format`.
#[derive(Debug)]
pub enum ResponseFormat<'a> {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchema<'a> },
}

impl<'a> ResponseFormat<'a> {
    /// The schema a JSON-mode answer must match (`json_object`: `any`), for providers that
    /// force a tool to get JSON (Claude on Anthropic and Bedrock); `None` for text.
    pub fn schema_or(&self, any: &'a RawValue) -> Option<&'a RawValue> {
        match self {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(any),
            ResponseFormat::JsonSchema { json_schema } => Some(json_schema.schema.unwrap_or(any)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ResponseFormat<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        struct Fields<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(borrow, default)]
            json_schema: Option<JsonSchema<'a>>,
        }
        let f = Fields::deserialize(d)?;
        match (f.kind.as_ref(), f.json_schema) {
            ("text", _) => Ok(ResponseFormat::Text),
            ("json_object", _) => Ok(ResponseFormat::JsonObject),
            ("json_schema", Some(json_schema)) => Ok(ResponseFormat::JsonSchema { json_schema }),
            ("json_schema", None) => Err(D::Error::custom("json_schema format without json_schema")),
            (other, _) => Err(D::Error::custom(format!(
                "unknown response_format type \"{other}\" (expected text, json_object or json_schema)"
            ))),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct JsonSchema<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub schema: Option<&'a RawValue>,
    #[serde(default)]
    pub strict: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<'a> {
    #[serde(borrow)]
    One(Cow<'a, str>),
    #[serde(borrow)]
    Many(Vec<Cow<'a, str>>),
}

fn value<'a, T: Deserialize<'a>>(raw: &'a str, name: &str) -> Result<T, ApiError> {
    serde_json::from_str(raw).map_err(|e| {
        ApiError::bad_request(format!("Invalid value for '{name}': {e}")).with_param(name)
    })
}

impl<'a> ChatRequest<'a> {
    /// Read the request's fields; each top-level value is deserialized once.
    pub fn parse(call: &'a ModelCall) -> Result<ChatRequest<'a>, ApiError> {
        let mut req = ChatRequest::default();
        for (key, raw) in call.fields() {
            match key {
                "model" => {}
                "messages" => req.messages = value(raw, key)?,
                "max_tokens" | "max_completion_tokens" => {
                    req.max_tokens = value::<Option<u64>>(raw, key)?.or(req.max_tokens)
                }
                "temperature" => req.temperature = value(raw, key)?,
                "top_p" => req.top_p = value(raw, key)?,
                "n" => req.n = value(raw, key)?,
                "seed" => req.seed = value(raw, key)?,
                "stream" => req.stream = value::<Option<bool>>(raw, key)?.unwrap_or(false),
                "stop" => {
                    req.stop = match value::<Option<OneOrMany>>(raw, key)? {
                        None => Vec::new(),
                        Some(OneOrMany::One(s)) => vec![s],
                        Some(OneOrMany::Many(v)) => v,
                    }
                }
                "tools" => req.tools = value::<Option<Vec<Tool>>>(raw, key)?.unwrap_or_default(),
                "tool_choice" => req.tool_choice = value(raw, key)?,
                "parallel_tool_calls" => req.parallel_tool_calls = value(raw, key)?,
                "response_format" => req.response_format = value(raw, key)?,
                "reasoning_effort" => req.reasoning_effort = value(raw, key)?,
                "user" => req.user = value(raw, key)?,
                k if OPENAI_PARAMS.contains(&k) => {
                    if raw != "null" {
                        req.other_openai.push((k, raw));
                    }
                }
                k => req.extra.push((k, raw)),
            }
        }
        Ok(req)
    }

    /// LiteLLM's check: OpenAI parameters the provider cannot take are a 400 naming them,
    /// unless `drop_params` is on (then they are left out).
    pub fn check_supported(
        &self,
        provider: &str,
        model: &str,
        unsupported: &[&str],
        drop_params: bool,
    ) -> Result<(), ApiError> {
        if drop_params {
            return Ok(());
        }
        let mut names: Vec<&str> = self
            .other_openai
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != "stream_options")
            .collect();
        if self.seed.is_some() && unsupported.contains(&"seed") {
            names.push("seed");
        }
        if self.n.is_some_and(|n| n > 1) {
            names.push("n");
        }
        if names.is_empty() {
            return Ok(());
        }
        Err(unsupported_params(provider, model, &names))
    }
}

/// LiteLLM's `UnsupportedParamsError`: a 400 naming the parameters and how to drop them.
pub fn unsupported_params(provider: &str, model: &str, names: &[&str]) -> ApiError {
    {
        let list = names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::new(
            400,
            ErrorKind::InvalidRequest,
            format!(
                "litellm.UnsupportedParamsError: {provider} does not support parameters: [{list}], for model={model}. To drop these, set `litellm.drop_params=True` or for proxy:\n\n`litellm_settings:\n drop_params: true`\n"
            ),
        )
        .with_param(names.first().copied().unwrap_or_default())
        .with_code("unsupported_params")
    }
}

#[cfg(test)]
mod tests;
