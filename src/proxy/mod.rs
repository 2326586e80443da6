//! The Pingora `ProxyHttp` impl: thin phases that delegate to auth, admin and the exchange.

mod batch;
mod body;
pub mod conn;
mod guard;
mod pass;
mod settle;

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::connectors::http::Connector;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::{Error, ErrorType, Result};
use pingora_proxy::{ProxyHttp, Session};

use crate::api::endpoint::Route;
use crate::api::response::write_error;
use crate::auth::{authenticate, route_allowed, Principal};
use crate::config::Runtime;
use crate::core::call::ModelCall;
use crate::core::chat::ClientWire;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::core::ids::new_uuid;
use crate::core::limits;
use crate::governance::admission::{Ask, Clearance};
use crate::governance::Governance;
use crate::metrics::count_request;
use crate::router::ModelGroup;
use crate::upstream::{Exchange, Record, ResponseMeta};

/// The gateway service: the live config snapshot and the upstream connector.
pub struct Gateway {
    /// Draining or serving, as the server's signal handler sets it.
    pub lifecycle: crate::core::lifecycle::Lifecycle,
    pub runtime: Arc<ArcSwap<Runtime>>,
    pub connector: Arc<Connector>,
    /// Virtual keys, budgets, limits and spend; present when a master key is set.
    pub gov: Option<Arc<Governance>>,
    /// The last `/health` probe round.
    pub health: crate::admin::health::HealthCache,
    /// This gateway's own listener, as a client reaches it (batch completions' parts).
    pub self_addr: Option<std::net::SocketAddr>,
}

/// Per-request state, built in `new_ctx` with the config snapshot the request keeps.
pub struct Ctx {
    rt: Arc<Runtime>,
    started: Instant,
    endpoint: Option<Endpoint>,
    group: Option<Arc<ModelGroup>>,
    status: u16,
    record: Record,
    /// What admission granted; its reservation is settled in `logging`.
    clearance: Option<Clearance>,
    call_id: String,
    asked_model: String,
    /// The path of a pass-through call, for its spend row.
    route: String,
    /// Counted in `litellm_in_flight_requests`; released in `logging`, or when dropped.
    in_flight: Option<guard::InFlight>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            rt: self.runtime.load_full(),
            started: Instant::now(),
            endpoint: None,
            group: None,
            status: 0,
            record: Record::default(),
            clearance: None,
            call_id: String::new(),
            asked_model: String::new(),
            route: String::new(),
            in_flight: Some(guard::InFlight::start()),
        }
    }

    /// Always `Ok(true)`: every response is written here (errors included), so Pingora's
    /// own upstream phases never run. A panic in the handler is contained: a 500 if nothing
    /// was sent yet, and `logging` still runs.
    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        conn::header_received(session);
        if self.lifecycle.draining() {
            session.set_keepalive(None);
        }
        // Boxed: the handler's future is large, and `contain` would otherwise copy it.
        let handled = match guard::contain(Box::pin(self.handle(session, ctx))).await {
            Ok(handled) => handled,
            Err(panic) => match guard::answer_panic(session, &panic) {
                Some(err) => Err(err),
                None => Ok(500),
            },
        };
        let status = match handled {
            Ok(status) => status,
            Err(err) => {
                ctx.status = err.status;
                let wire = match ctx.endpoint {
                    Some(Endpoint::Messages | Endpoint::CountTokens) => ClientWire::Anthropic,
                    _ => ClientWire::OpenAi,
                };
                write_error(session, &err, wire).await?;
                err.status
            }
        };
        ctx.status = status;
        Ok(true)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        Error::e_explain(
            ErrorType::InternalError,
            "the gateway answers every request in request_filter",
        )
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        conn::request_finished(session);
        self.log_request(ctx).await;
        // Last: a drain waits for this, so spend is queued before the writer is flushed.
        ctx.in_flight.take();
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &Ctx, error: &Error) -> bool {
        matches!(error.etype(), ErrorType::ConnectionClosed)
    }
}

impl Gateway {
    /// Metrics, settlement and the spend row of one finished request.
    async fn log_request(&self, ctx: &mut Ctx) {
        let Some(endpoint) = ctx.endpoint else { return };
        if let Endpoint::PassThrough(_) = endpoint {
            if let (Some(d), Some(u)) = (&ctx.record.deployment, ctx.record.usage) {
                // Pass-through usage counts against the deployment whose credentials it used.
                d.metrics.input_tokens.inc_by(u.prompt_tokens);
                d.metrics.output_tokens.inc_by(u.completion_tokens);
                d.metrics.total_tokens.inc_by(u.total_tokens);
            }
            let model = ctx.asked_model.clone();
            if let Some(settled) = self.settle(ctx, endpoint, &model) {
                settled.await;
            }
            return;
        }
        if !endpoint.is_model_call() {
            return;
        }
        let group = ctx.group.clone();
        let group = group.as_deref();
        let name = group.map_or("unknown", |g| &g.name);
        match (group, ctx.status) {
            (Some(g), 200) => {
                let idx = match endpoint {
                    Endpoint::Completions => 1,
                    Endpoint::Embeddings => 2,
                    _ => 0,
                };
                if let Some(c) = g.metrics.ok(idx) {
                    c.inc();
                }
            }
            _ => count_request(name, endpoint.as_str(), ctx.status),
        }
        if let Some(settled) = self.settle(ctx, endpoint, name) {
            settled.await;
        }
        if let Some(g) = group {
            g.metrics
                .total_latency
                .observe(ctx.started.elapsed().as_secs_f64());
            if let Some(at) = ctx.record.committed_at {
                let overhead = (at - ctx.started).saturating_sub(ctx.record.upstream_wait);
                g.metrics.overhead.observe(overhead.as_secs_f64());
            }
        }
        if let (Some(d), Some(u)) = (&ctx.record.deployment, ctx.record.usage) {
            d.metrics.input_tokens.inc_by(u.prompt_tokens);
            d.metrics.output_tokens.inc_by(u.completion_tokens);
            d.metrics.total_tokens.inc_by(u.total_tokens);
        }
    }
}

impl Gateway {
    /// Route, authenticate and answer one request; returns the status written.
    async fn handle(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
    ) -> std::result::Result<u16, ApiError> {
        let req = session.req_header();
        let endpoint = match crate::api::endpoint::route(req.method.as_str(), req.uri.path()) {
            Route::Found(e) => e,
            Route::NotFound => {
                let e = ApiError::not_found_route(req.method.as_str(), req.uri.path());
                session.set_keepalive(None);
                return Err(e);
            }
            Route::MethodNotAllowed => {
                let e = ApiError::new(
                    405,
                    ErrorKind::InvalidRequest,
                    format!("Method {} not allowed for {}", req.method, req.uri.path()),
                );
                session.set_keepalive(None);
                return Err(e);
            }
        };
        ctx.endpoint = Some(endpoint);
        let rt = ctx.rt.clone();
        let public = endpoint.is_public()
            && !(endpoint == Endpoint::Metrics && rt.settings.metrics_require_auth);
        let mut principal = Principal::Open;
        if !public {
            match authenticate(
                rt.master_key.as_ref(),
                self.gov.as_deref(),
                session.req_header(),
            ) {
                Ok(p) => principal = p,
                Err(e) => {
                    if endpoint.is_model_call() {
                        session.set_keepalive(None);
                    }
                    return Err(e);
                }
            }
        }
        if let Principal::Key(k) = &principal {
            let model_route = endpoint.is_model_call()
                || matches!(
                    endpoint,
                    Endpoint::PassThrough(_) | Endpoint::Models | Endpoint::Model
                );
            let path = session.req_header().uri.path();
            if !route_allowed(k, path, model_route, endpoint == Endpoint::Management) {
                return Err(ApiError::new(
                    403,
                    ErrorKind::PermissionDenied,
                    format!("This key is not allowed to call {path} (allowed_routes / key_type)."),
                ));
            }
        }
        if endpoint == Endpoint::Management {
            return self.manage(session, &rt, &principal).await;
        }
        if let Endpoint::PassThrough(kind) = endpoint {
            return self.pass_through(session, ctx, &rt, &principal, kind).await;
        }
        if !endpoint.is_model_call() {
            if endpoint == Endpoint::Health && !principal.is_admin() {
                // `/health` makes a real call to every deployment.
                return Err(ApiError::new(
                    403,
                    ErrorKind::PermissionDenied,
                    "/health probes every deployment with real calls: it needs the master key or role proxy_admin.",
                ));
            }
            let key = match &principal {
                Principal::Key(k) => Some(&**k),
                _ => None,
            };
            let admin = crate::admin::Admin {
                connector: &self.connector,
                gov: self.gov.as_deref(),
                health: &self.health,
                key,
                draining: self.lifecycle.draining(),
            };
            return crate::admin::serve(session, &rt, endpoint, admin)
                .await
                .map_err(internal);
        }

        let body = body::read(session, rt.settings.max_body_bytes).await?;
        let mut unbridged = false;
        let (wire_endpoint, body, client, native) = match endpoint {
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
                // What chat cannot express (`previous_response_id`, `conversation`) still
                // works when every deployment of the group is OpenAI itself.
                Err(e) if openai_only(&rt, &body) => {
                    // Only OpenAI can take it: no fallback to a group that cannot.
                    unbridged = true;
                    log::debug!("responses request passed through unbridged: {}", e.message);
                    (
                        Endpoint::Responses,
                        body.clone(),
                        ClientWire::Responses,
                        Some(body),
                    )
                }
                Err(e) => return Err(e),
            },
            e => (e, body, ClientWire::OpenAi, None),
        };
        let mut call = ModelCall::parse(wire_endpoint, body)?;
        call.apply_headers(&session.req_header().headers)?;
        call.disable_fallbacks |= unbridged;
        call.client = client;
        call.anthropic_beta = session.req_header().headers.get("anthropic-beta").cloned();
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
        let (group, wildcard) = match rt.resolve(&call.model) {
            Some(g) => (Some(g.clone()), None),
            None => {
                // Comma-separated models are a batch before any wildcard may claim them.
                let chat = endpoint == Endpoint::ChatCompletions;
                let batch = batch::models(&call.model).filter(|_| chat);
                if let Some(models) = batch {
                    return self.batch(session, &call, &models).await;
                }
                match rt.resolve_wildcard(&call.model) {
                    Some((g, matched)) => (Some(g.clone()), Some(matched)),
                    None => (None, None),
                }
            }
        };
        let Some(group) = group else {
            return Err(ApiError::bad_request(format!(
                "{}: Invalid model name passed in model={}. Call `/v1/models` to view available models for your key.",
                endpoint.as_str(), call.model
            )).with_param("model"));
        };
        ctx.group = Some(group.clone());
        ctx.call_id = new_uuid();
        ctx.asked_model = call.model.to_string();
        let counting = endpoint == Endpoint::CountTokens;
        if counting && call.input_json().len() > COUNT_TOKENS_MAX_BYTES {
            return Err(ApiError::new(
                413,
                ErrorKind::InvalidRequest,
                format!("count_tokens takes at most {COUNT_TOKENS_MAX_BYTES} bytes of input"),
            ));
        }
        let prompt_tokens = call.input_json().len() as u64 / 4 + 1;
        // Reserve for the dearest group that may serve: the requested one, or any fallback
        // the key may use; `n`/`best_of` answers cost as many times the output.
        let choices = call.choices();
        let estimate = |g: &ModelGroup| {
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
        let key = principal.key();
        let may_use =
            |g: &&Arc<ModelGroup>| key.as_ref().is_none_or(|k| k.allows(&g.name, &g.name));
        let cost_estimate = if counting || call.disable_fallbacks {
            if counting {
                0
            } else {
                estimate(&group)
            }
        } else {
            rt.fallback_groups(&group.name, call.fallbacks.as_deref())
                .filter(may_use)
                .map(|g| estimate(g))
                .fold(estimate(&group), i64::max)
        };
        let end_user = end_user_of(&session.req_header().headers, &call);
        let ask = Ask {
            request_id: &ctx.call_id,
            key,
            group: &group.name,
            end_user: end_user.as_deref(),
            prompt_tokens: if counting { 0 } else { prompt_tokens },
            cost_estimate,
            model_only: false,
        };
        if let (Some(gov), false) = (&self.gov, counting) {
            gov.check_priced(&ask, &call.model, || group.price_for(&call.model))?;
        }
        let clearance = Clearance::admit(self.gov.as_ref(), &call.model, ask).await?;
        let clearance = ctx.clearance.insert(clearance);
        if counting {
            let tokenizer = group
                .deployments
                .first()
                .map_or(crate::router::precall::Tokenizer::Cl100k, |d| d.tokenizer);
            // Tokenizing a large prompt is CPU work: off the proxy's worker threads.
            let input = call.input_json().to_vec();
            let tokens = tokio::task::spawn_blocking(move || {
                crate::router::precall::PromptTokens::new(&input).count(tokenizer)
            })
            .await
            .map_err(|e| ApiError::new(500, ErrorKind::ApiError, format!("count_tokens: {e}")))?;
            let body = crate::api::messages::count_tokens_body(tokens);
            let h = crate::api::response::header(200, "application/json", Some(body.len()))
                .map_err(internal)?;
            crate::api::response::write_full(session, h, body)
                .await
                .map_err(internal)?;
            return Ok(200);
        }
        let mut meta = ResponseMeta::new(ctx.call_id.clone(), ctx.started);
        if let Some(t) = clearance.ticket() {
            t.response_headers(&mut meta.governance);
        }
        meta.group = group.name.to_string();
        let exchange = Exchange {
            connector: &self.connector,
            call: &call,
            endpoint: wire_endpoint,
            rt: &rt,
            group: &group,
            num_retries: call.num_retries.map(|n| n.min(10)),
            wildcard,
            meta: &mut meta,
            record: &mut ctx.record,
            clearance,
        };
        Ok(exchange.run(session).await)
    }
}

impl Gateway {
    /// A batch completion (see [`batch`]): one governed request per model, over loopback.
    async fn batch(
        &self,
        session: &mut Session,
        call: &ModelCall,
        models: &[&str],
    ) -> std::result::Result<u16, ApiError> {
        batch::check(call, models)?;
        let Some(addr) = self.self_addr else {
            return Err(ApiError::new(
                500,
                ErrorKind::ApiError,
                "batch completions need the gateway's own listener address",
            ));
        };
        let req = session.req_header();
        let path = req.uri.path().to_string();
        let body = batch::run(addr, &path, &req.headers, call, models).await?;
        let h = crate::api::response::header(200, "application/json", Some(body.len()))
            .map_err(internal)?;
        crate::api::response::write_full(session, h, body)
            .await
            .map_err(internal)?;
        Ok(200)
    }

    /// Answer a management route (`/key/*`, `/team/*`, …).
    async fn manage(
        &self,
        session: &mut Session,
        rt: &Runtime,
        principal: &Principal,
    ) -> std::result::Result<u16, ApiError> {
        let Some(gov) = &self.gov else {
            return Err(ApiError::new(
                400,
                ErrorKind::InvalidRequest,
                "The management API needs a master key (general_settings.master_key) and its database.",
            ));
        };
        let caller = match principal {
            Principal::Master => crate::admin::manage::Caller::Master,
            Principal::Key(k) => crate::admin::manage::Caller::Key(k),
            Principal::Open => {
                return Err(ApiError::unauthorized(
                    "Authentication Error, the management API needs the master key.",
                ))
            }
        };
        let body = body::read(session, rt.settings.max_body_bytes).await?;
        limits::check_document(&body)?;
        let req = session.req_header();
        let method = req.method.as_str().to_string();
        let path = req.uri.path().to_string();
        let query = req.uri.query().map(str::to_string);
        let (status, body) =
            crate::admin::manage::serve(gov, rt, caller, &method, &path, query.as_deref(), body)
                .await?;
        let h = crate::api::response::header(status, "application/json", Some(body.len()))
            .map_err(internal)?;
        crate::api::response::write_full(session, h, body)
            .await
            .map_err(internal)?;
        Ok(status)
    }
}

/// Whether a Responses body names a model group served only by `openai/` deployments.
fn openai_only(rt: &Runtime, body: &bytes::Bytes) -> bool {
    let Ok(call) = ModelCall::parse(Endpoint::Responses, body.clone()) else {
        return false;
    };
    rt.resolve(&call.model).is_some_and(|g| {
        g.deployments.iter().all(|d| {
            matches!(&d.backend, crate::router::Backend::Http(t)
                if t.kind == crate::providers::ProviderKind::OpenAi)
        })
    })
}

/// The most input bytes `count_tokens` tokenizes.
const COUNT_TOKENS_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The end user a request names in LiteLLM's headers.
fn end_user_header(headers: &http::HeaderMap) -> Option<String> {
    ["x-litellm-customer-id", "x-litellm-end-user-id"]
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok())
        .map(str::to_string)
}

/// The end user a request is made for: LiteLLM's headers, else the body's `user`.
fn end_user_of(headers: &http::HeaderMap, call: &ModelCall) -> Option<String> {
    end_user_header(headers).or_else(|| {
        call.raw_field("user")
            .and_then(|u| serde_json::from_slice::<String>(u).ok())
    })
}

fn internal(e: Box<Error>) -> ApiError {
    ApiError::new(500, ErrorKind::ApiError, format!("internal error: {e}"))
}
