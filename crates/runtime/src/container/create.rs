//! `create`: one synchronous pass in the runtime process. Parse the config, make the
//! cgroup, then clone the container init straight into its new namespaces (no re-exec of
//! the runtime). The parent writes id maps, places the child in its cgroup, runs the
//! runtime-namespace hooks on request, and records the state once the init is ready.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::{idmap, init, ContainerCgroup};
use crate::error::{msg, Context, Error, Result};
use crate::namespaces::Plan;
use crate::seccomp::SeccompFilter;
use crate::state::{self, ContainerDir, Saved, Status};
use crate::sync::{self, tag};
use crate::{config, hooks, sys};

pub struct CreateOpts {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `create`: the init blocks on exec.fifo until `start`. `run`: it goes straight on.
    pub wait_for_start: bool,
    /// `run` in the foreground: a terminal without --console-socket is relayed by us.
    pub foreground: bool,
}

/// A created container: its init is set up and (for `create`) waiting for `start`.
pub struct Created {
    pub dir: ContainerDir,
    pub saved: Saved,
    pub cgroup: ContainerCgroup,
    /// The pty master when `run` relays the terminal itself.
    pub tty_master: Option<OwnedFd>,
    /// Our end of the sync socket; `run` reads it until the init execs.
    pub sync: OwnedFd,
}

/// Everything the child needs; borrowed from the parent's stack (the child is a copy).
pub(super) struct InitArgs<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub plan: &'a Plan,
    pub sync: &'a OwnedFd,
    pub console: Option<&'a OwnedFd>,
    pub fifo: Option<&'a OwnedFd>,
    pub lock_fd: i32,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub cgroup_dirs: &'a [(String, PathBuf)],
    pub seccomp: Option<&'a SeccompFilter>,
    /// v1 `tasks` files the init writes "0" to itself (see create()).
    pub self_join: Option<&'a [PathBuf]>,
    /// Set when an intermediate process already entered the namespaces.
    pub namespaces_entered: bool,
}

/// Undoes a half-made container on failure: kills the init, removes cgroup and state.
struct Cleanup<'a> {
    dir: &'a Path,
    pid: Option<i32>,
    cgroup: Option<ContainerCgroup>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.destroy();
        }
        let _ = fs::remove_dir_all(self.dir);
    }
}

pub fn state_doc(id: &str, status: Status, pid: i32, bundle: &Path, spec: &Spec) -> Vec<u8> {
    let mut v = serde_json::json!({
        "ociVersion": spec.version(),
        "id": id,
        "status": status.to_string(),
        "pid": pid,
        "bundle": bundle,
    });
    if let Some(a) = spec.annotations() {
        v["annotations"] = serde_json::to_value(a).unwrap_or_default();
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

pub fn create(opts: &CreateOpts) -> Result<Created> {
    let bundle = fs::canonicalize(&opts.bundle)
        .map_err(|e| msg(format!("bundle {}: {e}", opts.bundle.display())))?;
    let spec = config::load(&bundle)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Config("process: missing".into()))?;
    crate::process::limits::check_lsm(process)?;
    let rootfs = config::rootfs(&spec)?;
    let plan = Plan::from_spec(&spec)?;
    if !plan.has_new(LinuxNamespaceType::Mount) {
        return Err(Error::Config(
            "linux.namespaces: a new mount namespace is required".into(),
        ));
    }
    let terminal = process.terminal().unwrap_or(false);
    let (console, relay): (Option<OwnedFd>, Option<OwnedFd>) = if terminal {
        if let Some(p) = &opts.console_socket {
            let s =
                UnixStream::connect(p).with_ctx(|| format!("--console-socket {}", p.display()))?;
            (Some(OwnedFd::from(s)), None)
        } else if opts.foreground {
            let (a, b) = sync::pair()?;
            (Some(b), Some(a))
        } else {
            return Err(msg(
                "process.terminal is true but no --console-socket was given for a detached container",
            ));
        }
    } else {
        (None, None)
    };

    let dir = ContainerDir::create(&opts.root, &opts.id)?;
    let mut cleanup = Cleanup {
        dir: &dir.path,
        pid: None,
        cgroup: None,
        armed: true,
    };
    let linux = spec.linux().as_ref();
    let cgroups_path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    let cg = ContainerCgroup::new(cgroups_path.as_deref(), &opts.id)?;
    cg.create()?;
    let cgroup_dirs = cg.hierarchy_dirs();
    cleanup.cgroup = Some(cg);
    if let Some(r) = linux.and_then(|l| l.resources().as_ref()) {
        cleanup.cgroup.as_ref().map(|c| c.apply(r)).transpose()?;
    }

    let seccomp = compile_seccomp(&spec, &opts.root)?;

    let fifo = if opts.wait_for_start {
        let p = dir.fifo_path();
        nix::unistd::mkfifo(&p, Mode::from_bits_truncate(0o600)).ctx("make exec.fifo")?;
        Some(open(&p, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).ctx("open exec.fifo")?)
    } else {
        None
    };
    let (parent_sock, child_sock) = sync::pair()?;
    let args = InitArgs {
        id: &opts.id,
        spec: &spec,
        rootfs: &rootfs,
        bundle: &bundle,
        plan: &plan,
        sync: &child_sock,
        console: console.as_ref(),
        fifo: fifo.as_ref(),
        lock_fd: dir.lock_fd(),
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        cgroup_dirs: &cgroup_dirs,
        seccomp: seccomp.as_ref(),
        self_join: None,
        namespaces_entered: false,
    };

    // Joining the cgroup is the slowest step of a start on a v1 host: a pid written to
    // cgroup.procs takes the global threadgroup rwsem, i.e. waits for an RCU grace period
    // (milliseconds). So the init joins itself: clone3(CLONE_INTO_CGROUP) places it in the
    // cgroup2 directory at birth, and it writes "0" (itself, a single thread) to each v1
    // `tasks` file, which the kernel does without that global lock.
    let v1_tasks: Vec<PathBuf> = cgroup_dirs
        .iter()
        .filter(|(n, _)| !n.is_empty())
        .map(|(_, d)| d.join("tasks"))
        .collect();
    let unified_fd: Option<OwnedFd> = match cgroup_dirs.iter().find(|(n, _)| n.is_empty()) {
        Some((_, d)) => Some(
            open(
                d,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .with_ctx(|| format!("open cgroup {}", d.display()))?,
        ),
        None => None,
    };
    let mut self_joined = false;
    let pid = if plan.single_clone() {
        // The cgroup namespace is made by the init once it sits in its cgroup, so that
        // cgroup is the namespace's root; the time namespace too, to set its offsets;
        // in a user namespace the IPC one as well (see Plan::made_by_init).
        let flags = plan.new_flags & !plan.made_by_init();
        let fast_args = InitArgs {
            self_join: Some(&v1_tasks),
            ..args
        };
        let pid = match sys::clone3_fork(flags, unified_fd.as_ref().map(|f| f.as_raw_fd())) {
            Ok(0) => init::run(&fast_args),
            Ok(pid) => {
                self_joined = true;
                pid
            }
            // Older kernels or a cgroup2 dir that refuses CLONE_INTO_CGROUP.
            Err(_) => sys::clone_fork(flags).ctx("clone the container init")?,
        };
        if pid == 0 {
            init::run(&args);
        }
        cleanup.pid = Some(pid);
        if plan.has_new(LinuxNamespaceType::User) {
            idmap::write(pid, &spec)?;
        }
        pid
    } else {
        // Joined user/pid namespaces need an intermediate process that enters them and
        // forks the init; we become its subreaper so the init is reparented to us.
        nix::sys::prctl::set_child_subreaper(true).ctx("set child subreaper")?;
        let s = sys::clone_fork(0).ctx("clone")?;
        if s == 0 {
            init::intermediate(&args);
        }
        let res = (|| loop {
            let m = sync::recv(parent_sock.as_fd())?;
            match m.tag {
                tag::MAP_IDS => {
                    idmap::write(s, &spec)?;
                    sync::send(parent_sock.as_fd(), tag::GO, &[], &[])?;
                }
                tag::PID if m.payload.len() == 4 => {
                    return Ok(i32::from_le_bytes(
                        m.payload[..4].try_into().unwrap_or_default(),
                    ));
                }
                tag::ERROR => return Err(Error::Msg(String::from_utf8_lossy(&m.payload).into())),
                _ => return Err(msg("container setup process exited unexpectedly")),
            }
        })();
        let _ = nix::sys::wait::waitpid(Pid::from_raw(s), None);
        let pid = res?;
        cleanup.pid = Some(pid);
        pid
    };
    drop(child_sock);
    drop(console);
    if fifo.is_some()
        && (plan.has_new(LinuxNamespaceType::User) || plan.joins(LinuxNamespaceType::User))
    {
        // The init reopens exec.fifo as its user namespace's root (see
        // process::user::become_userns_root), which has no access to host root's 0600
        // file; runc hands it to that root the same way.
        let (uid, gid) = idmap::root_of(pid)?;
        std::os::unix::fs::chown(dir.fifo_path(), uid, gid)
            .ctx("chown exec.fifo to the container's root")?;
    }

    drop(unified_fd);
    if !self_joined {
        if let Some(cg) = &cleanup.cgroup {
            cg.add_task(pid)?;
        }
    }
    sync::send(parent_sock.as_fd(), tag::GO, &pid.to_le_bytes(), &[])?;
    loop {
        let m = sync::recv(parent_sock.as_fd())?;
        match m.tag {
            tag::RUN_HOOKS => {
                let st = state_doc(&opts.id, Status::Creating, pid, &bundle, &spec);
                if let Some(h) = spec.hooks() {
                    hooks::run("prestart", h.prestart().as_deref().unwrap_or_default(), &st)?;
                    hooks::run(
                        "createRuntime",
                        h.create_runtime().as_deref().unwrap_or_default(),
                        &st,
                    )?;
                }
                sync::send(parent_sock.as_fd(), tag::HOOKS_DONE, &[], &[])?;
            }
            tag::SECCOMP_FD => {
                let st = state_doc(&opts.id, Status::Creating, pid, &bundle, &spec);
                forward_listener(&spec, &m.fds, &st)?;
            }
            tag::READY => break,
            tag::ERROR => return Err(Error::Msg(String::from_utf8_lossy(&m.payload).into())),
            _ => {
                return Err(msg(
                    "container init exited before it was ready (see its stderr)",
                ))
            }
        }
    }
    let tty_master = match &relay {
        Some(r) => {
            let mut m = sync::recv(r.as_fd())?;
            Some(
                m.fds
                    .pop()
                    .ok_or_else(|| msg("no terminal received from the container"))?,
            )
        }
        None => None,
    };

    let (_, start_time) =
        state::proc_stat(pid).ok_or_else(|| msg("container init exited during create"))?;
    let saved = Saved {
        oci_version: spec.version().clone(),
        id: opts.id.clone(),
        status: Status::Created,
        pid,
        bundle: bundle.clone(),
        rootfs: rootfs.clone(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        created: state::now_rfc3339(),
        owner: String::new(),
        init_start_time: start_time,
        cgroups_path,
        rootless: !nix::unistd::geteuid().is_root(),
        config: spec.clone(),
    };
    dir.save(&saved)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid)?;
    }
    cleanup.armed = false;
    let cg = cleanup.cgroup.take().ok_or_else(|| msg("cgroup lost"))?;
    drop(cleanup);
    Ok(Created {
        dir,
        saved,
        cgroup: cg,
        tty_master,
        sync: parent_sock,
    })
}

/// Compiles linux.seccomp in the runtime (before the clone), reusing compiled programs
/// cached under the state root.
pub(super) fn compile_seccomp(spec: &Spec, root: &Path) -> Result<Option<SeccompFilter>> {
    match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => {
            let f = SeccompFilter::compile_cached(s, &root.join(".seccomp-cache"))?;
            // Unknown syscall names are skipped, not fatal; say so (also for cached filters).
            for w in f.warnings() {
                eprintln!("berth-oci: warning: linux.seccomp: {w}");
            }
            Ok(Some(f))
        }
        None => Ok(None),
    }
}

/// Hands a NOTIFY listener fd to linux.seccomp.listenerPath.
pub(super) fn forward_listener(spec: &Spec, fds: &[OwnedFd], state: &[u8]) -> Result<()> {
    let s = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let path = s.and_then(|s| s.listener_path().as_ref());
    let (Some(path), Some(fd)) = (path, fds.first()) else {
        return Err(msg(
            "linux.seccomp.listenerPath: required when the filter uses SCMP_ACT_NOTIFY",
        ));
    };
    crate::seccomp::send_listener(
        &path.to_string_lossy(),
        s.and_then(|s| s.listener_metadata().as_deref()),
        fd.as_fd(),
        state,
    )?;
    Ok(())
}

/// Writes a pid file atomically (podman/conmon read it as soon as it appears).
pub fn write_pid_file(p: &Path, pid: i32) -> Result<()> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ctx("cwd")?.join(p)
    };
    let tmp = abs.with_file_name(format!(
        ".{}.tmp",
        abs.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    fs::write(&tmp, pid.to_string()).with_ctx(|| format!("write {}", tmp.display()))?;
    fs::rename(&tmp, &abs).with_ctx(|| format!("--pid-file {}", abs.display()))?;
    Ok(())
}
