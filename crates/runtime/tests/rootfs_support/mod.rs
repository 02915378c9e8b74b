//! Running rootfs setup for real in a forked child with its own mount namespace, so
//! every mount vanishes with the child. The child reports through a pipe.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;

use berth_runtime::rootfs::{self, RootfsParams};
use berth_testutil::{busybox_rootfs, is_root, TempDir};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult};
use oci_spec::runtime::Spec;

/// A bundle dir with a busybox rootfs under `rootfs/`.
pub struct Bundle {
    pub dir: TempDir,
}

impl Bundle {
    pub fn new() -> Self {
        let dir = TempDir::new("berth-rootfs").expect("temp dir");
        busybox_rootfs(&dir.path().join("rootfs")).expect("busybox rootfs");
        Self { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn rootfs(&self) -> std::path::PathBuf {
        self.dir.path().join("rootfs")
    }
}

/// Parses a spec from JSON (only the fields the test needs).
pub fn spec(json: &str) -> Spec {
    serde_json::from_str(json).expect("test spec parses")
}

/// Skips (returns true) when not root.
pub fn skip() -> bool {
    if !is_root() {
        eprintln!("skipping: needs root");
        return true;
    }
    false
}

/// Forks; the child unshares a mount namespace, runs `f`, and sends back its
/// `Err` text (or nothing). Returns the child's result.
pub fn in_child(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    in_child_with(CloneFlags::CLONE_NEWNS, f)
}

/// Like `in_child`, unsharing `flags` (which must include CLONE_NEWNS). With
/// CLONE_NEWUSER the child maps its own root to host root ("0 0 1").
pub fn in_child_with(
    flags: CloneFlags,
    f: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let (r, w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
    // SAFETY: the child only runs the test closure and exits with _exit; glibc keeps
    // malloc usable after fork, and the child never touches the test harness's locks.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            drop(r);
            let res = unshare(flags)
                .map_err(|e| format!("unshare: {e}"))
                .and_then(|()| {
                    if flags.contains(CloneFlags::CLONE_NEWUSER) {
                        map_self_root()?;
                    }
                    f()
                });
            let mut w = std::fs::File::from(w);
            let code = match res {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = w.write_all(msg.as_bytes());
                    1
                }
            };
            // SAFETY: _exit skips atexit handlers and destructors that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let mut msg = String::new();
            std::fs::File::from(r).read_to_string(&mut msg).ok();
            match waitpid(child, None).expect("waitpid") {
                WaitStatus::Exited(_, 0) => Ok(()),
                WaitStatus::Exited(_, c) => Err(format!("child exit {c}: {msg}")),
                other => Err(format!("child ended with {other:?}: {msg}")),
            }
        }
    }
}

fn map_self_root() -> Result<(), String> {
    let w = |p: &str, s: &str| std::fs::write(p, s).map_err(|e| format!("{p}: {e}"));
    w("/proc/self/uid_map", "0 0 1")?;
    w("/proc/self/setgroups", "deny")?;
    w("/proc/self/gid_map", "0 0 1")
}

/// prepare + pivot + finalize with default params.
pub fn setup(spec: &Spec, bundle: &Bundle) -> Result<(), String> {
    setup_with(spec, bundle, false, false, Vec::new())
}

/// prepare + pivot + finalize with the given namespace facts and cgroup dirs.
pub fn setup_with(
    spec: &Spec,
    bundle: &Bundle,
    in_user_ns: bool,
    new_cgroup_ns: bool,
    cgroup_dirs: Vec<(String, std::path::PathBuf)>,
) -> Result<(), String> {
    let rootfs = bundle.rootfs();
    let p = RootfsParams {
        spec,
        rootfs: &rootfs,
        bundle: bundle.path(),
        in_user_ns,
        new_cgroup_ns,
        cgroup_dirs,
        bind_sources: Vec::new(),
    };
    rootfs::prepare(&p).map_err(|e| format!("prepare: {e}"))?;
    rootfs::pivot(&rootfs, false).map_err(|e| format!("pivot: {e}"))?;
    rootfs::finalize(spec).map_err(|e| format!("finalize: {e}"))
}

/// This process's cgroups as `RootfsParams::cgroup_dirs` wants them: (hierarchy name,
/// host directory), from /proc/self/cgroup on a v1, hybrid or v2 host.
pub fn own_cgroup_dirs() -> Vec<(String, std::path::PathBuf)> {
    let s = std::fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let unified_dir = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/unified"
    };
    s.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, names, path) = (it.next()?, it.next()?, it.next()?);
            let rel = path.trim_start_matches('/');
            let base = if names.is_empty() {
                std::path::PathBuf::from(unified_dir)
            } else {
                Path::new("/sys/fs/cgroup").join(names.strip_prefix("name=").unwrap_or(names))
            };
            base.exists().then(|| (names.to_string(), base.join(rel)))
        })
        .collect()
}

/// One /proc/self/mountinfo line, the parts the tests look at.
#[derive(Debug)]
pub struct MountInfo {
    pub mount_point: String,
    pub mount_opts: String,
    pub optional: String,
    pub fstype: String,
    pub super_opts: String,
}

pub fn mountinfo() -> Result<Vec<MountInfo>, String> {
    let s = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    Ok(s.lines()
        .map(|l| {
            let (pre, post) = l.split_once(" - ").unwrap_or((l, ""));
            let f: Vec<&str> = pre.split(' ').collect();
            let g: Vec<&str> = post.split(' ').collect();
            MountInfo {
                mount_point: f.get(4).unwrap_or(&"").to_string(),
                mount_opts: f.get(5).unwrap_or(&"").to_string(),
                optional: f.get(6..).map(|o| o.join(" ")).unwrap_or_default(),
                fstype: g.first().unwrap_or(&"").to_string(),
                super_opts: g.get(2).unwrap_or(&"").to_string(),
            }
        })
        .collect())
}

/// Mount options of the topmost mount at `path`.
pub fn top_mount(path: &str) -> Result<MountInfo, String> {
    mountinfo()?
        .into_iter()
        .rev()
        .find(|m| m.mount_point == path)
        .ok_or_else(|| format!("{path} is not a mount point"))
}

pub fn has_opt(opts: &str, o: &str) -> bool {
    opts.split(',').any(|x| x == o)
}

pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

pub fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}
