//! The end of a governed request: price what it used, settle its reservation once, and
//! queue its spend row for the ledger.

use std::time::Instant;

use serde::Serialize;

use super::admission::Ticket;
use super::entities::from_nano;
use super::tables::hash_key;
use super::tables::KeyView;
use super::Governance;
use crate::core::chat::Usage;
use crate::core::endpoint::Endpoint;
use crate::core::ids::hex;
use crate::core::secret::MasterKey;
use crate::metrics::keys::{KeyIdentity, KeyRequest, KeySeries};
use crate::metrics::metrics;
use crate::pricing::cost::Price;
use crate::store::{Kind, SpendRow};

/// What the proxy knows about a finished request.
pub struct SpendCtx<'a> {
    pub call_id: &'a str,
    pub asked_model: &'a str,
    pub group: &'a str,
    pub endpoint: Endpoint,
    pub status: u16,
    pub started: Instant,
    pub served: Served<'a>,
    pub master_key: Option<&'a MasterKey>,
    /// A pass-through call's path (empty otherwise).
    pub route: &'a str,
    /// The answer's id, which the spend row is also found by.
    pub response_id: Option<String>,
    /// The prompt (`messages`/`input`) and answer as raw JSON, when they were kept.
    pub prompt: Option<&'a [u8]>,
    pub answer: Option<&'a [u8]>,
}

/// What the exchange served, as settlement and the spend row read it (the pipeline builds it
/// from its record of the exchange).
#[derive(Clone, Copy, Debug, Default)]
pub struct Served<'a> {
    /// The upstream's usage report.
    pub usage: Option<Usage>,
    /// Something reached the client, or the client left while an upstream was answering.
    pub answered: bool,
    /// SSE events read from the upstream (about one token each), for streams cut short.
    pub stream_events: u64,
    /// The price to bill at: the deployment's for the model asked, or the one the exchange
    /// settled on (pass-through calls, unpriced deployments).
    pub price: Option<Price>,
    /// The model group, deployment id and provider label of the deployment that answered.
    pub group: Option<&'a str>,
    pub model_id: Option<&'a str>,
    pub provider: Option<&'a str>,
}

/// The usage to bill: the upstream's report, else (a stream cut short, or a client that left
/// while the upstream was answering) the prompt estimate plus one token per event streamed.
fn billed_usage(ticket: &Ticket, served: &Served<'_>) -> Option<Usage> {
    if let Some(u) = served.usage {
        return Some(u);
    }
    // Nothing reached the client, and no upstream was left answering: nothing to bill.
    if !served.answered {
        return None;
    }
    let prompt = ticket.prompt_estimate();
    let completion = served.stream_events;
    Some(Usage {
        prompt,
        completion,
        reported_total: Some(prompt + completion),
        ..Usage::default()
    })
}

/// The longest client-supplied string (end user, tag) a spend row keeps, in bytes.
pub const MAX_LOGGED_STRING: usize = 256;
/// The most tags a spend row keeps.
pub const MAX_TAGS: usize = 64;

/// `s` cut to [`MAX_LOGGED_STRING`] bytes on a character boundary.
fn capped(s: &str) -> String {
    let mut end = s.len().min(MAX_LOGGED_STRING);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// What a spend row's `metadata` holds beyond its columns, with the names of LiteLLM's
/// `SpendLogsMetadata`: the key's organization and a pass-through call's path. `/spend/logs`
/// adds the names its columns answer (`user_api_key`, `_alias`, `_team_id`, `_user_id`,
/// `status`) when it reads the row, so the hot path writes only these (usually `{}`).
#[derive(Serialize)]
struct RowMetadata<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_api_key_org_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_api_key_request_route: Option<&'a str>,
}

impl RowMetadata<'_> {
    fn to_json(&self) -> String {
        if self.user_api_key_org_id.is_none() && self.user_api_key_request_route.is_none() {
            return "{}".to_string();
        }
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// Settle and log one request. Without a ticket (governance off for it) nothing happens.
pub async fn finish(gov: &Governance, ticket: Option<Ticket>, c: SpendCtx<'_>) {
    let Some(ticket) = ticket else { return };
    let usage = billed_usage(&ticket, &c.served);
    let price = c.served.price;
    let cost = match (price, &usage) {
        (Some(p), Some(u)) => {
            if !p.known {
                metrics().unpriced.with_label_values(&[c.group]).inc();
            }
            p.cost_over(u, c.started.elapsed())
        }
        _ => 0,
    };
    let tokens = usage.map_or(0, |u| u.total());
    count(gov, &ticket, c.group, cost);
    let key = ticket.key.clone();
    let end_user = ticket.end_user.clone();
    ticket.settle(c.served.group, tokens, cost).await;
    if !gov.settings().spend_logs || c.endpoint == Endpoint::CountTokens {
        return;
    }
    // The row's times are on governance's clock; its duration is the monotonic one.
    let end_ms = gov.clock().now_ms();
    let elapsed_ms = i64::try_from(c.started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let Owner {
        api_key,
        alias,
        team,
        user,
        scopes,
    } = owner(key.as_deref(), c.master_key, end_user.as_deref());
    let metadata = RowMetadata {
        user_api_key_org_id: key.as_ref().and_then(|k| k.org_id()),
        user_api_key_request_route: (!c.route.is_empty()).then_some(c.route),
    }
    .to_json();
    let row = SpendRow {
        request_id: c.call_id.to_string(),
        response_id: c.response_id,
        call_type: match c.endpoint {
            Endpoint::PassThrough(_) => "pass_through_endpoint".to_string(),
            e => e.as_str().to_string(),
        },
        api_key,
        key_alias: alias,
        team_id: team,
        user_id: user,
        end_user: end_user.as_deref().map(capped),
        model: c.asked_model.to_string(),
        model_group: c.group.to_string(),
        model_id: c.served.model_id.map(str::to_string),
        custom_llm_provider: c.served.provider.map(str::to_string),
        api_base: None,
        prompt_tokens: usage.map_or(0, |u| u.prompt as i64),
        completion_tokens: usage.map_or(0, |u| u.completion as i64),
        total_tokens: tokens as i64,
        spend_nano: cost,
        start_time: end_ms.saturating_sub(elapsed_ms),
        end_time: end_ms,
        status: if c.status < 400 { "success" } else { "failure" }.to_string(),
        cache_hit: false,
        metadata,
        request_tags: key.as_ref().map_or_else(Vec::new, |k| {
            k.doc
                .tags
                .iter()
                .take(MAX_TAGS)
                .map(|t| capped(t))
                .collect()
        }),
        scopes,
        messages: stored(gov, c.prompt),
        response: stored(gov, c.answer),
    };
    if !gov.log_spend(row) {
        log::warn!("spend queue full: the row of {} was dropped", c.call_id);
    }
}

/// A prompt or answer as the spend row keeps it (`store_prompts_in_spend_logs`).
fn stored(gov: &Governance, raw: Option<&[u8]>) -> Option<String> {
    let raw = raw.filter(|_| gov.settings().store_prompts)?;
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// The request's spend in Prometheus: in its key's series when they are on, else its group's.
fn count(gov: &Governance, ticket: &Ticket, group: &str, cost: i64) {
    match (gov.key_series(), ticket.key.as_deref()) {
        (Some(series), Some(key)) => count_for_key(series, key, ticket, group, cost),
        _ if cost > 0 => crate::metrics::group_spend(group).inc_by(from_nano(cost)),
        _ => {}
    }
}

/// The request in its key's Prometheus series (the key's handles are resolved on its first
/// request and cached on its table entry; no lock, no label string built after that).
fn count_for_key(series: &KeySeries, key: &KeyView, ticket: &Ticket, group: &str, cost: i64) {
    let handles = match key.series.load_full() {
        Some(h) if !h.is_retired() => h,
        _ => {
            let h = series.resolve(&identity(key, &hex(&key.hash)));
            key.series.store(Some(h.clone()));
            h
        }
    };
    let own = key.scopes.first();
    let a = &ticket.admitted;
    let budget_left = own
        .and_then(|s| s.max_budget)
        .map(|max| from_nano(max - a.first_spent.unwrap_or(0) - cost));
    let limited = key.model_limits.contains_key(group);
    handles.record(&KeyRequest {
        model: group,
        cost_usd: from_nano(cost),
        budget_left,
        model_limited: limited,
        requests_left: a.remaining_requests.filter(|_| limited).map(|r| r.max(0)),
        tokens_left: a.remaining_tokens.filter(|_| limited).map(|r| r.max(0)),
    });
}

/// A key's labels, from its table entry.
fn identity<'a>(key: &'a KeyView, hashed: &'a str) -> KeyIdentity<'a> {
    let team_alias = key
        .scopes
        .iter()
        .find(|s| s.kind == Some(Kind::Team))
        .and_then(|s| s.alias.as_deref());
    KeyIdentity {
        hash: &key.hash,
        hashed_api_key: hashed,
        alias: key.doc.key_alias.as_deref().unwrap_or(""),
        team: key.doc.team_id.as_deref().unwrap_or(""),
        team_alias: team_alias.unwrap_or(""),
        user: key.doc.user_id.as_deref().unwrap_or(""),
        max_budget: key.scopes.first().and_then(|s| s.max_budget).map(from_nano),
    }
}

/// Who a spend row belongs to: the key's hash, alias, team and user, and every scope its
/// spend counts in (the master key's hash when no virtual key was used).
struct Owner {
    api_key: String,
    alias: Option<String>,
    team: Option<String>,
    user: Option<String>,
    scopes: Vec<(Kind, String)>,
}

fn owner(
    key: Option<&super::tables::KeyView>,
    master_key: Option<&MasterKey>,
    end_user: Option<&str>,
) -> Owner {
    let mut scopes = Vec::with_capacity(6);
    let (api_key, alias, team, user) = match key {
        Some(k) => {
            for s in &k.scopes {
                if let Some(kind) = s.kind {
                    scopes.push((kind, s.id.clone()));
                }
            }
            // A team key's user still sees its spend (LiteLLM tracks both).
            if let (Some(u), Some(_)) = (&k.doc.user_id, &k.doc.team_id) {
                if !scopes
                    .iter()
                    .any(|(kind, id)| *kind == Kind::User && id == u)
                {
                    scopes.push((Kind::User, u.clone()));
                }
            }
            (
                hex(&k.hash),
                k.doc.key_alias.clone(),
                k.doc.team_id.clone(),
                k.doc.user_id.clone(),
            )
        }
        None => (
            master_key
                .map(|m| hex(&hash_key(m.as_bytes())))
                .unwrap_or_default(),
            None,
            None,
            None,
        ),
    };
    if let Some(e) = end_user {
        scopes.push((Kind::Customer, e.to_string()));
    }
    scopes.push((Kind::Global, "global".into()));
    Owner {
        api_key,
        alias,
        team,
        user,
        scopes,
    }
}
