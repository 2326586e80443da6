//! Attempts within one model group: its plan (region and pre-call checks applied), then the
//! next deployment at once while a healthy one is left, else a backoff honouring the
//! upstream's Retry-After; each attempt's result feeds cooldowns, latency and usage counters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pingora_proxy::Session;

use super::{attempt, latency_sample, retry_allowed, Exchange, GroupResult, Outcome};
use crate::core::call::MockSpec;
use crate::core::clock::mono_ms;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::{Failure, FallbackClass};
use crate::metrics::metrics;
use crate::pipeline::record::Try;
use crate::router::cooldown::{FailureClass, Transition};
use crate::router::precall::PromptTokens;
use crate::router::retry::{backoff, retry_after_hint};
use crate::router::{Backend, Deployment, Exhausted, ModelGroup, Plan, PreCallRejection, Strategy};

impl Exchange<'_> {
    /// Attempts within one group. A `simulated` error stands in for the first attempt
    /// (`mock_testing_rate_limit_error`) and reaches no deployment; `fixed` pins a deployment
    /// (a fallback to a deployment id).
    pub(super) async fn run_group(
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
        let mut plan = match self.group_plan(group, fixed) {
            Ok(p) => p,
            Err(f) => return GroupResult::Failed(*f),
        };
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
            let dep = match plan.next_at(mono_ms()) {
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
                    return GroupResult::Failed(exhausted(group, Exhausted::Cooling(ms)));
                }
                Err(Exhausted::Empty) => break,
                Err(e) => return GroupResult::Failed(exhausted(group, e)),
            };
            let started = Instant::now();
            match self.attempt(session, group, dep, attempt, retries).await {
                Outcome::Done => {
                    self.succeeded(group, dep, started);
                    return GroupResult::Done(self.meta.status);
                }
                Outcome::ClientGone => return GroupResult::Gone,
                Outcome::Failed(failure) => {
                    let hint = self.failed(group, dep, &failure, started, attempt);
                    let retryable = retry_allowed(group, &failure.error, attempt);
                    last = Some(failure);
                    if !retryable || fixed.is_some() {
                        break;
                    }
                    let backoff_due = attempt < retries && !plan.has_alternative(mono_ms());
                    if backoff_due {
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

    /// The group's plan: the pinned deployment or all of them, kept to the end user's region,
    /// and (with `enable_pre_call_checks`) to deployments whose context window and rpm fit.
    fn group_plan<'g>(
        &self,
        group: &'g ModelGroup,
        fixed: Option<&str>,
    ) -> Result<Plan<'g>, Box<Failure>> {
        let mut plan = match fixed {
            Some(id) => group.plan_for(id).ok_or_else(|| {
                Box::new(Failure::new(ApiError::new(
                    503,
                    ErrorKind::ServiceUnavailable,
                    format!("deployment {id} not found"),
                )))
            })?,
            None => group.plan(),
        };
        if let Some(region) = self.clearance.region() {
            if !plan.keep_region(region) {
                return Err(Box::new(Failure::new(ApiError::new(400, ErrorKind::InvalidRequest, format!(
                    "No deployments available for selected model: no deployment of model group {} is in region {region}, the end user's allowed_model_region",
                    group.name
                )))));
            }
        }
        if !group.pre_call_checks || fixed.is_some() {
            return Ok(plan);
        }
        let mut tokens = PromptTokens::new(self.call.input_json());
        match plan.pre_call_filter(&mut tokens, mono_ms() / 60_000) {
            Some(PreCallRejection::ContextWindow) => {
                let err = ApiError::new(400, ErrorKind::InvalidRequest, format!(
                    "ContextWindowExceededError: the prompt does not fit the max_input_tokens of any deployment of model group {}",
                    group.name
                ))
                .with_param("messages")
                .with_code("context_length_exceeded");
                Err(Box::new(
                    Failure::new(err).with_class(FallbackClass::ContextWindow),
                ))
            }
            Some(PreCallRejection::RateLimit) => {
                let err = ApiError::new(429, ErrorKind::RateLimit, format!(
                    "No deployments available for selected model: every deployment of {} used up its rpm this minute",
                    group.name
                ));
                Err(Box::new(
                    Failure::new(err).with_retry_after(Some("60".into())),
                ))
            }
            None => Ok(plan),
        }
    }

    /// One attempt on `dep`: its counters and headers set, then a local answer (LiteLLM's
    /// mocks, a mock deployment) or an HTTP exchange.
    async fn attempt(
        &mut self,
        session: &mut Session,
        group: &ModelGroup,
        dep: &Arc<Deployment>,
        attempt: u32,
        retries: u32,
    ) -> Outcome {
        self.record.deployment = Some(dep.clone());
        if group.enforce_rate_limits {
            // Hard limits count the request when it is sent, not when it ends.
            dep.stats.usage.add_request(mono_ms() / 60_000);
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
        let span = self.record.detail.as_mut().filter(|d| d.spans).map(|d| {
            let id = crate::core::ids::span_id();
            d.current = Some(id);
            id
        });
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
                Backend::Unsupported(p) => Outcome::Failed(Failure::new(ApiError::new(
                    501,
                    ErrorKind::NotImplemented,
                    format!(
                        "provider \"{p}\" (deployment {}) is not implemented in this Switchyard version",
                        dep.id
                    ),
                ))),
            }
        };
        if self.record.committed_at.is_none() {
            self.record.upstream_wait += started.elapsed();
        }
        if let (Some(span_id), Some(d)) = (span, self.record.detail.as_mut()) {
            let (status, error) = match &outcome {
                Outcome::Done => (
                    if self.meta.status == 0 {
                        200
                    } else {
                        self.meta.status
                    },
                    None,
                ),
                Outcome::Failed(f) => (f.error.status, Some(f.error.kind)),
                Outcome::ClientGone => (0, None),
            };
            d.current = None;
            d.attempts.push(Try {
                deployment: dep.clone(),
                span_id,
                start: started,
                end: Instant::now(),
                status,
                error,
            });
        }
        outcome
    }

    /// A served attempt: the deployment recovers, and the counters its group's strategy and
    /// checks read are fed (only those pay for them).
    fn succeeded(&mut self, group: &ModelGroup, dep: &Deployment, started: Instant) {
        if dep.stats.cooldown.record_success() {
            log::info!("deployment {} ({}) recovered", dep.id, group.name);
            dep.metrics.state.set(0);
        }
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
                .observe(sample, mono_ms(), list_size, ttl_ms);
        }
        if group.strategy == Strategy::UsageBased
            || group.pre_call_checks
            || group.enforce_rate_limits
        {
            let minute = mono_ms() / 60_000;
            if !group.enforce_rate_limits {
                dep.stats.usage.add_request(minute);
            }
            if let Some(u) = self.record.usage {
                dep.stats.usage.add_tokens(minute, u.total());
            }
        }
    }

    /// A failed attempt: metrics, the latency penalty of a timeout, the cooldown it may start.
    /// Returns the upstream's Retry-After as a wait.
    fn failed(
        &mut self,
        group: &ModelGroup,
        dep: &Deployment,
        failure: &Failure,
        started: Instant,
        attempt: u32,
    ) -> Option<Duration> {
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
                // A timeout counts against latency-based routing (LiteLLM penalises it);
                // twice the time waited keeps it behind deployments that answer.
                let penalty = started.elapsed().as_micros() as u64 * 2;
                dep.stats
                    .latency
                    .observe(penalty, mono_ms(), list_size, ttl_ms);
            }
            let alone = group.deployments.len() == 1;
            if let Transition::CooledDown { for_ms } =
                dep.stats
                    .cooldown
                    .record_failure(class, &dep.cooldown, alone, mono_ms(), hint)
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
        hint
    }
}

/// Why no deployment of a group could be tried, as the client sees it.
fn exhausted(group: &ModelGroup, why: Exhausted) -> Failure {
    let (secs, message) = match why {
        Exhausted::Cooling(ms) => {
            let secs = ms.div_ceil(1000).max(1);
            (secs, format!(
                "No deployments available for selected model, Try again in {secs} seconds. Passed model={}. Every deployment is cooling down after failures.",
                group.name
            ))
        }
        Exhausted::RateLimited(ms) => {
            let secs = ms.div_ceil(1000).max(1);
            (secs, format!(
                "No deployments available for selected model: every deployment of {} reached its rpm/tpm limit. Try again in {secs} seconds.",
                group.name
            ))
        }
        Exhausted::Busy | Exhausted::Empty => (1, format!(
            "Max parallel requests reached for every deployment of model group {}. Try again shortly.",
            group.name
        )),
    };
    Failure::new(ApiError::new(429, ErrorKind::RateLimit, message))
        .with_retry_after(Some(secs.to_string()))
}
