//! `exec`: run another process in a running container. The runtime joins the init's pid
//! namespace for its children, clones, and the child enters all other namespaces at once
//! through the init's pidfd, joins the cgroup, takes on the process settings and execs.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::create::write_pid_file;
use super::init::{
    enter_cwd, keep_only_preserved_fds, late_setup_and_exec, listen_fds, reset_signals, Never,
};
use super::{relay, Container};
use crate::error::{msg, Context, Error, Result};
use crate::namespaces::{self, proc_name};
use crate::process::{self, Executable};
use crate::seccomp::SeccompFilter;
use crate::state::Status;
use crate::sync::{self, tag};
use crate::{console, sys};

#[derive(Default)]
pub struct ExecOpts {
    pub root: PathBuf,
    pub id: String,
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub tty: bool,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub preserve_fds: u32,
    pub apparmor: Option<String>,
    pub ignore_paused: bool,
}

/// The process to exec: from --process, or the container's process with the flags'
/// changes (as runc builds it).
fn build_process(c: &Container, o: &ExecOpts) -> Result<Process> {
    if let Some(f) = &o.process_file {
        let data = std::fs::read(f).with_ctx(|| format!("--process {}", f.display()))?;
        let p: Process = serde_json::from_slice(&data).map_err(|e| {
            msg(format!(
                "--process {}: invalid process JSON: {e}",
                f.display()
            ))
        })?;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(msg(format!(
                "--process {}: args: must not be empty",
                f.display()
            )));
        }
        return Ok(p);
    }
    if o.args.is_empty() {
        return Err(msg("exec: no command given (args or --process)"));
    }
    let mut p = c.saved.config.process().clone().unwrap_or_default();
    p.set_args(Some(o.args.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    merge_env(&mut env, &o.env);
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    p.set_terminal(Some(o.tty));
    if let Some(u) = &o.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        let user = p.user_mut();
        user.set_uid(
            uid.parse()
                .map_err(|_| msg(format!("--user {u:?}: uid must be a number")))?,
        );
        if let Some(g) = gid {
            user.set_gid(
                g.parse()
                    .map_err(|_| msg(format!("--user {u:?}: gid must be a number")))?,
            );
        }
    }
    if !o.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(o.additional_gids.clone()));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &o.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if !o.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        for name in &o.caps {
            let cap = process::caps::parse_name(name)?;
            for set in [
                caps.bounding().clone(),
                caps.effective().clone(),
                caps.permitted().clone(),
                caps.inheritable().clone(),
                caps.ambient().clone(),
            ]
            .iter_mut()
            .enumerate()
            {
                let (i, s) = set;
                let mut s = s.clone().unwrap_or_default();
                s.insert(cap);
                match i {
                    0 => caps.set_bounding(Some(s)),
                    1 => caps.set_effective(Some(s)),
                    2 => caps.set_permitted(Some(s)),
                    3 => caps.set_inheritable(Some(s)),
                    _ => caps.set_ambient(Some(s)),
                };
            }
        }
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

fn same_ns(pid: i32, t: LinuxNamespaceType) -> bool {
    let a = std::fs::metadata(format!("/proc/self/ns/{}", proc_name(t)));
    let b = std::fs::metadata(namespaces::proc_path(pid, t));
    match (a, b) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => true,
    }
}

pub fn exec(o: &ExecOpts) -> Result<i32> {
    let c = Container::open(&o.root, &o.id)?;
    match c.status {
        Status::Running | Status::Created => {}
        Status::Paused if o.ignore_paused => {}
        Status::Paused => {
            return Err(msg(format!(
                "cannot exec in a paused container {} (use --ignore-paused)",
                o.id
            )))
        }
        s => return Err(msg(format!("cannot exec in container {}: it is {s}", o.id))),
    }
    let process = build_process(&c, o)?;
    let pid = c.saved.pid;
    let pidfd = sys::pidfd_open(pid).ctx("open container init")?;
    if !crate::state::process_alive(pid, c.saved.init_start_time) {
        return Err(msg(format!("container {} is not running", o.id)));
    }
    let cg = c.cgroup()?;
    let saved = c.saved.clone();
    let seccomp = super::create::compile_seccomp(&saved.config, &o.root)?;
    // exec may run for long: other commands must not wait for our lock.
    drop(c);

    let mut join = 0;
    for t in namespaces::ALL {
        if t != LinuxNamespaceType::Pid && !same_ns(pid, t) {
            join |= namespaces::flag(t);
        }
    }
    let terminal = process.terminal().unwrap_or(false);
    let (console, relay_sock): (Option<OwnedFd>, Option<OwnedFd>) = if terminal {
        if let Some(p) = &o.console_socket {
            let s =
                UnixStream::connect(p).with_ctx(|| format!("--console-socket {}", p.display()))?;
            (Some(OwnedFd::from(s)), None)
        } else if !o.detach {
            let (a, b) = sync::pair()?;
            (Some(b), Some(a))
        } else {
            return Err(msg("exec -t -d needs --console-socket"));
        }
    } else {
        (None, None)
    };
    if !o.detach {
        relay::block_signals()?;
    }
    if !same_ns(pid, LinuxNamespaceType::Pid) {
        // Only our future children enter the container's pid namespace.
        sys::setns(pidfd.as_fd(), libc::CLONE_NEWPID).ctx("join pid namespace")?;
    }
    let (parent_sock, child_sock) = sync::pair()?;
    let setgroups_denied =
        std::fs::read_to_string(format!("/proc/{pid}/setgroups")).is_ok_and(|s| s.trim() == "deny");
    // As for the init (see create): the child joins the cgroup itself, avoiding the
    // cgroup.procs write that waits for an RCU grace period on v1.
    let dirs = cg.hierarchy_dirs();
    let v1_tasks: Vec<PathBuf> = dirs
        .iter()
        .filter(|(n, _)| !n.is_empty())
        .map(|(_, d)| d.join("tasks"))
        .collect();
    let unified_fd = match dirs.iter().find(|(n, _)| n.is_empty()) {
        Some((_, d)) => Some(
            nix::fcntl::open(
                d,
                nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .with_ctx(|| format!("open cgroup {}", d.display()))?,
        ),
        None => None,
    };
    let (child, self_join) =
        match sys::clone3_fork(0, unified_fd.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)) {
            Ok(c) => (c, true),
            Err(_) => (sys::clone_fork(0).ctx("clone")?, false),
        };
    if child == 0 {
        if self_join {
            for t in &v1_tasks {
                if let Err(e) = std::fs::write(t, "0") {
                    let m = format!("join cgroup {}: {e}", t.display());
                    let _ = sync::send(child_sock.as_fd(), tag::ERROR, m.as_bytes(), &[]);
                    // SAFETY: leave without running the parent's atexit/stdio flushing.
                    unsafe { libc::_exit(255) }
                }
            }
        }
        let sock = child_sock.as_fd();
        let r = exec_child(
            &process,
            &pidfd,
            join,
            sock,
            console.as_ref(),
            setgroups_denied,
            o.preserve_fds,
            seccomp.as_ref(),
        );
        let e = match r {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = sync::send(sock, tag::ERROR, e.to_string().as_bytes(), &[]);
        // SAFETY: leave without running the parent's atexit/stdio flushing.
        unsafe { libc::_exit(255) }
    }
    drop(child_sock);
    drop(console);
    let fail = |e: Error| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
        e
    };
    drop(unified_fd);
    if !self_join {
        cg.add_task(child).map_err(fail)?;
    }
    sync::send(parent_sock.as_fd(), tag::GO, &[], &[]).map_err(fail)?;
    let tty_master = match &relay_sock {
        Some(r) => {
            let mut m = sync::recv(r.as_fd()).map_err(fail)?;
            m.fds.pop()
        }
        None => None,
    };
    loop {
        let m = sync::recv(parent_sock.as_fd()).map_err(fail)?;
        match m.tag {
            0 => break,
            tag::SECCOMP_FD => {
                let st = serde_json::to_vec(&saved.oci_state(Status::Running)).unwrap_or_default();
                super::create::forward_listener(&saved.config, &m.fds, &st).map_err(fail)?;
            }
            tag::ERROR => {
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
                return Err(Error::Msg(String::from_utf8_lossy(&m.payload).into()));
            }
            _ => {}
        }
    }
    if let Some(p) = &o.pid_file {
        write_pid_file(p, child)?;
    }
    if o.detach {
        return Ok(0);
    }
    relay::wait(child, tty_master)
}

#[allow(clippy::too_many_arguments)]
fn exec_child(
    process: &Process,
    pidfd: &OwnedFd,
    join: libc::c_int,
    sock: std::os::fd::BorrowedFd<'_>,
    console_sock: Option<&OwnedFd>,
    setgroups_denied: bool,
    preserve_fds: u32,
    seccomp: Option<&SeccompFilter>,
) -> Result<Never> {
    reset_signals();
    nix::sys::prctl::set_dumpable(false).ctx("prctl(PR_SET_DUMPABLE)")?;
    if join != 0 {
        sys::setns(pidfd.as_fd(), join).ctx("join the container's namespaces")?;
    }
    if sync::recv(sock)?.tag != tag::GO {
        return Err(msg("runtime went away"));
    }
    // Before becoming the namespace's root: our /proc/self files belong to host root.
    process::limits::apply_oom_score_adj(process)?;
    if join & libc::CLONE_NEWUSER != 0 {
        // As the init does: the cwd lookup, the pty and anything else until the switch
        // to process.user happen as the container's root, which the namespace maps.
        process::user::become_userns_root(!setgroups_denied)?;
    }
    enter_cwd(process.cwd())?;
    if process.terminal().unwrap_or(false) {
        if let Some(c) = console_sock {
            let size = process
                .console_size()
                .map(|b| (b.height() as u16, b.width() as u16));
            console::setup(c.as_fd(), size, process.user().uid())?;
        }
    }
    process::limits::apply_rlimits(process)?;
    process::limits::apply_io_priority(process)?;
    process::limits::apply_scheduler(process)?;
    process::limits::apply_lsm(process)?;
    let mut env = process.env().clone().unwrap_or_default();
    let lf = listen_fds();
    if lf > 0 {
        env.push(format!("LISTEN_FDS={lf}"));
        env.push("LISTEN_PID=1".into());
    }
    let env = process::exec::env_with_home(&env, process.user().uid());
    let exe = Executable::resolve(process.args().as_deref().unwrap_or_default(), &env)?;
    keep_only_preserved_fds(preserve_fds + lf)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    late_setup_and_exec(process, seccomp, nnp, setgroups_denied, sock, &exe)
}

/// `exec -e KEY=V`: replaces an existing KEY in the process env (first match, later
/// duplicates of it dropped) instead of appending a second KEY; new keys are appended.
fn merge_env(env: &mut Vec<String>, overrides: &[String]) {
    for kv in overrides {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        let same = |e: &String| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key;
        match env.iter().position(same) {
            Some(i) => {
                env[i] = kv.clone();
                let mut j = i + 1;
                while j < env.len() {
                    if same(&env[j]) {
                        env.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => env.push(kv.clone()),
        }
    }
}

#[cfg(test)]
mod env_tests {
    use super::merge_env;

    #[test]
    fn exec_env_replaces_existing_keys() {
        let mut env: Vec<String> = ["PATH=/bin", "A=1", "TERM=xterm"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o: Vec<String> = ["A=2", "B=3", "PATH=/usr/bin", "B=4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        merge_env(&mut env, &o);
        assert_eq!(env, ["PATH=/usr/bin", "A=2", "TERM=xterm", "B=4"]);
    }
}
