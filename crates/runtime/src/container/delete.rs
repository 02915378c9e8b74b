//! `delete`: remove a stopped container (or, with --force, kill it first): its
//! processes, cgroup and state; then the poststop hooks.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Container;
use crate::error::{msg, Result};
use crate::hooks;
use crate::state::{self, Status};

pub fn delete(c: Container, force: bool) -> Result<()> {
    match c.status {
        Status::Stopped => {}
        Status::Created | Status::Creating => kill_all(&c)?,
        _ if force => kill_all(&c)?,
        s => {
            return Err(msg(format!(
                "cannot delete container {} that is not stopped: {s}",
                c.saved.id
            )))
        }
    }
    finish(c)
}

/// Cgroup and state removal plus poststop hooks, for a container whose processes are gone.
pub fn finish(c: Container) -> Result<()> {
    let cg = c.cgroup()?;
    cg.destroy()?;
    let st = serde_json::to_vec(&c.saved.oci_state(Status::Stopped)).unwrap_or_default();
    let hooks = c.saved.config.hooks().clone();
    c.dir.remove()?;
    if let Some(h) = hooks.as_ref().and_then(|h| h.poststop().as_ref()) {
        // Poststop failures are logged; the container is gone either way (spec).
        hooks::run_warn("poststop", h, &st);
    }
    Ok(())
}

fn kill_all(c: &Container) -> Result<()> {
    let cg = c.cgroup()?;
    let alive = || state::process_alive(c.saved.pid, c.saved.init_start_time);
    if alive() {
        let _ = super::kill::kill(c, Signal::SIGKILL as i32, true);
        // Also the init itself, in case the cgroup could not be listed.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.saved.pid), Signal::SIGKILL);
    }
    // The init may be our child (run) or not (create): wait for it to vanish either way.
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive() || !cg.pids().unwrap_or_default().is_empty() {
        let _ = nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(c.saved.pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
        if Instant::now() > deadline {
            return Err(msg(format!(
                "container {}: processes did not exit after SIGKILL",
                c.saved.id
            )));
        }
        for p in cg.pids().unwrap_or_default() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}
