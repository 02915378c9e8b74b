//! What a monitor needs to know, written by the CLI to `<container dir>/monitor.json`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `--restart`: no, on-failure[:max-retries], always, unless-stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "Name", content = "MaximumRetryCount")]
pub enum RestartPolicy {
    #[default]
    #[serde(rename = "no")]
    No,
    /// 0 = retry forever.
    #[serde(rename = "on-failure")]
    OnFailure(u32),
    #[serde(rename = "always")]
    Always,
    #[serde(rename = "unless-stopped")]
    UnlessStopped,
}

impl RestartPolicy {
    /// Parses Docker's `--restart` value.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (name, max) = match s.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (s, None),
        };
        let p = match (name, max) {
            ("no" | "", None) => RestartPolicy::No,
            ("always", None) => RestartPolicy::Always,
            ("unless-stopped", None) => RestartPolicy::UnlessStopped,
            ("on-failure", None) => RestartPolicy::OnFailure(0),
            ("on-failure", Some(m)) => RestartPolicy::OnFailure(
                m.parse()
                    .map_err(|_| format!("invalid restart policy format: maximum retry count must be an integer: {m:?}"))?,
            ),
            (_, Some(_)) if name != "on-failure" => {
                return Err(format!(
                    "invalid restart policy format: maximum retry count can only be used with 'on-failure': {s:?}"
                ))
            }
            _ => return Err(format!("invalid restart policy format: unknown policy {name:?}")),
        };
        Ok(p)
    }

    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure(_) => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(self) -> u32 {
        match self {
            RestartPolicy::OnFailure(n) => n,
            _ => 0,
        }
    }

    /// Whether a container that exited with `code` after `restarts` restarts is started
    /// again. A manual stop never restarts.
    pub fn should_restart(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
        }
    }
}

/// Docker's restart backoff: 100 ms doubling up to a minute, back to 100 ms once a run
/// lasted at least 10 s.
pub fn next_backoff(prev: Duration, ran_for: Duration) -> Duration {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(60);
    if ran_for >= Duration::from_secs(10) || prev.is_zero() {
        FIRST
    } else {
        (prev * 2).min(MAX)
    }
}

/// A resolved health check (image HEALTHCHECK merged with `--health-*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Docker's `Test` as configured (`["CMD-SHELL", "..."]` or `["CMD", ...]`), for inspect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// Arguments run with `<runtime> exec` (CMD-SHELL becomes `/bin/sh -c CMD`).
    pub argv: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub start_period_ms: u64,
    pub retries: u32,
}

/// The monitor's instructions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorConfig {
    pub id: String,
    /// OCI runtime binary and the state root passed to it as `--root`.
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    pub bundle: PathBuf,
    /// json-file log and rotation (0 = no limit).
    pub log_path: PathBuf,
    pub log_max_size: u64,
    pub log_max_file: u32,
    pub restart: RestartPolicy,
    pub health: Option<HealthCheck>,
    /// `-t`: a pty through `--console-socket`.
    pub tty: bool,
    /// `-i`: keep the container's stdin open.
    pub stdin: bool,
    /// The container's cgroup path as in the spec (for the OOM-kill count).
    pub cgroup_path: String,
    /// The `berth` binary and data root, for clean-up and `--rm` when the container ends.
    pub berth_exe: PathBuf,
    pub berth_root: PathBuf,
    pub auto_remove: bool,
}

pub const MONITOR_CONFIG_FILE: &str = "monitor.json";
/// Present while a user asked the container to stop: no restart.
pub const STOP_MARKER: &str = "stop-requested";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_restart_policies() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert!(RestartPolicy::parse("always:2").is_err());
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("on-failure:x").is_err());
    }

    #[test]
    fn restart_decisions() {
        let p = RestartPolicy::OnFailure(2);
        assert!(p.should_restart(1, 0, false));
        assert!(p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(RestartPolicy::Always.should_restart(0, 100, false));
        assert!(!RestartPolicy::Always.should_restart(0, 0, true));
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let b = next_backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(b, Duration::from_millis(100));
        assert_eq!(next_backoff(b, Duration::ZERO), Duration::from_millis(200));
        assert_eq!(
            next_backoff(Duration::from_secs(50), Duration::ZERO),
            Duration::from_secs(60)
        );
        assert_eq!(
            next_backoff(Duration::from_secs(50), Duration::from_secs(11)),
            Duration::from_millis(100)
        );
    }
}
