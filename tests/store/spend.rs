//! The spend ledger: recording rows once per request, batches larger than one statement, the
//! spend-log filters and the grouped totals.

use switchyard::store::{Kind, SpendGroup, SpendQuery, SpendRow};

use crate::{dbs, row, spend_of, Db};

async fn record_idempotent(db: &Db) {
    let store = db.open().await;
    for (kind, id) in [(Kind::Key, "k"), (Kind::Team, "t"), (Kind::User, "u")] {
        store.insert(kind, id, "{}").await.unwrap();
    }
    let scoped = |id: &str, spend: i64| {
        let mut r = row(id, "k", spend, 10);
        r.team_id = Some("t".to_string());
        r.user_id = Some("u".to_string());
        r.scopes = vec![
            (Kind::Key, "k".to_string()),
            (Kind::Team, "t".to_string()),
            (Kind::User, "u".to_string()),
            (Kind::Customer, "missing".to_string()),
            (Kind::Global, "global".to_string()),
            (Kind::Key, "k".to_string()), // listed twice, counted once
        ];
        r
    };
    let rows = vec![scoped("a", 100), scoped("b", 20), scoped("a", 100_000)];
    // "a" twice in one batch: the first wins.
    assert_eq!(store.record(&rows).await.unwrap(), 2);
    assert_eq!(store.record(&rows).await.unwrap(), 0);
    assert_eq!(store.record(&rows[1..2]).await.unwrap(), 0);
    for (kind, id) in [(Kind::Key, "k"), (Kind::Team, "t"), (Kind::User, "u")] {
        assert_eq!(spend_of(&store, kind, id).await, 120, "{kind}/{id}");
    }
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 120);
    assert_eq!(store.get(Kind::Customer, "missing").await.unwrap(), None);
    assert_eq!(store.total_spend().await.unwrap(), 120);
    assert_eq!(store.record(&[]).await.unwrap(), 0);

    // The global row is recreated if it went missing.
    assert!(store.delete(Kind::Global, "global").await.unwrap());
    store.record(&[scoped("c", 3)]).await.unwrap();
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 3);
}
each_db!(record_adds_spend_once_per_request, record_idempotent);

async fn record_large_batch(db: &Db) {
    let store = db.open().await;
    store.insert(Kind::Key, "k", "{}").await.unwrap();
    // More rows than one INSERT statement carries, with a repeat across statements.
    let mut rows: Vec<SpendRow> = (0..250)
        .map(|i| {
            let mut r = row(&format!("req-{i:03}"), "k", 1 + i, 10 + i);
            r.scopes = vec![(Kind::Key, "k".to_string())];
            r
        })
        .collect();
    rows.push(rows[5].clone());
    assert_eq!(store.record(&rows).await.unwrap(), 250);
    let want: i64 = (1..=250).sum();
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    let q = SpendQuery {
        limit: 1000,
        ..SpendQuery::default()
    };
    assert_eq!(store.spend_logs(&q).await.unwrap().len(), 250);
    // The same batch again adds nothing.
    assert_eq!(store.record(&rows).await.unwrap(), 0);
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    // A batch with no repeats (the usual case, written without asking which rows are new).
    let fresh: Vec<SpendRow> = (250..550)
        .map(|i| {
            let mut r = row(&format!("req-{i:03}"), "k", 1 + i, 10 + i);
            r.scopes = vec![(Kind::Key, "k".to_string())];
            r.request_tags = vec![format!("t\"{i}")];
            r
        })
        .collect();
    assert_eq!(store.record(&fresh).await.unwrap(), 300);
    let want: i64 = (1..=550).sum();
    assert_eq!(spend_of(&store, Kind::Key, "k").await, want);
    let logged = store.spend_logs(&q).await.unwrap();
    assert_eq!(logged.len(), 550);
    let r300 = logged.iter().find(|r| r.request_id == "req-300").unwrap();
    assert_eq!(r300.request_tags, ["t\"300"]);
}
each_db!(
    record_writes_batches_larger_than_one_statement,
    record_large_batch
);

async fn logs(db: &Db) {
    let store = db.open().await;
    let mut full = row("r1", "k1", 11, 1_000);
    full.key_alias = Some("alias".to_string());
    full.team_id = Some("t1".to_string());
    full.user_id = Some("u1".to_string());
    full.end_user = Some("e1".to_string());
    full.model_id = Some("dep-1".to_string());
    full.custom_llm_provider = Some("openai".to_string());
    full.api_base = Some("https://api.openai.com/v1".to_string());
    full.cache_hit = true;
    full.metadata = r#"{"a":[1,2]}"#.to_string();
    full.request_tags = vec!["prod".to_string(), "α".to_string()];
    full.response_id = Some("chatcmpl-same".to_string());
    let mut r2 = row("r2", "k2", 22, 2_000);
    r2.team_id = Some("t1".to_string());
    // Upstream ids are not unique: a second row with the same one is logged, not dropped.
    let mut r3 = row("r3", "k1", 33, 3_000);
    r3.response_id = Some("chatcmpl-same".to_string());
    store.record(&[full.clone(), r2, r3]).await.unwrap();

    let ids = |rows: Vec<SpendRow>| rows.into_iter().map(|r| r.request_id).collect::<Vec<_>>();
    let all = store.spend_logs(&SpendQuery::default()).await.unwrap();
    assert_eq!(ids(all.clone()), ["r3", "r2", "r1"]);
    let mut want = full;
    want.scopes = Vec::new();
    assert_eq!(all[2], want);
    assert!(!all[1].cache_hit);

    let q = |f: fn(&mut SpendQuery)| {
        let mut q = SpendQuery::default();
        f(&mut q);
        q
    };
    let by = |query: SpendQuery| {
        let store = store.clone();
        async move { ids(store.spend_logs(&query).await.unwrap()) }
    };
    assert_eq!(by(q(|q| q.api_key = Some("k1".into()))).await, ["r3", "r1"]);
    assert_eq!(by(q(|q| q.team_id = Some("t1".into()))).await, ["r2", "r1"]);
    assert_eq!(by(q(|q| q.user_id = Some("u1".into()))).await, ["r1"]);
    assert_eq!(by(q(|q| q.end_user = Some("e1".into()))).await, ["r1"]);
    assert_eq!(by(q(|q| q.request_id = Some("r2".into()))).await, ["r2"]);
    // The answer's id finds its rows as the call id does (LiteLLM keys rows by it).
    let by_answer = q(|q| q.request_id = Some("chatcmpl-same".into()));
    assert_eq!(by(by_answer).await, ["r3", "r1"]);
    assert_eq!(by(q(|q| q.start_ms = Some(2_000))).await, ["r3", "r2"]);
    assert_eq!(by(q(|q| q.end_ms = Some(2_000))).await, ["r1"]);
    assert_eq!(by(q(|q| q.limit = 2)).await, ["r3", "r2"]);
    let none: [&str; 0] = [];
    assert_eq!(by(q(|q| q.api_key = Some("nope".into()))).await, none);
    let combined = q(|q| {
        q.api_key = Some("k1".into());
        q.start_ms = Some(500);
        q.end_ms = Some(2_500);
    });
    assert_eq!(by(combined).await, ["r1"]);
}
each_db!(spend_logs_filter_and_order_newest_first, logs);

async fn grouping(db: &Db) {
    let store = db.open().await;
    let day1 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
    let day2 = day1 + 86_400_000 + 3_600_000; // 2024-01-02T01:00Z
    let mut a = row("a", "k1", 100, day1);
    a.team_id = Some("t1".to_string());
    let mut b = row("b", "k1", 50, day1 + 1);
    b.team_id = Some("t2".to_string());
    b.model_group = "claude".to_string();
    let mut c = row("c", "k2", 400, day2);
    c.team_id = Some("t1".to_string());
    c.user_id = Some("u".to_string());
    let d = row("d", "k3", 7, day2 + 5);
    store.record(&[a, b, c, d]).await.unwrap();

    let totals = |group, start, end, limit| {
        let store = store.clone();
        async move {
            let rows = store.spend_by(group, start, end, limit).await.unwrap();
            rows.into_iter()
                .map(|t| (t.group, t.spend_nano, t.requests))
                .collect::<Vec<_>>()
        }
    };
    let s = |v: &str| v.to_string();
    assert_eq!(
        totals(SpendGroup::Team, None, None, 10).await,
        [(s("t1"), 500, 2), (s("t2"), 50, 1)]
    );
    assert_eq!(
        totals(SpendGroup::ApiKey, None, None, 10).await,
        [(s("k2"), 400, 1), (s("k1"), 150, 2), (s("k3"), 7, 1)]
    );
    assert_eq!(
        totals(SpendGroup::ApiKey, None, None, 1).await,
        [(s("k2"), 400, 1)]
    );
    assert_eq!(
        totals(SpendGroup::User, None, None, 10).await,
        [(s("u"), 400, 1)]
    );
    assert_eq!(totals(SpendGroup::EndUser, None, None, 10).await, []);
    assert_eq!(
        totals(SpendGroup::Model, None, None, 10).await,
        [(s("gpt-4o"), 507, 3), (s("claude"), 50, 1)]
    );
    assert_eq!(
        totals(SpendGroup::Day, None, None, 10).await,
        [(s("2024-01-02"), 407, 2), (s("2024-01-01"), 150, 2)]
    );
    assert_eq!(
        totals(SpendGroup::Day, Some(day1), Some(day2), 10).await,
        [(s("2024-01-01"), 150, 2)]
    );
    let full = store
        .spend_by(SpendGroup::Model, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            full[0].prompt_tokens,
            full[0].completion_tokens,
            full[0].total_tokens
        ),
        (30, 15, 45)
    );
}
each_db!(spend_by_groups_and_sums, grouping);
