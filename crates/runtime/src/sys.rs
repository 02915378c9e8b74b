//! Thin wrappers over the syscalls the runtime needs that nix does not cover.
//! Each wrapper is the only place its `unsafe` lives.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

fn check(ret: libc::c_long) -> nix::Result<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// fork-like clone with extra namespace flags: returns 0 in the child, the child's pid in
/// the parent. Only safe to use from a single-threaded process (berth-oci is one).
pub fn clone_fork(ns_flags: libc::c_int) -> nix::Result<libc::pid_t> {
    let flags = (ns_flags as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: clone with a NULL stack behaves like fork: the child gets a copy of the
    // address space and continues here. The process is single-threaded, so no lock held by
    // another thread can be copied in a locked state.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    check(ret).map(|p| p as libc::pid_t)
}

/// setns(2) on a namespace fd or a pidfd.
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> nix::Result<()> {
    // SAFETY: plain syscall on a valid borrowed fd.
    let ret = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    check(ret as libc::c_long).map(drop)
}

/// pidfd_open(2).
pub fn pidfd_open(pid: libc::pid_t) -> nix::Result<OwnedFd> {
    // SAFETY: plain syscall, no pointers.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = check(ret)? as RawFd;
    // SAFETY: the kernel just returned this fd to us; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// pidfd_send_signal(2): signals exactly the process the pidfd refers to.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> nix::Result<()> {
    // SAFETY: NULL siginfo is allowed; fd is valid for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    check(ret).map(drop)
}

/// close_range(2) with flags (0 or CLOSE_RANGE_CLOEXEC).
pub fn close_range(first: u32, last: u32, flags: u32) -> nix::Result<()> {
    // SAFETY: closing fds we own; callers make sure nothing still uses them.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    check(ret).map(drop)
}

pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// open_tree(2): a detached copy (OPEN_TREE_CLONE) of the mount at `path`.
pub fn open_tree(path: &CStr, flags: u32) -> nix::Result<OwnedFd> {
    // SAFETY: path is a valid NUL-terminated string for the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    let fd = check(ret)? as RawFd;
    // SAFETY: the kernel returned this fd; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) setting `attr_set` on the mount `fd` (with AT_EMPTY_PATH).
pub fn mount_setattr_fd(fd: BorrowedFd<'_>, attr_set: u64) -> nix::Result<()> {
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: attr is a valid struct of the size we pass; empty path with AT_EMPTY_PATH.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(ret).map(drop)
}

/// execveat(2) of an fd; returns only on failure.
pub fn execveat_fd(
    fd: BorrowedFd<'_>,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> Errno {
    // SAFETY: argv/envp are NULL-terminated arrays of valid C strings (callers build them
    // with a trailing null pointer); the empty path plus AT_EMPTY_PATH executes `fd`.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::last()
}

/// execve(2); returns only on failure.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    // SAFETY: as for execveat_fd: NULL-terminated arrays of valid C strings.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, prio).
pub fn ioprio_set_self(class: i32, level: i32) -> nix::Result<()> {
    let prio = (class << 13) | level;
    // SAFETY: plain syscall, no pointers.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, prio) };
    check(ret).map(drop)
}

#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
}

/// sched_setattr(2) for the calling thread.
pub fn sched_setattr_self(attr: &mut SchedAttr) -> nix::Result<()> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: attr points to a valid, correctly sized struct for the call's duration.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) };
    check(ret).map(drop)
}

/// personality(2).
pub fn personality(persona: libc::c_ulong) -> nix::Result<()> {
    // SAFETY: plain syscall, no pointers.
    let ret = unsafe { libc::personality(persona) };
    check(ret as libc::c_long).map(drop)
}

/// umask(2).
pub fn umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// setgroups(2) with the given list (empty clears).
pub fn setgroups(gids: &[u32]) -> nix::Result<()> {
    // SAFETY: pointer and length describe a valid slice of gid_t (u32).
    let ret = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
    check(ret as libc::c_long).map(drop)
}

/// The raw fd number, for messages and /proc paths.
pub fn raw(fd: &impl AsRawFd) -> RawFd {
    fd.as_raw_fd()
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// fork-like clone3 with namespace flags, optionally straight into a cgroup2 directory
/// (`cgroup_fd`), which avoids a later cgroup.procs write. Same single-thread caveat as
/// [`clone_fork`].
pub fn clone3_fork(ns_flags: libc::c_int, cgroup_fd: Option<RawFd>) -> nix::Result<libc::pid_t> {
    let mut args = CloneArgs {
        flags: ns_flags as u32 as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: args is a valid clone_args of the size passed; with no stack given clone3
    // behaves like fork (child continues here on a copy of our stack). The process is
    // single-threaded, so no other thread's locks are copied.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    check(ret).map(|p| p as libc::pid_t)
}
