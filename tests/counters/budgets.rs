//! Budgets on both backends: reservations up to the budget, a concurrent race, settling twice,
//! and spend seeded from the ledger once per period.

use std::sync::Arc;

use switchyard::governance::counters::{LimitKind, Scope};
use switchyard::governance::redis::RedisOptions;

use crate::{admit, backends, budget, limits, settle};

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
