//! The Pingora `ProxyHttp` impl: thin phases that delegate to auth, admin and the exchange.

pub mod conn;
mod guard;

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::connectors::http::Connector;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::{Error, ErrorType, Result};
use pingora_proxy::{ProxyHttp, Session};

use crate::api::response::write_error;
use crate::auth::Principal;
use crate::config::Runtime;
use crate::core::chat::ClientWire;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::core::error::ErrorKind;
use crate::core::limits;
use crate::governance::Governance;
use crate::pipeline::local::write_json;
use crate::pipeline::{body, ingress, internal, Env, Outcome};

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
    /// Logging sinks (JSON access log, webhooks); `None` when none is configured.
    pub observe: Option<Arc<crate::observe::Hub>>,
    /// Where alerts go (`general_settings.alerting`); off by default.
    pub alerts: crate::core::alert::AlertTx,
}

/// Per-request state, built in `new_ctx` with the config snapshot the request keeps.
pub struct Ctx {
    rt: Arc<Runtime>,
    endpoint: Option<Endpoint>,
    /// What the stages leave behind; settled and counted in `logging`.
    outcome: Outcome,
    /// Counted in `litellm_in_flight_requests`; released in `logging`, or when dropped.
    in_flight: Option<guard::InFlight>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            rt: self.runtime.load_full(),
            endpoint: None,
            outcome: Outcome::new(Instant::now()),
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
                ctx.outcome.status = err.status;
                ctx.outcome.error = Some((err.kind, err.message.clone()));
                let wire = match ctx.endpoint {
                    Some(Endpoint::Messages | Endpoint::CountTokens) => ClientWire::Anthropic,
                    _ => ClientWire::OpenAi,
                };
                write_error(session, &err, wire).await?;
                err.status
            }
        };
        ctx.outcome.status = status;
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
        if let Some(endpoint) = ctx.endpoint {
            let logged = matches!(endpoint, Endpoint::PassThrough(_)) || endpoint.is_model_call();
            // Built before settlement takes the ticket it reads the key from.
            let own = self
                .observe
                .as_ref()
                .and_then(|_| ctx.outcome.key_logging());
            let hub = self
                .observe
                .as_ref()
                .filter(|h| logged && h.logs(own.as_deref()));
            let payload = hub.map(|h| {
                let master = ctx.rt.master_key.as_ref();
                crate::pipeline::logged::payload(&ctx.outcome, endpoint, master, &h.wants, own)
            });
            crate::pipeline::outcome::alert_if_slow(&ctx.outcome, &self.alerts);
            let gov = self.gov.as_deref();
            crate::pipeline::outcome::finish(gov, &ctx.rt, endpoint, &mut ctx.outcome).await;
            if let (Some(hub), Some(p)) = (&self.observe, payload) {
                hub.emit(p);
            }
        }
        // Last: a drain waits for this, so spend is queued before the writer is flushed.
        ctx.in_flight.take();
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &Ctx, error: &Error) -> bool {
        matches!(error.etype(), ErrorType::ConnectionClosed)
    }
}

impl Gateway {
    /// Route, authenticate and answer one request; returns the status written.
    async fn handle(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
    ) -> std::result::Result<u16, ApiError> {
        let endpoint = ingress::route(session.req_header()).inspect_err(|_| {
            session.set_keepalive(None);
        })?;
        ctx.endpoint = Some(endpoint);
        if let Some(hub) = &self.observe {
            ctx.outcome
                .observe(&hub.wants, &session.req_header().headers);
        }
        let rt = ctx.rt.clone();
        let gov = self.gov.as_deref();
        let principal =
            ingress::principal(&rt, gov, session.req_header(), endpoint).inspect_err(|_| {
                if endpoint.is_model_call() {
                    session.set_keepalive(None);
                }
            })?;
        ingress::check_route(&principal, session.req_header(), endpoint)?;
        let env = Env {
            rt: &rt,
            gov: self.gov.as_ref(),
            connector: &self.connector,
            self_addr: self.self_addr,
            alerts: &self.alerts,
        };
        match endpoint {
            Endpoint::Management => self.manage(session, &rt, &principal).await,
            Endpoint::PassThrough(kind) => {
                crate::pipeline::passthrough::pass_through(
                    &env,
                    session,
                    &principal,
                    kind,
                    &mut ctx.outcome,
                )
                .await
            }
            e if e.is_model_call() => {
                crate::pipeline::model_call(&env, session, e, &principal, &mut ctx.outcome).await
            }
            e => self.admin(session, &rt, e, &principal).await,
        }
    }

    /// Health, models, metrics and the other routes that answer from the gateway's state.
    async fn admin(
        &self,
        session: &mut Session,
        rt: &Arc<Runtime>,
        endpoint: Endpoint,
        principal: &Principal,
    ) -> std::result::Result<u16, ApiError> {
        if endpoint == Endpoint::Health && !principal.is_admin() {
            // `/health` makes a real call to every deployment.
            return Err(ApiError::new(
                403,
                ErrorKind::PermissionDenied,
                "/health probes every deployment with real calls: it needs the master key or role proxy_admin.",
            ));
        }
        let key = match principal {
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
        crate::admin::serve(session, rt, endpoint, admin)
            .await
            .map_err(internal)
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
        write_json(session, status, body).await
    }
}
