//! The container's live state, written by its monitor (and by the CLI while no monitor
//! runs) to `<container dir>/status.json`, atomically (temp file + rename). Keeping it out
//! of SQLite keeps the monitor small and lets it report without a database handle.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// Docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
    /// States in which a monitor process is responsible for the container.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// One health check run, as Docker's `State.Health.Log` entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthLogEntry {
    #[serde(rename = "Start")]
    pub start: String,
    #[serde(rename = "End")]
    pub end: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: i32,
    #[serde(rename = "Output")]
    pub output: String,
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Health {
    /// starting, healthy, unhealthy.
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "FailingStreak")]
    pub failing_streak: u32,
    #[serde(rename = "Log")]
    pub log: Vec<HealthLogEntry>,
}

/// Everything that changes while a container lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveState {
    pub status: Status,
    /// Container init's pid on the host (0 when not running).
    pub pid: i32,
    /// The monitor's pid and its start time (clock ticks since boot, /proc/PID/stat field
    /// 22) so a recycled pid after a reboot is not mistaken for it.
    pub monitor_pid: i32,
    pub monitor_start_time: u64,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    /// RFC 3339 with nanoseconds; Docker's zero time when never.
    pub started_at: String,
    pub finished_at: String,
    pub restart_count: u32,
    pub health: Option<Health>,
}

/// Docker's zero time, used for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl LiveState {
    pub fn new_created() -> Self {
        LiveState {
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            ..Default::default()
        }
    }
}

/// File name of the live state inside the container directory.
pub const STATUS_FILE: &str = "status.json";

/// Reads `<dir>/status.json`.
pub fn read(dir: &Path) -> io::Result<LiveState> {
    let data = std::fs::read(dir.join(STATUS_FILE))?;
    serde_json::from_slice(&data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Replaces `<dir>/status.json` atomically.
pub fn write(dir: &Path, st: &LiveState) -> io::Result<()> {
    let tmp = dir.join(format!(".{STATUS_FILE}.{}", std::process::id()));
    let data = serde_json::to_vec(st).map_err(io::Error::other)?;
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, dir.join(STATUS_FILE))
}

/// Now as RFC 3339 with nanoseconds in UTC, as Docker prints times.
pub fn now_rfc3339() -> String {
    rfc3339_nanos(std::time::SystemTime::now())
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` without a date library, so the
/// monitor stays small.
pub fn rfc3339_nanos(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Start time of a process in clock ticks since boot (/proc/PID/stat field 22), or None
/// if it does not exist.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the recorded monitor is still alive (same pid, same start time, not a zombie).
pub fn monitor_alive(st: &LiveState) -> bool {
    if st.monitor_pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", st.monitor_pid)) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next().unwrap_or("");
    let start = fields.nth(18).and_then(|s| s.parse::<u64>().ok());
    !matches!(state, "Z" | "X") && start == Some(st.monitor_start_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_rfc3339_nanos() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123);
        assert_eq!(rfc3339_nanos(t), "2023-11-14T22:13:20.000000123Z");
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert!(rfc3339_nanos(leap).starts_with("2000-02-29T00:00:00"));
    }

    #[test]
    fn own_start_time_is_found() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert_eq!(process_start_time(i32::MAX), None);
    }
}
