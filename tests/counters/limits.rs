//! Rate limits on both backends: rpm at its exact boundary, tpm trued up on settle,
//! `max_parallel` slots, and a denial in one scope that counts nothing in the others.

use switchyard::governance::counters::{LimitKind, Scope};
use switchyard::governance::redis::RedisOptions;

use crate::{admit, backends, budget, limits, settle};

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
