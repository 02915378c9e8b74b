//! Keeping the runtime binary out of a container's reach (CVE-2019-5736 class).
//!
//! The container's first program is exec'd by a copy of this runtime, and `exec` runs a
//! copy of it inside the container's namespaces. If that program is `#!/proc/self/exe`
//! (or an image binary names it as interpreter), the kernel runs *our* binary inside the
//! container, and a container process can then open its /proc/<pid>/exe and, once it
//! exits, reopen that for writing and replace the host's runtime.
//!
//! Two layers:
//! First, until execve the runtime process in the container is non-dumpable (set in the
//! init and exec children), so container processes cannot open its /proc files.
//! Second, the file behind /proc/self/exe must not be writable through that link. Reopening a
//! /proc/<pid>/exe link goes through the mount the binary was executed from, so a
//! read-only mount makes every such write fail with EROFS. So:
//! cheap check first: if /proc/self/exe already sits on a read-only mount (the
//! binary installed on a read-only /usr, or a re-exec below), nothing to do;
//! otherwise, with CAP_SYS_ADMIN, re-exec ourselves once from a *detached*,
//! read-only bind mount of our own binary (open_tree(OPEN_TREE_CLONE),
//! mount_setattr(RDONLY), execveat). No copy of the binary and no visible mount:
//! the cost is one execve, not the several ms of copying into a memfd;
//! without that privilege (rootless), fall back to a sealed memfd copy.
//!
//! Only create, run and exec need this: they are the commands that start container code.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::error::{msg, Context, Result};
use crate::sys;

const OPEN_TREE_CLONE: u32 = 1;
const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
/// Set in the environment of the sealed re-exec so a failure to seal can never loop.
const REEXEC_MARK: &str = "_BERTH_OCI_SEALED";

/// Whether /proc/self/exe is on a read-only mount already.
pub fn exe_is_read_only() -> Result<bool> {
    let exe = open(
        "/proc/self/exe",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx("open /proc/self/exe")?;
    let st = fstatvfs(&exe).ctx("fstatvfs /proc/self/exe")?;
    Ok(st.flags().contains(FsFlags::ST_RDONLY))
}

/// Makes sure the running binary cannot be written through /proc/<pid>/exe; may re-exec.
pub fn protect() -> Result<()> {
    if exe_is_read_only()? {
        return Ok(());
    }
    if std::env::var_os(REEXEC_MARK).is_some() {
        // The memfd path: a sealed memfd is not read-only-mounted but cannot be written.
        return Ok(());
    }
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| msg("argument contains NUL")))
        .collect::<Result<_>>()?;
    let mut envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());

    let err = match read_only_clone() {
        Ok(fd) => {
            let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
            envp_p.push(std::ptr::null());
            sys::execveat_fd(fd.as_fd(), &argv_p, &envp_p)
        }
        Err(_) => {
            let fd = sealed_memfd()?;
            envp.push(CString::new(format!("{REEXEC_MARK}=1")).map_err(|_| msg("env"))?);
            let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
            envp_p.push(std::ptr::null());
            sys::execveat_fd(fd.as_fd(), &argv_p, &envp_p)
        }
    };
    Err(msg(format!(
        "re-exec the runtime from a read-only copy: {}",
        err.desc()
    )))
}

/// A detached, read-only bind mount of our own binary (needs CAP_SYS_ADMIN).
fn read_only_clone() -> Result<OwnedFd> {
    let fd = sys::open_tree(c"/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
        .ctx("open_tree /proc/self/exe")?;
    sys::mount_setattr_fd(fd.as_fd(), MOUNT_ATTR_RDONLY).ctx("mount_setattr RDONLY")?;
    Ok(fd)
}

/// A sealed in-memory copy of our binary (the unprivileged fallback).
fn sealed_memfd() -> Result<OwnedFd> {
    // SAFETY: valid NUL-terminated name; flags are plain integers.
    let raw = unsafe {
        libc::memfd_create(
            c"berth-oci".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if raw < 0 {
        return Err(nix::errno::Errno::last()).ctx("memfd_create");
    }
    // SAFETY: memfd_create returned a new fd that we now own.
    let memfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut src = std::fs::File::open("/proc/self/exe").ctx("open /proc/self/exe")?;
    let mut dst = std::fs::File::from(memfd.try_clone().ctx("dup memfd")?);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf).ctx("copy runtime binary")?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n]).ctx("copy runtime binary")?;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our own fd with integer arguments.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(nix::errno::Errno::last()).ctx("seal memfd");
    }
    Ok(memfd)
}
