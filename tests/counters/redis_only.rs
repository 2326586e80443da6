//! What only the Redis backend has: SET NX seeding, lapsed leases, refused and hung servers
//! failing promptly, and the URL built from LiteLLM's settings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard::governance::counters::{Counters, LimitKind, Scope};
use switchyard::governance::redis::{redis_url, RedisCounters, RedisOptions};
use tokio::net::TcpListener;

use crate::{admit, budget, limits, random_prefix, redis_test_url, settle, Backend};

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
