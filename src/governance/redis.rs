//! Redis admission counters: the semantics of `counters.rs`, shared by replicas, one script each.
//!
//! Every operation is one Lua script (`EVALSHA`, loaded on `NOSCRIPT`), so one round trip and
//! atomic across all scopes of a request; time comes from `redis.call('TIME')`, never a client
//! clock: deliberately not governance's `WallClock`, so that every replica agrees on one
//! clock for windows and leases (budget periods still come from the caller, as `period`). Each call is bounded by `RedisOptions::timeout`; a hung or dead Redis yields
//! [`CounterError::Timeout`] or [`CounterError::Unavailable`], never a hung caller.
//!
//! Keys, with `B = {prefix}:{scope_id}`:
//! - `B:win:{window_start}`: HASH `r` (requests) and `t` (tokens); expires after 120 s.
//! - `B:lease`: ZSET request id → lease expiry (ms). In-flight = members not yet expired. Every
//!   admit first prunes expired members (up to 128 per scope per call), releasing their
//!   reservations, so a replica that dies between admit and settle leaks nothing past the lease.
//! - `B:resv`: HASH request id → reserved nano-USD; `B:resv_total`: their sum, kept beside it
//!   so a budget check is O(1) rather than a sum over every in-flight request. Settle releases
//!   the amount recorded here (not the caller's figure), so a late settle after a lease expiry
//!   releases nothing twice. The three lease keys expire `lease + 60 s` after the last admit.
//! - `B:spent:{period}`: spend for a period, seeded with `SET NX` from the ledger (never an
//!   increment on a miss, so reseeding is idempotent), then `INCRBY` on settle. Period keys
//!   expire after `spend_ttl`; lifetime keys (`period == 0`) never expire.
//! - `{prefix}:settle:{request_id}`: `SET NX EX 86400` marks a settle done (idempotency).
//!
//! Only scope base keys are declared in `KEYS`; the script appends the suffixes. On Redis
//! Cluster, give `prefix` a hash tag (e.g. `{sy}`) so that every key lands in one slot: one
//! request spans tenants, so nothing narrower can be atomic there. Lua arithmetic is on
//! doubles: budgets are exact up to 2^53 nano-USD (about 9 million USD).

use std::io::Write;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisWrite, Script, ScriptInvocation, ToRedisArgs};

use crate::governance::counters::{
    limit_i64, Admit, Admitted, CounterError, Counters, Denial, LimitKind, ScopeLimits, ScopeUsage,
    Settle,
};

/// Tunables for [`RedisCounters`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Bound on every Redis call. Default 250 ms.
    pub timeout: Duration,
    /// How long an admitted request holds its in-flight slot and reservation if it is never
    /// settled. Default 600 s.
    pub lease: Duration,
    /// Expiry of per-period spend counters. Default 40 days.
    pub spend_ttl: Duration,
    /// Bound on establishing a connection (and on `connect`'s first PING). Default 1 s.
    pub connect_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(250),
            lease: Duration::from_secs(600),
            spend_ttl: Duration::from_secs(40 * 86_400),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

/// `redis://[:password@]host:port` from LiteLLM's `redis_host`, `redis_port`, `redis_password`.
pub fn redis_url(host: &str, port: u16, password: Option<&str>) -> String {
    match password.filter(|p| !p.is_empty()) {
        Some(p) => format!("redis://:{}@{host}:{port}", userinfo_escape(p)),
        None => format!("redis://{host}:{port}"),
    }
}

/// Percent-encodes what may not appear raw in a URL's userinfo.
fn userinfo_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Counters shared by every replica through one Redis. They take no `WallClock`: their rate
/// windows and leases run on Redis's `TIME`, the one clock all replicas share.
pub struct RedisCounters {
    conn: ConnectionManager,
    prefix: Box<str>,
    timeout: Duration,
    lease_ms: i64,
    spend_ttl_secs: i64,
    admit: Script,
    settle: Script,
    usage: Script,
}

impl RedisCounters {
    /// Connects and checks the server answers a PING within `opts.connect_timeout`.
    pub async fn connect(
        url: &str,
        prefix: &str,
        opts: RedisOptions,
    ) -> Result<RedisCounters, CounterError> {
        let this = Self::connect_lazy(url, prefix, opts.clone())?;
        let mut conn = this.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(opts.connect_timeout, ping).await {
            Ok(Ok(_)) => Ok(this),
            Ok(Err(e)) => Err(map_err(&e)),
            Err(_) => Err(CounterError::Timeout),
        }
    }

    /// Builds the counters without touching the network (the URL is still validated): the
    /// connection is made on first use and remade after failures, so a gateway can start
    /// while Redis is down and recover when it returns.
    pub fn connect_lazy(
        url: &str,
        prefix: &str,
        opts: RedisOptions,
    ) -> Result<RedisCounters, CounterError> {
        let client = redis::Client::open(url).map_err(|e| map_err(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout))
            .set_response_timeout(Some(opts.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| map_err(&e))?;
        Ok(RedisCounters {
            conn,
            prefix: prefix.into(),
            timeout: opts.timeout,
            lease_ms: millis(opts.lease),
            spend_ttl_secs: i64::try_from(opts.spend_ttl.as_secs())
                .unwrap_or(i64::MAX)
                .max(1),
            admit: Script::new(ADMIT_LUA),
            settle: Script::new(SETTLE_LUA),
            usage: Script::new(USAGE_LUA),
        })
    }

    /// Runs one script invocation under the timeout.
    async fn run(&self, inv: &ScriptInvocation<'_>) -> Result<Vec<i64>, CounterError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, inv.invoke_async::<Vec<i64>>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(&e)),
            Err(_) => Err(CounterError::Timeout),
        }
    }

    fn key<'a>(&'a self, id: &'a str) -> ScopeKey<'a> {
        ScopeKey {
            prefix: &self.prefix,
            middle: "",
            id,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn map_err(e: &RedisError) -> CounterError {
    if e.is_timeout() {
        CounterError::Timeout
    } else {
        CounterError::Unavailable(e.to_string())
    }
}

/// `{prefix}:{middle}{id}` written straight into the command buffer (no intermediate String).
struct ScopeKey<'a> {
    prefix: &'a str,
    middle: &'a str,
    id: &'a str,
}

impl ToRedisArgs for ScopeKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        let mut w = out.writer_for_next_arg();
        // Writes into a Vec-backed buffer cannot fail.
        let _ = w.write_all(self.prefix.as_bytes());
        let _ = w.write_all(b":");
        let _ = w.write_all(self.middle.as_bytes());
        let _ = w.write_all(self.id.as_bytes());
    }
}

/// An optional number as a script argument: `-` for none (Lua's `tonumber` gives nil).
struct Opt(Option<i64>);

impl ToRedisArgs for Opt {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        match self.0 {
            Some(v) => v.write_redis_args(out),
            None => out.write_arg(b"-"),
        }
    }
}

/// Pushes one scope's limits: rpm, tpm, max_parallel, budget max, ledger spent, period.
fn push_limits(inv: &mut ScriptInvocation<'_>, l: &ScopeLimits) {
    let b = l.budget.as_ref();
    inv.arg(Opt(l.rpm.map(limit_i64)))
        .arg(Opt(l.tpm.map(limit_i64)))
        .arg(Opt(l.max_parallel.map(limit_i64)))
        .arg(Opt(b.map(|b| b.max_nano)))
        .arg(Opt(b.map(|b| b.ledger_spent_nano)))
        .arg(Opt(b.map(|b| b.period)));
}

fn bad_reply(v: &[i64]) -> CounterError {
    CounterError::Unavailable(format!("unexpected counter script reply {v:?}"))
}

fn kind(code: i64) -> Option<LimitKind> {
    match code {
        1 => Some(LimitKind::Rpm),
        2 => Some(LimitKind::Tpm),
        3 => Some(LimitKind::Parallel),
        4 => Some(LimitKind::Budget),
        _ => None,
    }
}

fn secs(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[async_trait::async_trait]
impl Counters for RedisCounters {
    async fn admit(&self, a: &Admit<'_>) -> Result<Result<Admitted, Denial>, CounterError> {
        if a.scopes.is_empty() {
            return Ok(Ok(Admitted::default()));
        }
        let mut inv = self.admit.prepare_invoke();
        inv.arg(a.request_id)
            .arg(limit_i64(a.tokens))
            .arg(a.cost_nano)
            .arg(self.lease_ms)
            .arg(self.spend_ttl_secs);
        for s in a.scopes {
            inv.key(self.key(s.id));
            push_limits(&mut inv, s.limits);
        }
        let v = self.run(&inv).await?;
        match *v.as_slice() {
            [1, has_rr, rr, has_rt, rt, reset, spent0] => Ok(Ok(Admitted {
                remaining_requests: (has_rr == 1).then_some(rr),
                remaining_tokens: (has_rt == 1).then_some(rt),
                reset_after_secs: secs(reset),
                first_spent: (spent0 >= 0).then_some(spent0),
            })),
            [0, scope, code, limit, current, reset] => {
                let (Ok(scope), Some(kind)) = (usize::try_from(scope), kind(code)) else {
                    return Err(bad_reply(&v));
                };
                Ok(Err(Denial {
                    scope,
                    kind,
                    limit,
                    current,
                    reset_after_secs: secs(reset),
                }))
            }
            _ => Err(bad_reply(&v)),
        }
    }

    async fn settle(&self, s: &Settle<'_>) -> Result<(), CounterError> {
        let delta = limit_i64(s.tokens_actual).saturating_sub(limit_i64(s.tokens_reserved));
        let mut inv = self.settle.prepare_invoke();
        inv.key(ScopeKey {
            prefix: &self.prefix,
            middle: "settle:",
            id: s.request_id,
        });
        inv.arg(s.request_id)
            .arg(delta)
            .arg(s.cost_actual)
            .arg(self.spend_ttl_secs);
        for sc in s.scopes {
            inv.key(self.key(sc.id));
            let b = sc.limits.budget.as_ref();
            inv.arg(Opt(b.map(|b| b.ledger_spent_nano)))
                .arg(Opt(b.map(|b| b.period)));
        }
        self.run(&inv).await.map(|_| ())
    }

    async fn usage(
        &self,
        scope_id: &str,
        limits: &ScopeLimits,
    ) -> Result<ScopeUsage, CounterError> {
        let b = limits.budget.as_ref();
        let mut inv = self.usage.prepare_invoke();
        inv.key(self.key(scope_id))
            .arg(Opt(b.map(|b| b.ledger_spent_nano)))
            .arg(Opt(b.map(|b| b.period)));
        let v = self.run(&inv).await?;
        match *v.as_slice() {
            [rpm_used, tpm_used, in_flight, spent_nano, reserved_nano] => Ok(ScopeUsage {
                rpm_used,
                tpm_used,
                in_flight,
                spent_nano,
                reserved_nano,
            }),
            _ => Err(bad_reply(&v)),
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

/// KEYS[i]: scope base; ARGV: id, tokens, cost, lease_ms, spend_ttl, then 6 per scope
/// (rpm, tpm, max_parallel, budget max, ledger spent, period; `-` = none).
const ADMIT_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = math.floor(tonumber(t[1]) / 60) * 60
local reset = math.floor(((win + 60) * 1000 - now + 999) / 1000)
if reset < 1 then reset = 1 end
local id, cost, lease = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS
local amts = {}
local spent0 = -1
for i = 1, n do
  local b, o = KEYS[i], 5 + (i - 1) * 6
  local lk = b .. ':lease'
  local gone = redis.call('ZRANGEBYSCORE', lk, '-inf', now, 'LIMIT', 0, 128)
  for _, x in ipairs(gone) do
    local amt = redis.call('HGET', b .. ':resv', x)
    if amt then
      redis.call('HDEL', b .. ':resv', x)
      redis.call('DECRBY', b .. ':resv_total', amt)
    end
    redis.call('ZREM', lk, x)
  end
  local bmax = tonumber(ARGV[o + 4])
  if bmax then
    local sk = b .. ':spent:' .. ARGV[o + 6]
    if ARGV[o + 6] == '0' then
      redis.call('SET', sk, ARGV[o + 5], 'NX')
    else
      redis.call('SET', sk, ARGV[o + 5], 'NX', 'EX', ARGV[5])
    end
    local cur = tonumber(redis.call('GET', sk))
    if i == 1 then spent0 = cur end
    local r = tonumber(redis.call('GET', b .. ':resv_total') or '0')
    if r > 0 then cur = cur + r end
    if cur >= bmax then return {0, i - 1, 4, bmax, cur, 0} end
    amts[i] = string.format('%d', math.max(math.min(cost, bmax - cur), 0))
  end
  local w = redis.call('HMGET', b .. ':win:' .. win, 'r', 't')
  local req, tok = tonumber(w[1] or '0'), tonumber(w[2] or '0')
  local rpm = tonumber(ARGV[o + 1])
  if rpm and req >= rpm then return {0, i - 1, 1, rpm, req, reset} end
  local tpm = tonumber(ARGV[o + 2])
  if tpm and tok >= tpm then return {0, i - 1, 2, tpm, tok, reset} end
  local par = tonumber(ARGV[o + 3])
  if par then
    local busy = redis.call('ZCOUNT', lk, '(' .. now, '+inf')
    if busy >= par then return {0, i - 1, 3, par, busy, 1} end
  end
end
local has_rr, rr, has_rt, rt = 0, 0, 0, 0
for i = 1, n do
  local b, o = KEYS[i], 5 + (i - 1) * 6
  local wk = b .. ':win:' .. win
  local req = redis.call('HINCRBY', wk, 'r', 1)
  local tok = redis.call('HINCRBY', wk, 't', ARGV[2])
  redis.call('EXPIRE', wk, 120)
  local lk = b .. ':lease'
  redis.call('ZADD', lk, now + lease, id)
  redis.call('PEXPIRE', lk, lease + 60000)
  if tonumber(ARGV[o + 4]) then
    redis.call('HSET', b .. ':resv', id, amts[i])
    redis.call('INCRBY', b .. ':resv_total', amts[i])
    redis.call('PEXPIRE', b .. ':resv', lease + 60000)
    redis.call('PEXPIRE', b .. ':resv_total', lease + 60000)
  end
  local rpm = tonumber(ARGV[o + 1])
  if rpm then
    local left = math.max(rpm - req, 0)
    if has_rr == 0 or left < rr then rr = left end
    has_rr = 1
  end
  local tpm = tonumber(ARGV[o + 2])
  if tpm then
    local left = math.max(tpm - tok, 0)
    if has_rt == 0 or left < rt then rt = left end
    has_rt = 1
  end
end
return {1, has_rr, rr, has_rt, rt, reset, spent0}
"#;

/// KEYS[1]: settle marker; KEYS[2..]: scope bases; ARGV: id, token delta, cost actual,
/// spend_ttl, then 2 per scope (ledger spent, period; `-` = no budget).
const SETTLE_LUA: &str = r#"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 86400) then return {0} end
local t = redis.call('TIME')
local win = math.floor(tonumber(t[1]) / 60) * 60
local id, delta = ARGV[1], tonumber(ARGV[2])
for i = 2, #KEYS do
  local b, o = KEYS[i], 4 + (i - 2) * 2
  redis.call('ZREM', b .. ':lease', id)
  local amt = redis.call('HGET', b .. ':resv', id)
  if amt then
    redis.call('HDEL', b .. ':resv', id)
    redis.call('DECRBY', b .. ':resv_total', amt)
  end
  if ARGV[o + 1] ~= '-' then
    local sk = b .. ':spent:' .. ARGV[o + 2]
    if ARGV[o + 2] == '0' then
      redis.call('SET', sk, ARGV[o + 1], 'NX')
    else
      redis.call('SET', sk, ARGV[o + 1], 'NX', 'EX', ARGV[4])
    end
    redis.call('INCRBY', sk, ARGV[3])
  end
  if delta ~= 0 then
    local wk = b .. ':win:' .. win
    if redis.call('HINCRBY', wk, 't', ARGV[2]) < 0 then redis.call('HSET', wk, 't', 0) end
    redis.call('EXPIRE', wk, 120)
  end
end
return {1}
"#;

/// KEYS[1]: scope base; ARGV: ledger spent, period (`-` = no budget).
/// Replies rpm used, tpm used, in flight, spent, reserved.
const USAGE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = math.floor(tonumber(t[1]) / 60) * 60
local b = KEYS[1]
local w = redis.call('HMGET', b .. ':win:' .. win, 'r', 't')
local busy = redis.call('ZCOUNT', b .. ':lease', '(' .. now, '+inf')
local spent = 0
if ARGV[1] ~= '-' then
  spent = tonumber(redis.call('GET', b .. ':spent:' .. ARGV[2]) or ARGV[1])
end
local r = math.max(tonumber(redis.call('GET', b .. ':resv_total') or '0'), 0)
return {tonumber(w[1] or '0'), tonumber(w[2] or '0'), busy, spent, r}
"#;
