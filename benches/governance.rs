//! Cost of one LocalCounters admit + settle over the 4 scopes a typical request touches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benches fail loudly"
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard::governance::counters::{
    Admit, BudgetLimit, LocalCounters, Scope, ScopeLimits, Settle,
};

fn admit_settle(c: &mut Criterion) {
    let counters = LocalCounters::new();
    let key = ScopeLimits {
        rpm: Some(u64::MAX),
        tpm: Some(u64::MAX),
        max_parallel: Some(1_000),
        budget: Some(BudgetLimit {
            max_nano: i64::MAX / 2,
            ledger_spent_nano: 0,
            period: 0,
        }),
    };
    let team = ScopeLimits {
        rpm: Some(u64::MAX),
        budget: key.budget,
        ..ScopeLimits::default()
    };
    let open = ScopeLimits::default();
    let scopes = [
        Scope {
            id: "key:0123456789abcdef0123456789abcdef",
            limits: &key,
        },
        Scope {
            id: "team:platform",
            limits: &team,
        },
        Scope {
            id: "user:alice@example.com",
            limits: &open,
        },
        Scope {
            id: "global",
            limits: &team,
        },
    ];
    // A fresh request id each iteration (settles are idempotent per id), in a reused buffer.
    let mut id = String::with_capacity(32);
    let mut n = 0u64;
    c.bench_function("governance/local_admit_settle_4_scopes", |b| {
        b.iter(|| {
            use std::fmt::Write;
            id.clear();
            let _ = write!(id, "req-{n:016x}");
            n += 1;
            let id = id.as_str();
            let a = Admit {
                request_id: id,
                scopes: &scopes,
                tokens: 500,
                cost_nano: 1_000,
            };
            black_box(counters.admit_now(black_box(&a))).unwrap();
            counters.settle_now(black_box(&Settle {
                request_id: id,
                scopes: &scopes,
                tokens_reserved: 500,
                tokens_actual: 300,
                cost_reserved: 1_000,
                cost_actual: 700,
            }));
        })
    });
}

criterion_group!(benches, admit_settle);
criterion_main!(benches);
