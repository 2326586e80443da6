//! Ollama errors (`{"error": "..."}` bodies and stream lines) in OpenAI's shape.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::openai::kind_for;
use crate::core::error::ApiError;

/// The text of an `error` member: a string as Ollama sends it, `message` of an object (some
/// proxies), else the JSON as it is.
pub(super) fn error_text(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape<'a> {
        Text(#[serde(borrow)] Cow<'a, str>),
        Object {
            #[serde(borrow)]
            message: Cow<'a, str>,
        },
    }
    match serde_json::from_str::<Shape>(raw.get()) {
        Ok(Shape::Text(t) | Shape::Object { message: t }) => t.into_owned(),
        Err(_) => raw.get().to_string(),
    }
}

/// An error reported inside a 200 body: Ollama sends no status there, so a missing model is
/// a 404 and anything else a 500.
pub(super) fn stream_error(message: &str) -> ApiError {
    let status = if message.to_ascii_lowercase().contains("not found") {
        404
    } else {
        500
    };
    error_at(status, message)
}

fn error_at(status: u16, message: &str) -> ApiError {
    let message = match message.trim() {
        "" => format!("upstream returned HTTP {status}"),
        m => m.to_string(),
    };
    ApiError::new(status, kind_for(status), message)
}

/// An upstream error response in OpenAI's shape: the upstream status and Ollama's message
/// (`{"error": "model 'x' not found"}`); a body that is not that shape is the message.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: &'a RawValue,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => error_at(status, &error_text(e.error)),
        Err(_) => error_at(
            status,
            &String::from_utf8_lossy(&body[..body.len().min(2048)]),
        ),
    }
}
