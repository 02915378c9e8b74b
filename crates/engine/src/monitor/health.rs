//! Health check bookkeeping, as Docker does it: a check every interval; failures during
//! the start period do not count; `retries` consecutive failures make it unhealthy.

use super::config::HealthCheck;
use crate::state::status::{now_rfc3339, Health, HealthLogEntry};
use std::time::{Duration, Instant};

/// Health entries kept in `State.Health.Log`.
const KEEP_LOG: usize = 5;

pub struct HealthState {
    pub check: HealthCheck,
    started: Instant,
    next: Instant,
    health: Health,
}

impl HealthState {
    pub fn new(check: HealthCheck) -> Self {
        let now = Instant::now();
        HealthState {
            next: now + Duration::from_millis(check.interval_ms),
            check,
            started: now,
            health: Health {
                status: "starting".into(),
                failing_streak: 0,
                log: Vec::new(),
            },
        }
    }

    /// Milliseconds until the next check is due (0 = now).
    pub fn ms_until_due(&self) -> u64 {
        self.next
            .saturating_duration_since(Instant::now())
            .as_millis() as u64
    }

    /// Records one check's result and schedules the next.
    pub fn record(&mut self, exit_code: i32, output: String) {
        let end = now_rfc3339();
        let in_start_period =
            self.started.elapsed() < Duration::from_millis(self.check.start_period_ms);
        if exit_code == 0 {
            self.health.status = "healthy".into();
            self.health.failing_streak = 0;
        } else if !in_start_period {
            self.health.failing_streak += 1;
            if self.health.failing_streak >= self.check.retries.max(1) {
                self.health.status = "unhealthy".into();
            }
        }
        self.health.log.push(HealthLogEntry {
            start: end.clone(),
            end,
            exit_code,
            output,
        });
        if self.health.log.len() > KEEP_LOG {
            self.health.log.remove(0);
        }
        self.next = Instant::now() + Duration::from_millis(self.check.interval_ms);
    }

    pub fn snapshot(&self) -> Health {
        self.health.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(retries: u32, start_period_ms: u64) -> HealthCheck {
        HealthCheck {
            test: Vec::new(),
            argv: vec!["true".into()],
            interval_ms: 1000,
            timeout_ms: 1000,
            start_period_ms,
            retries,
        }
    }

    #[test]
    fn becomes_unhealthy_after_retries() {
        let mut h = HealthState::new(check(2, 0));
        assert_eq!(h.snapshot().status, "starting");
        h.record(1, "no".into());
        assert_eq!(h.snapshot().status, "starting");
        h.record(1, "no".into());
        assert_eq!(h.snapshot().status, "unhealthy");
        h.record(0, "ok".into());
        assert_eq!(h.snapshot().status, "healthy");
        assert_eq!(h.snapshot().failing_streak, 0);
    }

    #[test]
    fn start_period_failures_do_not_count() {
        let mut h = HealthState::new(check(1, 60_000));
        h.record(1, "no".into());
        assert_eq!(h.snapshot().status, "starting");
        assert_eq!(h.snapshot().failing_streak, 0);
        for _ in 0..7 {
            h.record(0, String::new());
        }
        assert_eq!(h.snapshot().log.len(), KEEP_LOG);
    }
}
