//! Spend-log retention on the store: old rows go in bounded batches, new rows and the
//! entities' spend stay, and the lease lets one replica run each pass.

use switchyard::store::{Kind, SpendQuery};

use crate::{dbs, row, spend_of, Db};

const DAY_MS: i64 = 86_400_000;

async fn retention(db: &Db) {
    let store = db.open().await;
    let now = 1_800_000_000_000;
    let rows = [
        row("old-1", "k", 10, now - 3 * DAY_MS),
        row("old-2", "k", 10, now - 2 * DAY_MS),
        row("old-3", "k", 10, now - DAY_MS - 1),
        row("new-1", "k", 10, now - DAY_MS + 1),
        row("new-2", "k", 10, now - 1000),
    ];
    store.record(&rows).await.unwrap();

    // Two replicas on one database: the first claims the pass, the second (within the gap)
    // does not; after the gap the next pass is claimed again.
    let other = db.open().await;
    assert!(store.claim_retention_pass(now, DAY_MS / 2).await.unwrap());
    assert!(!other
        .claim_retention_pass(now + 5, DAY_MS / 2)
        .await
        .unwrap());
    assert!(!store
        .claim_retention_pass(now + 10, DAY_MS / 2)
        .await
        .unwrap());

    // Batches of two: three old rows take two statements.
    assert_eq!(store.delete_spend_before(now - DAY_MS, 2).await.unwrap(), 2);
    assert_eq!(store.purge_spend_before(now - DAY_MS, 2).await.unwrap(), 1);
    assert_eq!(store.purge_spend_before(now - DAY_MS, 2).await.unwrap(), 0);
    let left: Vec<String> = store
        .spend_logs(&SpendQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    assert_eq!(left, ["new-2", "new-1"], "newest first; the old rows went");
    assert_eq!(
        spend_of(&store, Kind::Global, "global").await,
        50,
        "spend totals are not the logs'"
    );
    assert!(other
        .claim_retention_pass(now + DAY_MS / 2, DAY_MS / 2)
        .await
        .unwrap());
}
each_db!(retention_deletes_old_spend_rows_once_per_pass, retention);
