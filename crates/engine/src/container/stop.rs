//! `stop`, `kill`, `pause`, `unpause`.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::monitor::config::STOP_MARKER;
use crate::state::status::Status;
use crate::state::ContainerRecord;
use std::time::Duration;

/// Docker's default grace period before SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// A signal name (`SIGTERM`, `TERM`, `term`) or number, normalized to the form runtimes
/// accept (`SIGTERM` or the number).
pub fn normalize_signal(s: &str) -> Result<String> {
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n.to_string())
        } else {
            Err(EngineError::Invalid(format!("Invalid signal: {s}")))
        };
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|_| name.clone())
        .map_err(|_| EngineError::Invalid(format!("Invalid signal: {s}")))
}

impl Engine {
    /// Sends the stop signal, waits up to `timeout` seconds, then SIGKILL; returns when
    /// the monitor has recorded the exit and cleaned up.
    pub fn stop(&self, rec: &ContainerRecord, timeout: Option<i64>) -> Result<()> {
        self.stop_with_signal(rec, timeout, None)
    }

    /// `stop -s SIGNAL`: another signal than the container's stop signal.
    pub fn stop_with_signal(
        &self,
        rec: &ContainerRecord,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let sig = signal.map(normalize_signal).transpose()?;
        let _lock = self.lock(&rec.id)?;
        self.stop_locked(rec, timeout, sig.as_deref())
    }

    pub(crate) fn stop_locked(
        &self,
        rec: &ContainerRecord,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let st = self.live_state(rec);
        let dir = self.layout.container(&rec.id);
        if !st.status.is_live() {
            self.wait_monitor_gone(rec, None);
            return Ok(());
        }
        let _ = std::fs::write(dir.join(STOP_MARKER), b"");
        let rt = self.runtime_for(rec);
        if st.status == Status::Paused {
            let _ = rt.resume(&rec.id);
        }
        let t = timeout
            .or(rec.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        if st.status == Status::Running && t != 0 {
            let sig = match signal {
                Some(s) => s.to_string(),
                None => {
                    normalize_signal(&rec.config.stop_signal).unwrap_or_else(|_| "SIGTERM".into())
                }
            };
            let _ = rt.kill(&rec.id, &sig, false);
            let limit = if t < 0 {
                None
            } else {
                Some(Duration::from_secs(t as u64))
            };
            if self.wait_monitor_gone(rec, limit) {
                return Ok(());
            }
        }
        let _ = rt.kill(&rec.id, "SIGKILL", true);
        self.wait_monitor_gone(rec, None);
        Ok(())
    }

    /// `kill -s SIGNAL`: the container must be running.
    pub fn kill(&self, rec: &ContainerRecord, signal: &str) -> Result<()> {
        let sig = normalize_signal(signal)?;
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if st.status != Status::Running && st.status != Status::Paused {
            return Err(EngineError::Conflict(format!(
                "Cannot kill container: {}: container {} is not running",
                rec.name, rec.id
            )));
        }
        let lethal = matches!(sig.as_str(), "SIGKILL" | "9");
        if lethal {
            // A manual kill counts as a stop for the restart policy, as in Docker.
            let _ = std::fs::write(self.layout.container(&rec.id).join(STOP_MARKER), b"");
        }
        self.runtime_for(rec).kill(&rec.id, &sig, false)?;
        if lethal {
            self.wait_monitor_gone(rec, Some(Duration::from_secs(10)));
        }
        Ok(())
    }

    pub fn pause(&self, rec: &ContainerRecord) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let mut st = self.live_state(rec);
        match st.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is already paused",
                    rec.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is not running",
                    rec.id
                )))
            }
        }
        self.runtime_for(rec).pause(&rec.id)?;
        st.status = Status::Paused;
        self.write_status_field(rec, Status::Paused)?;
        Ok(())
    }

    pub fn unpause(&self, rec: &ContainerRecord) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if st.status != Status::Paused {
            return Err(EngineError::Conflict(format!(
                "Container {} is not paused",
                rec.id
            )));
        }
        self.runtime_for(rec).resume(&rec.id)?;
        self.write_status_field(rec, Status::Running)
    }

    /// Changes only the status in status.json (pause/unpause: the monitor keeps running
    /// and rewrites the file only on exit or health updates).
    fn write_status_field(&self, rec: &ContainerRecord, s: Status) -> Result<()> {
        let dir = self.layout.container(&rec.id);
        let mut st =
            crate::state::status::read(&dir).map_err(|e| EngineError::io("read status", e))?;
        st.status = s;
        crate::state::status::write(&dir, &st).map_err(|e| EngineError::io("write status", e))
    }
}
