//! berth-init: the `--init` process. As PID 1 of a container it starts the command,
//! forwards termination and job-control signals to it, reaps every zombie that gets
//! reparented to it, and exits with the command's status (128+N if killed by signal N).
//!
//! Usage: berth-init [--] COMMAND [ARG...]
//!
//! It must run in any image, including ones without a C library, so build.rs compiles it
//! on its own with a statically linked C runtime (a workspace-wide crt-static would break
//! proc-macros). Being outside Cargo's dependency graph it cannot use the libc crate: the
//! few libc functions it needs are declared below (Linux generic signal numbers, as on
//! x86_64 and aarch64).

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_ulong, c_void};
use std::os::unix::ffi::OsStrExt;

/// glibc's sigset_t and siginfo_t are both 128 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct SigSet([u64; 16]);
#[repr(C)]
struct SigInfo([u64; 16]);

extern "C" {
    fn fork() -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn getpid() -> c_int;
    fn setpgid(pid: c_int, pgid: c_int) -> c_int;
    fn getpgrp() -> c_int;
    fn isatty(fd: c_int) -> c_int;
    fn tcsetpgrp(fd: c_int, pgrp: c_int) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn sigemptyset(set: *mut SigSet) -> c_int;
    fn sigaddset(set: *mut SigSet, sig: c_int) -> c_int;
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn sigwaitinfo(set: *const SigSet, info: *mut SigInfo) -> c_int;
    fn prctl(option: c_int, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> c_int;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    fn _exit(code: c_int) -> !;
}

const SIGHUP: c_int = 1;
const SIGINT: c_int = 2;
const SIGQUIT: c_int = 3;
const SIGUSR1: c_int = 10;
const SIGUSR2: c_int = 12;
const SIGPIPE: c_int = 13;
const SIGALRM: c_int = 14;
const SIGTERM: c_int = 15;
const SIGCHLD: c_int = 17;
const SIGCONT: c_int = 18;
const SIGTTOU: c_int = 22;
const SIGWINCH: c_int = 28;
const SIG_IGN: usize = 1;
const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const WNOHANG: c_int = 1;
const PR_SET_CHILD_SUBREAPER: c_int = 36;
const ENOENT: i32 = 2;
const ESRCH: i32 = 3;

/// Signals passed on to the child; everything else keeps its default meaning for us.
const FORWARDED: [c_int; 10] = [
    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGCONT, SIGPIPE,
];

fn die(msg: &str) -> ! {
    eprintln!("berth-init: {msg}");
    std::process::exit(2)
}

/// The signals we wait for: the forwarded ones and SIGCHLD.
fn wait_set() -> SigSet {
    let mut set = SigSet([0; 16]);
    // SAFETY: `set` is a valid, writable sigset.
    unsafe { sigemptyset(&mut set) };
    for s in FORWARDED.iter().chain([SIGCHLD].iter()) {
        // SAFETY: `set` is initialised and `s` is a valid signal number.
        unsafe { sigaddset(&mut set, *s) };
    }
    set
}

/// In the forked child: own process group, foreground on the terminal if there is one,
/// the original signal mask, then exec. Never returns.
fn exec_child(argv: &[CString], old_mask: &SigSet) -> ! {
    let mut ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: plain syscalls with valid arguments; `ptrs` is a NULL-terminated array of
    // pointers into `argv`, which outlives execvp; _exit never returns.
    unsafe {
        setpgid(0, 0);
        if isatty(0) == 1 {
            // We are in a background group until tcsetpgrp succeeds: ignore SIGTTOU.
            let prev = signal(SIGTTOU, SIG_IGN);
            tcsetpgrp(0, getpgrp());
            signal(SIGTTOU, prev);
        }
        sigprocmask(SIG_SETMASK, old_mask, std::ptr::null_mut());
        execvp(ptrs[0], ptrs.as_ptr());
    }
    let err = std::io::Error::last_os_error();
    let msg = format!("berth-init: exec {}: {err}\n", argv[0].to_string_lossy());
    let code = if err.raw_os_error() == Some(ENOENT) {
        127
    } else {
        126
    };
    // SAFETY: writes a valid buffer to stderr, then exits without running atexit handlers
    // inherited from the parent.
    unsafe {
        write(2, msg.as_ptr().cast(), msg.len());
        _exit(code)
    }
}

/// Reaps every exited child; returns the child's exit code once it has exited.
fn reap(child: c_int) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid out-pointer; WNOHANG keeps the call non-blocking.
        let pid = unsafe { waitpid(-1, &mut status, WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == child {
            let sig = status & 0x7f;
            if sig == 0 {
                result = Some((status >> 8) & 0xff); // exited
            } else if sig != 0x7f {
                result = Some(128 + sig); // killed by a signal
            }
        }
    }
}

fn main() {
    let mut args: Vec<CString> = std::env::args_os()
        .skip(1)
        .map(|a| CString::new(a.as_bytes()).unwrap_or_else(|_| die("argument contains NUL")))
        .collect();
    if args.first().is_some_and(|a| a.as_bytes() == b"--") {
        args.remove(0);
    }
    if args.is_empty() {
        die("usage: berth-init [--] COMMAND [ARG...]");
    }
    // SAFETY: getpid has no preconditions.
    if unsafe { getpid() } != 1 {
        // Outside a PID namespace, orphaned grandchildren must still come to us.
        // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
        unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
    let set = wait_set();
    let mut old_mask = SigSet([0; 16]);
    // SAFETY: both pointers are valid sigsets for the call.
    if unsafe { sigprocmask(SIG_BLOCK, &set, &mut old_mask) } != 0 {
        die(&format!("sigprocmask: {}", std::io::Error::last_os_error()));
    }

    // SAFETY: single-threaded here, so the child may run arbitrary code before exec.
    let child = unsafe { fork() };
    if child < 0 {
        die(&format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        exec_child(&args, &old_mask);
    }

    loop {
        let mut info = SigInfo([0; 16]);
        // SAFETY: `set` and `info` are valid for the call.
        let sig = unsafe { sigwaitinfo(&set, &mut info) };
        if sig < 0 {
            continue; // EINTR
        }
        if sig == SIGCHLD {
            if let Some(code) = reap(child) {
                std::process::exit(code);
            }
        } else {
            // SAFETY: kill with our child's pid and a valid signal number.
            if unsafe { kill(child, sig) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(ESRCH) {
                    eprintln!("berth-init: forwarding signal {sig}: {e}");
                }
            }
        }
    }
}
