//! The container's terminal: a pty made inside the container (its own devpts), whose
//! master goes to the --console-socket (SCM_RIGHTS, as runc sends it) or to `run`'s own
//! foreground relay; the slave becomes the process's stdio and controlling terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout, fchown, setsid, Uid};

use crate::error::{Context, Result};
use crate::sync;

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);
nix::ioctl_write_int_bad!(set_ctty, libc::TIOCSCTTY);

/// Makes a pty in the current /dev/pts, sends its master on `socket` and makes the slave
/// the controlling terminal and stdio. Call inside the container after pivot_root.
pub fn setup(socket: BorrowedFd<'_>, size: Option<(u16, u16)>, owner: u32) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .ctx("open /dev/ptmx in the container")?;
    grantpt(&master).ctx("grantpt")?;
    unlockpt(&master).ctx("unlockpt")?;
    let name = ptsname_r(&master).ctx("ptsname")?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: the master is a valid pty fd and ws a valid winsize.
        unsafe { set_winsize(master.as_raw_fd(), &ws) }.ctx("process.consoleSize")?;
    }
    let slave: OwnedFd = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_ctx(|| format!("open {name}"))?;
    fchown(&slave, Some(Uid::from_raw(owner)), None).with_ctx(|| format!("chown {name}"))?;
    // runc sends the pty's name as the message data with the master fd attached.
    sync::send(socket, b'/', &name.as_bytes()[1..], &[master.as_raw_fd()])?;
    drop(master);
    setsid().ctx("setsid")?;
    // SAFETY: the slave is a valid tty fd; TIOCSCTTY with arg 0 takes it as our ctty.
    unsafe { set_ctty(slave.as_raw_fd(), 0) }.ctx("TIOCSCTTY")?;
    dup2_stdin(slave.as_fd()).ctx("dup2 pty to stdin")?;
    dup2_stdout(slave.as_fd()).ctx("dup2 pty to stdout")?;
    dup2_stderr(slave.as_fd()).ctx("dup2 pty to stderr")?;
    Ok(())
}
