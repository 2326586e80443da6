//! Virtual keys, budgets, rate limits and spend: an in-memory copy of the store for the
//! request path, shared or local admission counters, and a batch writer for the ledger.
//!
//! The request path never runs SQL. Keys, teams, organizations, users, customers and
//! budgets live in [`Tables`], rebuilt from the store at start, after every management write
//! on this replica, and whenever the store's change sequence moves (polled every second, so
//! a change made on another replica is seen within about a second). Spend is reserved
//! before the call and settled once per request id (see `admission`).
//!
//! Every reading of wall time here (rate windows of the local counters, budget periods, key
//! expiry, spend rows, the management API's timestamps) goes through the one [`WallClock`]
//! that [`Governance::open`] is given: the system's in production, a manual one in tests.

pub mod admission;
mod alerts;
pub mod counters;
pub mod entities;
pub mod minting;
pub mod period;
pub mod redis;
mod report;
mod retention;
pub mod settings;
pub mod spend;
pub mod tables;

pub use settings::{GovSettings, Retention};

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use self::counters::{Counters, LocalCounters};
use self::tables::{ScopeSpec, Tables};
use crate::core::clock::WallClock;
use crate::store::writer::{SpendWriter, WriterConfig, WriterStats};
use crate::store::{Kind, SpendRow, Store, StoreOptions};

/// How often other replicas' changes are looked for.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The governance state of one gateway process.
pub struct Governance {
    store: Store,
    /// The counters admission uses: Redis when configured, else `local`.
    counters: Arc<dyn Counters>,
    /// In-process counters: the only ones without Redis, the fallback for rate limits with it.
    local: Arc<LocalCounters>,
    writer: SpendWriter,
    tables: ArcSwap<Tables>,
    settings: GovSettings,
    /// Runs store work and background loops, apart from Pingora's runtimes.
    runtime: tokio::runtime::Handle,
    /// Store writes that have not yet been read back into `tables`.
    seq: AtomicI64,
    /// Wall time for everything governance decides by it (the local counters hold a copy).
    clock: WallClock,
    /// Per-key Prometheus series, when on.
    key_series: Option<crate::metrics::keys::KeySeries>,
}

/// Where the store lives when `database_url` is not set.
pub const DEFAULT_DB: &str = "sqlite://switchyard.db";

impl Governance {
    /// Open the store (creating and migrating it), load every entity, connect Redis, and
    /// start the writer and the refresh loop on `runtime`. Wall time is read from `clock`
    /// (production passes [`WallClock::system`]).
    pub async fn open(
        database_url: Option<&str>,
        redis_url: Option<&str>,
        settings: GovSettings,
        clock: WallClock,
        runtime: tokio::runtime::Handle,
    ) -> Result<Arc<Governance>, String> {
        let url = database_url.unwrap_or(DEFAULT_DB);
        let opts = StoreOptions {
            max_connections: settings.pool_size,
            acquire_timeout: settings.pool_timeout,
            schema: None,
        };
        let store = Store::open(url, &opts)
            .await
            .map_err(|e| format!("database: {e}"))?;
        let local = Arc::new(LocalCounters::with_clock(clock.clone()));
        let counters: Arc<dyn Counters> = match redis_url {
            Some(u) => {
                let opts = redis::RedisOptions::default();
                Arc::new(
                    redis::RedisCounters::connect(u, "switchyard", opts)
                        .await
                        .map_err(|e| format!("redis: {e}"))?,
                )
            }
            None => local.clone(),
        };
        let cfg = WriterConfig {
            flush_interval: settings.batch_write,
            alerts: settings.alerts.clone(),
            ..WriterConfig::default()
        };
        let (writer, _task) = SpendWriter::start(store.clone(), cfg, Arc::new(|_rows| {}));
        let settings_key_series = settings
            .key_series
            .map(crate::metrics::keys::KeySeries::new);
        let gov = Arc::new(Governance {
            store,
            counters,
            local,
            writer,
            tables: ArcSwap::from_pointee(Tables::default()),
            settings,
            runtime,
            seq: AtomicI64::new(-1),
            clock,
            key_series: settings_key_series,
        });
        gov.reload().await.map_err(|e| format!("database: {e}"))?;
        if let Some(r) = gov.settings.retention {
            retention::spawn(&gov, r);
        }
        let weak = Arc::downgrade(&gov);
        gov.runtime.spawn(async move {
            let mut tick = tokio::time::interval(REFRESH);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(gov) = weak.upgrade() else { return };
                if let Err(e) = gov.refresh().await {
                    log::warn!("governance refresh: {e}");
                }
            }
        });
        Ok(gov)
    }

    /// The cached entities the request path reads.
    pub fn tables(&self) -> arc_swap::Guard<Arc<Tables>> {
        self.tables.load()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &GovSettings {
        &self.settings
    }

    pub fn counters(&self) -> &dyn Counters {
        &*self.counters
    }

    /// The clock governance reads wall time from.
    pub fn clock(&self) -> &WallClock {
        &self.clock
    }

    /// Unix seconds now, on [`Governance::clock`].
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    pub fn writer_stats(&self) -> Arc<WriterStats> {
        self.writer.stats()
    }

    /// Run store work on the governance runtime, whichever runtime the caller is on.
    pub async fn run<F, T>(&self, f: F) -> Result<T, String>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime
            .spawn(f)
            .await
            .map_err(|e| format!("store task failed: {e}"))
    }

    /// Rebuild `tables` from the store now (after a management write).
    pub async fn reload(&self) -> Result<(), String> {
        let store = self.store.clone();
        let (seq, entities) = self
            .run(async move {
                let seq = store.change_seq().await?;
                Ok::<_, crate::store::StoreError>((seq, store.load_all().await?))
            })
            .await?
            .map_err(|e| e.to_string())?;
        let global = self.global_scope(&entities);
        self.tables.store(Arc::new(Tables::build(
            &entities,
            global,
            &self.settings.minting.users,
            seq,
        )));
        self.seq.store(seq, Ordering::Relaxed);
        Ok(())
    }

    /// Reload when another replica (or this one) changed the store; reset budgets whose
    /// period ended.
    async fn refresh(&self) -> Result<(), String> {
        let w = self.writer.stats();
        let m = crate::metrics::metrics();
        m.spend_queue.set(w.depth.load(Ordering::Relaxed));
        m.spend_dropped
            .set(w.dropped.load(Ordering::Relaxed) as i64);
        m.spend_written
            .set(w.written.load(Ordering::Relaxed) as i64);
        m.spend_flush_failures
            .set(w.flush_failures.load(Ordering::Relaxed) as i64);
        let store = self.store.clone();
        let seq = self
            .run(async move { store.change_seq().await })
            .await?
            .map_err(|e| e.to_string())?;
        if seq != self.seq.load(Ordering::Relaxed) {
            self.reload().await?;
        }
        self.export_team_budgets().await;
        self.reset_periods().await
    }

    /// Move every entity whose budget period ended to the current one (zero spend), once
    /// across replicas (compare-and-set on the stored reset time).
    async fn reset_periods(&self) -> Result<(), String> {
        let now = self.now_secs();
        let tz = self.settings.tz_offset;
        let tables = self.tables.load_full();
        let mut due: Vec<(Kind, String, Option<i64>, i64)> = Vec::new();
        let mut check = |s: &ScopeSpec| {
            if let (Some(kind), Some(p)) = (s.kind, s.period) {
                let (_, end) = p.bounds(now, tz);
                if s.ledger_reset_at != Some(end) {
                    due.push((kind, s.id.clone(), s.ledger_reset_at, end));
                }
            }
        };
        for k in tables.keys.values() {
            k.scopes.iter().for_each(&mut check);
        }
        for c in tables.customers.values() {
            check(&c.scope);
        }
        if let Some(g) = &tables.global {
            check(g);
        }
        due.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        due.dedup();
        if due.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        self.run(async move {
            for (kind, id, expected, next) in due {
                match expected {
                    // First period on record: its spend so far belongs to it.
                    None => store.set_budget_reset(kind, &id, Some(next)).await?,
                    Some(_) => {
                        store.reset_spend(kind, &id, expected, Some(next)).await?;
                    }
                }
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await?
        .map_err(|e| e.to_string())?;
        self.reload().await
    }

    /// `litellm_remaining_team_budget_metric` for every team with a budget (bounded by the
    /// teams an admin created).
    async fn export_team_budgets(&self) {
        let tables = self.tables.load_full();
        let now = self.now_secs();
        let mut seen = std::collections::HashSet::new();
        let teams = tables
            .keys
            .values()
            .flat_map(|k| k.scopes.iter())
            .filter(|s| s.kind == Some(Kind::Team) && s.max_budget.is_some());
        for s in teams {
            if !seen.insert(s.id.as_str()) {
                continue;
            }
            let limits = admission::limits_of(s, now, self.settings.tz_offset);
            if let Ok(u) = self.counters.usage(&s.counter, &limits).await {
                let left = s.max_budget.unwrap_or(0).saturating_sub(u.spent_nano);
                crate::metrics::metrics()
                    .team_budget_left
                    .with_label_values(&[&s.id, s.alias.as_deref().unwrap_or("")])
                    .set(entities::from_nano(left));
            }
        }
    }

    fn global_scope(&self, entities: &[crate::store::Entity]) -> Option<ScopeSpec> {
        let max = self.settings.global_budget?;
        let ledger = entities.iter().find(|e| e.kind == Kind::Global);
        Some(ScopeSpec {
            kind: Some(Kind::Global),
            id: "global".into(),
            counter: "global".into(),
            label: "Proxy".into(),
            max_budget: Some(max),
            period: self.settings.global_period,
            ledger_spent: ledger.map_or(0, |e| e.spend_nano),
            ledger_reset_at: ledger.and_then(|e| e.budget_reset_at),
            ..ScopeSpec::default()
        })
    }

    /// The per-key series (when on).
    pub fn key_series(&self) -> Option<&crate::metrics::keys::KeySeries> {
        self.key_series.as_ref()
    }

    /// Queue a spend row for the ledger; false when the queue is full (counted).
    pub fn log_spend(&self, row: SpendRow) -> bool {
        self.writer.send(row)
    }

    /// Write every queued spend row (SIGTERM); returns the rows that could not be written.
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        self.writer.shutdown(deadline).await
    }
}

#[cfg(test)]
mod clock_tests;
