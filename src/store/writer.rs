//! A bounded, batching spend writer: request paths hand rows over without waiting, one task
//! commits them to the [`Store`] in batches and holds them through database outages.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{SpendRow, Store, StoreError};
use crate::core::alert::{Alert, AlertKind, AlertTx};

/// First retry delay after a failed flush; doubles per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between retries of a failing flush.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the task keeps retrying when every [`SpendWriter`] is dropped without `shutdown`.
const DROP_DEADLINE: Duration = Duration::from_secs(5);

/// Sizing and cadence of a [`SpendWriter`].
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Most rows held at once, queued and being written together; more are dropped (and
    /// counted). Default 10 000.
    pub capacity: usize,
    /// Rows waiting are written at least this often. Default 500ms: spend reaches the ledger
    /// (and other replicas) within about half a second, at a few commits a second.
    pub flush_interval: Duration,
    /// Rows per transaction; this many waiting triggers a flush before the interval. Default
    /// 2000 (fewer, larger commits: most of a commit's cost is per page, not per row).
    pub batch_max: usize,
    /// Where the first failed flush of an outage, and the recovery, are raised (default off).
    pub alerts: AlertTx,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            capacity: 10_000,
            flush_interval: Duration::from_millis(500),
            batch_max: 2000,
            alerts: AlertTx::default(),
        }
    }
}

/// Counters a [`SpendWriter`] keeps, for metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Rows held now (queued plus being written).
    pub depth: AtomicI64,
    /// Rows refused by `send` (full, or shut down) plus rows abandoned at shutdown.
    pub dropped: AtomicU64,
    /// Rows committed (including rows whose request id was already in the ledger).
    pub written: AtomicU64,
    /// Flush attempts that failed (each is retried).
    pub flush_failures: AtomicU64,
}

/// What the sending side and the task share, under one lock.
struct Queue {
    rows: VecDeque<SpendRow>,
    /// Rows taken out of `rows` by the task and not yet committed.
    in_flight: usize,
    /// When set, `send` refuses rows and the task drains and stops.
    deadline: Option<Instant>,
}

impl Queue {
    fn held(&self) -> usize {
        self.rows.len() + self.in_flight
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Notify,
    stats: Arc<WriterStats>,
    capacity: usize,
    batch_max: usize,
    /// `Some(rows left unwritten)` once the task has stopped.
    done: watch::Receiver<Option<usize>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves the queue consistent (plain pushes and pops).
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_depth(&self, queue: &Queue) {
        let held = i64::try_from(queue.held()).unwrap_or(i64::MAX);
        self.stats.depth.store(held, Ordering::Relaxed);
    }

    /// Stops accepting rows; the task drains until `deadline` (the earliest one asked for).
    fn close(&self, deadline: Instant) {
        let mut queue = self.lock();
        queue.deadline = Some(queue.deadline.map_or(deadline, |d| d.min(deadline)));
        drop(queue);
        self.wake.notify_one();
    }
}

/// Closes the writer when the last [`SpendWriter`] clone goes away without `shutdown`.
struct LastSender(Arc<Shared>);

impl Drop for LastSender {
    fn drop(&mut self) {
        self.0.close(Instant::now() + DROP_DEADLINE);
    }
}

/// The sending side of the spend writer; cheap to clone.
#[derive(Clone)]
pub struct SpendWriter {
    shared: Arc<Shared>,
    _last: Arc<LastSender>,
}

/// Called after each commit with the rows it wrote, each row exactly once.
pub type OnWritten = Arc<dyn Fn(&[SpendRow]) + Send + Sync>;

impl SpendWriter {
    /// Spawns the writer task (call inside a Tokio runtime). `on_written` runs on the task after
    /// every successful commit; it must not hold a `SpendWriter`, or the task never sees the
    /// last sender go. The handle finishes after `shutdown`, or after every clone is dropped.
    pub fn start(
        store: Store,
        cfg: WriterConfig,
        on_written: OnWritten,
    ) -> (SpendWriter, JoinHandle<()>) {
        let (done_tx, done_rx) = watch::channel(None);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                rows: VecDeque::new(),
                in_flight: 0,
                deadline: None,
            }),
            wake: Notify::new(),
            stats: Arc::new(WriterStats::default()),
            capacity: cfg.capacity.max(1),
            batch_max: cfg.batch_max.max(1),
            done: done_rx,
        });
        let interval = cfg.flush_interval.max(Duration::from_millis(1));
        let task = Task {
            store,
            shared: Arc::clone(&shared),
            on_written,
            interval,
            alerts: cfg.alerts,
        };
        let handle = tokio::spawn(async move {
            let left = task.run().await;
            // Nobody may be waiting; the value is still there for a later `shutdown`.
            done_tx.send_replace(Some(left));
        });
        let writer = SpendWriter {
            _last: Arc::new(LastSender(Arc::clone(&shared))),
            shared,
        };
        (writer, handle)
    }

    /// Queues `row` without blocking or awaiting. `false` (counted in `stats().dropped`) when
    /// `capacity` rows are already held or the writer is shutting down.
    pub fn send(&self, row: SpendRow) -> bool {
        let shared = &self.shared;
        let mut queue = shared.lock();
        if queue.deadline.is_some() || queue.held() >= shared.capacity {
            drop(queue);
            shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        queue.rows.push_back(row);
        shared.set_depth(&queue);
        let full = queue.rows.len() >= shared.batch_max;
        drop(queue);
        if full {
            shared.wake.notify_one();
        }
        true
    }

    /// The writer's counters.
    pub fn stats(&self) -> Arc<WriterStats> {
        Arc::clone(&self.shared.stats)
    }

    /// Stops accepting rows and waits while the task writes everything still held, retrying
    /// failures until `deadline` from now. Returns the rows left unwritten (0: all written).
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        self.shared.close(Instant::now() + deadline);
        let mut done = self.shared.done.clone();
        let result = done.wait_for(Option::is_some).await.map(|left| *left);
        match result {
            Ok(left) => left.unwrap_or(0),
            // The task is gone (it panicked in `on_written`): whatever it held is lost.
            Err(_) => self.shared.lock().held(),
        }
    }
}

/// The writing side: owns the batch being committed.
struct Task {
    store: Store,
    shared: Arc<Shared>,
    on_written: OnWritten,
    interval: Duration,
    alerts: AlertTx,
}

impl Task {
    /// Writes until closed and drained (or past the deadline); returns rows left unwritten.
    async fn run(self) -> usize {
        let shared = &*self.shared;
        let mut batch: Vec<SpendRow> = Vec::new();
        let mut backoff = FIRST_BACKOFF;
        let mut next_tick = Instant::now() + self.interval;
        // Set by the interval: write everything waiting, not only full batches.
        let mut flush_all = false;
        // Failing since the last commit: the outage was raised once, its end will be.
        let mut failing = false;
        loop {
            let deadline = shared.lock().deadline;
            if batch.is_empty() {
                let now = Instant::now();
                if now >= next_tick {
                    flush_all = true;
                    next_tick = now + self.interval;
                }
                if self.take(&mut batch, deadline.is_some() || flush_all) {
                    flush_all = false;
                }
                if batch.is_empty() {
                    if deadline.is_some() {
                        return 0;
                    }
                    tokio::select! {
                        _ = shared.wake.notified() => {}
                        _ = tokio::time::sleep_until(next_tick) => {}
                    }
                    continue;
                }
            }
            match self.write(&batch, deadline).await {
                Ok(()) => {
                    (self.on_written)(&batch);
                    let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
                    shared.stats.written.fetch_add(n, Ordering::Relaxed);
                    batch.clear();
                    {
                        let mut queue = shared.lock();
                        queue.in_flight = 0;
                        shared.set_depth(&queue);
                    }
                    backoff = FIRST_BACKOFF;
                    if std::mem::take(&mut failing) {
                        log::info!("spend writer: writes recovered");
                        self.alerts.raise(Alert::StoreUp);
                    }
                }
                Err(e) => {
                    shared.stats.flush_failures.fetch_add(1, Ordering::Relaxed);
                    if !std::mem::replace(&mut failing, true) && self.alerts.wants(AlertKind::Store)
                    {
                        self.alerts.raise(Alert::StoreDown {
                            error: e.to_string(),
                            rows: shared.lock().held(),
                        });
                    }
                    log::warn!(
                        "spend writer: writing {} rows failed, retrying in {:?}: {e}",
                        batch.len(),
                        backoff
                    );
                    let retry_at = Instant::now() + backoff;
                    if deadline.is_some_and(|d| retry_at >= d) {
                        return self.abandon(batch.len());
                    }
                    self.wait_backoff(retry_at).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Moves up to `batch_max` waiting rows into `batch` when a full batch waits or `any`;
    /// returns whether the queue is now empty.
    fn take(&self, batch: &mut Vec<SpendRow>, any: bool) -> bool {
        let mut queue = self.shared.lock();
        if any || queue.rows.len() >= self.shared.batch_max {
            let n = queue.rows.len().min(self.shared.batch_max);
            batch.extend(queue.rows.drain(..n));
            queue.in_flight = batch.len();
        }
        queue.rows.is_empty()
    }

    /// Commits `batch`; once shutting down, gives up at the deadline.
    async fn write(&self, batch: &[SpendRow], deadline: Option<Instant>) -> Result<(), StoreError> {
        let record = self.store.record(batch);
        let written = match deadline {
            Some(d) => tokio::time::timeout_at(d, record)
                .await
                .map_err(|_| StoreError("shutdown deadline passed".to_string()))?,
            None => record.await,
        };
        written.map(|_| ())
    }

    /// Sleeps until `retry_at`, or until shutdown asks for a deadline before it.
    async fn wait_backoff(&self, retry_at: Instant) {
        loop {
            tokio::select! {
                _ = self.shared.wake.notified() => {
                    let deadline = self.shared.lock().deadline;
                    if let Some(d) = deadline {
                        tokio::time::sleep_until(retry_at.min(d)).await;
                        return;
                    }
                }
                _ = tokio::time::sleep_until(retry_at) => return,
            }
        }
    }

    /// Gives up at shutdown: counts everything still held as dropped and returns how many.
    fn abandon(&self, in_batch: usize) -> usize {
        let mut queue = self.shared.lock();
        let left = in_batch + queue.rows.len();
        queue.rows.clear();
        queue.in_flight = 0;
        self.shared.set_depth(&queue);
        drop(queue);
        let n = u64::try_from(left).unwrap_or(u64::MAX);
        self.shared.stats.dropped.fetch_add(n, Ordering::Relaxed);
        log::error!("spend writer: shutdown deadline passed with {left} rows unwritten");
        left
    }
}
