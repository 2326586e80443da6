//! `os.environ/NAME` references and `environment_variables`, resolved before typing.

use serde_yaml::Value;

use crate::core::config_error::ConfigError;
use crate::core::env::Env;

const PREFIX: &str = "os.environ/";

/// Replace every `os.environ/NAME` string in the tree, naming the key path of a missing one.
pub fn resolve(value: &mut Value, env: &Env, path: &mut String) -> Result<(), ConfigError> {
    match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix(PREFIX) {
                let name = name.trim();
                match env.get(name) {
                    Some(v) => *s = v,
                    None => {
                        return Err(ConfigError::new(
                            path.clone(),
                            format!("environment variable {name} is not set"),
                        )
                        .hint(format!(
                            "export {name}=... or add it under environment_variables"
                        )))
                    }
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                resolve(item, env, path)?;
                path.truncate(len);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                match k {
                    Value::String(k) => path.push_str(k),
                    other => path.push_str(&serde_yaml::to_string(other).unwrap_or_default()),
                }
                resolve(v, env, path)?;
                path.truncate(len);
            }
        }
        Value::Tagged(t) => resolve(&mut t.value, env, path)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn missing_variable_names_key_and_variable() {
        let mut v: Value = serde_yaml::from_str(
            "model_list:\n  - litellm_params:\n      api_key: os.environ/SWITCHYARD_TEST_SURELY_UNSET\n",
        )
        .unwrap();
        let e = resolve(&mut v, &Env::default(), &mut String::new()).unwrap_err();
        assert_eq!(e.path, "model_list[0].litellm_params.api_key");
        assert!(e.message.contains("SWITCHYARD_TEST_SURELY_UNSET"));
    }

    #[test]
    fn overlay_wins() {
        let mut overlay = BTreeMap::new();
        overlay.insert("K".to_string(), "v1".to_string());
        let mut v = Value::String("os.environ/K".into());
        resolve(&mut v, &Env::new(overlay), &mut String::new()).unwrap();
        assert_eq!(v, Value::String("v1".into()));
    }
}
