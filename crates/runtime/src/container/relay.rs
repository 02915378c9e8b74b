//! Foreground waiting for `run` and `exec`: forward signals to the container process,
//! relay a terminal when we own its pty master, and return the exit status the way runc
//! does (exit code, or 128 + signal number).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Context, Result};

/// Signals `run`/`exec` forward to the container (blocked before the clone; the child
/// unblocks them).
pub fn forwarded_signals() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
        Signal::SIGCONT,
    ] {
        s.add(sig);
    }
    s
}

pub fn block_signals() -> Result<()> {
    forwarded_signals().thread_block().ctx("block signals")
}

fn exit_code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(put_winsize, libc::TIOCSWINSZ, libc::winsize);

fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: both are fds for the call; ws is a valid winsize buffer.
    unsafe {
        if get_winsize(from.as_raw_fd(), &mut ws).is_ok() {
            let _ = put_winsize(to.as_raw_fd(), &ws);
        }
    }
}

/// Waits for `pid` (our child or reparented to us), forwarding signals and relaying the
/// terminal; returns its exit code.
pub fn wait(pid: i32, master: Option<OwnedFd>) -> Result<i32> {
    let sfd = SignalFd::with_flags(&forwarded_signals(), SfdFlags::SFD_CLOEXEC).ctx("signalfd")?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let saved_termios = match &master {
        Some(m) => {
            copy_winsize(stdin.as_fd(), m.as_fd());
            tcgetattr(stdin.as_fd()).ok().inspect(|t| {
                let mut raw = t.clone();
                cfmakeraw(&mut raw);
                let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
            })
        }
        None => None,
    };
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut buf = vec![0u8; 16384];
    let mut code = None;
    // Reap anything that already exited before the signalfd existed.
    code = code.or_else(|| reap(pid));
    while code.is_none() {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &master {
            if master_open {
                fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            }
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => {
                r.ctx("poll")?;
            }
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            if let Ok(Some(si)) = sfd.read_signal() {
                let sig = si.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    code = reap(pid);
                } else if sig == libc::SIGWINCH {
                    if let Some(m) = &master {
                        copy_winsize(stdin.as_fd(), m.as_fd());
                    }
                } else {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::try_from(sig).ok());
                }
            }
        }
        let mut i = 1;
        if let Some(m) = &master {
            if master_open {
                if ready[i] {
                    match nix::unistd::read(m, &mut buf) {
                        Ok(0) | Err(_) => master_open = false,
                        Ok(n) => {
                            let _ = write_all(stdout.as_fd(), &buf[..n]);
                        }
                    }
                }
                i += 1;
            }
            if stdin_open && ready.get(i).copied().unwrap_or(false) {
                match nix::unistd::read(&stdin, &mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let _ = write_all(m.as_fd(), &buf[..n]);
                    }
                }
            }
        }
    }
    if let Some(m) = &master {
        // Drain what the process wrote just before exiting.
        let _ = nix::fcntl::fcntl(
            m,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        while let Ok(n) = nix::unistd::read(m, &mut buf) {
            if n == 0 {
                break;
            }
            let _ = write_all(stdout.as_fd(), &buf[..n]);
        }
    }
    if let Some(t) = saved_termios {
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &t);
    }
    Ok(code.unwrap_or(255))
}

/// Reaps exited children without blocking; the container process's exit code if it is
/// among them.
fn reap(pid: i32) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(ws) => {
                if ws.pid() == Some(Pid::from_raw(pid)) {
                    code = exit_code(ws);
                }
            }
        }
    }
    code
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
