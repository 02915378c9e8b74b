//! Loading the compiled program into the kernel: one seccomp(2) call.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::compile::{FLAG_NEW_LISTENER, FLAG_TSYNC, FLAG_TSYNC_ESRCH, FLAG_WAIT_KILLABLE_RECV};
use super::{SeccompError, SeccompFilter};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

impl SeccompFilter {
    /// Loads the filter into the calling thread (all threads with TSYNC). Needs
    /// no_new_privs or CAP_SYS_ADMIN. Returns the notification listener when NOTIFY is
    /// used; the caller passes it on with [`super::send_listener`] and closes it.
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        let mut flags = self.flags;
        if self.notify {
            flags |= FLAG_NEW_LISTENER;
            // TSYNC and NEW_LISTENER both want the return value; ESRCH lets them coexist.
            if flags & FLAG_TSYNC != 0 {
                flags |= FLAG_TSYNC_ESRCH;
            }
        }
        let prog = libc::sock_fprog {
            len: u16::try_from(self.program.len()).map_err(|_| SeccompError::Sys {
                what: "seccomp program longer than 65535 instructions".into(),
                source: Errno::E2BIG,
            })?,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        let mut ret = load(flags, &prog);
        // WAIT_KILLABLE_RECV is new (Linux 5.19) and only a refinement; older kernels
        // reject unknown flags with EINVAL.
        if ret == Err(Errno::EINVAL) && flags & FLAG_WAIT_KILLABLE_RECV != 0 {
            ret = load(flags & !FLAG_WAIT_KILLABLE_RECV, &prog);
        }
        let ret = ret.map_err(|source| SeccompError::Sys {
            what: "seccomp(SECCOMP_SET_MODE_FILTER)".into(),
            source,
        })?;
        if self.notify {
            // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that nobody else owns.
            Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
        } else {
            Ok(None)
        }
    }
}

fn load(flags: libc::c_ulong, prog: &libc::sock_fprog) -> Result<libc::c_long, Errno> {
    // SAFETY: `prog` points at a valid sock_fprog whose filter array outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}
