//! Time: monotonic milliseconds for cooldowns, latency windows and per-minute routing
//! counters ([`mono_ms`]); wall-clock time and the proleptic Gregorian calendar for budget
//! periods, SigV4 dates and response `created` fields. Logic that depends on time takes `now`
//! as an argument (the router's `Plan::next_at`, `Cooldown::record_failure`), so its tests
//! pass explicit instants; governance (rate windows, budget periods, key expiry) reads a
//! [`WallClock`] it is given, which tests drive by hand with a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The process's time origin, so instants fit in an atomic as milliseconds.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds since the process's time origin: monotonic, never goes back.
pub fn mono_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

/// Unix seconds now (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix milliseconds now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Wall-clock time in unix milliseconds: the system's, or a [`ManualClock`]'s in tests. Cheap
/// to clone; reading the system clock costs one branch more than [`now_ms`].
#[derive(Clone, Debug, Default)]
pub struct WallClock(Source);

#[derive(Clone, Debug, Default)]
enum Source {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl WallClock {
    /// The system's clock (what production runs on).
    pub fn system() -> WallClock {
        WallClock(Source::System)
    }

    /// Unix milliseconds now (0 if the clock is before 1970).
    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Source::System => now_ms(),
            Source::Manual(ms) => ms.load(Ordering::Relaxed),
        }
    }

    /// Unix seconds now, rounded down.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// A clock that moves only when told (tests): every [`WallClock`] it hands out reads it.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `ms` unix milliseconds.
    pub fn at(ms: i64) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(ms)))
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::Relaxed);
    }

    /// Set the clock to `ms` unix milliseconds.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::Relaxed);
    }

    /// Unix milliseconds on this clock.
    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    /// A [`WallClock`] that reads this one.
    pub fn clock(&self) -> WallClock {
        WallClock(Source::Manual(self.0.clone()))
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let m = ManualClock::at(1_700_000_000_500);
        let c = m.clock();
        assert_eq!(
            (c.now_ms(), c.now_secs()),
            (1_700_000_000_500, 1_700_000_000)
        );
        m.advance(Duration::from_millis(1_600));
        assert_eq!(c.clone().now_ms(), 1_700_000_002_100);
        m.set(-1);
        assert_eq!((c.now_ms(), c.now_secs()), (-1, -1));
        assert!(WallClock::system().now_secs() > 1_700_000_000);
    }
}
