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

/// Drops this process's page-table entries for read-only file mappings that hold no
/// private (copied-on-write) pages: program and shared-library code and constants. The
/// pages stay in the page cache and fault back in when used again, so an idle monitor
/// keeps resident only what it touches. Writable mappings, and read-only ones with
/// private pages (relocated data such as RELRO), are left alone: their contents differ
/// from the file.
pub fn release_code_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else {
            continue;
        };
        if let Some((a, b)) = first.split_once('-') {
            // A mapping header: "start-end perms offset dev inode path".
            current = None;
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            if (perms == "r-xp" || perms == "r--p") && path.starts_with('/') {
                if let (Ok(s), Ok(e)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    current = Some((s, e));
                }
            }
        } else if first == "Anonymous:" {
            let private = f.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(1);
            if let (Some((start, end)), 0) = (current.take(), private) {
                // SAFETY: the range is a private read-only file mapping of this process
                // with no anonymous (modified) pages, so every page equals the file's
                // bytes; discarding the mappings' pages loses nothing.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
                }
            }
        }
    }
}
