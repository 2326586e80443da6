//! Admission counters: the same cases against LocalCounters and RedisCounters (real Redis).
//!
//! Redis cases run when `SWITCHYARD_TEST_REDIS_URL` is set (e.g. `redis://127.0.0.1:6379`);
//! each test uses its own random key prefix and deletes its keys at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchyard::governance::counters::{
    Admit, BudgetLimit, Counters, LimitKind, LocalCounters, Scope, ScopeLimits, Settle,
};
use switchyard::governance::redis::{redis_url, RedisCounters, RedisOptions};
use tokio::net::TcpListener;

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

#[tokio::test]
async fn rpm_exact_boundary() {
    for b in backends(RedisOptions::default()).await {
        let l = limits(|l| l.rpm = Some(3));
        let scopes = [Scope {
            id: "key:rpm",
            limits: &l,
        }];
        for (i, left) in [2, 1, 0].into_iter().enumerate() {
            let ok =
                b.c.admit(&admit(&format!("r{i}"), &scopes, 0, 0))
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!(ok.remaining_requests, Some(left), "{}", b.c.backend());
            assert_eq!(ok.remaining_tokens, None);
            assert!((1..=60).contains(&ok.reset_after_secs));
        }
        let d =
            b.c.admit(&admit("r3", &scopes, 0, 0))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!(
            (d.scope, d.kind, d.limit, d.current),
            (0, LimitKind::Rpm, 3, 3)
        );
        assert!((1..=60).contains(&d.reset_after_secs), "{d:?}");
        b.cleanup().await;
    }
}

#[tokio::test]
async fn tpm_counts_in_flight_tokens_and_trues_up_on_settle() {
    for b in backends(RedisOptions::default()).await {
        let l = limits(|l| l.tpm = Some(100));
        let scopes = [Scope {
            id: "key:tpm",
            limits: &l,
        }];
        let first =
            b.c.admit(&admit("t0", &scopes, 60, 0))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(first.remaining_tokens, Some(40));
        // 60 < 100: admitted, overshooting by its own estimate as LiteLLM does.
        let second =
            b.c.admit(&admit("t1", &scopes, 60, 0))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(second.remaining_tokens, Some(0));
        let d =
            b.c.admit(&admit("t2", &scopes, 1, 0))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!((d.kind, d.limit, d.current), (LimitKind::Tpm, 100, 120));
        // Both used 10 of their 60: the window drops to 20.
        for id in ["t0", "t1"] {
            let mut s = settle(id, &scopes, 60, 0);
            s.tokens_actual = 10;
            b.c.settle(&s).await.unwrap();
        }
        assert_eq!(b.c.usage("key:tpm", &l).await.unwrap().tpm_used, 20);
        assert!(b
            .c
            .admit(&admit("t3", &scopes, 1, 0))
            .await
            .unwrap()
            .is_ok());
        b.cleanup().await;
    }
}

#[tokio::test]
async fn max_parallel_frees_a_slot_on_settle() {
    for b in backends(RedisOptions::default()).await {
        let l = limits(|l| l.max_parallel = Some(2));
        let scopes = [Scope {
            id: "key:par",
            limits: &l,
        }];
        for id in ["p0", "p1"] {
            b.c.admit(&admit(id, &scopes, 0, 0)).await.unwrap().unwrap();
        }
        let d =
            b.c.admit(&admit("p2", &scopes, 0, 0))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!(
            (d.kind, d.limit, d.current, d.reset_after_secs),
            (LimitKind::Parallel, 2, 2, 1)
        );
        assert_eq!(b.c.usage("key:par", &l).await.unwrap().in_flight, 2);
        b.c.settle(&settle("p0", &scopes, 0, 0)).await.unwrap();
        b.c.admit(&admit("p3", &scopes, 0, 0))
            .await
            .unwrap()
            .unwrap();
        b.cleanup().await;
    }
}

#[tokio::test]
async fn budget_of_exactly_n_reservations_admits_n() {
    for b in backends(RedisOptions::default()).await {
        let l = limits(|l| l.budget = budget(3_000, 0, 1_700_000_000));
        let scopes = [Scope {
            id: "key:bud",
            limits: &l,
        }];
        for i in 0..3 {
            b.c.admit(&admit(&format!("b{i}"), &scopes, 0, 1_000))
                .await
                .unwrap()
                .unwrap();
        }
        let d =
            b.c.admit(&admit("b3", &scopes, 0, 1_000))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!(
            (d.kind, d.limit, d.current, d.reset_after_secs),
            (LimitKind::Budget, 3_000, 3_000, 0)
        );
        // With room left, a request is admitted and its reservation is capped at the room.
        b.c.settle(&settle("b0", &scopes, 0, 500)).await.unwrap();
        b.c.admit(&admit("b4", &scopes, 0, 1_000))
            .await
            .unwrap()
            .unwrap();
        let u = b.c.usage("key:bud", &l).await.unwrap();
        assert_eq!(
            (u.spent_nano, u.reserved_nano),
            (500, 2_500),
            "{}",
            b.c.backend()
        );
        let d =
            b.c.admit(&admit("b5", &scopes, 0, 1))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!((d.kind, d.current), (LimitKind::Budget, 3_000));
        // Settling the capped request releases exactly what it reserved.
        b.c.settle(&settle("b4", &scopes, 0, 0)).await.unwrap();
        let u = b.c.usage("key:bud", &l).await.unwrap();
        assert_eq!(
            (u.spent_nano, u.reserved_nano),
            (500, 2_000),
            "{}",
            b.c.backend()
        );
        b.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_race_for_ten_reservations_admits_exactly_ten() {
    for b in backends(RedisOptions::default()).await {
        let l = Arc::new(limits(|l| l.budget = budget(10_000, 0, 0)));
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (c, l) = (b.c.clone(), l.clone());
            tasks.push(tokio::spawn(async move {
                let scopes = [Scope {
                    id: "team:race",
                    limits: &l,
                }];
                c.admit(&admit(&format!("c{i}"), &scopes, 0, 1_000))
                    .await
                    .unwrap()
                    .is_ok()
            }));
        }
        let mut admitted = 0;
        for t in tasks {
            admitted += usize::from(t.await.unwrap());
        }
        assert_eq!(admitted, 10, "{}", b.c.backend());
        assert_eq!(
            b.c.usage("team:race", &l).await.unwrap().reserved_nano,
            10_000
        );
        b.cleanup().await;
    }
}

#[tokio::test]
async fn a_denial_in_the_second_scope_increments_nothing() {
    for b in backends(RedisOptions::default()).await {
        let key = limits(|l| {
            l.rpm = Some(10);
            l.tpm = Some(1_000);
            l.max_parallel = Some(5);
            l.budget = budget(1_000_000, 0, 0);
        });
        let team = limits(|l| l.rpm = Some(0));
        let scopes = [
            Scope {
                id: "key:np",
                limits: &key,
            },
            Scope {
                id: "team:np",
                limits: &team,
            },
        ];
        let d =
            b.c.admit(&admit("n0", &scopes, 100, 1_000))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!(
            (d.scope, d.kind, d.limit, d.current),
            (1, LimitKind::Rpm, 0, 0)
        );
        let u = b.c.usage("key:np", &key).await.unwrap();
        assert_eq!(u, Default::default(), "{}", b.c.backend());
        b.cleanup().await;
    }
}

#[tokio::test]
async fn settling_twice_adds_spend_once() {
    for b in backends(RedisOptions::default()).await {
        let l = limits(|l| {
            l.budget = budget(10_000, 0, 1_700_000_000);
            l.max_parallel = Some(10);
        });
        let scopes = [Scope {
            id: "key:twice",
            limits: &l,
        }];
        b.c.admit(&admit("s0", &scopes, 10, 1_000))
            .await
            .unwrap()
            .unwrap();
        b.c.admit(&admit("s1", &scopes, 10, 1_000))
            .await
            .unwrap()
            .unwrap();
        let mut s = settle("s0", &scopes, 10, 1_000);
        s.cost_actual = 700;
        b.c.settle(&s).await.unwrap();
        b.c.settle(&s).await.unwrap();
        let u = b.c.usage("key:twice", &l).await.unwrap();
        assert_eq!(
            (u.spent_nano, u.reserved_nano, u.in_flight),
            (700, 1_000, 1)
        );
        b.cleanup().await;
    }
}

#[tokio::test]
async fn spend_is_seeded_from_the_ledger_once_per_period() {
    for b in backends(RedisOptions::default()).await {
        let p1 = limits(|l| l.budget = budget(10_000, 4_000, 1_000));
        let scopes = [Scope {
            id: "key:seed",
            limits: &p1,
        }];
        b.c.admit(&admit("l0", &scopes, 0, 100))
            .await
            .unwrap()
            .unwrap();
        b.c.settle(&settle("l0", &scopes, 0, 100)).await.unwrap();
        // A lagging ledger figure does not overwrite the counter.
        let lagging = limits(|l| l.budget = budget(10_000, 1_000, 1_000));
        let scopes = [Scope {
            id: "key:seed",
            limits: &lagging,
        }];
        b.c.admit(&admit("l1", &scopes, 0, 100))
            .await
            .unwrap()
            .unwrap();
        let u = b.c.usage("key:seed", &lagging).await.unwrap();
        assert_eq!(
            (u.spent_nano, u.reserved_nano),
            (4_100, 100),
            "{}",
            b.c.backend()
        );
        // A new period starts at its own ledger figure.
        let p2 = limits(|l| l.budget = budget(10_000, 9_900, 2_000));
        let scopes = [Scope {
            id: "key:seed",
            limits: &p2,
        }];
        let d =
            b.c.admit(&admit("l2", &scopes, 0, 500))
                .await
                .unwrap()
                .unwrap_err();
        assert_eq!((d.kind, d.current), (LimitKind::Budget, 10_000));
        b.c.settle(&settle("l1", &scopes, 0, 100)).await.unwrap();
        assert_eq!(b.c.usage("key:seed", &p2).await.unwrap().spent_nano, 10_000);
        b.cleanup().await;
    }
}

#[tokio::test]
async fn redis_seed_is_set_nx_even_when_the_ledger_is_ahead() {
    let Some(url) = redis_test_url() else {
        return;
    };
    let prefix = random_prefix();
    let c = RedisCounters::connect(&url, &prefix, RedisOptions::default())
        .await
        .unwrap();
    let first = limits(|l| l.budget = budget(10_000, 2_000, 0));
    let ahead = limits(|l| l.budget = budget(10_000, 5_000, 0));
    c.admit(&admit(
        "x0",
        &[Scope {
            id: "key:nx",
            limits: &first,
        }],
        0,
        0,
    ))
    .await
    .unwrap()
    .unwrap();
    c.admit(&admit(
        "x1",
        &[Scope {
            id: "key:nx",
            limits: &ahead,
        }],
        0,
        0,
    ))
    .await
    .unwrap()
    .unwrap();
    assert_eq!(c.usage("key:nx", &ahead).await.unwrap().spent_nano, 2_000);
    Backend {
        c: Arc::new(c),
        redis: Some((url, prefix)),
    }
    .cleanup()
    .await;
}

#[tokio::test]
async fn a_lapsed_lease_releases_the_slot_and_the_reservation() {
    let Some(url) = redis_test_url() else {
        return;
    };
    let prefix = random_prefix();
    let opts = RedisOptions {
        lease: Duration::from_secs(1),
        ..RedisOptions::default()
    };
    let c = RedisCounters::connect(&url, &prefix, opts).await.unwrap();
    let l = limits(|l| {
        l.max_parallel = Some(1);
        l.budget = budget(1_000, 0, 0);
    });
    let scopes = [Scope {
        id: "key:lease",
        limits: &l,
    }];
    c.admit(&admit("leaked", &scopes, 0, 1_000))
        .await
        .unwrap()
        .unwrap();
    let d = c
        .admit(&admit("w0", &scopes, 0, 1_000))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(d.kind, LimitKind::Budget);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    loop {
        n += 1;
        if c.admit(&admit(&format!("w{n}"), &scopes, 0, 1_000))
            .await
            .unwrap()
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "lease never lapsed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let u = c.usage("key:lease", &l).await.unwrap();
    assert_eq!((u.in_flight, u.reserved_nano), (1, 1_000));
    // The leaked request's late settle releases nothing twice but does charge its spend.
    c.settle(&settle("leaked", &scopes, 0, 1_000))
        .await
        .unwrap();
    let u = c.usage("key:lease", &l).await.unwrap();
    assert_eq!(
        (u.in_flight, u.reserved_nano, u.spent_nano),
        (1, 1_000, 1_000)
    );
    Backend {
        c: Arc::new(c),
        redis: Some((url, prefix)),
    }
    .cleanup()
    .await;
}

fn fast_opts() -> RedisOptions {
    RedisOptions {
        timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(300),
        ..RedisOptions::default()
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_promptly() {
    let started = Instant::now();
    let r = RedisCounters::connect(&redis_url("127.0.0.1", 1, None), "p", fast_opts()).await;
    assert!(r.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_hung_redis_times_out_instead_of_hanging() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            socks.push(s);
        }
    });
    let url = redis_url("127.0.0.1", port, None);
    let started = Instant::now();
    let r = RedisCounters::connect(&url, "p", fast_opts()).await;
    assert!(r.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    let c = RedisCounters::connect_lazy(&url, "p", fast_opts()).unwrap();
    let l = limits(|l| l.rpm = Some(1));
    let scopes = [Scope {
        id: "key:hung",
        limits: &l,
    }];
    for _ in 0..2 {
        let started = Instant::now();
        let r = c.admit(&admit("h", &scopes, 0, 0)).await;
        assert!(r.is_err(), "{r:?}");
        assert!(
            started.elapsed() < Duration::from_millis(700),
            "{:?}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(c.settle(&settle("h", &scopes, 0, 0)).await.is_err());
        assert!(c.usage("key:hung", &l).await.is_err());
        assert!(started.elapsed() < Duration::from_millis(1_400));
    }
    held.abort();
}

#[test]
fn redis_url_from_litellm_settings() {
    assert_eq!(redis_url("cache", 6379, None), "redis://cache:6379");
    assert_eq!(redis_url("cache", 6380, Some("")), "redis://cache:6380");
    assert_eq!(
        redis_url("10.0.0.2", 6379, Some("p@ss/w:rd")),
        "redis://:p%40ss%2Fw%3Ard@10.0.0.2:6379"
    );
}
