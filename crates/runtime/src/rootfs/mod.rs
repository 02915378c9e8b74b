//! The container root filesystem: mounts, devices, pivot_root, masked and read-only paths.
//!
//! Order of calls, all in the container's init process:
//! 1. [`prepare`] once inside the new mount namespace, before anything else touches
//!    mounts. The process must already be in its other new namespaces: the pid
//!    namespace (as its pid 1) for the proc mount, the network namespace for sysfs, the
//!    IPC namespace for mqueue, the cgroup namespace (created after joining the
//!    container's cgroup) for cgroup mounts, and a user namespace must have its maps.
//! 2. createContainer hooks, then [`pivot`].
//! 3. linux.sysctl writes (they need /proc/sys still writable), then [`finalize`], which
//!    makes readonlyPaths (usually /proc/sys) read-only; all before dropping
//!    CAP_SYS_ADMIN.

mod copyup;
mod devices;
mod finalize;
mod idmap;
mod in_root;
mod mounts;
mod options;
mod sys;

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{umask, Mode};

pub use finalize::finalize;
pub use mounts::open_bind_sources;

/// What [`prepare`] needs besides the spec.
pub struct RootfsParams<'a> {
    pub spec: &'a oci_spec::runtime::Spec,
    /// Absolute host path of the root filesystem.
    pub rootfs: &'a Path,
    /// Relative bind sources resolve against it.
    pub bundle: &'a Path,
    /// Devices become bind mounts of the host's nodes; sysfs/mqueue may fall back to binds.
    pub in_user_ns: bool,
    /// A new cgroup namespace: cgroup filesystems are mounted rather than bound.
    pub new_cgroup_ns: bool,
    /// (v1 hierarchy name like "memory", "cpu,cpuacct" or "name=systemd", or "" for the
    /// cgroup2 unified tree; host directory of this container's cgroup there).
    pub cgroup_dirs: Vec<(String, std::path::PathBuf)>,
    /// Bind mount sources opened ahead (see [`open_bind_sources`]), by `mounts[]` index;
    /// empty, or None for an entry, means the source is looked up by path when mounted.
    pub bind_sources: Vec<Option<std::os::fd::OwnedFd>>,
}

#[derive(thiserror::Error, Debug)]
pub enum RootfsError {
    /// A `mounts[index]` entry could not be set up.
    #[error("mounts[{index}] (destination {destination}): {reason}")]
    Mount {
        index: usize,
        destination: String,
        reason: String,
    },
    /// A device node (`linux.devices[i]` or a default one) could not be created.
    #[error("{field} ({path}): {reason}")]
    Device {
        field: String,
        path: String,
        reason: String,
    },
    /// A config value is invalid.
    #[error("{field}: {reason}")]
    Config { field: &'static str, reason: String },
    /// A syscall on a path failed (maskedPaths, readonlyPaths, pivot, ...).
    #[error("{what} {path}: {source}")]
    Sys {
        what: &'static str,
        path: String,
        #[source]
        source: Errno,
    },
}

fn sys_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> RootfsError + 'a {
    move |source| RootfsError::Sys {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// linux.rootfsPropagation as (flag, recursive), or None when unset.
fn requested_propagation(
    spec: &oci_spec::runtime::Spec,
) -> Result<Option<(MsFlags, bool)>, RootfsError> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
    else {
        return Ok(None);
    };
    options::propagation_option(p)
        .map(Some)
        .ok_or_else(|| RootfsError::Config {
            field: "linux.rootfsPropagation",
            reason: format!(
                "unknown propagation {p:?} (want [r]private, [r]shared, [r]slave or [r]unbindable)"
            ),
        })
}

/// Propagation of "/" while the rootfs is built: never shared, so nothing leaks to the
/// host and pivot_root accepts the tree. rprivate if asked for, else rslave (runc's
/// default); any other request is applied by [`finalize`] after the pivot.
fn initial_propagation(req: Option<(MsFlags, bool)>) -> MsFlags {
    match req {
        Some((MsFlags::MS_PRIVATE, true)) => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        _ => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    }
}

/// Restores the umask when the rootfs setup ends, however it ends.
struct UmaskGuard(Mode);
impl Drop for UmaskGuard {
    fn drop(&mut self) {
        umask(self.0);
    }
}

/// Builds the container's mount tree under `p.rootfs`: root propagation, the rootfs bind
/// onto itself, every `mounts[]` entry in order, then devices and /dev symlinks.
/// Runs in the child, already inside its new mount namespace.
pub fn prepare(p: &RootfsParams) -> Result<(), RootfsError> {
    let req = requested_propagation(p.spec)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        initial_propagation(req),
        None::<&str>,
    )
    .map_err(sys_err("set propagation of", Path::new("/")))?;
    // Exact modes for created dirs and device nodes.
    let _umask = UmaskGuard(umask(Mode::empty()));
    mount(
        Some(p.rootfs),
        p.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| match e {
        // We are the user namespace's root by now: it has no say over directories owned
        // by ids the namespace does not map (see process::user::become_userns_root).
        Errno::EACCES if p.in_user_ns => RootfsError::Config {
            field: "root.path",
            reason: format!(
                "{}: {e}: the user namespace's root (linux.uidMappings/gidMappings) \
                 must be able to search every directory above the root filesystem",
                p.rootfs.display()
            ),
        },
        e => sys_err("bind rootfs onto itself", p.rootfs)(e),
    })?;
    // Opened after the self-bind so that every mount lands in the tree that gets pivoted.
    let root = in_root::InRoot::open(p.rootfs).map_err(sys_err("open rootfs", p.rootfs))?;
    mounts::mount_all(&root, p)?;
    if needs_dev_setup(p.spec) {
        devices::create_all(&root, p)?;
    }
    Ok(())
}

/// runc leaves /dev alone when the config binds something over it.
fn needs_dev_setup(spec: &oci_spec::runtime::Spec) -> bool {
    !spec.mounts().as_ref().is_some_and(|ms| {
        ms.iter().any(|m| {
            in_root::clean(m.destination()) == Path::new("dev")
                && (m.typ().as_deref() == Some("bind")
                    || m.options()
                        .as_ref()
                        .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind")))
        })
    })
}

/// Makes `rootfs` the process's root: pivot_root(".", ".") and a lazy unmount of the old
/// root stacked on it, or with `no_pivot` a move of the rootfs mount onto "/" and chroot
/// (runc --no-pivot; for ramfs roots where pivot_root is impossible). Ends in "/".
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    nix::unistd::chdir(rootfs).map_err(sys_err("chdir to", rootfs))?;
    if no_pivot {
        hide_host_kernel_fs(rootfs)?;
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .map_err(sys_err("move rootfs onto /:", rootfs))?;
        nix::unistd::chroot(".").map_err(sys_err("chroot to", rootfs))?;
    } else {
        nix::unistd::pivot_root(".", ".").map_err(sys_err("pivot_root to", rootfs))?;
        // The old root now sits on top of "."; it is rslave/rprivate (see `prepare`), so
        // detaching it cannot propagate to the host.
        nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH)
            .map_err(sys_err("detach old root above", rootfs))?;
    }
    nix::unistd::chdir("/").map_err(sys_err("chdir to", Path::new("/")))
}

/// Without pivot_root the host's mounts stay reachable below the chroot; like runc,
/// detach the host's procfs and sysfs mounts (outside `rootfs`) so that nothing can
/// sidestep maskedPaths/readonlyPaths through them. A mount that will not go is covered
/// with an empty tmpfs.
fn hide_host_kernel_fs(rootfs: &Path) -> Result<(), RootfsError> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| RootfsError::Sys {
        what: "read",
        path: "/proc/self/mountinfo".into(),
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    let mut targets: Vec<std::path::PathBuf> = info
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            let mount_point = unescape_mountinfo(pre.split(' ').nth(4)?);
            ((fstype == "proc" || fstype == "sysfs") && !mount_point.starts_with(rootfs))
                .then_some(mount_point)
        })
        .collect();
    // Deepest first, so parents are not busy with children.
    targets.reverse();
    for t in targets {
        match nix::mount::umount2(&t, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(_) => mount(
                Some("tmpfs"),
                &t,
                Some("tmpfs"),
                MsFlags::empty(),
                None::<&str>,
            )
            .map_err(sys_err("cover host kernel filesystem", &t))?,
        }
    }
    Ok(())
}

/// Mount points in mountinfo escape space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    std::ffi::OsString::from_vec(out).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b\\011c"), Path::new("/a b\tc"));
        assert_eq!(unescape_mountinfo("/plain"), Path::new("/plain"));
        assert_eq!(unescape_mountinfo("/end\\04"), Path::new("/end\\04"));
    }
}
