//! OpenAI messages -> Gemini `contents` and `systemInstruction` parts: pure, borrowing from
//! the request.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::SIGNATURE_SEPARATOR;
use crate::core::error::ApiError;
use crate::providers::chat::{data_url, Content, FilePart, Message, Part, Role, ToolCallIn};

/// base64 of `skip_thought_signature_validator`, Google's placeholder signature for Gemini 3
/// function calls it did not generate (what LiteLLM sends).
const PLACEHOLDER_SIGNATURE: &str = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I=";

/// One `Content`: a `user` or `model` turn.
#[derive(Serialize)]
pub(super) struct Turn<'a> {
    role: &'static str,
    parts: Vec<PartOut<'a>>,
}

#[derive(Serialize)]
pub(super) struct Instruction<'a> {
    parts: Vec<PartOut<'a>>,
}

#[derive(Serialize)]
struct PartOut<'a> {
    #[serde(flatten)]
    data: PartData<'a>,
    #[serde(rename = "thoughtSignature", skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'a str>,
}

/// The one data member of a `Part` (`{"text": ...}`, `{"inlineData": {...}}`, ...).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum PartData<'a> {
    Text(&'a str),
    InlineData(Blob<'a>),
    FileData(FileRef<'a>),
    FunctionCall(FunctionCall<'a>),
    FunctionResponse(FunctionResponse<'a>),
}

impl<'a> PartData<'a> {
    fn part(self) -> PartOut<'a> {
        PartOut {
            data: self,
            thought_signature: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob<'a> {
    mime_type: Cow<'a, str>,
    data: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileRef<'a> {
    mime_type: &'a str,
    file_uri: &'a str,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    name: &'a str,
    args: Value,
}

#[derive(Serialize)]
struct FunctionResponse<'a> {
    name: &'a str,
    response: ToolResult,
}

/// `response` must be an object: the tool's output goes under `result`, as the SDK does.
#[derive(Serialize)]
struct ToolResult {
    result: ResultValue,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ResultValue {
    Json(Box<RawValue>),
    Text(String),
}

/// The system instruction and the conversation; consecutive turns of one role are
/// merged (tool results that follow each other become one `user` turn).
pub(super) fn contents<'a>(
    messages: &'a [Message<'a>],
    gemini3: bool,
) -> Result<(Option<Instruction<'a>>, Vec<Turn<'a>>), ApiError> {
    // tool_call_id -> function name: Gemini's functionResponse needs the name.
    let mut names: HashMap<&'a str, &'a str> = HashMap::new();
    let mut system = Vec::new();
    let mut turns: Vec<Turn<'a>> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            Role::System | Role::Developer => {
                system.extend(texts(m).map(|t| PartData::Text(t).part()))
            }
            Role::User => add(&mut turns, "user", user_parts(m, i)?),
            Role::Assistant => {
                let mut parts: Vec<PartOut> = texts(m).map(|t| PartData::Text(t).part()).collect();
                for (j, call) in m.tool_calls.iter().flatten().enumerate() {
                    if let Some(id) = call.id.as_deref().filter(|id| !id.is_empty()) {
                        names.insert(id, &call.function.name);
                    }
                    parts.push(function_call(call, gemini3 && j == 0));
                }
                add(&mut turns, "model", parts);
            }
            Role::Tool | Role::Function => {
                let part = function_response(m, &names, i)?;
                add(&mut turns, "user", vec![part]);
            }
        }
    }
    if turns.is_empty() && !system.is_empty() {
        // Gemini needs at least one content: a system-only request is asked as the user.
        turns.push(Turn {
            role: "user",
            parts: std::mem::take(&mut system),
        });
    }
    let system = (!system.is_empty()).then_some(Instruction { parts: system });
    Ok((system, turns))
}

fn add<'a>(turns: &mut Vec<Turn<'a>>, role: &'static str, parts: Vec<PartOut<'a>>) {
    if parts.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => turns.push(Turn { role, parts }),
    }
}

/// The non-empty text parts of a message.
fn texts<'a>(m: &'a Message<'a>) -> impl Iterator<Item = &'a str> {
    let (whole, parts): (Option<&'a str>, &'a [Part<'a>]) = match &m.content {
        Some(Content::Text(t)) => (Some(t), &[]),
        Some(Content::Parts(p)) => (None, p),
        None => (None, &[]),
    };
    whole
        .into_iter()
        .chain(parts.iter().filter_map(|p| match p {
            Part::Text { text } => Some(text.as_ref()),
            _ => None,
        }))
        .filter(|t| !t.is_empty())
}

/// An assistant tool call; the thought signature travels in the id (LiteLLM's convention),
/// and Gemini 3 gets the placeholder on a step's first call when there is none.
fn function_call<'a>(call: &'a ToolCallIn<'a>, placeholder: bool) -> PartOut<'a> {
    let signature = call
        .id
        .as_deref()
        .and_then(|id| id.split_once(SIGNATURE_SEPARATOR))
        .map(|(_, sig)| sig)
        .filter(|sig| !sig.is_empty())
        .or(placeholder.then_some(PLACEHOLDER_SIGNATURE));
    // Gemini's `args` is an object: arguments that are not a JSON object become `{}`.
    let args = match call.function.arguments_value() {
        v @ Value::Object(_) => v,
        _ => Value::Object(serde_json::Map::new()),
    };
    PartOut {
        data: PartData::FunctionCall(FunctionCall {
            name: &call.function.name,
            args,
        }),
        thought_signature: signature,
    }
}

fn function_response<'a>(
    m: &'a Message<'a>,
    names: &HashMap<&'a str, &'a str>,
    i: usize,
) -> Result<PartOut<'a>, ApiError> {
    let id = m.tool_call_id.as_deref();
    let name = id
        .and_then(|id| names.get(id).copied())
        .or(m.name.as_deref())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "messages[{i}]: tool_call_id {:?} matches no earlier assistant tool call \
                 (Gemini needs the function name)",
                id.unwrap_or_default()
            ))
            .with_param("messages")
        })?;
    let text: String = texts(m).collect();
    let trimmed = text.trim();
    let result = match RawValue::from_string(trimmed.to_string()) {
        Ok(json) if !trimmed.is_empty() => ResultValue::Json(json),
        _ => ResultValue::Text(text),
    };
    Ok(PartData::FunctionResponse(FunctionResponse {
        name,
        response: ToolResult { result },
    })
    .part())
}

fn user_parts<'a>(m: &'a Message<'a>, i: usize) -> Result<Vec<PartOut<'a>>, ApiError> {
    match &m.content {
        None => Ok(Vec::new()),
        Some(Content::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(Content::Text(t)) => Ok(vec![PartData::Text(t).part()]),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter_map(|p| content_part(p, i).transpose())
            .collect(),
    }
}

fn bad_part(i: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("messages[{i}].content: {message}")).with_param("messages")
}

fn content_part<'a>(p: &'a Part<'a>, i: usize) -> Result<Option<PartOut<'a>>, ApiError> {
    let data = match p {
        Part::Text { text } | Part::Refusal { refusal: text } if text.is_empty() => {
            return Ok(None)
        }
        Part::Text { text } | Part::Refusal { refusal: text } => PartData::Text(text),
        Part::ImageUrl { image_url } => media(image_url.url(), None, i)?,
        Part::InputAudio { input_audio } => audio(input_audio, i)?,
        Part::File { file } => file_part(file, i)?,
        Part::Other { kind } => {
            return Err(bad_part(
                i,
                format!("content parts of type \"{kind}\" are not supported for gemini"),
            ))
        }
    };
    Ok(Some(data.part()))
}

fn inline<'a>(mime_type: &'a str, data: &'a str) -> PartData<'a> {
    PartData::InlineData(Blob {
        mime_type: Cow::Borrowed(mime_type),
        data: Cow::Borrowed(data),
    })
}

fn is_uri(s: &str) -> bool {
    ["https://", "http://", "gs://"]
        .iter()
        .any(|scheme| s.starts_with(scheme))
}

/// A data URL is sent inline; a URL by reference, with its type guessed when not given.
fn media<'a>(url: &'a str, mime: Option<&'a str>, i: usize) -> Result<PartData<'a>, ApiError> {
    if let Some((mime_type, data)) = data_url(url) {
        return Ok(inline(mime_type, data));
    }
    if is_uri(url) {
        return Ok(PartData::FileData(FileRef {
            mime_type: mime.unwrap_or_else(|| guess_mime(url)),
            file_uri: url,
        }));
    }
    Err(bad_part(
        i,
        "image_url must be a base64 data: URL or an http(s) URL",
    ))
}

/// The media type for a URL's file extension; `image/jpeg` when unknown (LiteLLM's guess).
fn guess_mime(url: &str) -> &'static str {
    const TYPES: &[(&str, &str)] = &[
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("gif", "image/gif"),
        ("webp", "image/webp"),
        ("heic", "image/heic"),
        ("heif", "image/heif"),
        ("pdf", "application/pdf"),
        ("txt", "text/plain"),
        ("mp3", "audio/mp3"),
        ("wav", "audio/wav"),
        ("flac", "audio/flac"),
        ("mp4", "video/mp4"),
        ("mov", "video/mov"),
        ("webm", "video/webm"),
    ];
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or("image/jpeg", |(_, t)| t)
}

fn audio<'a>(raw: &'a RawValue, i: usize) -> Result<PartData<'a>, ApiError> {
    #[derive(Deserialize)]
    struct InputAudio<'a> {
        #[serde(borrow)]
        data: Cow<'a, str>,
        #[serde(borrow)]
        format: Cow<'a, str>,
    }
    let a: InputAudio = serde_json::from_str(raw.get()).map_err(|e| bad_part(i, e))?;
    let mime_type = match a.format.as_ref() {
        "wav" => Cow::Borrowed("audio/wav"),
        "mp3" => Cow::Borrowed("audio/mp3"),
        other => Cow::Owned(format!("audio/{other}")),
    };
    Ok(PartData::InlineData(Blob {
        mime_type,
        data: a.data,
    }))
}

/// `file` parts: `file_data` (a data URL, or base64 with `format`) inline; `file_id` that is
/// a file URI by reference.
fn file_part<'a>(file: &'a FilePart<'a>, i: usize) -> Result<PartData<'a>, ApiError> {
    let format = file.format.as_deref();
    if let Some(d) = file.file_data.as_deref() {
        if let Some((mime_type, data)) = data_url(d) {
            return Ok(inline(mime_type, data));
        }
        if let Some(mime_type) = format {
            return Ok(inline(mime_type, d));
        }
    }
    if let Some(uri) = file.file_id.as_deref().filter(|id| is_uri(id)) {
        return media(uri, format, i);
    }
    Err(bad_part(
        i,
        "file parts need file_data as a base64 data: URL, or file_id as a file URI",
    ))
}
