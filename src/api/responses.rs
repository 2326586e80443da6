//! OpenAI's Responses API on the client side (`POST /v1/responses`): the request becomes an
//! OpenAI chat request routed like any other, and the neutral result is written back as a
//! `response` object or a Responses event stream. Stateless: no response store, so
//! `previous_response_id` and built-in tools are refused.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::core::error::ApiError;

mod object;
mod stream;

pub use object::response_body;
pub use stream::ResponsesEvents;

// ---- request -------------------------------------------------------------------------

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    instructions: Option<Cow<'a, str>>,
    /// A string, or an array of input items (read in [`input_items`]).
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tools: Option<Vec<ToolIn<'a>>>,
    #[serde(borrow, default)]
    tool_choice: Option<&'a RawValue>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    max_output_tokens: Option<u64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(borrow, default)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<TextIn<'a>>,
    #[serde(borrow, default)]
    reasoning: Option<ReasoningIn<'a>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(borrow, default)]
    previous_response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    conversation: Option<&'a RawValue>,
    #[serde(default)]
    background: Option<bool>,
    #[serde(borrow, default)]
    prompt: Option<&'a RawValue>,
}

/// One input item: a message (`type` absent or `"message"`), a function call, a function
/// call's output, or a type refused or ignored by name.
#[derive(Deserialize)]
struct ItemIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    output: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct PartIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    image_url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    file_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    file_data: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    filename: Option<Cow<'a, str>>,
}

/// A Responses tool: the function tool is flat (`{type, name, parameters, …}`).
#[derive(Deserialize)]
struct ToolIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    parameters: Option<&'a RawValue>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
struct NamedChoice<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TextIn<'a> {
    #[serde(borrow, default)]
    format: Option<FormatIn<'a>>,
}

#[derive(Deserialize)]
struct FormatIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    schema: Option<&'a RawValue>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
struct ReasoningIn<'a> {
    #[serde(borrow, default)]
    effort: Option<Cow<'a, str>>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn bad_input(message: impl Into<String>) -> ApiError {
    bad(message).with_param("input")
}

/// A JSON value that may be a string: the string, borrowed where the JSON has no escapes.
fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let json = raw.get();
    if !json.starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(json) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(json).ok().map(Cow::Owned),
    }
}

/// Text parts joined (`input_text`, `output_text`, `text`); `what` names the place for the
/// error a non-text part gets, or `None` to skip such parts.
fn joined_text(parts: &[PartIn<'_>], what: Option<&str>) -> Result<String, ApiError> {
    let mut s = String::new();
    for p in parts {
        match (p.kind.as_ref(), what) {
            ("input_text" | "output_text" | "text", _) => {
                s.push_str(p.text.as_deref().unwrap_or_default())
            }
            ("refusal", _) | (_, None) => {}
            (other, Some(what)) => {
                return Err(bad_input(format!(
                    "{what} content may only hold text, not \"{other}\""
                )))
            }
        }
    }
    Ok(s)
}

/// A user content part as a chat content part.
fn user_part(p: &PartIn<'_>) -> Result<Value, ApiError> {
    Ok(match p.kind.as_ref() {
        "input_text" | "output_text" | "text" => {
            json!({"type": "text", "text": p.text.as_deref().unwrap_or_default()})
        }
        "input_image" => {
            let url = p.image_url.as_deref().ok_or_else(|| {
                bad_input(
                    "input_image needs image_url (a URL or data URL); file_id is not supported",
                )
            })?;
            let mut image = json!({"url": url});
            if let Some(d) = &p.detail {
                image["detail"] = d.as_ref().into();
            }
            json!({"type": "image_url", "image_url": image})
        }
        "input_file" => {
            if p.file_data.is_none() && p.file_id.is_none() {
                return Err(bad_input(
                    "input_file needs file_data or file_id; file_url is not supported",
                ));
            }
            let mut file = Map::new();
            for (k, v) in [
                ("file_data", &p.file_data),
                ("file_id", &p.file_id),
                ("filename", &p.filename),
            ] {
                if let Some(v) = v {
                    file.insert(k.into(), v.as_ref().into());
                }
            }
            json!({"type": "file", "file": file})
        }
        other => {
            return Err(bad_input(format!(
                "unsupported input content type \"{other}\""
            )))
        }
    })
}

/// One message item as a chat message.
fn message(item: &ItemIn<'_>) -> Result<Value, ApiError> {
    let role = item
        .role
        .as_deref()
        .ok_or_else(|| bad_input("input message without role"))?;
    if !matches!(role, "user" | "assistant" | "system" | "developer") {
        return Err(bad_input(format!(
            "unexpected role \"{role}\" (expected user, assistant, system or developer)"
        )));
    }
    let content = item
        .content
        .ok_or_else(|| bad_input(format!("{role} message without content")))?;
    if let Some(s) = as_str(content) {
        return Ok(json!({"role": role, "content": s}));
    }
    let parts: Vec<PartIn> = serde_json::from_str(content.get())
        .map_err(|e| bad_input(format!("{role} message content: {e}")))?;
    Ok(match role {
        "user" => {
            let parts = parts.iter().map(user_part).collect::<Result<Vec<_>, _>>()?;
            json!({"role": role, "content": parts})
        }
        "assistant" => {
            let text = joined_text(&parts, None)?;
            json!({"role": role, "content": if text.is_empty() { Value::Null } else { text.into() }})
        }
        _ => json!({"role": role, "content": joined_text(&parts, Some(role))?}),
    })
}

/// A `function_call_output`'s `output`: a string, or content parts whose text is joined.
fn tool_output(raw: Option<&RawValue>) -> Result<String, ApiError> {
    let Some(raw) = raw else {
        return Err(bad_input("function_call_output without output"));
    };
    if let Some(s) = as_str(raw) {
        return Ok(s.into_owned());
    }
    let parts: Vec<PartIn> = serde_json::from_str(raw.get())
        .map_err(|e| bad_input(format!("function_call_output output: {e}")))?;
    joined_text(&parts, None)
}

/// The input item array as chat messages, appended to `messages`.
fn input_items(items: &[ItemIn<'_>], messages: &mut Vec<Value>) -> Result<(), ApiError> {
    for item in items {
        match item.kind.as_deref().unwrap_or("message") {
            "message" => messages.push(message(item)?),
            "function_call" => {
                let (Some(call_id), Some(name)) = (&item.call_id, &item.name) else {
                    return Err(bad_input("function_call needs call_id and name"));
                };
                let call = json!({"id": call_id, "type": "function", "function": {
                    "name": name, "arguments": item.arguments.as_deref().unwrap_or("{}")}});
                // Calls join the assistant turn just before them (its text, or other calls).
                match messages.last_mut() {
                    Some(m) if m["role"] == "assistant" => match m.get_mut("tool_calls") {
                        Some(Value::Array(calls)) => calls.push(call),
                        _ => m["tool_calls"] = json!([call]),
                    },
                    _ => messages.push(json!({"role": "assistant", "content": null,
                        "tool_calls": [call]})),
                }
            }
            "function_call_output" => {
                let call_id = item
                    .call_id
                    .as_deref()
                    .ok_or_else(|| bad_input("function_call_output needs call_id"))?;
                messages.push(json!({"role": "tool", "tool_call_id": call_id,
                    "content": tool_output(item.output)?}));
            }
            "reasoning" => {}
            "item_reference" => {
                return Err(bad_input(
                    "item_reference is not supported: this gateway keeps no stored responses",
                ))
            }
            other => {
                return Err(bad_input(format!(
                    "input item type \"{other}\" is not supported (only messages, function_call and function_call_output)"
                )))
            }
        }
    }
    Ok(())
}

fn tools(tools: &[ToolIn<'_>]) -> Result<Vec<Value>, ApiError> {
    tools
        .iter()
        .map(|t| {
            if t.kind != "function" {
                return Err(bad(format!(
                    "tool type \"{}\" is not supported: only function tools can be sent through this gateway",
                    t.kind
                ))
                .with_param("tools"));
            }
            let name = t
                .name
                .as_deref()
                .ok_or_else(|| bad("function tool without name").with_param("tools"))?;
            let mut f = json!({"name": name});
            if let Some(d) = &t.description {
                f["description"] = d.as_ref().into();
            }
            f["parameters"] = match t.parameters {
                Some(p) => serde_json::from_str(p.get()).unwrap_or(Value::Null),
                None => json!({"type": "object", "properties": {}}),
            };
            if let Some(s) = t.strict {
                f["strict"] = s.into();
            }
            Ok(json!({"type": "function", "function": f}))
        })
        .collect()
}

fn tool_choice(raw: &RawValue) -> Result<Value, ApiError> {
    let invalid =
        |what: &str| bad(format!("unsupported tool_choice {what}")).with_param("tool_choice");
    if let Some(mode) = as_str(raw) {
        return match mode.as_ref() {
            "auto" | "none" | "required" => Ok(mode.as_ref().into()),
            other => Err(invalid(&format!("\"{other}\""))),
        };
    }
    let c: NamedChoice = serde_json::from_str(raw.get()).map_err(|e| invalid(&format!("({e})")))?;
    match (c.kind.as_ref(), c.name) {
        ("function", Some(name)) => Ok(json!({"type": "function", "function": {"name": name}})),
        (kind, _) => Err(invalid(&format!("type \"{kind}\""))),
    }
}

fn response_format(f: &FormatIn<'_>) -> Result<Option<Value>, ApiError> {
    Ok(match f.kind.as_ref() {
        "text" => None,
        "json_object" => Some(json!({"type": "json_object"})),
        "json_schema" => {
            let mut s = json!({"name": f.name.as_deref().unwrap_or("response")});
            if let Some(d) = &f.description {
                s["description"] = d.as_ref().into();
            }
            if let Some(schema) = f.schema {
                s["schema"] = serde_json::from_str(schema.get()).unwrap_or(Value::Null);
            }
            if let Some(strict) = f.strict {
                s["strict"] = strict.into();
            }
            Some(json!({"type": "json_schema", "json_schema": s}))
        }
        other => {
            return Err(
                bad(format!("unsupported text.format type \"{other}\"")).with_param("text.format")
            )
        }
    })
}

/// What chat cannot express: stored state (`previous_response_id`, `conversation`, stored
/// prompts) and background responses.
fn unbridgeable(req: &Request<'_>) -> Result<(), ApiError> {
    if req.previous_response_id.is_some() || req.conversation.is_some() {
        return Err(bad(
            "previous_response_id is not supported: this gateway keeps no response store; send the whole conversation in input",
        )
        .with_param(if req.previous_response_id.is_some() {
            "previous_response_id"
        } else {
            "conversation"
        }));
    }
    if req.background == Some(true) {
        return Err(
            bad("background responses are not supported by this gateway").with_param("background"),
        );
    }
    if req.prompt.is_some() {
        return Err(
            bad("stored prompt templates are not supported by this gateway").with_param("prompt"),
        );
    }
    Ok(())
}

/// Translate a `/v1/responses` body into an OpenAI chat/completions body.
pub fn to_openai(body: &[u8]) -> Result<Bytes, ApiError> {
    let req: Request = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Invalid Responses API request: {e}")))?;
    unbridgeable(&req)?;
    let model = req
        .model
        .ok_or_else(|| bad("you must provide a model parameter").with_param("model"))?;
    let input = req
        .input
        .ok_or_else(|| bad("you must provide an input parameter").with_param("input"))?;

    let mut messages: Vec<Value> = Vec::new();
    if let Some(i) = req.instructions.as_deref().filter(|i| !i.is_empty()) {
        messages.push(json!({"role": "system", "content": i}));
    }
    if let Some(s) = as_str(input) {
        messages.push(json!({"role": "user", "content": s}));
    } else {
        let items: Vec<ItemIn> = serde_json::from_str(input.get())
            .map_err(|e| bad_input(format!("input must be a string or an array of items: {e}")))?;
        input_items(&items, &mut messages)?;
    }

    let mut out = Map::new();
    out.insert("model".into(), model.as_ref().into());
    out.insert("messages".into(), messages.into());
    if let Some(n) = req.max_output_tokens {
        out.insert("max_tokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        out.insert("temperature".into(), t.into());
    }
    if let Some(t) = req.top_p {
        out.insert("top_p".into(), t.into());
    }
    // OpenAI-only hints (`prompt_cache_key`, `safety_identifier`, `service_tier`,
    // `text.verbosity`) are not bridged: the other providers would reject them, and an OpenAI
    // deployment gets the client's own body instead.
    if let Some(v) = &req.user {
        out.insert("user".into(), v.as_ref().into());
    }
    if req.stream == Some(true) {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let tools = tools(req.tools.as_deref().unwrap_or_default())?;
    let choice = req.tool_choice.map(tool_choice).transpose()?;
    // Chat refuses tool_choice and parallel_tool_calls without tools.
    if !tools.is_empty() {
        out.insert("tools".into(), tools.into());
        if let Some(c) = choice {
            out.insert("tool_choice".into(), c);
        }
        if let Some(p) = req.parallel_tool_calls {
            out.insert("parallel_tool_calls".into(), p.into());
        }
    }
    if let Some(text) = &req.text {
        if let Some(f) = text
            .format
            .as_ref()
            .map(response_format)
            .transpose()?
            .flatten()
        {
            out.insert("response_format".into(), f);
        }
    }
    if let Some(effort) = req.reasoning.as_ref().and_then(|r| r.effort.as_deref()) {
        out.insert("reasoning_effort".into(), effort.into());
    }
    serde_json::to_vec(&out)
        .map(Bytes::from)
        .map_err(|e| bad(format!("cannot translate the request: {e}")))
}

#[cfg(test)]
mod tests;
