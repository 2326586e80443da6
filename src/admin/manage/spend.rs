//! `/spend/logs` and `/global/spend*`: the spend ledger, row by row or totalled by key,
//! team, model or end user.

use serde_json::{json, Map, Value};

use super::keys::token_of;
use super::{bad, load, of_kind, reply, store, ApiError, Query, Reply};
use crate::governance::entities::{from_nano, KeyDoc, TeamDoc};
use crate::governance::period::{iso, parse_date};
use crate::governance::Governance;
use crate::store::{Kind, SpendGroup, SpendQuery, SpendRow};

/// A date parameter as unix milliseconds; a bare date at `end` means the end of that day.
fn date_ms(q: &Query, name: &str, end: bool) -> Result<Option<i64>, ApiError> {
    let Some(v) = q.get(name) else {
        return Ok(None);
    };
    let secs = parse_date(v)
        .ok_or_else(|| bad(name, format!("{name} must be YYYY-MM-DD, got \"{v}\"")))?;
    let whole_day = end && v.trim().len() == 10;
    Ok(Some((secs + if whole_day { 86_400 } else { 0 }) * 1000))
}

/// A stored prompt or answer as JSON (`{}` when none was kept).
fn stored_json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| json!({}))
}

/// One logged request as LiteLLM's `/spend/logs` shows it.
fn row_json(r: SpendRow) -> Value {
    let mut metadata = match serde_json::from_str::<Value>(&r.metadata) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    // The names of LiteLLM's `SpendLogsMetadata` that the row's columns answer (rows store
    // only what has no column; rows written before that keep theirs).
    let mut named = |name: &str, v: Option<&str>| {
        if let Some(v) = v {
            metadata.entry(name).or_insert_with(|| Value::from(v));
        }
    };
    named("user_api_key", Some(&r.api_key));
    named("user_api_key_alias", r.key_alias.as_deref());
    named("user_api_key_team_id", r.team_id.as_deref());
    named("user_api_key_user_id", r.user_id.as_deref());
    named("status", Some(&r.status));
    let organization_id = metadata.get("user_api_key_org_id").cloned();
    json!({
        // LiteLLM keys a row by the answer's id when it has one (`get_spend_logs_id`).
        "request_id": r.response_id.as_deref().unwrap_or(&r.request_id),
        "litellm_call_id": r.request_id,
        "call_type": r.call_type,
        "api_key": r.api_key,
        "spend": from_nano(r.spend_nano),
        "total_tokens": r.total_tokens,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "startTime": iso(r.start_time.div_euclid(1000)),
        "endTime": iso(r.end_time.div_euclid(1000)),
        "model": r.model,
        "model_group": r.model_group,
        "model_id": r.model_id,
        "user": r.user_id,
        "team_id": r.team_id,
        "organization_id": organization_id,
        "end_user": r.end_user,
        "metadata": metadata,
        "request_tags": r.request_tags,
        "status": r.status,
        "cache_hit": r.cache_hit,
        "custom_llm_provider": r.custom_llm_provider,
        "api_base": r.api_base,
        // LiteLLM writes `{}` when prompts are not stored.
        "messages": stored_json(r.messages.as_deref()),
        "response": stored_json(r.response.as_deref()),
    })
}

/// `GET /spend/logs?api_key=&user_id=&request_id=&start_date=&end_date=`.
pub(crate) async fn logs(gov: &Governance, q: &Query) -> Reply {
    let sq = SpendQuery {
        api_key: q.get("api_key").map(token_of),
        user_id: q.get("user_id").map(str::to_string),
        team_id: q.get("team_id").map(str::to_string),
        end_user: q.get("end_user").map(str::to_string),
        request_id: q.get("request_id").map(str::to_string),
        start_ms: date_ms(q, "start_date", false)?,
        end_ms: date_ms(q, "end_date", true)?,
        limit: i64::try_from(q.number("limit", 1000)?).unwrap_or(i64::MAX),
    };
    let rows = store(gov, move |s| async move { s.spend_logs(&sq).await }).await?;
    reply(&rows.into_iter().map(row_json).collect::<Vec<_>>())
}

/// `GET /global/spend`.
pub(crate) async fn global(gov: &Governance) -> Reply {
    let total = store(gov, |s| async move { s.total_spend().await }).await?;
    let max = gov.settings().global_budget.map_or(0.0, from_nano);
    reply(&json!({ "spend": from_nano(total), "max_budget": max }))
}

/// `GET /global/spend/keys|teams|models|end_users`.
pub(crate) async fn by(gov: &Governance, group: SpendGroup, q: &Query) -> Reply {
    let limit = i64::try_from(q.number("limit", 1000)?).unwrap_or(i64::MAX);
    let start = date_ms(q, "start_date", false)?;
    let end = date_ms(q, "end_date", true)?;
    let totals = store(gov, move |s| async move {
        s.spend_by(group, start, end, limit).await
    })
    .await?;
    let out = match group {
        SpendGroup::ApiKey => {
            let all = load(gov).await?;
            let keys = of_kind::<KeyDoc>(&all, Kind::Key);
            let rows: Vec<Value> = totals
                .into_iter()
                .map(|t| {
                    let k = keys.iter().find(|(e, _)| e.id == t.group).map(|(_, k)| k);
                    json!({
                        "api_key": t.group,
                        "total_spend": from_nano(t.spend_nano),
                        "key_alias": k.and_then(|k| k.key_alias.clone()),
                        "key_name": k.map(|k| k.key_name.clone()),
                    })
                })
                .collect();
            json!(rows)
        }
        SpendGroup::Team => {
            let all = load(gov).await?;
            let teams = of_kind::<TeamDoc>(&all, Kind::Team);
            let name = |id: &str| {
                teams
                    .iter()
                    .find(|(e, _)| e.id == id)
                    .and_then(|(_, t)| t.team_alias.clone())
                    .unwrap_or_else(|| id.to_string())
            };
            let names: Vec<String> = totals.iter().map(|t| name(&t.group)).collect();
            let per: Vec<Value> = totals
                .iter()
                .map(|t| json!({ "team_id": t.group, "total_spend": from_nano(t.spend_nano) }))
                .collect();
            json!({ "total_spend_per_team": per, "teams": names })
        }
        SpendGroup::Model => json!(totals
            .iter()
            .map(|t| json!({ "model": t.group, "total_spend": from_nano(t.spend_nano) }))
            .collect::<Vec<_>>()),
        _ => json!(totals
            .iter()
            .map(|t| json!({ "end_user": t.group, "total_spend": from_nano(t.spend_nano) }))
            .collect::<Vec<_>>()),
    };
    reply(&out)
}
