//! Admission counters: the same cases against LocalCounters and RedisCounters (real Redis).
//!
//! Redis cases run when `SWITCHYARD_TEST_REDIS_URL` is set (e.g. `redis://127.0.0.1:6379`);
//! each test uses its own random key prefix and deletes its keys at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod budgets;
mod limits;
mod redis_only;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// Both backends (Redis only when configured), after making sure the current minute has at
/// least 3 s left so that no case straddles a window boundary.
async fn backends(opts: RedisOptions) -> Vec<Backend> {
    settle_into_window().await;
    let mut out = vec![Backend {
        c: Arc::new(LocalCounters::new()),
        redis: None,
    }];
    if let Some(url) = redis_test_url() {
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

/// Waits for the next minute when fewer than 3 s remain in this one.
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
