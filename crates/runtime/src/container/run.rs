//! `run`: create + start + wait + delete in one process (the init skips exec.fifo).

use std::os::fd::AsFd;

use super::{create, delete, relay, Container, CreateOpts};
use crate::error::{Error, Result};
use crate::hooks;
use crate::state::Status;
use crate::sync::{self, tag};

pub struct RunOpts {
    pub create: CreateOpts,
    pub detach: bool,
    pub keep: bool,
}

/// Returns the container's exit status (0 when detached).
pub fn run(opts: RunOpts) -> Result<i32> {
    let mut copts = opts.create;
    copts.wait_for_start = false;
    copts.foreground = !opts.detach;
    if !opts.detach {
        relay::block_signals()?;
    }
    let created = create(&copts)?;
    let pid = created.saved.pid;
    let root = copts.root.clone();
    let id = copts.id.clone();
    // Until the init execs (its end of the sync socket closes) it may still fail.
    loop {
        let m = sync::recv(created.sync.as_fd())?;
        match m.tag {
            0 => break,
            tag::SECCOMP_FD => {
                let st = serde_json::to_vec(&created.saved.oci_state(Status::Created))
                    .unwrap_or_default();
                super::create::forward_listener(&created.saved.config, &m.fds, &st)?;
            }
            tag::ERROR => {
                let err = Error::Msg(String::from_utf8_lossy(&m.payload).into());
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                let c = Container {
                    dir: created.dir,
                    saved: created.saved,
                    status: Status::Stopped,
                };
                let _ = delete::finish(c);
                return Err(err);
            }
            _ => {}
        }
    }
    if let Some(h) = created
        .saved
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststart().as_ref())
    {
        let st = serde_json::to_vec(&created.saved.oci_state(Status::Running)).unwrap_or_default();
        hooks::run_warn("poststart", h, &st);
    }
    if opts.detach {
        return Ok(0);
    }
    // Other commands (state, kill, exec) must not wait for our lock while it runs.
    drop(created.dir);
    let code = relay::wait(pid, created.tty_master)?;
    if !opts.keep {
        match Container::open(&root, &id) {
            // Stray processes (e.g. in a shared pid namespace) go with the container.
            Ok(c) => delete::delete(c, true)?,
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(code)
}
