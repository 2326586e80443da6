//! OpenAI chat requests as Converse bodies (LiteLLM's `AmazonConverseConfig` mapping).
//!
//! System and developer messages move to `system`; tool results become user `toolResult`
//! blocks; consecutive turns on the same side merge, as Bedrock requires alternation;
//! sampling goes to `inferenceConfig`; provider-specific keys (`top_k`, `thinking`, ...) go to
//! `additionalModelRequestFields`, except the Converse top-level fields, which pass as they
//! are.

mod builder;

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use super::JSON_TOOL;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::chat::{data_url, ChatRequest, Content, Message, Part, Role, ToolChoice};
use crate::providers::EncodeTarget;
use crate::wire::claude::{self, empty_schema, thinking_budget, Thinking};
use builder::Builder;

/// LiteLLM's default output budget added on top of a thinking budget.
const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Converse fields that sit at the top level of the body rather than in
/// `additionalModelRequestFields`.
const TOP_LEVEL: &[&str] = &[
    "guardrailConfig",
    "performanceConfig",
    "requestMetadata",
    "additionalModelResponseFieldPaths",
    "promptVariables",
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<SystemBlock<'a>>,
    #[serde(skip_serializing_if = "InferenceConfig::is_empty")]
    inference_config: InferenceConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    additional_model_request_fields: BTreeMap<&'a str, Field<'a>>,
    #[serde(flatten)]
    top_level: BTreeMap<&'a str, &'a RawValue>,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: Side,
    content: Vec<Block<'a>>,
}

/// The two sides of a Converse conversation, which must alternate.
#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Side {
    User,
    Assistant,
}

#[derive(Serialize)]
struct SystemBlock<'a> {
    text: &'a str,
}

/// A Converse content block: a union, serialized as a one-key object (`{"text": ...}`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Block<'a> {
    Text(&'a str),
    Image(Image<'a>),
    Document(Document<'a>),
    ToolUse(ToolUse<'a>),
    ToolResult(ToolResult<'a>),
}

#[derive(Serialize)]
struct Image<'a> {
    format: &'static str,
    source: Source<'a>,
}

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    name: String,
    source: Source<'a>,
}

/// Base64 bytes, as the JSON wire carries them.
#[derive(Serialize)]
struct Source<'a> {
    bytes: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse<'a> {
    tool_use_id: &'a str,
    name: &'a str,
    input: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResult<'a> {
    tool_use_id: &'a str,
    content: Vec<ResultBlock<'a>>,
    /// Only Anthropic models accept `status`; it is sent to them alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ResultBlock<'a> {
    Text(&'a str),
    Json(serde_json::Value),
    Image(Image<'a>),
    Document(Document<'a>),
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<&'a str>,
}

impl InferenceConfig<'_> {
    fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    tools: Vec<ToolEntry<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoiceOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolEntry<'a> {
    tool_spec: ToolSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolSpec<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: InputSchema<'a>,
}

#[derive(Serialize)]
struct InputSchema<'a> {
    json: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum ToolChoiceOut<'a> {
    Auto(Empty),
    Any(Empty),
    Tool(Named<'a>),
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

/// A member of `additionalModelRequestFields`: passed through, or built here.
#[derive(Serialize)]
#[serde(untagged)]
enum Field<'a> {
    Raw(&'a RawValue),
    Thinking(Thinking),
    Text(&'a str),
}

/// A content part bedrock does not take.
fn unsupported_part(what: &str) -> ApiError {
    claude::unsupported_part("bedrock", what)
}

/// Whether the model id (or inference profile) is an Anthropic model.
fn is_anthropic(model: &str) -> bool {
    model.contains("anthropic.") || model.contains("claude")
}

fn image_format(media: &str) -> Option<&'static str> {
    match media {
        "image/png" => Some("png"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

fn document_format(media: &str) -> Option<&'static str> {
    match media {
        "application/pdf" => Some("pdf"),
        "text/csv" => Some("csv"),
        "application/msword" => Some("doc"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some("docx"),
        "application/vnd.ms-excel" => Some("xls"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some("xlsx"),
        "text/html" => Some("html"),
        "text/plain" => Some("txt"),
        "text/markdown" => Some("md"),
        _ => None,
    }
}

/// Bedrock document names allow letters, digits, single spaces, `-`, `()` and `[]`.
fn document_name(filename: Option<&str>, n: usize) -> String {
    let stem = filename
        .map(|f| f.rsplit_once('.').map_or(f, |(stem, _)| stem))
        .unwrap_or_default();
    let mut name = String::with_capacity(stem.len());
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() || "-()[]".contains(c) {
            c
        } else {
            ' '
        };
        if !(c == ' ' && (name.is_empty() || name.ends_with(' '))) {
            name.push(c);
        }
    }
    let name = name.trim_end();
    if name.is_empty() {
        format!("document-{n}")
    } else {
        name.to_string()
    }
}

/// A tool's text output: `json` when it is a JSON object, `text` otherwise.
fn result_text(t: &str) -> ResultBlock<'_> {
    if t.trim_start().starts_with('{') {
        if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_str(t) {
            return ResultBlock::Json(v);
        }
    }
    if t.is_empty() {
        return ResultBlock::Text("(no output)");
    }
    ResultBlock::Text(t)
}

fn shorten(url: &str) -> String {
    match url.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &url[..i]),
        None => url.to_string(),
    }
}

fn invalid(param: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Invalid value for '{param}': {e}")).with_param(param)
}

/// The Converse body for a parsed request. `model` is the Bedrock model id (for the
/// Anthropic-only mappings).
pub(super) fn encode_request(
    req: &ChatRequest<'_>,
    target: &EncodeTarget<'_>,
    model: &str,
) -> Result<Bytes, ApiError> {
    let anthropic = is_anthropic(model);
    let mut b = Builder {
        turns: Vec::with_capacity(req.messages.len()),
        system: Vec::new(),
        documents: 0,
        anthropic,
    };
    for m in &req.messages {
        match m.role {
            Role::System | Role::Developer => b.system(m)?,
            Role::User => {
                let blocks = b.blocks(&m.content)?;
                b.push(Side::User, blocks);
            }
            Role::Assistant => b.assistant(m)?,
            Role::Tool | Role::Function => b.tool_result(m)?,
        }
    }

    let (top_level, mut additional) = provider_fields(req, target)?;

    let mut max_tokens = req.max_tokens;
    let mut thinking = false;
    if let Some(effort) = req.reasoning_effort.as_deref() {
        if anthropic {
            if let Some(budget_tokens) = thinking_budget(effort) {
                thinking = true;
                additional
                    .entry("thinking")
                    .or_insert(Field::Thinking(Thinking::enabled(budget_tokens)));
                max_tokens = max_tokens.or(Some(budget_tokens + DEFAULT_MAX_TOKENS));
            }
        } else if model.contains("openai.") {
            // gpt-oss on Bedrock takes OpenAI's parameter as it is.
            additional
                .entry("reasoning_effort")
                .or_insert(Field::Text(effort));
        }
    }
    thinking |= additional.contains_key("thinking");

    let tool_config = tool_config_of(req, thinking);

    let body = Request {
        messages: b.turns,
        system: b.system,
        inference_config: InferenceConfig {
            max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            stop_sequences: claude::stop_sequences(&req.stop),
        },
        tool_config,
        additional_model_request_fields: additional,
        top_level,
    };
    serde_json::to_vec(&body).map(Bytes::from).map_err(|e| {
        ApiError::new(
            500,
            ErrorKind::ApiError,
            format!("encoding the Bedrock request: {e}"),
        )
    })
}

/// The tools and the tool choice; JSON mode is a forced tool whose input is the answer (not
/// forced while thinking).
fn tool_config_of<'a>(req: &'a ChatRequest<'a>, thinking: bool) -> Option<ToolConfig<'a>> {
    let mut tools: Vec<ToolEntry> = req
        .tools
        .iter()
        .map(|t| ToolEntry {
            tool_spec: ToolSpec {
                name: &t.function.name,
                description: t.function.description.as_deref().filter(|d| !d.is_empty()),
                input_schema: InputSchema {
                    json: t.function.parameters.unwrap_or_else(|| empty_schema()),
                },
            },
        })
        .collect();
    let mut tool_choice = match &req.tool_choice {
        None | Some(ToolChoice::None) => None,
        Some(ToolChoice::Auto) => Some(ToolChoiceOut::Auto(Empty {})),
        Some(ToolChoice::Required) => Some(ToolChoiceOut::Any(Empty {})),
        Some(ToolChoice::Function(name)) => Some(ToolChoiceOut::Tool(Named { name })),
    };
    // JSON mode: a forced tool whose input is the answer (not forced while thinking).
    let schema = req
        .response_format
        .as_ref()
        .and_then(|f| f.schema_or(empty_schema()));
    if let Some(json) = schema {
        tools.push(ToolEntry {
            tool_spec: ToolSpec {
                name: JSON_TOOL,
                description: Some("Respond with a JSON object."),
                input_schema: InputSchema { json },
            },
        });
        if !thinking {
            tool_choice = Some(ToolChoiceOut::Tool(Named { name: JSON_TOOL }));
        }
    }
    (!tools.is_empty()).then_some(ToolConfig { tools, tool_choice })
}

/// Provider-specific keys: Converse top-level fields, else `additionalModelRequestFields`.
#[allow(
    clippy::type_complexity,
    reason = "two maps of borrowed fields, named where built"
)]
fn provider_fields<'a>(
    req: &'a ChatRequest<'a>,
    target: &EncodeTarget<'_>,
) -> Result<
    (
        BTreeMap<&'a str, &'a RawValue>,
        BTreeMap<&'a str, Field<'a>>,
    ),
    ApiError,
> {
    let mut top_level = BTreeMap::new();
    let mut additional: BTreeMap<&str, Field> = BTreeMap::new();
    for &(key, raw) in &req.extra {
        if raw == "null"
            || key.starts_with("aws_")
            || target.additional_drop_params.iter().any(|d| d == key)
        {
            continue;
        }
        let value: &RawValue = serde_json::from_str(raw).map_err(|e| invalid(key, e))?;
        if TOP_LEVEL.contains(&key) {
            top_level.insert(key, value);
        } else if key == "additionalModelRequestFields" {
            let fields: BTreeMap<&str, &RawValue> =
                serde_json::from_str(raw).map_err(|e| invalid(key, e))?;
            additional.extend(fields.into_iter().map(|(k, v)| (k, Field::Raw(v))));
        } else {
            additional.insert(key, Field::Raw(value));
        }
    }
    Ok((top_level, additional))
}
