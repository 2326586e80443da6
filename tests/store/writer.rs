//! Spend writer cases: draining, full batches, outages, overflow and shutdown deadlines.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard::core::alert::{Alert, AlertKind, AlertTx};
use switchyard::store::{Kind, OnWritten, SpendRow, SpendWriter, WriterConfig};

use crate::{dbs, row, spend_of, wait_until, Db};

type Seen = Arc<Mutex<Vec<String>>>;

fn recorder() -> (Seen, OnWritten) {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let on_written = Arc::new(move |rows: &[SpendRow]| {
        sink.lock()
            .unwrap()
            .extend(rows.iter().map(|r| r.request_id.clone()));
    });
    (seen, on_written)
}

async fn writer_drains(db: &Db) {
    let store = db.open().await;
    let (seen, on_written) = recorder();
    let cfg = WriterConfig {
        capacity: 100,
        flush_interval: Duration::from_secs(3600),
        batch_max: 1000,
        ..WriterConfig::default()
    };
    let (writer, handle) = SpendWriter::start(store.clone(), cfg, on_written);
    for i in 0..25 {
        assert!(writer.send(row(&format!("w{i:02}"), "k", 1, i)));
    }
    // Nothing is due before shutdown (no full batch, interval an hour away).
    assert_eq!(writer.stats().depth.load(Relaxed), 25);
    assert_eq!(writer.shutdown(Duration::from_secs(20)).await, 0);
    handle.await.unwrap();
    assert!(
        !writer.send(row("late", "k", 1, 0)),
        "a closed writer takes nothing"
    );
    let stats = writer.stats();
    assert_eq!(stats.written.load(Relaxed), 25);
    assert_eq!(stats.dropped.load(Relaxed), 1);
    assert_eq!(stats.depth.load(Relaxed), 0);
    let want: Vec<String> = (0..25).map(|i| format!("w{i:02}")).collect();
    assert_eq!(*seen.lock().unwrap(), want);
    assert_eq!(store.total_spend().await.unwrap(), 25);
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 25);
}
each_db!(writer_drains_on_shutdown, writer_drains);

async fn writer_full_batch(db: &Db) {
    let store = db.open().await;
    let (seen, on_written) = recorder();
    let cfg = WriterConfig {
        capacity: 100,
        flush_interval: Duration::from_secs(3600),
        batch_max: 4,
        ..WriterConfig::default()
    };
    let (writer, handle) = SpendWriter::start(store.clone(), cfg, on_written);
    for i in 0..4 {
        assert!(writer.send(row(&format!("f{i}"), "k", 1, i)));
    }
    let stats = writer.stats();
    wait_until("a full batch to be written", || {
        stats.written.load(Relaxed) == 4
    })
    .await;
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(store.total_spend().await.unwrap(), 4);
    // Dropping every sender stops the task too.
    drop(writer);
    handle.await.unwrap();
}
each_db!(
    writer_flushes_a_full_batch_without_waiting,
    writer_full_batch
);

async fn writer_outage(db: &Db) {
    let store = db.open().await;
    // The database "goes down" for spend: the table the writer inserts into disappears.
    db.exec("ALTER TABLE sy_spend_logs RENAME TO sy_spend_logs_away")
        .await;
    let (seen, on_written) = recorder();
    let (alert_tx, mut alerts) = tokio::sync::mpsc::channel(100);
    let cfg = WriterConfig {
        capacity: 3,
        flush_interval: Duration::from_millis(10),
        batch_max: 2,
        alerts: AlertTx::new(
            alert_tx,
            &[AlertKind::Store],
            Duration::from_secs(1),
            Arc::new(|| {}),
        ),
    };
    let (writer, handle) = SpendWriter::start(store.clone(), cfg, on_written);
    let stats = writer.stats();
    for i in 0..3 {
        assert!(writer.send(row(&format!("o{i}"), "k", 10, i)));
    }
    wait_until("failed flushes", || stats.flush_failures.load(Relaxed) >= 3).await;
    assert!(
        !writer.send(row("o3", "k", 10, 3)),
        "capacity 3: the 4th row is refused"
    );
    assert_eq!(stats.dropped.load(Relaxed), 1);
    assert_eq!(stats.depth.load(Relaxed), 3);
    assert_eq!(stats.written.load(Relaxed), 0);
    assert!(seen.lock().unwrap().is_empty());

    db.exec("ALTER TABLE sy_spend_logs_away RENAME TO sy_spend_logs")
        .await;
    wait_until("held rows to be written", || {
        stats.written.load(Relaxed) == 3
    })
    .await;
    assert_eq!(writer.shutdown(Duration::from_secs(20)).await, 0);
    handle.await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["o0", "o1", "o2"]);
    // Many failed flushes were one outage: one alert when it began, one when it ended.
    let mut raised = Vec::new();
    while let Ok(a) = alerts.try_recv() {
        raised.push(a);
    }
    assert!(
        matches!(&raised[..], [Alert::StoreDown { .. }, Alert::StoreUp]),
        "{raised:?}"
    );
    assert_eq!(store.total_spend().await.unwrap(), 30);
    assert_eq!(spend_of(&store, Kind::Global, "global").await, 30);
    assert_eq!(stats.dropped.load(Relaxed), 1);
}
each_db!(
    writer_holds_rows_through_an_outage_and_drops_overflow,
    writer_outage
);

async fn writer_gives_up_at_deadline(db: &Db) {
    let store = db.open().await;
    db.exec("ALTER TABLE sy_spend_logs RENAME TO sy_spend_logs_away")
        .await;
    let (seen, on_written) = recorder();
    let (writer, handle) = SpendWriter::start(store, WriterConfig::default(), on_written);
    assert!(writer.send(row("x1", "k", 1, 0)));
    assert!(writer.send(row("x2", "k", 1, 0)));
    assert_eq!(writer.shutdown(Duration::from_millis(300)).await, 2);
    handle.await.unwrap();
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(writer.stats().dropped.load(Relaxed), 2);
}
each_db!(
    writer_shutdown_reports_rows_left_when_the_db_stays_down,
    writer_gives_up_at_deadline
);
