//! `start`: release a created container's init by reading its exec.fifo, then run the
//! poststart hooks.

use std::os::fd::AsFd;

use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

use super::Container;
use crate::error::{msg, Context, Result};
use crate::state::Status;
use crate::{hooks, sys};

pub fn start(c: &Container) -> Result<()> {
    match c.status {
        Status::Created => {}
        s => {
            return Err(msg(format!(
                "cannot start container {}: it is {s}, not created",
                c.saved.id
            )))
        }
    }
    // Pin the init before releasing it: a short program may exit (and be reaped) the
    // moment the fifo opens.
    let pidfd = sys::pidfd_open(c.saved.pid).ctx("pidfd_open container init")?;
    let fifo_path = c.dir.fifo_path();
    // Non-blocking open never hangs; the init (blocked opening the write end) wakes up.
    let fifo = open(
        &fifo_path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx("open exec.fifo")?;
    loop {
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => {
                r.ctx("poll exec.fifo")?;
            }
        }
        let mut b = [0u8; 1];
        match nix::unistd::read(&fifo, &mut b) {
            Ok(1) => break,
            Ok(_) | Err(nix::errno::Errno::EAGAIN) => {
                if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                    return Err(msg(format!(
                        "cannot start container {}: its init process exited",
                        c.saved.id
                    )));
                }
                // Spurious wakeup (no writer yet); a short sleep avoids a busy loop on HUP.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(e).ctx("read exec.fifo"),
        }
    }
    std::fs::remove_file(&fifo_path).ctx("remove exec.fifo")?;
    if let Some(h) = c
        .saved
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststart().as_ref())
    {
        let st = serde_json::to_vec(&c.saved.oci_state(Status::Running)).unwrap_or_default();
        // A failing poststart hook is reported but does not stop the container (spec).
        hooks::run_warn("poststart", h, &st);
    }
    Ok(())
}
