//! Admission counters: the same cases against LocalCounters and RedisCounters (real Redis).
//!
//! Redis cases run when `SWITCHYARD_TEST_REDIS_URL` is set (e.g. `redis://127.0.0.1:6379`);
//! each test uses its own random key prefix and deletes its keys at the end. The local backend
//! runs on a manual clock stopped early in a minute, so it never waits; Redis keeps time by
//! its own `TIME`, so only its cases wait (at most 3 s) to start well inside a minute.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod budgets;
mod limits;
mod redis_only;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchyard::core::clock::ManualClock;
use switchyard::governance::counters::{
    Admit, BudgetLimit, Counters, LocalCounters, Scope, ScopeLimits, Settle,
};
use switchyard::governance::redis::{RedisCounters, RedisOptions};

struct Backend {
    c: Arc<dyn Counters>,
    /// The Redis URL and key prefix to clean up, for the Redis backend.
    redis: Option<(String, String)>,
}

impl Backend {
    async fn cleanup(&self) {
        let Some((url, prefix)) = &self.redis else {
            return;
        };
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
}

fn redis_test_url() -> Option<String> {
    let url = std::env::var("SWITCHYARD_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        println!("skip: SWITCHYARD_TEST_REDIS_URL not set");
    }
    url
}

fn random_prefix() -> String {
    format!("sytest{:016x}", rand::random::<u64>())
}

/// 2030-01-01T00:00:05Z: the local backend's clock, 55 s before its window ends.
const LOCAL_START_MS: i64 = 1_893_456_005_000;

/// Both backends (Redis only when configured) where no case straddles a window boundary: the
/// local one on a stopped clock, the Redis one once the current minute has at least 3 s left.
async fn backends(opts: RedisOptions) -> Vec<Backend> {
    let clock = ManualClock::at(LOCAL_START_MS).clock();
    let mut out = vec![Backend {
        c: Arc::new(LocalCounters::with_clock(clock)),
        redis: None,
    }];
    if let Some(url) = redis_test_url() {
        settle_into_window().await;
        let prefix = random_prefix();
        let c = RedisCounters::connect(&url, &prefix, opts).await.unwrap();
        assert_eq!(c.backend(), "redis");
        out.push(Backend {
            c: Arc::new(c),
            redis: Some((url, prefix)),
        });
    }
    out
}

/// Waits for the next minute when fewer than 3 s remain in this one (Redis's clock, which
/// tests cannot stop, is taken to be the wall clock here).
async fn settle_into_window() {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 60_000;
    let left = 60_000 - ms;
    if left < 3_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap() + 50)).await;
    }
}

fn limits(f: impl FnOnce(&mut ScopeLimits)) -> ScopeLimits {
    let mut l = ScopeLimits::default();
    f(&mut l);
    l
}

fn budget(max_nano: i64, ledger_spent_nano: i64, period: i64) -> Option<BudgetLimit> {
    Some(BudgetLimit {
        max_nano,
        ledger_spent_nano,
        period,
    })
}

fn admit<'a>(id: &'a str, scopes: &'a [Scope<'a>], tokens: u64, cost: i64) -> Admit<'a> {
    Admit {
        request_id: id,
        scopes,
        tokens,
        cost_nano: cost,
    }
}

fn settle<'a>(id: &'a str, scopes: &'a [Scope<'a>], tokens: u64, cost: i64) -> Settle<'a> {
    Settle {
        request_id: id,
        scopes,
        tokens_reserved: tokens,
        tokens_actual: tokens,
        cost_reserved: cost,
        cost_actual: cost,
    }
}
