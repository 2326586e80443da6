//! The exchange: attempts across deployments on Pingora's connector, written back to the
//! client by us (not by Pingora's proxy phases), so any body can be replayed and a stream can
//! fail over until its first event is committed. The last stage of a model call.

mod attempt;
mod fallbacks;
mod mock;
mod stream;
mod translate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_core::connectors::http::Connector;
use pingora_proxy::Session;

use crate::api::response::{error_body, parts, write_full};
use crate::config::Runtime;
use crate::core::call::MockSpec;
use crate::core::call::ModelCall;
use crate::core::chat::Usage;
use crate::core::endpoint::Endpoint;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::{Failure, FallbackClass};
use crate::core::headers::put;
use crate::governance::admission::Clearance;
use crate::metrics::metrics;
use crate::providers::is_retryable_status;
use crate::router::cooldown::{now_ms, FailureClass, Transition};
use crate::router::precall::PromptTokens;
use crate::router::retry::{backoff, retry_after_hint};
use crate::router::{Backend, Exhausted, ModelGroup, PreCallRejection, Strategy};

use super::admit::Admitted;
use super::{Env, Record, ResponseMeta};

/// How one attempt ended.
pub(crate) enum Outcome {
    /// A response was written to the client (success, or an error after commit).
    Done,
    /// Nothing was written; the failure says what the client would see.
    Failed(Failure),
    /// The client went away; nothing more to write.
    ClientGone,
}

/// Everything an exchange reads; built by [`run`] from an admitted call.
pub(crate) struct Exchange<'a> {
    pub connector: &'a Connector,
    pub call: &'a ModelCall,
    pub endpoint: Endpoint,
    pub rt: &'a Runtime,
    pub group: &'a Arc<ModelGroup>,
    /// Retries asked for by the request (header or body); else the group's or the router's.
    pub num_retries: Option<u32>,
    /// What a wildcard group's `*` matched in the requested model name.
    pub wildcard: Option<String>,
    pub meta: &'a mut ResponseMeta,
    pub record: &'a mut Record,
    /// What admission granted: the only way to reach an upstream.
    pub clearance: &'a mut Clearance,
}

/// How one model group's attempts ended.
enum GroupResult {
    Done(u16),
    Gone,
    Failed(Failure),
}

/// Whether a failed attempt may be retried: `retry_policy` sets a budget per error class;
/// otherwise the status decides.
fn retry_allowed(group: &ModelGroup, err: &ApiError, attempt: u32) -> bool {
    match group
        .retry_policy
        .for_status(err.status, err.code.as_deref())
    {
        Some(budget) => attempt < budget,
        None => is_retryable_status(err.status) || err.status == 501,
    }
}

/// LiteLLM's latency sample: time to first token for streams, else latency per output token.
fn latency_sample(
    total: Duration,
    first: Option<Duration>,
    stream: bool,
    usage: Option<Usage>,
) -> u64 {
    match (stream, first, usage) {
        (true, Some(ttft), _) => ttft.as_micros() as u64,
        (false, _, Some(u)) if u.completion_tokens > 0 => {
            (total.as_micros() as u64) / u.completion_tokens
        }
        _ => total.as_micros() as u64,
    }
}

/// Run an admitted call over its group and fallbacks; returns the status written (0: the
/// client left).
pub async fn run(env: &Env<'_>, session: &mut Session, a: Admitted<'_>, started: Instant) -> u16 {
    let call = &a.ingress.call;
    let mut meta = ResponseMeta::new(a.call_id.to_string(), started);
    if let Some(t) = a.clearance.ticket() {
        t.response_headers(&mut meta.governance);
    }
    meta.group = a.group.name.to_string();
    let exchange = Exchange {
        connector: env.connector,
        call,
        endpoint: a.ingress.wire,
        rt: env.rt,
        group: &a.group,
        num_retries: call.num_retries.map(|n| n.min(10)),
        wildcard: a.wildcard,
        meta: &mut meta,
        record: a.record,
        clearance: a.clearance,
    };
    exchange.run(session).await
}

impl Exchange<'_> {
    /// Run the group, then its fallbacks, until a response is committed or nothing is
    /// left; always answers the client unless it went away. Returns the status written.
    pub async fn run(mut self, session: &mut Session) -> u16 {
        let primary = self.group.clone();
        let first = if self.call.mock_testing_fallbacks {
            GroupResult::Failed(Failure::new(ApiError::new(
                500,
                ErrorKind::ApiError,
                "mock_testing_fallbacks: simulated failure to test fallbacks",
            )))
        } else {
            // LiteLLM fails only the first attempt; the group's retries then run as usual.
            let simulated = self.call.mock_testing_rate_limit_error.then(|| {
                ApiError::new(
                    429,
                    ErrorKind::RateLimit,
                    format!(
                        "litellm.RateLimitError: This is a mock exception for model={}, to trigger a rate limit error.",
                        primary.name
                    ),
                )
                .with_code("429")
            });
            self.run_group(session, &primary, None, simulated).await
        };
        let mut last = match first {
            GroupResult::Done(s) => return s,
            GroupResult::Gone => return 0,
            GroupResult::Failed(f) => f,
        };
        if !self.call.disable_fallbacks {
            let (call, rt) = (self.call, self.rt);
            let list = fallbacks::entries(call, rt, &primary.name, last.fallback);
            let max = rt.fallbacks.max_fallbacks;
            self.meta.max_fallbacks = (!list.is_empty()).then_some(max);
            for (name, entry) in list.into_iter().take(max) {
                let Some((group, fixed)) = rt.fallback_target(name) else {
                    log::warn!("fallback \"{name}\" is neither a model group nor a deployment id");
                    continue;
                };
                let group = group.clone();
                // A group the key may not use, or whose per-model limits are spent, is
                // skipped; with none left the client gets the original error.
                if let Err(e) = self.clearance.enter_group(&group.name).await {
                    log::debug!("fallback {name} skipped: {}", e.message);
                    continue;
                }
                self.meta.attempted_fallbacks += 1;
                self.meta.group = group.name.to_string();
                log::info!(
                    "model group {} failed ({}); falling back to {name}",
                    primary.name,
                    last.error
                );
                let result = match entry.map(|e| call.with_overrides(e)) {
                    None => self.run_group(session, &group, fixed, None).await,
                    Some(Ok(alt)) => {
                        self.with_call(&alt)
                            .run_group(session, &group, fixed, None)
                            .await
                    }
                    Some(Err(e)) => GroupResult::Failed(Failure::new(e)),
                };
                match result {
                    GroupResult::Done(s) => {
                        metrics()
                            .successful_fallbacks
                            .with_label_values(&[&primary.name, &group.name])
                            .inc();
                        return s;
                    }
                    GroupResult::Gone => return 0,
                    GroupResult::Failed(f) => {
                        metrics()
                            .failed_fallbacks
                            .with_label_values(&[&primary.name, &group.name])
                            .inc();
                        last = f;
                    }
                }
            }
        }
        let Failure {
            error: err,
            retry_after,
            ..
        } = last;
        self.meta.status = err.status;
        let body = error_body(&err, self.call.client);
        let Ok(mut h) = parts(err.status, "application/json", Some(body.len())) else {
            return 0;
        };
        self.meta.apply(&mut h.headers, self.record);
        if let Some(ra) = retry_after {
            put(&mut h.headers, http::header::RETRY_AFTER, ra);
        }
        if let Err(e) = write_full(session, h.into(), body).await {
            log::debug!("client write failed: {e}");
        }
        err.status
    }

    /// Attempts within one group: the next deployment at once while a healthy one is left,
    /// else a backoff honouring the upstream's Retry-After. A `simulated` error stands in
    /// for the first attempt (`mock_testing_rate_limit_error`) and reaches no deployment.
    async fn run_group(
        &mut self,
        session: &mut Session,
        group: &ModelGroup,
        fixed: Option<&str>,
        mut simulated: Option<ApiError>,
    ) -> GroupResult {
        let retries = self
            .num_retries
            .or(group.num_retries)
            .unwrap_or(self.rt.settings.num_retries);
        let mut plan = match fixed {
            Some(id) => match group.plan_for(id) {
                Some(p) => p,
                None => {
                    return GroupResult::Failed(Failure::new(ApiError::new(
                        503,
                        ErrorKind::ServiceUnavailable,
                        format!("deployment {id} not found"),
                    )))
                }
            },
            None => group.plan(),
        };
        if let Some(region) = self.clearance.region() {
            if !plan.keep_region(region) {
                let err = ApiError::new(400, ErrorKind::InvalidRequest, format!(
                    "No deployments available for selected model: no deployment of model group {} is in region {region}, the end user's allowed_model_region",
                    group.name
                ));
                return GroupResult::Failed(Failure::new(err));
            }
        }
        if group.pre_call_checks && fixed.is_none() {
            let mut tokens = PromptTokens::new(self.call.input_json());
            match plan.pre_call_filter(&mut tokens, now_ms() / 60_000) {
                Some(PreCallRejection::ContextWindow) => {
                    let err = ApiError::new(400, ErrorKind::InvalidRequest, format!(
                        "ContextWindowExceededError: the prompt does not fit the max_input_tokens of any deployment of model group {}",
                        group.name
                    ))
                    .with_param("messages")
                    .with_code("context_length_exceeded");
                    let failure = Failure::new(err).with_class(FallbackClass::ContextWindow);
                    return GroupResult::Failed(failure);
                }
                Some(PreCallRejection::RateLimit) => {
                    let err = ApiError::new(429, ErrorKind::RateLimit, format!(
                        "No deployments available for selected model: every deployment of {} used up its rpm this minute",
                        group.name
                    ));
                    return GroupResult::Failed(
                        Failure::new(err).with_retry_after(Some("60".into())),
                    );
                }
                None => {}
            }
        }
        let alone = group.deployments.len() == 1;
        let mut last: Option<Failure> = None;
        let mut waits = 0u32;
        let mut attempt = 0u32;
        while attempt <= retries {
            if let Some(err) = simulated.take() {
                log::info!(
                    "attempt {attempt} on model group {} failed: {err} (simulated)",
                    group.name
                );
                let again = retry_allowed(group, &err, attempt);
                last = Some(Failure::new(err));
                if !again {
                    break;
                }
                attempt += 1;
                continue;
            }
            let dep = match plan.next_at(now_ms()) {
                Ok(d) => d,
                Err(Exhausted::Cooling(ms)) => {
                    let wait = Duration::from_millis(ms).max(self.rt.retry_after);
                    if attempt < retries
                        && wait <= Duration::from_secs(60)
                        && self.sleep(session, wait).await
                    {
                        attempt += 1;
                        continue;
                    }
                    let secs = ms.div_ceil(1000).max(1);
                    let err = ApiError::new(429, ErrorKind::RateLimit, format!(
                        "No deployments available for selected model, Try again in {secs} seconds. Passed model={}. Every deployment is cooling down after failures.",
                        group.name
                    ));
                    return GroupResult::Failed(
                        Failure::new(err).with_retry_after(Some(secs.to_string())),
                    );
                }
                Err(Exhausted::RateLimited(ms)) => {
                    let secs = ms.div_ceil(1000).max(1);
                    let err = ApiError::new(429, ErrorKind::RateLimit, format!(
                        "No deployments available for selected model: every deployment of {} reached its rpm/tpm limit. Try again in {secs} seconds.",
                        group.name
                    ));
                    return GroupResult::Failed(
                        Failure::new(err).with_retry_after(Some(secs.to_string())),
                    );
                }
                Err(Exhausted::Busy) => {
                    let err = ApiError::new(429, ErrorKind::RateLimit, format!(
                        "Max parallel requests reached for every deployment of model group {}. Try again shortly.",
                        group.name
                    ));
                    return GroupResult::Failed(
                        Failure::new(err).with_retry_after(Some("1".into())),
                    );
                }
                Err(Exhausted::Empty) => break,
            };
            self.record.deployment = Some(dep.clone());
            if group.enforce_rate_limits {
                // Hard limits count the request when it is sent, not when it ends.
                dep.stats.usage.add_request(now_ms() / 60_000);
            }
            self.record.attempts = attempt;
            self.meta.attempted_retries = attempt;
            self.meta.max_retries = (attempt > 0).then_some(retries);
            let limit = attempt::limit(self.call, dep);
            self.meta.timeout = Some(match self.call.timeout {
                // The deployment's own, formatted once at load.
                None => dep.timeout_header.clone(),
                Some(_) => crate::router::deployment::python_float(limit.as_secs_f64()),
            });
            let started = Instant::now();
            let call = self.call;
            // LiteLLM answers these locally whatever the deployment is.
            let outcome = if call.mock_timeout {
                self.mock_timeout(session, limit).await
            } else if let Some(text) = &call.mock_response {
                self.mock(session, &MockSpec::parse(text)).await
            } else {
                match &dep.backend {
                    Backend::Mock(spec) => self.mock(session, spec).await,
                    Backend::Http(target) => attempt::run(self, session, dep, target).await,
                    Backend::Unsupported(p) => Outcome::Failed(Failure::new(ApiError::new(501, ErrorKind::NotImplemented, format!(
                        "provider \"{p}\" (deployment {}) is not implemented in this Switchyard version", dep.id
                    )))),
                }
            };
            if self.record.committed_at.is_none() {
                self.record.upstream_wait += started.elapsed();
            }
            match outcome {
                Outcome::Done => {
                    if dep.stats.cooldown.record_success() {
                        log::info!("deployment {} ({}) recovered", dep.id, group.name);
                        dep.metrics.state.set(0);
                    }
                    // Only the strategies and checks that read them pay for these counters.
                    if let Strategy::LatencyBased {
                        list_size, ttl_ms, ..
                    } = group.strategy
                    {
                        let first = self
                            .record
                            .committed_at
                            .map(|c| c.saturating_duration_since(started));
                        let sample = latency_sample(
                            started.elapsed(),
                            first,
                            self.call.stream,
                            self.record.usage,
                        );
                        dep.stats
                            .latency
                            .observe(sample, now_ms(), list_size, ttl_ms);
                    }
                    if group.strategy == Strategy::UsageBased
                        || group.pre_call_checks
                        || group.enforce_rate_limits
                    {
                        let minute = now_ms() / 60_000;
                        if !group.enforce_rate_limits {
                            dep.stats.usage.add_request(minute);
                        }
                        if let Some(u) = self.record.usage {
                            dep.stats.usage.add_tokens(minute, u.total_tokens);
                        }
                    }
                    return GroupResult::Done(self.meta.status);
                }
                Outcome::ClientGone => return GroupResult::Gone,
                Outcome::Failed(failure) => {
                    let err = &failure.error;
                    dep.metrics.failure(err.status);
                    let hint = retry_after_hint(failure.retry_after.as_deref());
                    if let Some(class) = FailureClass::of(err.status, err.code.as_deref()) {
                        if let (
                            408,
                            Strategy::LatencyBased {
                                list_size, ttl_ms, ..
                            },
                        ) = (err.status, group.strategy)
                        {
                            // A timeout counts against latency-based routing (LiteLLM penalises
                            // it); twice the time waited keeps it behind deployments that answer.
                            let penalty = started.elapsed().as_micros() as u64 * 2;
                            dep.stats
                                .latency
                                .observe(penalty, now_ms(), list_size, ttl_ms);
                        }
                        if let Transition::CooledDown { for_ms } = dep
                            .stats
                            .cooldown
                            .record_failure(class, &dep.cooldown, alone, now_ms(), hint)
                        {
                            log::warn!(
                                "deployment {} ({}) cooling down for {} ms after {}",
                                dep.id,
                                group.name,
                                for_ms,
                                class.as_str()
                            );
                            metrics()
                                .cooled_down
                                .with_label_values(&[&group.name, &dep.id, class.as_str()])
                                .inc();
                            dep.metrics.state.set(2);
                        }
                    }
                    log::warn!(
                        "attempt {attempt} on deployment {} ({}) failed: {}",
                        dep.id,
                        group.name,
                        err
                    );
                    let retryable = retry_allowed(group, err, attempt);
                    last = Some(failure);
                    if !retryable || fixed.is_some() {
                        break;
                    }
                    if attempt < retries && !plan.has_alternative(now_ms()) {
                        let wait = hint
                            .unwrap_or_else(|| backoff(waits))
                            .max(self.rt.retry_after);
                        waits += 1;
                        if !self.sleep(session, wait).await {
                            return GroupResult::Gone;
                        }
                    }
                }
            }
            attempt += 1;
        }
        GroupResult::Failed(last.unwrap_or_else(|| {
            Failure::new(ApiError::new(
                503,
                ErrorKind::ServiceUnavailable,
                format!("No deployments available for model group {}", group.name),
            ))
        }))
    }

    /// Wait, unless the client leaves first (then false).
    async fn sleep(&mut self, session: &mut Session, d: Duration) -> bool {
        tokio::select! {
            biased;
            _ = session.as_downstream_mut().read_body_or_idle(true) => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// Write a whole response at once.
    async fn commit_and_write(
        &mut self,
        session: &mut Session,
        status: u16,
        ct: &'static str,
        len: Option<usize>,
        body: Bytes,
    ) -> Outcome {
        self.meta.status = status;
        self.record.committed_at = Some(Instant::now());
        let Ok(mut h) = parts(status, ct, len) else {
            return Outcome::ClientGone;
        };
        self.meta.apply(&mut h.headers, self.record);
        match write_full(session, h.into(), body).await {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::ClientGone,
        }
    }
}
