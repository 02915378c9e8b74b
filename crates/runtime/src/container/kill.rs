//! `kill`: signal the init (through a pidfd, so a recycled pid is never hit) or, with
//! --all, every process in the container's cgroup.

use std::os::fd::AsFd;

use nix::sys::signal::Signal;

use super::Container;
use crate::error::{msg, Context, Result};
use crate::state::Status;
use crate::sys;

/// Parses a signal given as a number, `TERM`, or `SIGTERM` (any case).
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(msg(format!("invalid signal {s:?}")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map(|s| s as i32)
        .map_err(|_| msg(format!("invalid signal {s:?}")))
}

pub fn kill(c: &Container, sig: i32, all: bool) -> Result<()> {
    if matches!(c.status, Status::Stopped | Status::Creating) && !all {
        return Err(msg(format!("container {} is not running", c.saved.id)));
    }
    if all {
        let cg = c.cgroup()?;
        if c.status != Status::Stopped {
            // The init first, through its pidfd; then everything in the cgroup.
            let _ = signal_init(c, sig);
        }
        return cg.kill_all(sig);
    }
    signal_init(c, sig)
}

fn signal_init(c: &Container, sig: i32) -> Result<()> {
    let pidfd = sys::pidfd_open(c.saved.pid).ctx("open container init")?;
    // Re-check identity now that the pidfd pins the process.
    if !crate::state::process_alive(c.saved.pid, c.saved.init_start_time) {
        return Err(msg(format!("container {} is not running", c.saved.id)));
    }
    sys::pidfd_send_signal(pidfd.as_fd(), sig).ctx("kill")
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
