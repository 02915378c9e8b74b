//! Container lifecycle without a daemon: every `berth` command opens the state database,
//! takes the container's lock for lifecycle changes, and hands running containers to
//! their monitor processes.

pub mod attach;
mod basic_spec;
pub mod boot;
pub mod cleanup;
pub mod copy;
pub mod create;
pub mod exec;
pub mod inspect;
pub mod networks;
pub mod start;
pub mod stats;
pub mod stop;

use crate::error::{EngineError, Result};
use crate::lock::Lock;
use crate::paths::Layout;
use crate::runtime_client::Runtime;
use crate::state::status::{self, LiveState, Status};
use crate::state::{ContainerDb, ContainerRecord};
use std::path::Path;
use std::time::Duration;

pub use create::{CreateRequest, ImageInfo};

/// Docker's exit code recorded for a container whose monitor vanished (crash, reboot).
const LOST_EXIT_CODE: i32 = 255;

/// Entry point for container operations on one data root.
pub struct Engine {
    pub layout: Layout,
    pub db: ContainerDb,
}

impl Engine {
    pub fn open(root: &Path) -> Result<Self> {
        // Monitors change directory; every path they get must be absolute.
        let root = std::path::absolute(root)
            .map_err(|e| EngineError::io(format!("data root {}", root.display()), e))?;
        let root = root.as_path();
        let layout = Layout::new(root);
        std::fs::create_dir_all(layout.containers())
            .map_err(|e| EngineError::io(format!("create {}", layout.containers().display()), e))?;
        let engine = Engine {
            db: ContainerDb::open(root)?,
            layout,
        };
        engine.reconcile_after_boot();
        Ok(engine)
    }

    pub fn find(&self, reference: &str) -> Result<ContainerRecord> {
        self.db.find(reference)
    }

    /// Lock serializing lifecycle operations on one container.
    pub fn lock(&self, id: &str) -> Result<Lock> {
        let p = self.layout.container(id).join("lock");
        Lock::exclusive(&p).map_err(|e| EngineError::io(format!("lock {}", p.display()), e))
    }

    pub fn runtime_for(&self, rec: &ContainerRecord) -> Runtime {
        Runtime::new(
            rec.config.runtime.clone(),
            self.layout.runtime_root(&rec.config.runtime),
        )
    }

    /// The container's live state, reconciled: a container recorded as running whose
    /// monitor is gone (crash, reboot) becomes exited, and its leftovers are cleaned.
    pub fn live_state(&self, rec: &ContainerRecord) -> LiveState {
        let dir = self.layout.container(&rec.id);
        let st = status::read(&dir).unwrap_or_else(|_| LiveState::new_created());
        if !st.status.is_live() || status::monitor_alive(&st) {
            return st;
        }
        let Ok(_lock) = self.lock(&rec.id) else {
            return st;
        };
        let mut st = status::read(&dir).unwrap_or(st);
        if st.status.is_live() && !status::monitor_alive(&st) {
            let _ = self.runtime_for(rec).delete(&rec.id, true);
            let _ = self.cleanup(rec, false, false);
            st.status = Status::Exited;
            st.pid = 0;
            st.exit_code = LOST_EXIT_CODE;
            st.finished_at = status::now_rfc3339();
            let _ = status::write(&dir, &st);
        }
        st
    }

    /// Waits until the container's monitor process has finished (clean-up included).
    pub fn wait_monitor_gone(&self, rec: &ContainerRecord, limit: Option<Duration>) -> bool {
        let dir = self.layout.container(&rec.id);
        let start = std::time::Instant::now();
        loop {
            let st = match status::read(&dir) {
                Ok(s) => s,
                Err(_) => return true,
            };
            if !status::monitor_alive(&st) {
                return true;
            }
            if limit.is_some_and(|l| start.elapsed() >= l) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `wait`: blocks until the container is not running; returns its exit code.
    pub fn wait(&self, rec: &ContainerRecord) -> i32 {
        let dir = self.layout.container(&rec.id);
        let mut last = 0;
        loop {
            let st = match status::read(&dir) {
                Ok(s) => s,
                Err(_) => return last, // removed (--rm)
            };
            last = st.exit_code;
            let live = st.status.is_live() && status::monitor_alive(&st);
            let starting = st.status == Status::Created && status::monitor_alive(&st);
            if !live && !starting {
                return self.live_state(rec).exit_code;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// While a foreground monitor owns the terminal, ^C and friends are its to forward: the
/// waiting `berth` ignores them (call only after the monitor was spawned, so it does not
/// inherit the ignored dispositions).
pub fn ignore_terminal_signals() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    for s in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGHUP,
    ] {
        // SAFETY: installing SIG_IGN runs no code of ours in signal context.
        let _ = unsafe { signal(s, SigHandler::SigIgn) };
    }
}
