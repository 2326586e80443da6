//! Admission of a model call: the cost estimate (the dearest group that may serve it), the
//! key's model access and limits, and a reservation in every scope it touches. [`admit`] is
//! the only way to an [`Admitted`] call, and the exchange takes nothing else.

use std::sync::Arc;

use http::HeaderMap;

use super::ingress::{end_user_of, Ingress};
use super::{Env, Outcome, Record};
use crate::auth::Principal;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::ids::new_uuid;
use crate::governance::admission::{Ask, Clearance};
use crate::router::ModelGroup;

/// The most input bytes `count_tokens` tokenizes.
const COUNT_TOKENS_MAX_BYTES: usize = 2 * 1024 * 1024;

/// A call that passed admission, with what the exchange writes into.
pub struct Admitted<'a> {
    pub(super) ingress: &'a Ingress,
    pub(super) group: Arc<ModelGroup>,
    pub(super) wildcard: Option<String>,
    pub(super) clearance: &'a mut Clearance,
    pub(super) record: &'a mut Record,
    pub(super) call_id: &'a str,
}

/// Admit `ingress` for `group`; the clearance is parked in `out` first, so `finish` settles
/// it however the request ends.
pub async fn admit<'a>(
    env: &Env<'_>,
    headers: &HeaderMap,
    principal: &Principal,
    ingress: &'a Ingress,
    group: Arc<ModelGroup>,
    wildcard: Option<String>,
    out: &'a mut Outcome,
) -> Result<Admitted<'a>, ApiError> {
    let call = &ingress.call;
    out.group = Some(group.clone());
    out.call_id = new_uuid();
    out.asked_model = call.model.to_string();
    out.stream = call.stream;
    let counting = ingress.endpoint == crate::core::endpoint::Endpoint::CountTokens;
    if counting && call.input_json().len() > COUNT_TOKENS_MAX_BYTES {
        return Err(ApiError::new(
            413,
            ErrorKind::InvalidRequest,
            format!("count_tokens takes at most {COUNT_TOKENS_MAX_BYTES} bytes of input"),
        ));
    }
    let prompt_tokens = call.input_json().len() as u64 / 4 + 1;
    let key = principal.key();
    let cost_estimate = if counting {
        0
    } else {
        estimate(env, ingress, &group, principal, prompt_tokens)
    };
    let end_user = end_user_of(headers, call);
    let ask = Ask {
        request_id: &out.call_id,
        key,
        group: &group.name,
        end_user: end_user.as_deref(),
        prompt_tokens: if counting { 0 } else { prompt_tokens },
        cost_estimate,
        model_only: false,
    };
    if let (Some(gov), false) = (env.gov, counting) {
        gov.check_priced(&ask, &call.model, || group.price_for(&call.model))?;
    }
    let clearance = Clearance::admit(env.gov, &call.model, ask).await?;
    let Outcome {
        clearance: parked,
        record,
        call_id,
        ..
    } = out;
    Ok(Admitted {
        ingress,
        group,
        wildcard,
        clearance: parked.insert(clearance),
        record,
        call_id,
    })
}

/// What to reserve: the price of the dearest group that may serve (the requested one, or any
/// fallback the key may use); `n`/`best_of` answers cost as many times the output.
fn estimate(
    env: &Env<'_>,
    ingress: &Ingress,
    group: &Arc<ModelGroup>,
    principal: &Principal,
    prompt_tokens: u64,
) -> i64 {
    let call = &ingress.call;
    let choices = call.choices();
    let one_group = |g: &ModelGroup| {
        let out = call.max_tokens.map(|m| m.saturating_mul(choices));
        let price = g.price_for(&call.model);
        let one = price.estimate(prompt_tokens, out);
        match (out, choices) {
            (None, n) if n > 1 => {
                let prompt = price.estimate(prompt_tokens, Some(0));
                prompt.saturating_add((one - prompt).saturating_mul(n as i64))
            }
            _ => one,
        }
    };
    if call.disable_fallbacks {
        return one_group(group);
    }
    let key = match principal {
        Principal::Key(k) => Some(k),
        _ => None,
    };
    let may_use = |g: &&Arc<ModelGroup>| key.is_none_or(|k| k.allows(&g.name, &g.name));
    env.rt
        .router
        .fallback_groups(&group.name, call.fallbacks.as_deref())
        .filter(may_use)
        .map(|g| one_group(g))
        .fold(one_group(group), i64::max)
}
