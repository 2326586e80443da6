//! OpenAI chat request -> Gemini `generateContent` body: pure, borrowing from the request.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::contents::{contents, Instruction, Turn};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::providers::chat::{ChatRequest, ResponseFormat, Tool, ToolChoice};
use crate::providers::EncodeTarget;

/// LiteLLM's `reasoning_effort` budgets for Gemini 2.x (`DEFAULT_REASONING_EFFORT_*`).
const BUDGET_LOW: i64 = 1024;
const BUDGET_MEDIUM: i64 = 2048;
const BUDGET_HIGH: i64 = 4096;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    contents: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<Instruction<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tools<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    #[serde(skip_serializing_if = "GenerationConfig::is_empty")]
    generation_config: GenerationConfig<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safety_settings: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<&'a RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tools<'a> {
    function_declarations: Vec<Declaration<'a>>,
}

#[derive(Serialize)]
struct Declaration<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    function_calling_config: CallingConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallingConfig<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_function_names: Vec<&'a str>,
}

#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [Cow<'a, str>],
    #[serde(skip_serializing_if = "Option::is_none")]
    candidate_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_json_schema: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<Thinking<'a>>,
}

impl GenerationConfig<'_> {
    fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.max_output_tokens.is_none()
            && self.stop_sequences.is_empty()
            && self.candidate_count.is_none()
            && self.seed.is_none()
            && self.presence_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.response_mime_type.is_none()
            && self.response_json_schema.is_none()
            && self.thinking_config.is_none()
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Thinking<'a> {
    Mapped(ThinkingConfig),
    /// `thinkingConfig` given by the client, sent as it is.
    Raw(&'a RawValue),
}

#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_thoughts: Option<bool>,
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

/// The request body for `generateContent` / `streamGenerateContent`.
pub(crate) fn encode(call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
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
    // The penalties map to generationConfig; any other OpenAI-only parameter is refused
    // (or left out with drop_params), as is `n` > 1 (one candidate is decoded).
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
    req.check_supported("gemini", target.model, &[], target.drop_params)?;
    if req.parallel_tool_calls == Some(false) && req.tools.len() > 1 && !target.drop_params {
        return Err(invalid(
            "parallel_tool_calls",
            "`parallel_tool_calls=False` is not supported by Gemini when multiple tools are \
             provided. Specify a single tool, or set `parallel_tool_calls=True` (or drop_params)",
        ));
    }
    let gemini3 = target.model.contains("gemini-3");
    let (system, contents) = contents(&req.messages, gemini3)?;

    let mut generation = generation_of(&req, (presence, frequency), target.model)?;

    // Gemini-native parameters pass through; other unknown keys are left out (as LiteLLM).
    let (mut safety_settings, mut cached_content, mut labels) = (None, None, None);
    for &(key, raw) in &req.extra {
        if raw == "null" {
            continue;
        }
        match key {
            "safetySettings" | "safety_settings" => safety_settings = Some(raw_value(raw, key)?),
            "cachedContent" | "cached_content" => cached_content = Some(raw_value(raw, key)?),
            "labels" => labels = Some(raw_value(raw, key)?),
            "top_k" | "topK" => generation.top_k = Some(raw_value(raw, key)?),
            "thinkingConfig" | "thinking_config" => {
                generation.thinking_config = Some(Thinking::Raw(raw_value(raw, key)?))
            }
            "thinking" => generation.thinking_config = Some(anthropic_thinking(raw)?),
            other => log::debug!("gemini: leaving out unknown parameter {other:?}"),
        }
    }
    let out = Request {
        contents,
        system_instruction: system,
        tools: declarations(&req.tools)?,
        tool_config: req.tool_choice.as_ref().map(tool_config),
        generation_config: generation,
        safety_settings,
        cached_content,
        labels,
    };
    serde_json::to_vec(&out).map(Bytes::from).map_err(|e| {
        ApiError::new(
            500,
            ErrorKind::ApiError,
            format!("encoding the Gemini request: {e}"),
        )
    })
}

/// `generationConfig` from OpenAI's sampling parameters, JSON mode and `reasoning_effort`.
fn generation_of<'a>(
    req: &'a ChatRequest<'a>,
    (presence, frequency): (Option<&str>, Option<&str>),
    model: &str,
) -> Result<GenerationConfig<'a>, ApiError> {
    let mut generation = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        max_output_tokens: req.max_tokens,
        stop_sequences: &req.stop,
        candidate_count: req.n.filter(|&n| n <= 1),
        seed: req.seed,
        presence_penalty: presence
            .map(|r| number(r, "presence_penalty"))
            .transpose()?,
        frequency_penalty: frequency
            .map(|r| number(r, "frequency_penalty"))
            .transpose()?,
        ..GenerationConfig::default()
    };
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            generation.response_mime_type = Some("application/json")
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            generation.response_mime_type = Some("application/json");
            generation.response_json_schema = json_schema.schema;
        }
        Some(ResponseFormat::Text) | None => {}
    }
    if let Some(effort) = req.reasoning_effort.as_deref() {
        generation.thinking_config = Some(Thinking::Mapped(effort_thinking(effort, model)?));
    }
    Ok(generation)
}

/// `reasoning_effort` as LiteLLM maps it: `thinkingLevel` for Gemini 3, a token budget
/// before; `none`/`disable` hide the thoughts (Gemini 3 cannot turn thinking off).
fn effort_thinking(effort: &str, model: &str) -> Result<ThinkingConfig, ApiError> {
    let off = matches!(effort, "none" | "disable");
    if model.contains("gemini-3") {
        let level = match effort {
            "minimal" | "low" | "none" | "disable" => "low",
            "medium" | "high" => "high",
            other => return Err(invalid("reasoning_effort", format!("\"{other}\""))),
        };
        return Ok(ThinkingConfig {
            thinking_level: Some(level),
            include_thoughts: Some(!off),
            ..ThinkingConfig::default()
        });
    }
    let budget = match effort {
        // The smallest budget each model accepts (2.5 Pro cannot think less than 128).
        "minimal" if model.contains("gemini-2.5-flash-lite") => 512,
        "minimal" if model.contains("gemini-2.5-flash") => 1,
        "minimal" => 128,
        "low" => BUDGET_LOW,
        "medium" => BUDGET_MEDIUM,
        "high" => BUDGET_HIGH,
        "none" | "disable" => 0,
        other => return Err(invalid("reasoning_effort", format!("\"{other}\""))),
    };
    Ok(ThinkingConfig {
        thinking_budget: Some(budget),
        include_thoughts: Some(!off),
        ..ThinkingConfig::default()
    })
}

/// Anthropic's `thinking: {type, budget_tokens}`, which LiteLLM accepts for Gemini too.
fn anthropic_thinking(raw: &str) -> Result<Thinking<'static>, ApiError> {
    #[derive(Deserialize)]
    struct AnthropicThinking<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(default)]
        budget_tokens: Option<i64>,
    }
    let t: AnthropicThinking = serde_json::from_str(raw).map_err(|e| invalid("thinking", e))?;
    let enabled = t.kind.as_deref() == Some("enabled");
    Ok(Thinking::Mapped(ThinkingConfig {
        thinking_budget: t.budget_tokens,
        thinking_level: None,
        include_thoughts: (enabled && t.budget_tokens != Some(0)).then_some(true),
    }))
}

fn tool_config<'a>(choice: &'a ToolChoice<'a>) -> ToolConfig<'a> {
    let (mode, allowed_function_names) = match choice {
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Function(name) => ("ANY", vec![name.as_ref()]),
    };
    ToolConfig {
        function_calling_config: CallingConfig {
            mode,
            allowed_function_names,
        },
    }
}

fn declarations<'a>(tools: &'a [Tool<'a>]) -> Result<Vec<Tools<'a>>, ApiError> {
    if tools.is_empty() {
        return Ok(Vec::new());
    }
    let function_declarations = tools
        .iter()
        .map(|t| {
            Ok(Declaration {
                name: &t.function.name,
                description: t.function.description.as_deref(),
                parameters: t.function.parameters.map(parameters).transpose()?.flatten(),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(vec![Tools {
        function_declarations,
    }])
}

/// A function's JSON schema as Gemini takes it; `None` for a function without arguments
/// (Gemini rejects an object schema with no properties).
fn parameters(raw: &RawValue) -> Result<Option<Value>, ApiError> {
    let mut schema: Value = serde_json::from_str(raw.get()).map_err(|e| invalid("tools", e))?;
    clean_schema(&mut schema);
    let no_arguments = schema.as_object().is_some_and(|o| {
        o.get("type").and_then(Value::as_str) == Some("object")
            && o.get("properties")
                .is_none_or(|p| p.as_object().is_some_and(|p| p.is_empty()))
    }) || schema.as_object().is_some_and(|o| o.is_empty());
    Ok((!no_arguments).then_some(schema))
}

/// Remove the keywords Gemini's schema rejects (`additionalProperties`, `$schema`, `strict`)
/// at every level, as LiteLLM does; property names are never touched.
fn clean_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["additionalProperties", "$schema", "strict"] {
                map.shift_remove(key);
            }
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    ("properties" | "$defs" | "definitions", Value::Object(named)) => {
                        named.values_mut().for_each(clean_schema)
                    }
                    (_, child) => clean_schema(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
