//! The pass-through route (`/openai/*`, `/anthropic/*`, ...): governed as a model call (the
//! model it names, admission, settlement), then forwarded by [`super::serve`].

use pingora_proxy::Session;

use super::{Forward, Named};
use crate::auth::Principal;
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::core::ids::new_uuid;
use crate::governance::admission::{Ask, Clearance};
use crate::pipeline::ingress::end_user_header;
use crate::pipeline::{body, passthrough, Env, Outcome};
use crate::providers::ProviderKind;

/// A pass-through call: the model it names must be allowed for the key, admission
/// reserves for it, and `finish` settles and writes its spend row.
pub async fn pass_through(
    env: &Env<'_>,
    session: &mut Session,
    principal: &Principal,
    kind: ProviderKind,
    ctx: &mut Outcome,
) -> Result<u16, ApiError> {
    let rt = env.rt;
    passthrough::check_path(session.req_header().uri.path())?;
    let body = body::read(session, rt.settings.max_body_bytes).await?;
    let path = session.req_header().uri.path();
    let named = Named::read(kind, path, &body);
    let key = principal.key();
    let listed = key.as_ref().is_some_and(|k| k.lists_models());
    let model = match named.model {
        Some(m) => m,
        None if listed => {
            return Err(ApiError::new(
                403,
                ErrorKind::KeyModelAccessDenied,
                format!(
                    "This key may only call listed models, and {path} names no model (body `model`, or a model in the path)."
                ),
            ))
        }
        None => String::new(),
    };
    let group = passthrough::group_for(rt, kind, &model, key.as_deref());
    let model_named = (!model.is_empty()).then_some(model.as_str());
    let price = passthrough::price_of(rt, kind, model_named);
    let prompt_tokens = body.len() as u64 / 4 + 1;
    ctx.call_id = new_uuid();
    ctx.asked_model = model.clone();
    ctx.route = path.to_string();
    ctx.record.price = Some(price);
    let end_user = end_user_header(&session.req_header().headers);
    let ask = Ask {
        request_id: &ctx.call_id,
        key,
        group: &group,
        end_user: end_user.as_deref(),
        prompt_tokens,
        cost_estimate: price.estimate(prompt_tokens, named.max_tokens),
        model_only: false,
    };
    if let Some(gov) = env.gov {
        gov.check_priced(&ask, &model, || price)?;
    }
    let clearance = Clearance::admit(env.gov, &model, ask).await?;
    let clearance = ctx.clearance.insert(clearance);
    let call = Forward {
        kind,
        model: model_named,
        body,
        call_id: &ctx.call_id,
    };
    passthrough::serve(session, rt, env.connector, call, &mut ctx.record, clearance).await
}
