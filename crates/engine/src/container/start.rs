//! `start`: hand the container to a fresh monitor process and wait until it runs.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::monitor::config::{MonitorConfig, MONITOR_CONFIG_FILE, STOP_MARKER};
use crate::state::ContainerRecord;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Finds a helper binary shipped next to `berth` (berth-monitor, berth-init), else on PATH.
pub fn sibling_binary(name: &str) -> PathBuf {
    if let Some(p) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
    {
        return p;
    }
    PathBuf::from(name)
}

impl Engine {
    /// Starts the container. Detached: returns once it runs. Attached (foreground `run`,
    /// `start -a`): returns the monitor child, which copies the container's stdio to
    /// ours and exits with the container's exit code.
    pub fn start(&self, rec: &ContainerRecord, attach: bool) -> Result<Option<Child>> {
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if st.status.is_live() {
            return Ok(None);
        }
        self.wait_monitor_gone(rec, None);
        let dir = self.layout.container(&rec.id);
        let _ = std::fs::remove_file(dir.join(STOP_MARKER));
        let cfg = MonitorConfig {
            id: rec.id.clone(),
            runtime: rec.config.runtime.clone(),
            runtime_root: self.layout.runtime_root(&rec.config.runtime),
            bundle: self.layout.bundle(&rec.id),
            log_path: self.layout.log(&rec.id),
            log_max_size: rec.config.log_max_size,
            log_max_file: rec.config.log_max_file,
            restart: rec.config.restart,
            health: rec.config.health.clone(),
            tty: rec.config.tty,
            stdin: rec.config.open_stdin,
            cgroup_path: rec.config.cgroup_path.clone(),
            berth_exe: std::env::current_exe()
                .map_err(|e| EngineError::io("current executable", e))?,
            berth_root: self.layout.root.clone(),
            auto_remove: rec.config.auto_remove,
        };
        let cfg_path = dir.join(MONITOR_CONFIG_FILE);
        std::fs::write(&cfg_path, serde_json::to_vec(&cfg).expect("json"))
            .map_err(|e| EngineError::io(format!("write {}", cfg_path.display()), e))?;
        let (sync_r, sync_w) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| EngineError::io("pipe", e.into()))?;
        // The monitor inherits the write end (and marks it close-on-exec itself).
        fcntl(&sync_w, FcntlArg::F_SETFD(FdFlag::empty()))
            .map_err(|e| EngineError::io("fcntl", e.into()))?;
        let mut cmd = Command::new(sibling_binary("berth-monitor"));
        use std::os::fd::AsRawFd;
        cmd.arg("--sync-fd").arg(sync_w.as_raw_fd().to_string());
        if attach {
            cmd.arg("--attach");
        } else {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        cmd.arg(&dir);
        let child = cmd
            .spawn()
            .map_err(|e| EngineError::io("start berth-monitor", e))?;
        drop(cmd);
        drop(sync_w);
        let mut msg = String::new();
        let _ = std::fs::File::from(sync_r).read_to_string(&mut msg);
        if msg.starts_with("ok") {
            return Ok(if attach {
                Some(child)
            } else {
                // The monitor is on its own now (new session); reap nothing.
                drop(child);
                None
            });
        }
        let mut child = child;
        let _ = child.wait();
        let (code, text) = match msg.strip_prefix("err ") {
            Some(rest) => {
                let (c, t) = rest.split_once(' ').unwrap_or((rest, ""));
                (c.parse().unwrap_or(125), t.to_string())
            }
            None => (
                125,
                "berth-monitor exited before the container started".into(),
            ),
        };
        Err(EngineError::Start { msg: text, code })
    }
}
