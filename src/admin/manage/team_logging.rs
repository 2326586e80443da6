//! A team's own logging destinations, as LiteLLM's team callback routes manage them:
//! `POST /team/{id}/callback` adds one (`callback_name`, `callback_type`, `callback_vars`),
//! `GET /team/{id}/callback` reads them, `POST /team/{id}/disable_logging` clears them so the
//! team's requests reach no logging sink. Stored in the team's `metadata.callback_settings`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{bad, get, not_found, now_iso, put, reload, reply, Reply};
use crate::governance::entities::TeamDoc;
use crate::governance::Governance;
use crate::store::{Entity, Kind};

/// The callbacks a team may name: the ones this gateway runs from variables.
const NAMES: &[&str] = &["langfuse", "datadog", "generic_api"];

#[derive(Deserialize)]
struct AddCallback {
    callback_name: String,
    #[serde(default)]
    callback_type: Option<String>,
    #[serde(default)]
    callback_vars: Map<String, Value>,
}

async fn team(
    gov: &Governance,
    id: &str,
) -> Result<(Entity, TeamDoc), crate::core::error::ApiError> {
    get(gov, Kind::Team, id)
        .await?
        .ok_or_else(|| not_found(format!("Team not found: team_id={id}")))
}

/// The team's `callback_settings`, as stored (empty lists when none).
fn settings(t: &TeamDoc) -> Map<String, Value> {
    let mut cs = t
        .metadata
        .get("callback_settings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for k in ["success_callback", "failure_callback"] {
        cs.entry(k).or_insert_with(|| json!([]));
    }
    cs.entry("callback_vars").or_insert_with(|| json!({}));
    cs
}

async fn store(gov: &Governance, e: &Entity, mut t: TeamDoc, cs: Map<String, Value>) -> Reply {
    t.metadata
        .insert("callback_settings".into(), Value::Object(cs));
    t.updated_at = Some(now_iso(gov));
    put(gov, Kind::Team, &e.id, &t).await?;
    reload(gov).await?;
    reply(&json!({"status": "success", "data": super::object(&t)?}))
}

pub(crate) async fn add(gov: &Governance, id: &str, body: &[u8]) -> Reply {
    let a: AddCallback = super::parse(body)?;
    if !NAMES.contains(&a.callback_name.as_str()) {
        return Err(bad(
            "callback_name",
            format!(
                "callback_name \"{}\" is not one this gateway runs for a team: {}",
                a.callback_name,
                NAMES.join(", ")
            ),
        ));
    }
    let (success, failure) = match a.callback_type.as_deref() {
        Some("success") => (true, false),
        Some("failure") => (false, true),
        None | Some("success_and_failure") => (true, true),
        Some(other) => {
            return Err(bad(
                "callback_type",
                format!("callback_type \"{other}\": success, failure or success_and_failure"),
            ))
        }
    };
    let (e, t) = team(gov, id).await?;
    let mut cs = settings(&t);
    for (list, on) in [("success_callback", success), ("failure_callback", failure)] {
        let names = cs.entry(list).or_insert_with(|| json!([]));
        if let Some(arr) = names.as_array_mut() {
            arr.retain(|n| n.as_str() != Some(&a.callback_name));
            if on {
                arr.push(Value::String(a.callback_name.clone()));
            }
        }
    }
    if let Some(vars) = cs.get_mut("callback_vars").and_then(Value::as_object_mut) {
        vars.extend(a.callback_vars);
    }
    store(gov, &e, t, cs).await
}

pub(crate) async fn get_callbacks(gov: &Governance, id: &str) -> Reply {
    let (_, t) = team(gov, id).await?;
    let cs = settings(&t);
    reply(&json!({"status": "success", "data": {
        "team_id": id,
        "success_callbacks": cs["success_callback"],
        "failure_callbacks": cs["failure_callback"],
        "callback_vars": cs["callback_vars"],
    }}))
}

pub(crate) async fn disable(gov: &Governance, id: &str) -> Reply {
    let (e, t) = team(gov, id).await?;
    let mut cs = Map::new();
    cs.insert("success_callback".into(), json!([]));
    cs.insert("failure_callback".into(), json!([]));
    cs.insert("callback_vars".into(), json!({}));
    store(gov, &e, t, cs).await
}
