//! A key's own logging destinations, as LiteLLM stores them: `metadata.logging` on the key
//! (`[{"callback_name", "callback_type", "callback_vars"}]`) and `metadata.callback_settings`
//! on its team (`{"success_callback", "failure_callback", "callback_vars"}`, written by
//! `POST /team/{id}/callback`; both lists emptied by `/team/{id}/disable_logging`). Read
//! when the key table is built, never per request.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// Where one key's requests are logged besides the gateway's own sinks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyLogging {
    /// The team switched logging off: its requests reach no sink at all.
    pub off: bool,
    pub callbacks: Vec<Callback>,
}

/// One destination: a callback name this gateway runs (`langfuse`, `datadog`,
/// `generic_api`), the outcomes it takes, and its variables (`langfuse_public_key`, ...;
/// `os.environ/NAME` values are read from the environment when the sink starts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Callback {
    pub name: String,
    pub success: bool,
    pub failure: bool,
    pub vars: BTreeMap<String, String>,
}

/// `callback_type`: `success`, `failure` or `success_and_failure` (the default).
fn outcomes(kind: Option<&str>) -> (bool, bool) {
    match kind {
        Some("success") => (true, false),
        Some("failure") => (false, true),
        _ => (true, true),
    }
}

fn vars(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Null => None,
            other => Some((k.clone(), other.to_string())),
        })
        .collect()
}

/// The key's and its team's destinations; `None` when neither has any (the common case).
pub fn parse(
    key: &Map<String, Value>,
    team: Option<&Map<String, Value>>,
) -> Option<Arc<KeyLogging>> {
    let mut out = KeyLogging::default();
    for entry in key
        .get("logging")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = entry.get("callback_name").and_then(Value::as_str) else {
            continue;
        };
        let (success, failure) = outcomes(entry.get("callback_type").and_then(Value::as_str));
        out.callbacks.push(Callback {
            name: name.to_string(),
            success,
            failure,
            vars: vars(entry.get("callback_vars")),
        });
    }
    if let Some(cs) = team
        .and_then(|t| t.get("callback_settings"))
        .and_then(Value::as_object)
    {
        let list = |k: &str| -> Option<Vec<String>> {
            cs.get(k).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
        };
        let (success, failure) = (list("success_callback"), list("failure_callback"));
        let team_vars = vars(cs.get("callback_vars"));
        if success.as_ref().is_some_and(Vec::is_empty)
            && failure.as_ref().is_some_and(Vec::is_empty)
            && cs.get("callback_vars").is_some()
        {
            out.off = true;
        }
        let success = success.unwrap_or_default();
        let failure = failure.unwrap_or_default();
        let mut names: Vec<&String> = success.iter().chain(&failure).collect();
        names.dedup();
        for name in names {
            if out.callbacks.iter().any(|c| &c.name == name) {
                continue;
            }
            out.callbacks.push(Callback {
                name: name.clone(),
                success: success.contains(name),
                failure: failure.contains(name),
                vars: team_vars.clone(),
            });
        }
    }
    (out.off || !out.callbacks.is_empty()).then(|| Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_key_s_list_and_its_team_s_settings_are_read() {
        let key = map(
            json!({"logging": [{"callback_name": "langfuse", "callback_type": "success",
            "callback_vars": {"langfuse_public_key": "pk", "langfuse_host": "http://h"}}]}),
        );
        let team = map(
            json!({"callback_settings": {"success_callback": ["datadog"],
            "failure_callback": ["datadog"], "callback_vars": {"dd_api_key": "k"}}}),
        );
        let l = parse(&key, Some(&team)).unwrap_or_default();
        assert!(!l.off);
        assert_eq!(l.callbacks.len(), 2);
        assert_eq!(l.callbacks[0].name, "langfuse");
        assert!(l.callbacks[0].success && !l.callbacks[0].failure);
        assert_eq!(l.callbacks[0].vars["langfuse_host"], "http://h");
        assert_eq!(l.callbacks[1].name, "datadog");
        assert!(l.callbacks[1].success && l.callbacks[1].failure);
        assert_eq!(l.callbacks[1].vars["dd_api_key"], "k");
    }

    #[test]
    fn nothing_configured_is_none_and_a_disabled_team_is_off() {
        assert!(parse(&map(json!({"tags": ["a"]})), None).is_none());
        let off = map(
            json!({"callback_settings": {"success_callback": [], "failure_callback": [],
            "callback_vars": {}}}),
        );
        assert!(parse(&Map::new(), Some(&off)).is_some_and(|l| l.off));
    }
}
