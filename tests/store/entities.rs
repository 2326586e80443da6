//! Entity rows: insert, put, get, delete, rename and load, `change_seq` on every write, and
//! compare-and-set spend resets.

use switchyard::store::{Entity, Kind};

use crate::{dbs, row, spend_of, Db};

async fn entities(db: &Db) {
    let store = db.open().await;
    let global = store.get(Kind::Global, "global").await.unwrap().unwrap();
    assert_eq!((global.doc.as_str(), global.spend_nano), ("{}", 0));

    assert!(store.insert(Kind::Team, "t1", "{\"v\":1}").await.unwrap());
    assert!(!store.insert(Kind::Team, "t1", "{\"v\":2}").await.unwrap());
    assert_eq!(
        store.get(Kind::Team, "t1").await.unwrap().unwrap().doc,
        "{\"v\":1}"
    );
    // Same id, other kind: a different entity.
    assert!(store.insert(Kind::User, "t1", "{}").await.unwrap());

    assert!(store.insert(Kind::Key, "old", "{\"n\":1}").await.unwrap());
    let mut r = row("r1", "old", 1_234, 5);
    r.scopes.push((Kind::Team, "t1".to_string()));
    store.record(&[r]).await.unwrap();
    store
        .set_budget_reset(Kind::Key, "old", Some(99))
        .await
        .unwrap();

    // put replaces the doc and keeps the ledger columns.
    store.put(Kind::Key, "old", "{\"n\":2}").await.unwrap();
    let got = store.get(Kind::Key, "old").await.unwrap().unwrap();
    let want = Entity {
        kind: Kind::Key,
        id: "old".to_string(),
        doc: "{\"n\":2}".to_string(),
        spend_nano: 1_234,
        budget_reset_at: Some(99),
    };
    assert_eq!(got, want);
    store.put(Kind::Customer, "c1", "{}").await.unwrap();
    assert_eq!(
        store
            .get(Kind::Customer, "c1")
            .await
            .unwrap()
            .unwrap()
            .spend_nano,
        0
    );

    // rename moves the row, spend and reset time included.
    assert!(store
        .rename(Kind::Key, "old", "new", "{\"n\":3}")
        .await
        .unwrap());
    assert_eq!(store.get(Kind::Key, "old").await.unwrap(), None);
    let moved = store.get(Kind::Key, "new").await.unwrap().unwrap();
    assert_eq!((moved.doc.as_str(), moved.spend_nano), ("{\"n\":3}", 1_234));
    assert_eq!(moved.budget_reset_at, Some(99));
    assert!(!store.rename(Kind::Key, "old", "other", "{}").await.unwrap());
    assert!(store.insert(Kind::Key, "taken", "{}").await.unwrap());
    assert!(!store.rename(Kind::Key, "new", "taken", "{}").await.unwrap());
    assert_eq!(spend_of(&store, Kind::Key, "new").await, 1_234);
    assert!(store
        .rename(Kind::Key, "new", "new", "{\"n\":4}")
        .await
        .unwrap());
    assert_eq!(
        store.get(Kind::Key, "new").await.unwrap().unwrap().doc,
        "{\"n\":4}"
    );

    assert!(store.delete(Kind::Key, "taken").await.unwrap());
    assert!(!store.delete(Kind::Key, "taken").await.unwrap());
    assert_eq!(store.get(Kind::Key, "taken").await.unwrap(), None);

    let all = store.load_all().await.unwrap();
    let ids: Vec<(Kind, &str)> = all.iter().map(|e| (e.kind, e.id.as_str())).collect();
    assert_eq!(
        ids,
        vec![
            (Kind::Customer, "c1"),
            (Kind::Global, "global"),
            (Kind::Key, "new"),
            (Kind::Team, "t1"),
            (Kind::User, "t1"),
        ]
    );
    assert_eq!(all[3].spend_nano, 1_234);
}
each_db!(insert_put_get_delete_rename_load_all, entities);

async fn change_seq(db: &Db) {
    let store = db.open().await;
    let mut last = store.change_seq().await.unwrap();
    let mut moved = |now: i64, what: &str| {
        assert!(
            now > last,
            "change_seq did not move on {what}: {now} <= {last}"
        );
        last = now;
    };
    store.insert(Kind::Budget, "b", "{}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "insert");
    store.put(Kind::Budget, "b", "{\"x\":1}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "put");
    store
        .set_budget_reset(Kind::Budget, "b", Some(10))
        .await
        .unwrap();
    moved(store.change_seq().await.unwrap(), "set_budget_reset");
    store
        .reset_spend(Kind::Budget, "b", Some(10), Some(20))
        .await
        .unwrap();
    moved(store.change_seq().await.unwrap(), "reset_spend");
    store.rename(Kind::Budget, "b", "b2", "{}").await.unwrap();
    moved(store.change_seq().await.unwrap(), "rename");
    store.delete(Kind::Budget, "b2").await.unwrap();
    moved(store.change_seq().await.unwrap(), "delete");

    // Writes that change nothing leave it alone.
    let before = store.change_seq().await.unwrap();
    assert!(!store.insert(Kind::Global, "global", "{}").await.unwrap());
    assert!(!store.delete(Kind::Budget, "b2").await.unwrap());
    assert!(!store.rename(Kind::Budget, "b2", "b3", "{}").await.unwrap());
    assert!(!store
        .reset_spend(Kind::Budget, "b2", None, None)
        .await
        .unwrap());
    assert_eq!(store.change_seq().await.unwrap(), before);
}
each_db!(change_seq_moves_on_every_entity_write, change_seq);

async fn reset_cas(db: &Db) {
    let store = db.open().await;
    let other = db.open().await; // a second replica
    store.insert(Kind::Team, "t", "{}").await.unwrap();
    store
        .set_budget_reset(Kind::Team, "t", Some(1_000))
        .await
        .unwrap();
    let mut r = row("r1", "k", 500, 1);
    r.scopes = vec![(Kind::Team, "t".to_string())];
    store.record(&[r]).await.unwrap();

    assert!(store
        .reset_spend(Kind::Team, "t", Some(1_000), Some(2_000))
        .await
        .unwrap());
    assert!(!other
        .reset_spend(Kind::Team, "t", Some(1_000), Some(2_000))
        .await
        .unwrap());
    let t = store.get(Kind::Team, "t").await.unwrap().unwrap();
    assert_eq!((t.spend_nano, t.budget_reset_at), (0, Some(2_000)));

    // NULL matches NULL: an entity without a reset time resets once, too.
    store.insert(Kind::User, "u", "{}").await.unwrap();
    assert!(other
        .reset_spend(Kind::User, "u", None, Some(50))
        .await
        .unwrap());
    assert!(!store
        .reset_spend(Kind::User, "u", None, Some(50))
        .await
        .unwrap());
    assert_eq!(
        store
            .get(Kind::User, "u")
            .await
            .unwrap()
            .unwrap()
            .budget_reset_at,
        Some(50)
    );
}
each_db!(reset_spend_is_compare_and_set, reset_cas);
