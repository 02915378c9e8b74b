//! OCI hooks: each is run with the container state JSON on stdin, its own env, and an
//! optional timeout after which it is killed and counts as failed.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::Hook;

use crate::error::{msg, Result};
use crate::sys;

/// Runs `hooks` (of kind `kind`, e.g. "prestart") in order; the first failure stops.
pub fn run(kind: &str, hooks: &[Hook], state: &[u8]) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state)
            .map_err(|e| msg(format!("hooks.{kind}[{i}] ({}): {e}", h.path().display())))?;
    }
    Ok(())
}

/// poststart/poststop: a failing hook is only a warning (runtime-spec); the remaining
/// hooks still run and the operation goes on.
pub fn run_warn(kind: &str, hooks: &[Hook], state: &[u8]) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state) {
            eprintln!(
                "berth-oci: warning: hooks.{kind}[{i}] ({}): {e}",
                h.path().display()
            );
        }
    }
}

fn run_one(h: &Hook, state: &[u8]) -> std::result::Result<(), String> {
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(h.path());
    if let Some(a0) = args.first() {
        cmd.arg0(a0);
    }
    cmd.args(args.iter().skip(1));
    cmd.env_clear();
    for e in h.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin; that is not an error.
        let _ = stdin.write_all(state);
    }
    if let Some(secs) = h.timeout() {
        let pidfd = sys::pidfd_open(child.id() as i32).map_err(|e| format!("pidfd_open: {e}"))?;
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        let ms = (secs as u64).saturating_mul(1000).min(i32::MAX as u64) as i32;
        let ready = loop {
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(|e| format!("poll: {e}"))?,
            }
        };
        if ready == 0 {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {secs}s"));
        }
    }
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("failed: {status}"))
    }
}
