//! A request's own `fallbacks` entries: a model group name, or (as LiteLLM allows) an object
//! naming the group with request fields that replace the client's own when it is tried.

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::ModelCall;
use crate::core::error::ApiError;

/// One entry of a request's `fallbacks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// A model group name or a deployment id.
    pub model: String,
    /// Fields that replace the request's own for this entry (`{"model": "g", "messages":
    /// [...]}`); empty for a bare name.
    pub overrides: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Fallback {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Entry {
            Name(String),
            Object(Map<String, Value>),
        }
        match Entry::deserialize(d) {
            Ok(Entry::Name(model)) => Ok(Fallback {
                model,
                overrides: Map::new(),
            }),
            Ok(Entry::Object(mut overrides)) => match overrides.remove("model") {
                Some(Value::String(model)) => {
                    // A nested list is never followed: one level of fallbacks per request.
                    overrides.remove("fallbacks");
                    Ok(Fallback { model, overrides })
                }
                _ => Err(D::Error::custom(
                    "a fallbacks entry object needs a string \"model\"",
                )),
            },
            Err(_) => Err(D::Error::custom(
                "a fallbacks entry is a model name or an object with a \"model\"",
            )),
        }
    }
}

impl ModelCall {
    /// This request as `fallback` asks for it: the client's body with the entry's fields
    /// replacing its own and `model` set to the entry's, parsed and checked like a client
    /// body. What the gateway took from headers (timeouts, retries) and the client's API stay.
    pub fn with_overrides(&self, fallback: &Fallback) -> Result<ModelCall, ApiError> {
        let over = &fallback.overrides;
        let mut out = BytesMut::with_capacity(self.body.len() + 256);
        out.put_u8(b'{');
        let mut first = true;
        let mut member = |out: &mut BytesMut, key: &[u8], value: &[u8]| {
            if !first {
                out.put_u8(b',');
            }
            first = false;
            out.put_slice(key);
            out.put_u8(b':');
            out.put_slice(value);
        };
        for (k, v) in self.keys.iter().zip(&self.values) {
            let name = &self.body[k.clone()];
            let replaced =
                name == b"model" || std::str::from_utf8(name).is_ok_and(|n| over.contains_key(n));
            if !replaced {
                // The key's span excludes its quotes: take them with it.
                member(
                    &mut out,
                    &self.body[k.start - 1..k.end + 1],
                    &self.body[v.clone()],
                );
            }
        }
        for (k, v) in over {
            let key = serde_json::to_vec(k).unwrap_or_default();
            let value = serde_json::to_vec(v).unwrap_or_default();
            member(&mut out, &key, &value);
        }
        let model = serde_json::to_vec(&fallback.model).unwrap_or_default();
        member(&mut out, b"\"model\"", &model);
        out.put_u8(b'}');
        let mut alt = ModelCall::parse(self.endpoint, Bytes::from(out))?;
        let kept = |name: &str| !over.contains_key(name);
        if kept("timeout") {
            alt.timeout = self.timeout;
        }
        if kept("stream_timeout") {
            alt.stream_timeout = self.stream_timeout;
        }
        if kept("num_retries") {
            alt.num_retries = self.num_retries;
        }
        alt.client = self.client;
        alt.anthropic_beta.clone_from(&self.anthropic_beta);
        // The entry's fields are in the chat shape: the client's native body no longer says
        // what to send.
        alt.native = None;
        Ok(alt)
    }
}
