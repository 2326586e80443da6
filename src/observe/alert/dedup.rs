//! Deduplication: one outage is one alert and one recovery; a budget alerts once per entity,
//! event and period within `budget_alert_ttl`; slow and hanging requests once per deployment
//! within `outage_alert_ttl`. Time is read from a [`WallClock`], so tests drive it by hand.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::core::alert::{Alert, BudgetEvent, BudgetOwner};
use crate::core::clock::WallClock;

/// Most budget and slow-request entries remembered; past it, expired ones are forgotten
/// first, and then new ones are not remembered (they may alert again).
const MAX_REMEMBERED: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Budget(BudgetEvent, BudgetOwner, String, i64),
    Slow(String, String),
    Hanging(String, String),
}

/// The state alerts are judged against.
pub struct Dedup {
    clock: WallClock,
    budget_ttl_ms: i64,
    slow_ttl_ms: i64,
    /// Until when (unix ms) a repeat of the key is suppressed.
    until: HashMap<Key, i64>,
    /// Deployments whose outage was alerted and has not recovered.
    down: HashSet<String>,
    store_down: bool,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Dedup {
    pub fn new(clock: WallClock, budget_ttl: Duration, slow_ttl: Duration) -> Dedup {
        Dedup {
            clock,
            budget_ttl_ms: ms(budget_ttl),
            slow_ttl_ms: ms(slow_ttl),
            until: HashMap::new(),
            down: HashSet::new(),
            store_down: false,
        }
    }

    /// Whether `alert` goes out (`false`: a repeat of one already sent).
    pub fn admit(&mut self, alert: &Alert) -> bool {
        match alert {
            Alert::Budget(b) => {
                let key = Key::Budget(b.event, b.owner, b.id.clone(), b.period_end);
                self.once_within(key, self.budget_ttl_ms)
            }
            Alert::Slow {
                group, deployment, ..
            } => self.once_within(
                Key::Slow(group.clone(), deployment.clone()),
                self.slow_ttl_ms,
            ),
            Alert::Hanging {
                group, deployment, ..
            } => self.once_within(
                Key::Hanging(group.clone(), deployment.clone()),
                self.slow_ttl_ms,
            ),
            Alert::DeploymentDown { deployment, .. } => self.down.insert(deployment.clone()),
            Alert::DeploymentUp { deployment, .. } => self.down.remove(deployment),
            Alert::StoreDown { .. } => !std::mem::replace(&mut self.store_down, true),
            Alert::StoreUp => std::mem::replace(&mut self.store_down, false),
        }
    }

    fn once_within(&mut self, key: Key, ttl: i64) -> bool {
        let now = self.clock.now_ms();
        if self.until.get(&key).is_some_and(|&until| now < until) {
            return false;
        }
        if self.until.len() >= MAX_REMEMBERED {
            self.until.retain(|_, until| now < *until);
        }
        if self.until.len() < MAX_REMEMBERED || self.until.contains_key(&key) {
            self.until.insert(key, now.saturating_add(ttl));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::BudgetAlert;
    use crate::core::clock::ManualClock;

    fn budget(event: BudgetEvent, id: &str, period_end: i64) -> Alert {
        Alert::Budget(Box::new(BudgetAlert {
            event,
            owner: BudgetOwner::Key,
            id: id.into(),
            label: format!("Key={id}"),
            spend_nano: 2,
            max_budget_nano: Some(1),
            soft_budget_nano: None,
            period_end,
            token: None,
            key_alias: None,
            user_id: None,
            team_id: None,
            team_alias: None,
            customer_id: None,
        }))
    }

    fn down(dep: &str) -> Alert {
        Alert::DeploymentDown {
            group: "g".into(),
            deployment: dep.into(),
            api_base: "http://x".into(),
            reason: "server_error",
            cooldown: Duration::from_secs(5),
        }
    }

    fn up(dep: &str) -> Alert {
        Alert::DeploymentUp {
            group: "g".into(),
            deployment: dep.into(),
            api_base: "http://x".into(),
        }
    }

    #[test]
    fn a_sixty_second_outage_is_one_alert_and_one_recovery() {
        let clock = ManualClock::at(1_700_000_000_000);
        let mut d = Dedup::new(
            clock.clock(),
            Duration::from_secs(86_400),
            Duration::from_secs(60),
        );
        let mut sent = Vec::new();
        // Cooldowns of 5 s re-trip every 5 s while the upstream is down, with many failing
        // requests (and the store failing too) in between.
        for second in 0..60 {
            for _ in 0..50 {
                for a in [
                    down("a"),
                    Alert::StoreDown {
                        error: "x".into(),
                        rows: 1,
                    },
                ] {
                    if d.admit(&a) {
                        sent.push((second, a));
                    }
                }
            }
            clock.advance(Duration::from_secs(1));
        }
        // A second deployment's outage is its own.
        assert!(d.admit(&down("b")));
        for a in [up("a"), up("a"), Alert::StoreUp, Alert::StoreUp] {
            if d.admit(&a) {
                sent.push((60, a));
            }
        }
        let got: Vec<_> = sent.iter().map(|(s, a)| (*s, a.clone())).collect();
        assert_eq!(
            got,
            vec![
                (0, down("a")),
                (
                    0,
                    Alert::StoreDown {
                        error: "x".into(),
                        rows: 1
                    }
                ),
                (60, up("a")),
                (60, Alert::StoreUp),
            ]
        );
        // A later outage alerts again.
        assert!(d.admit(&down("a")));
        assert!(!d.admit(&up("never-down")));
    }

    #[test]
    fn a_budget_alerts_once_per_ttl_and_again_in_a_new_period() {
        let clock = ManualClock::at(1_700_000_000_000);
        let mut d = Dedup::new(
            clock.clock(),
            Duration::from_secs(3600),
            Duration::from_secs(60),
        );
        assert!(d.admit(&budget(BudgetEvent::Crossed, "k1", 100)));
        for _ in 0..1000 {
            assert!(!d.admit(&budget(BudgetEvent::Crossed, "k1", 100)));
        }
        // Other keys, other events, and the next period are their own.
        assert!(d.admit(&budget(BudgetEvent::Crossed, "k2", 100)));
        assert!(d.admit(&budget(BudgetEvent::SoftCrossed, "k1", 100)));
        assert!(d.admit(&budget(BudgetEvent::Crossed, "k1", 200)));
        clock.advance(Duration::from_secs(3599));
        assert!(!d.admit(&budget(BudgetEvent::Crossed, "k1", 100)));
        clock.advance(Duration::from_secs(1));
        assert!(
            d.admit(&budget(BudgetEvent::Crossed, "k1", 100)),
            "the TTL passed"
        );
    }

    #[test]
    fn slow_requests_alert_once_per_deployment_per_window() {
        let clock = ManualClock::at(0);
        let mut d = Dedup::new(
            clock.clock(),
            Duration::from_secs(3600),
            Duration::from_secs(60),
        );
        let slow = |dep: &str| Alert::Slow {
            group: "g".into(),
            deployment: dep.into(),
            api_base: String::new(),
            took: Duration::from_secs(400),
            stream: false,
        };
        assert!(d.admit(&slow("a")));
        assert!(!d.admit(&slow("a")));
        assert!(d.admit(&slow("b")));
        clock.advance(Duration::from_secs(60));
        assert!(d.admit(&slow("a")));
    }

    #[test]
    fn memory_stays_bounded() {
        let clock = ManualClock::at(0);
        let mut d = Dedup::new(
            clock.clock(),
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        for i in 0..(MAX_REMEMBERED + 10) {
            assert!(d.admit(&budget(BudgetEvent::Crossed, &i.to_string(), 0)));
        }
        assert_eq!(d.until.len(), MAX_REMEMBERED);
        clock.advance(Duration::from_secs(2));
        assert!(d.admit(&budget(BudgetEvent::Crossed, "new", 0)));
        assert_eq!(d.until.len(), 1, "expired entries forgotten");
    }
}
