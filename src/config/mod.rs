//! LiteLLM-compatible config: raw serde types -> validated [`Runtime`]; reload swaps it.
//!
//! Loading runs in three steps: YAML to a value tree, `os.environ/` resolution over the tree
//! (errors name the key path and the variable), then typed parsing with
//! `serde_path_to_error` and validation into the [`Runtime`] that requests use.

mod alerting;
mod deployment;
pub mod env;
mod gov;
pub mod known;
mod minting;
mod observe;
pub mod raw;
mod raw_keys;
pub mod raw_observe;
pub mod routing;
pub mod runtime;

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

pub use crate::core::config_error::ConfigError;
pub use runtime::{BuildOptions, Runtime, Settings};

use crate::core::env::Env;
use raw::RawConfig;

/// Read, resolve and validate a config file.
pub fn load(path: &Path, opts: &BuildOptions<'_>) -> Result<Runtime, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "",
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    load_str(&text, opts)
}

/// Parse and validate config text.
pub fn load_str(text: &str, opts: &BuildOptions<'_>) -> Result<Runtime, ConfigError> {
    let (raw, env) = parse(text)?;
    runtime::build(raw, &env, opts)
}

/// YAML -> resolved value tree -> raw types.
pub fn parse(text: &str) -> Result<(RawConfig, Env), ConfigError> {
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        ConfigError::new("", format!("invalid YAML{at}: {e}"))
    })?;
    if value.is_null() {
        value = Value::Mapping(Default::default());
    }
    if !value.is_mapping() {
        return Err(ConfigError::new(
            "",
            "the config must be a YAML mapping (model_list, litellm_settings, ...)",
        ));
    }
    let overlay = environment_variables(&value)?;
    let env = Env::new(overlay);
    env::resolve(&mut value, &env, &mut String::new())?;
    let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::new(path, e.into_inner().to_string())
    })?;
    Ok((raw, env))
}

fn environment_variables(value: &Value) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    let Some(vars) = value.get("environment_variables") else {
        return Ok(out);
    };
    let Some(map) = vars.as_mapping() else {
        if vars.is_null() {
            return Ok(out);
        }
        return Err(ConfigError::new(
            "environment_variables",
            "expected a mapping of NAME: value",
        ));
    };
    for (k, v) in map {
        let Some(k) = k.as_str() else {
            return Err(ConfigError::new(
                "environment_variables",
                "variable names must be strings",
            ));
        };
        let v = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => {
                return Err(ConfigError::new(
                    format!("environment_variables.{k}"),
                    "expected a string, number or boolean",
                ))
            }
        };
        out.insert(k.to_string(), v);
    }
    Ok(out)
}
