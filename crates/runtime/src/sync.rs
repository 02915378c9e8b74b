//! The parent/child sync channel: a SOCK_SEQPACKET socketpair, one message per step,
//! optionally carrying file descriptors (SCM_RIGHTS). Also used for --console-socket.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

use crate::error::{Context, Result};

/// Message tags on the sync channel.
pub mod tag {
    /// parent → child: ids mapped, cgroup joined: go on.
    pub const GO: u8 = b'g';
    /// child → parent: run prestart/createRuntime hooks now, then answer HOOKS_DONE.
    pub const RUN_HOOKS: u8 = b'h';
    pub const HOOKS_DONE: u8 = b'd';
    /// child → parent: set up; (create) waiting on exec.fifo / (run) about to exec.
    pub const READY: u8 = b'r';
    /// child → parent: an error text; the child exits after sending it.
    pub const ERROR: u8 = b'e';
    /// child → parent: seccomp notify listener fd attached.
    pub const SECCOMP_FD: u8 = b's';
    /// intermediate child → parent: pid (as i32 LE) of the container init it forked.
    pub const PID: u8 = b'p';
    /// child → parent: new user namespace made, please write uid/gid maps.
    pub const MAP_IDS: u8 = b'm';
}

/// Creates the sync socketpair (both ends close-on-exec).
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ctx("socketpair")
}

/// Sends one message: tag + payload, with `fds` attached.
pub fn send(sock: BorrowedFd<'_>, tag: u8, payload: &[u8], fds: &[RawFd]) -> Result<()> {
    let t = [tag];
    let iov = [IoSlice::new(&t), IoSlice::new(payload)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None).ctx("sync send")?;
    Ok(())
}

/// A received message. `tag == 0` means the peer closed (e.g. exec'd or died).
pub struct Msg {
    pub tag: u8,
    pub payload: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// Receives one message (blocking).
pub fn recv(sock: BorrowedFd<'_>) -> Result<Msg> {
    let mut buf = vec![0u8; 65536];
    let mut cbuf = nix::cmsg_space!([RawFd; 4]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let m = loop {
            match recvmsg::<()>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut cbuf),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.ctx("sync receive")?,
            }
        };
        let mut fds = Vec::new();
        for c in m.cmsgs().ctx("sync receive")? {
            if let ControlMessageOwned::ScmRights(v) = c {
                for fd in v {
                    // SAFETY: the kernel installed these fds in our table for us.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        (m.bytes, fds)
    };
    if n == 0 {
        return Ok(Msg {
            tag: 0,
            payload: Vec::new(),
            fds,
        });
    }
    buf.truncate(n);
    let tag = buf.remove(0);
    Ok(Msg {
        tag,
        payload: buf,
        fds,
    })
}
