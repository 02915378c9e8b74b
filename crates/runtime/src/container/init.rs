//! The container's init process, from clone to execve. It runs as a copy of the runtime
//! (no re-exec): enter namespaces, build the root filesystem, run the in-container hooks,
//! set up the process, wait for `start` on exec.fifo (create) and exec the program.
//! Any error goes to the parent over the sync socket before exiting.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{fcntl, open, openat, FcntlArg, FdFlag, OFlag};
use nix::sys::signal::{signal, sigprocmask, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::create::{state_doc, InitArgs};
use crate::error::{msg, Context, Error, Result};
use crate::process::{self, Executable};
use crate::rootfs::{self, RootfsParams};
use crate::seccomp::SeccompFilter;
use crate::state::Status;
use crate::sync::{self, tag};
use crate::{console, hooks, namespaces, sys};

/// Set once READY went out: the runtime may be gone, so errors also go to our stderr.
static READY_SENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn fail(sock: BorrowedFd<'_>, e: &Error) -> ! {
    if READY_SENT.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("berth-oci: container init: {e}");
    }
    let _ = sync::send(sock, tag::ERROR, e.to_string().as_bytes(), &[]);
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the parent.
    unsafe { libc::_exit(1) }
}

/// Restores what the runtime changed for itself: signal mask and SIGPIPE disposition
/// (Rust ignores SIGPIPE; an ignored signal would survive execve into the container).
pub(super) fn reset_signals() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: restoring the default disposition installs no Rust handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Intermediate process (joined user/pid namespaces): enter, unshare, fork the init.
pub(super) fn intermediate(a: &InitArgs<'_>) -> ! {
    reset_signals();
    let sock = a.sync.as_fd();
    let r = (|| -> Result<()> {
        a.plan.enter_joined(true)?;
        let mut flags = a.plan.new_flags & !(libc::CLONE_NEWPID | a.plan.made_by_init());
        if flags & libc::CLONE_NEWUSER != 0 {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
                .ctx("create user namespace")?;
            sync::send(sock, tag::MAP_IDS, &[], &[])?;
            if sync::recv(sock)?.tag != tag::GO {
                return Err(msg("runtime went away"));
            }
            flags &= !libc::CLONE_NEWUSER;
        }
        nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(flags))
            .ctx("create namespaces")?;
        if let Some((_, f)) = a
            .plan
            .join
            .iter()
            .find(|(t, _)| *t == LinuxNamespaceType::Pid)
        {
            sys::setns(f.as_fd(), libc::CLONE_NEWPID).ctx("join pid namespace")?;
        } else if a.plan.has_new(LinuxNamespaceType::Pid) {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)
                .ctx("create pid namespace")?;
        }
        let pid = sys::clone_fork(0).ctx("fork the container init")?;
        if pid == 0 {
            let inner = InitArgs {
                namespaces_entered: true,
                ..*a
            };
            run(&inner);
        }
        sync::send(sock, tag::PID, &pid.to_le_bytes(), &[])
    })();
    match r {
        // SAFETY: see fail(); nothing of ours needs flushing.
        Ok(()) => unsafe { libc::_exit(0) },
        Err(e) => fail(sock, &e),
    }
}

/// The init: never returns.
pub(super) fn run(a: &InitArgs<'_>) -> ! {
    let sock = a.sync.as_fd();
    match setup_and_exec(a) {
        Ok(never) => match never {},
        Err(e) => fail(sock, &e),
    }
}

pub(super) enum Never {}

fn setup_and_exec(a: &InitArgs<'_>) -> Result<Never> {
    reset_signals();
    for t in a.self_join.into_iter().flatten() {
        std::fs::write(t, "0").with_ctx(|| format!("join cgroup {}", t.display()))?;
    }
    // The state-dir lock belongs to the runtime command, not to the container.
    let _ = nix::unistd::close(a.lock_fd);
    // Before set_dumpable(false) (see open_timens_offsets).
    let timens_offsets = match &a.plan.time_offsets {
        Some(_) => Some(namespaces::open_timens_offsets()?),
        None => None,
    };
    // Not dumpable until execve: container processes cannot ptrace us or open our
    // /proc/<pid>/exe or fds (CVE-2019-5736 class); execve resets this.
    nix::sys::prctl::set_dumpable(false).ctx("prctl(PR_SET_DUMPABLE)")?;
    let wait_for_start = a.fifo.is_some();
    if wait_for_start {
        // Die with `create` if it dies before we are ready; cleared before READY.
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    }
    let sock = a.sync.as_fd();
    let go = sync::recv(sock)?;
    if go.tag != tag::GO || go.payload.len() != 4 {
        return Err(msg("runtime went away during create"));
    }
    let host_pid = i32::from_le_bytes(go.payload[..4].try_into().unwrap_or_default());
    if !a.namespaces_entered {
        a.plan.enter_joined(false)?;
    }
    let spec = a.spec;
    let process: &Process = spec
        .process()
        .as_ref()
        .ok_or_else(|| msg("process: missing"))?;
    let in_user_ns =
        a.plan.has_new(LinuxNamespaceType::User) || a.plan.joins(LinuxNamespaceType::User);
    // Still with the runtime's credentials: a non-dumpable process's /proc/self files
    // belong to host root, which the namespace's root is not (see become_userns_root).
    process::limits::apply_oom_score_adj(process)?;
    // Likewise the bind mount sources, while our credentials may still pass directories
    // that the namespace's root may not (see rootfs::open_bind_sources).
    let bind_sources = if in_user_ns {
        rootfs::open_bind_sources(spec, a.bundle)
    } else {
        Vec::new()
    };
    // Read once, while the host /proc is ours; only a user namespace can deny it.
    let setgroups_denied = in_user_ns
        && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if in_user_ns {
        // The maps are written (GO above) or the namespace was joined: from here on
        // everything is created as the container's root, which the namespace maps.
        process::user::become_userns_root(!setgroups_denied)?;
        if wait_for_start {
            // The credential change cleared it.
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
        }
    }
    if a.plan.made_by_init() & libc::CLONE_NEWIPC != 0 {
        // As the user namespace's root (see Plan::made_by_init).
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWIPC).ctx("create ipc namespace")?;
    }
    if a.plan.has_new(LinuxNamespaceType::Cgroup) {
        // Now that the runtime placed us in our cgroup, it becomes the namespace root.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .ctx("create cgroup namespace")?;
    }
    if a.plan.has_new(LinuxNamespaceType::Time) {
        // After the user namespace is made or joined, so it owns the time namespace;
        // while the host /proc is still reachable.
        namespaces::enter_new_time(a.plan.time_offsets.as_deref(), timens_offsets.as_ref())?;
    }
    drop(timens_offsets);
    let linux = spec.linux().as_ref();

    rootfs::prepare(&RootfsParams {
        spec,
        rootfs: a.rootfs,
        bundle: a.bundle,
        in_user_ns,
        new_cgroup_ns: a.plan.has_new(LinuxNamespaceType::Cgroup),
        cgroup_dirs: a.cgroup_dirs.to_vec(),
        bind_sources,
    })?;

    if a.plan.has_new(LinuxNamespaceType::Uts) {
        if let Some(h) = spec.hostname() {
            nix::unistd::sethostname(h).with_ctx(|| format!("hostname: set {h:?}"))?;
        }
        if let Some(d) = spec.domainname() {
            set_domainname(d)?;
        }
    }

    let hooks = spec.hooks().as_ref();
    let state = state_doc(a.id, Status::Creating, host_pid, a.bundle, spec);
    if hooks.is_some_and(|h| {
        h.prestart().as_ref().is_some_and(|v| !v.is_empty())
            || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
    }) {
        sync::send(sock, tag::RUN_HOOKS, &[], &[])?;
        let m = sync::recv(sock)?;
        if m.tag != tag::HOOKS_DONE {
            // The runtime reports the hook failure itself.
            // SAFETY: nothing of ours to flush; the parent owns the error report.
            unsafe { libc::_exit(1) }
        }
    }
    if let Some(h) = hooks.and_then(|h| h.create_container().as_ref()) {
        hooks::run("createContainer", h, &state)?;
    }

    // Our own fd table as seen through the host /proc: after pivot_root it is the only
    // way to reopen exec.fifo for writing. Closed before the container's program runs.
    let proc_fd_dir: Option<OwnedFd> = if wait_for_start {
        Some(
            open(
                "/proc/self/fd",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ctx("open /proc/self/fd")?,
        )
    } else {
        None
    };

    rootfs::pivot(a.rootfs, a.no_pivot)?;
    // Before finalize: /proc/sys becomes read-only there.
    for (k, v) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).with_ctx(|| format!("linux.sysctl: set {k}={v}"))?;
    }
    rootfs::finalize(spec)?;

    let cwd = process.cwd();
    enter_cwd(cwd)?;

    if process.terminal().unwrap_or(false) {
        if let Some(c) = a.console {
            let size = process
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16));
            console::setup(c.as_fd(), size, process.user().uid())?;
        }
    }

    process::limits::apply_rlimits(process)?;
    process::limits::apply_io_priority(process)?;
    process::limits::apply_scheduler(process)?;
    process::limits::apply_personality(linux.and_then(|l| l.personality().as_ref()))?;
    process::limits::apply_lsm(process)?;
    if !a.no_new_keyring {
        join_session_keyring();
    }

    let mut env = process.env().clone().unwrap_or_default();
    let listen_fds = listen_fds();
    if listen_fds > 0 {
        env.push(format!("LISTEN_FDS={listen_fds}"));
        env.push("LISTEN_PID=1".into());
    }
    let env = process::exec::env_with_home(&env, process.user().uid());
    let exe = Executable::resolve(process.args().as_deref().unwrap_or_default(), &env)?;

    keep_only_preserved_fds(a.preserve_fds + listen_fds)?;

    let nnp = process.no_new_privileges().unwrap_or(false);
    let mut seccomp = a.seccomp;
    if let Some(f) = seccomp.filter(|f| f.uses_notify()) {
        // The listener must reach the runtime while it still waits for us.
        install_seccomp(f, sock)?;
        seccomp = None;
    }

    if let (Some(fifo), Some(dir)) = (a.fifo, proc_fd_dir.as_ref()) {
        let _ = nix::sys::prctl::set_pdeathsig(None);
        sync::send(sock, tag::READY, &[], &[])?;
        READY_SENT.store(true, std::sync::atomic::Ordering::Relaxed);
        // Blocks until `start` opens the fifo for reading.
        let w = openat(
            dir,
            fifo.as_raw_fd().to_string().as_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ctx("open exec.fifo")?;
        nix::unistd::write(&w, b"0").ctx("write exec.fifo")?;
    } else {
        sync::send(sock, tag::READY, &[], &[])?;
    }
    drop(proc_fd_dir);

    if let Some(h) = hooks.and_then(|h| h.start_container().as_ref()) {
        let state = state_doc(a.id, Status::Created, host_pid, a.bundle, spec);
        hooks::run("startContainer", h, &state)?;
    }
    late_setup_and_exec(process, seccomp, nnp, setgroups_denied, sock, &exe)
}

/// The last steps, shared by init and exec: seccomp before the capability drop when it
/// needs CAP_SYS_ADMIN (no noNewPrivileges), else right before execve.
pub(super) fn late_setup_and_exec(
    process: &Process,
    seccomp: Option<&SeccompFilter>,
    nnp: bool,
    setgroups_denied: bool,
    sock: BorrowedFd<'_>,
    exe: &Executable,
) -> Result<Never> {
    if let Some(f) = seccomp.filter(|_| !nnp) {
        install_seccomp(f, sock)?;
    }
    finish_process(process, setgroups_denied, process.cwd())?;
    if let Some(f) = seccomp.filter(|_| nnp) {
        install_seccomp(f, sock)?;
    }
    Err(exe.exec())
}

/// Loads the filter; a NOTIFY listener goes to the runtime over the sync socket.
pub(super) fn install_seccomp(f: &SeccompFilter, sock: BorrowedFd<'_>) -> Result<()> {
    if let Some(listener) = f.install()? {
        sync::send(sock, tag::SECCOMP_FD, &[], &[listener.as_raw_fd()])?;
    }
    Ok(())
}

/// Identity and privileges, in the order the kernel needs them, then cwd again as the
/// container user. Shared by init and exec.
pub(super) fn finish_process(process: &Process, setgroups_denied: bool, cwd: &Path) -> Result<()> {
    let nnp = process.no_new_privileges().unwrap_or(false);
    if let Some(c) = process.capabilities() {
        process::caps::drop_bounding(c)?;
    }
    process::user::switch(process.user(), !setgroups_denied)?;
    if let Some(c) = process.capabilities() {
        process::caps::apply_sets(c)?;
    } else {
        for set in [
            caps::CapSet::Effective,
            caps::CapSet::Permitted,
            caps::CapSet::Inheritable,
        ] {
            let _ = caps::clear(None, set);
        }
    }
    // As the container user now: permission checks apply to the final cwd.
    nix::unistd::chdir(cwd).with_ctx(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    if nnp {
        nix::sys::prctl::set_no_new_privs().ctx("process.noNewPrivileges")?;
    }
    Ok(())
}

/// chdir to process.cwd inside the new root and prove it resolved inside it: a cwd
/// reached through a leaked host fd (e.g. /proc/self/fd/N, CVE-2024-21626) shows up
/// as "(unreachable)" in getcwd.
pub(super) fn enter_cwd(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd).with_ctx(|| format!("process.cwd: chdir to {}", cwd.display()))?;
    let now = nix::unistd::getcwd().ctx("getcwd")?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(msg(format!(
            "process.cwd: {} resolves outside the container root",
            cwd.display()
        )));
    }
    Ok(())
}

fn set_domainname(d: &str) -> Result<()> {
    // SAFETY: pointer and length describe the string's bytes for the call.
    let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
    if r < 0 {
        return Err(nix::errno::Errno::last()).with_ctx(|| format!("domainname: set {d:?}"));
    }
    Ok(())
}

fn join_session_keyring() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name asks for a new anonymous session keyring; no other pointers.
    // Failure (no keyring support, EACCES under some LSMs) is ignored, as runc does.
    unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
}

/// $LISTEN_FDS of the runtime (socket activation): those fds go to the container too.
pub(super) fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Everything above stdio and the preserved fds becomes close-on-exec; the preserved
/// ones are made inheritable.
pub(super) fn keep_only_preserved_fds(preserve: u32) -> Result<()> {
    let first = 3 + preserve;
    sys::close_range(first, u32::MAX, sys::CLOSE_RANGE_CLOEXEC).ctx("close_range(CLOEXEC)")?;
    for fd in 3..first {
        // SAFETY: only flags are changed; a closed fd just returns EBADF.
        let b = unsafe { BorrowedFd::borrow_raw(fd as i32) };
        let _ = fcntl(b, FcntlArg::F_SETFD(FdFlag::empty()));
    }
    Ok(())
}
