//! The few raw system calls the monitor needs that nix does not wrap safely.

use nix::pty::Winsize;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Takes ownership of an inherited descriptor number.
///
/// The caller promises that `fd` is open and owned by nobody else in this process.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if nix::fcntl::fcntl(
        // SAFETY: fcntl(F_GETFD) only probes the number; it does not take ownership.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .is_err()
    {
        return Err(io::Error::other(format!("fd {fd} is not open")));
    }
    // SAFETY: the fd is open (checked above) and the parent handed it to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The terminal size of `fd`, if it is a terminal.
pub fn get_winsize(fd: &impl AsRawFd) -> Option<Winsize> {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize into the valid pointer we pass.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws as *mut Winsize) };
    (r == 0).then_some(ws)
}

/// Sets the terminal size of `fd` (a pty master).
pub fn set_winsize(fd: &impl AsRawFd, ws: &Winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one struct winsize from the valid pointer we pass.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const Winsize) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one descriptor sent with SCM_RIGHTS (a runtime's `--console-socket` protocol).
pub fn recv_fd(sock: &impl AsRawFd) -> io::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor in our table for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(io::Error::other("console socket: no descriptor received"))
}
