//! Ingress, the first stages: the route of a request (404/405), its principal (401/403), and
//! for a model call its body read once, bounded, and decoded from the client's wire: Anthropic
//! Messages and OpenAI Responses are bridged to the chat view a provider encodes from, with the
//! client's own body kept beside it for a provider that speaks that API natively.

use pingora_http::RequestHeader;
use pingora_proxy::Session;

use super::body;
use crate::api::endpoint::Route;
use crate::auth::{authenticate, route_allowed, Principal};
use crate::config::Runtime;
use crate::core::call::ModelCall;
use crate::core::chat::ClientWire;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::governance::Governance;
use crate::providers::registry;
use crate::router::Backend;

/// The endpoint a request names, or why none: 404 for an unknown path, 405 for a known path
/// with another method.
pub fn route(req: &RequestHeader) -> Result<Endpoint, ApiError> {
    match crate::api::endpoint::route(req.method.as_str(), req.uri.path()) {
        Route::Found(e) => Ok(e),
        Route::NotFound => Err(ApiError::not_found_route(
            req.method.as_str(),
            req.uri.path(),
        )),
        Route::MethodNotAllowed => Err(ApiError::new(
            405,
            ErrorKind::InvalidRequest,
            format!("Method {} not allowed for {}", req.method, req.uri.path()),
        )),
    }
}

/// Who is calling: open for public routes, else the master key or a virtual key (401 when
/// neither is shown).
pub fn principal(
    rt: &Runtime,
    gov: Option<&Governance>,
    req: &RequestHeader,
    endpoint: Endpoint,
) -> Result<Principal, ApiError> {
    let public = endpoint.is_public()
        && !(endpoint == Endpoint::Metrics && rt.settings.metrics_require_auth);
    if public {
        return Ok(Principal::Open);
    }
    authenticate(rt.master_key.as_ref(), gov, req)
}

/// Whether a virtual key may call this route (`allowed_routes`, `key_type`): 403 if not.
pub fn check_route(
    principal: &Principal,
    req: &RequestHeader,
    endpoint: Endpoint,
) -> Result<(), ApiError> {
    let Principal::Key(k) = principal else {
        return Ok(());
    };
    let model_route = endpoint.is_model_call()
        || matches!(
            endpoint,
            Endpoint::PassThrough(_) | Endpoint::Models | Endpoint::Model
        );
    let path = req.uri.path();
    if route_allowed(k, path, model_route, endpoint == Endpoint::Management) {
        return Ok(());
    }
    Err(ApiError::new(
        403,
        ErrorKind::PermissionDenied,
        format!("This key is not allowed to call {path} (allowed_routes / key_type)."),
    ))
}

/// A model call as read from the client: what the client asked for, decoded once.
pub struct Ingress {
    /// The endpoint the client called.
    pub endpoint: Endpoint,
    /// The endpoint the call is parsed as (chat, for a bridged Messages or Responses body).
    pub wire: Endpoint,
    pub call: ModelCall,
}

/// Read, bridge and parse a model call's body (400 malformed, 413 too large).
pub async fn read(
    session: &mut Session,
    rt: &Runtime,
    endpoint: Endpoint,
) -> Result<Ingress, ApiError> {
    let body = body::read(session, rt.settings.max_body_bytes).await?;
    let (wire, body, client, native) = match endpoint {
        Endpoint::Messages | Endpoint::CountTokens => (
            Endpoint::ChatCompletions,
            crate::api::messages::to_openai(&body)?,
            ClientWire::Anthropic,
            Some(body),
        ),
        Endpoint::Responses => match crate::api::responses::to_openai(&body) {
            Ok(chat) => (
                Endpoint::ChatCompletions,
                chat,
                ClientWire::Responses,
                Some(body),
            ),
            Err(e) => return unbridged(session, rt, body, e),
        },
        e => (e, body, ClientWire::OpenAi, None),
    };
    let req = session.req_header();
    let mut call = ModelCall::parse(wire, body)?;
    call.apply_headers(&req.headers)?;
    call.client = client;
    call.anthropic_beta = req.headers.get("anthropic-beta").cloned();
    // The client's own body, for a deployment that speaks the client's API.
    match (native, endpoint) {
        (Some(native), Endpoint::Messages | Endpoint::CountTokens) => {
            call.native = Some(Box::new(ModelCall::parse(Endpoint::Messages, native)?));
        }
        (Some(native), Endpoint::Responses) => {
            call.native = Some(Box::new(ModelCall::parse(Endpoint::Responses, native)?));
        }
        _ => {}
    }
    if let Some(native) = call.native.take() {
        call.inherit_mocks(&native);
        call.native = Some(native);
    }
    Ok(Ingress {
        endpoint,
        wire,
        call,
    })
}

/// A Responses body the bridge refused (what chat cannot express: `previous_response_id`,
/// `conversation`): still served when every deployment of its group is OpenAI itself, the
/// body indexed once for both the call and its native body, with no fallback to a group that
/// could not take it. Otherwise the bridge's error.
fn unbridged(
    session: &Session,
    rt: &Runtime,
    body: bytes::Bytes,
    refused: ApiError,
) -> Result<Ingress, ApiError> {
    let Ok(native) = ModelCall::parse(Endpoint::Responses, body) else {
        return Err(refused);
    };
    if !openai_only(rt, &native.model) {
        return Err(refused);
    }
    log::debug!(
        "responses request passed through unbridged: {}",
        refused.message
    );
    let req = session.req_header();
    let mut call = native.clone();
    call.apply_headers(&req.headers)?;
    call.disable_fallbacks = true;
    call.client = ClientWire::Responses;
    call.anthropic_beta = req.headers.get("anthropic-beta").cloned();
    call.native = Some(Box::new(native));
    Ok(Ingress {
        endpoint: Endpoint::Responses,
        wire: Endpoint::Responses,
        call,
    })
}

/// Whether a model group is served only by deployments that speak Responses (OpenAI).
fn openai_only(rt: &Runtime, model: &str) -> bool {
    rt.router.resolve(model).is_some_and(|g| {
        g.deployments.iter().all(|d| {
            matches!(&d.backend, Backend::Http(t)
                if registry::info(t.kind).native == Some(ClientWire::Responses))
        })
    })
}

/// The end user a request names in LiteLLM's headers.
pub(super) fn end_user_header(headers: &http::HeaderMap) -> Option<String> {
    ["x-litellm-customer-id", "x-litellm-end-user-id"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok())
        .map(str::to_string)
}

/// The end user a request is made for: LiteLLM's headers, else the body's `user`.
pub(super) fn end_user_of(headers: &http::HeaderMap, call: &ModelCall) -> Option<String> {
    end_user_header(headers).or_else(|| {
        call.raw_field("user")
            .and_then(|u| serde_json::from_slice::<String>(u).ok())
    })
}
