//! The request path of every call that reaches a provider, as stages, each a function from
//! one value to the next (ARCHITECTURE.md §3):
//!
//! ```text
//! ingress::route ─▶ ingress::authorize ─▶ ingress::read ─▶ resolve ─▶ admit ─▶ local | plan ─▶ exchange ─▶ outcome::finish
//!   404/405            401/403              400/413        400 model   403/429/budget   Turns, each cleared
//! ```
//!
//! `proxy` calls in; nothing below imports this module. Pass-through routes and batch
//! completions are routes of their own through the same admission and settlement, and health
//! probes share the head builder and transport.

pub mod admit;
pub mod batch;
pub mod body;
pub mod exchange;
pub(crate) mod head;
pub mod headers;
pub mod ingress;
pub mod local;
pub mod logged;
pub mod outcome;
pub mod passthrough;
pub mod plan;
pub mod probe;
pub mod record;
pub mod resolve;

use std::net::SocketAddr;
use std::sync::Arc;

use pingora_core::connectors::http::Connector;
use pingora_proxy::Session;

use crate::auth::Principal;
use crate::config::Runtime;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::governance::Governance;

pub use headers::ResponseMeta;
pub use outcome::Outcome;
pub use record::Record;
use resolve::Resolution;

/// What the stages read besides the request: the request's config snapshot, governance and
/// the upstream connector, as the gateway holds them.
pub struct Env<'a> {
    pub rt: &'a Runtime,
    /// Keys, budgets, limits and spend; present when a master key is set.
    pub gov: Option<&'a Arc<Governance>>,
    pub connector: &'a Connector,
    /// This gateway's own listener, as a client reaches it (batch completions' parts).
    pub self_addr: Option<SocketAddr>,
    /// Where outage, recovery and hanging-request alerts go (off by default).
    pub alerts: &'a crate::core::alert::AlertTx,
}

/// A model call (chat, completions, embeddings, Messages, Responses, count_tokens) after
/// its route and principal: read → resolve → admit → answer. Returns the status written;
/// an `Err` is written by the caller in the client's wire.
pub async fn model_call(
    env: &Env<'_>,
    session: &mut Session,
    endpoint: Endpoint,
    principal: &Principal,
    out: &mut Outcome,
) -> Result<u16, ApiError> {
    let ingress = ingress::read(session, env.rt, endpoint).await?;
    let (group, wildcard) = match resolve::resolve(env.rt, &ingress)? {
        Resolution::Group { group, wildcard } => (group, wildcard),
        Resolution::Batch => return local::batch(env, session, &ingress.call).await,
    };
    let headers = &session.req_header().headers;
    let started = out.started;
    let timed = out.record.detail.as_ref().is_some_and(|d| d.spans);
    let t0 = timed.then(std::time::Instant::now);
    let admitted = match admit::admit(env, headers, principal, &ingress, group, wildcard, out).await
    {
        Ok(a) => a,
        Err(e) => {
            if let (Some(t0), Some(d)) = (t0, out.record.detail.as_mut()) {
                d.admission = Some((t0, std::time::Instant::now(), false));
            }
            return Err(e);
        }
    };
    let own = admitted
        .clearance
        .ticket()
        .and_then(|t| t.key.as_ref())
        .is_some_and(|k| k.logging.is_some());
    let stored = env.gov.is_some_and(|g| g.settings().store_prompts);
    if ((own && admitted.record.key_bodies) || stored) && admitted.record.detail.is_none() {
        // Only a key with destinations of its own pays for this, when no sink of the
        // gateway's already keeps the prompt.
        admitted.record.detail = Some(Box::new(record::Detail {
            bodies: true,
            ..record::Detail::default()
        }));
    }
    if let Some(d) = admitted.record.detail.as_mut() {
        if let Some(t0) = t0 {
            d.admission = Some((t0, std::time::Instant::now(), true));
        }
        if d.bodies {
            d.messages = Some(ingress.call.input_bytes());
        }
    }
    if endpoint == Endpoint::CountTokens {
        return local::count_tokens(session, &admitted).await;
    }
    // Seam: a response cache looks up here (the admitted call and its group).
    Ok(exchange::run(env, session, admitted, started).await)
}

/// An internal failure as the client sees it.
pub(crate) fn internal(e: Box<pingora_error::Error>) -> ApiError {
    ApiError::new(500, ErrorKind::ApiError, format!("internal error: {e}"))
}
