//! The `mounts[]` entries, one at a time, in config order.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use super::copyup;
use super::idmap;
use super::in_root::{clean, InRoot};
use super::options::{self, MountOptions};
use super::sys::{
    mount_setattr_fd, move_mount, open_tree, proc_fd_path, MountAttr, Target, MOUNT_ATTR_RDONLY,
    OPEN_TREE_CLONE,
};
use super::{RootfsError, RootfsParams};

/// Why one mount failed; turned into `RootfsError::Mount` with the entry's index.
pub(crate) struct Fail(pub String);

impl From<(&'static str, Errno)> for Fail {
    fn from((what, e): (&'static str, Errno)) -> Self {
        Fail(format!("{what}: {e}"))
    }
}

trait Ctx<T> {
    fn ctx(self, what: &'static str) -> Result<T, Fail>;
}
impl<T> Ctx<T> for Result<T, Errno> {
    fn ctx(self, what: &'static str) -> Result<T, Fail> {
        self.map_err(|e| Fail::from((what, e)))
    }
}

/// Files under /proc a bind mount may cover (lxcfs-style overrides); anything else
/// under /proc that is not procfs could hide or redirect kernel interfaces.
const PROC_BIND_ALLOWED: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/net/dev",
    "proc/sys/kernel/ns_last_pid",
];

pub(crate) fn mount_all(root: &InRoot, p: &RootfsParams) -> Result<(), RootfsError> {
    let Some(mounts) = p.spec.mounts() else {
        return Ok(());
    };
    for (index, m) in mounts.iter().enumerate() {
        let opened = p.bind_sources.get(index).and_then(Option::as_ref);
        mount_one(root, p, m, opened).map_err(|Fail(reason)| RootfsError::Mount {
            index,
            destination: m.destination().display().to_string(),
            reason,
        })?;
    }
    Ok(())
}

/// The host path a bind mount entry takes its source from (relative to the bundle), or
/// None for other mounts and for a bind without a source.
fn bind_source(bundle: &Path, m: &Mount) -> Option<PathBuf> {
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
        return None;
    }
    let source = m.source().as_deref()?;
    Some(if source.is_absolute() {
        source.to_path_buf()
    } else {
        bundle.join(source)
    })
}

/// Opens (O_PATH) the source of every bind mount in `spec`, by `mounts[]` index, for a
/// container init that is about to become its user namespace's root. That root is
/// denied search permission in directories owned by ids the namespace does not map
/// (capabilities do not override their modes), e.g. a root-owned 0700 parent of a
/// volume, which the init can still pass while it has the runtime's credentials. The
/// mounts then go through /proc/self/fd/N, as crun does with sources it opens on the
/// host. A source that cannot be opened now is left to the lookup at mount time (and
/// its error message).
pub fn open_bind_sources(spec: &oci_spec::runtime::Spec, bundle: &Path) -> Vec<Option<OwnedFd>> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let source = bind_source(bundle, m)?;
            nix::fcntl::open(
                &source,
                nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        })
        .collect()
}

fn mount_one(
    root: &InRoot,
    p: &RootfsParams,
    m: &Mount,
    opened: Option<&OwnedFd>,
) -> Result<(), Fail> {
    let opts = options::parse(m.options().as_deref().unwrap_or(&[]));
    let dest = clean(m.destination());
    let typ = m.typ().as_deref().unwrap_or("");
    check_proc_dest(&dest, typ, &opts)?;
    let is_bind = opts.is_bind() || typ == "bind";
    let userns = if opts.idmap || m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        Some(idmap_userns(p, m, is_bind)?)
    } else {
        None
    };
    if is_bind {
        let source =
            bind_source(p.bundle, m).ok_or_else(|| Fail("bind mount without a source".into()))?;
        let source = Source {
            path: &source,
            opened: opened.map(|f| f.as_fd()),
        };
        return bind(root, &dest, source, &opts, userns.as_ref());
    }
    match typ {
        "cgroup" | "cgroup2" => return cgroup(root, p, &dest, typ, &opts),
        "sysfs" if p.in_user_ns && !has_netns(p) => {
            return host_rbind(root, &dest, Path::new("/sys"), &opts)
        }
        "" => return Err(Fail("no type given and not a bind mount".into())),
        _ => {}
    }
    let target = root.mkdir_all(&dest).ctx("create mount point")?;
    let covered = if opts.tmpcopyup && typ == "tmpfs" {
        Some(copyup::open_dir(target.as_fd()).ctx("open directory for tmpcopyup")?)
    } else {
        None
    };
    let source = m.source().as_deref().unwrap_or(Path::new(typ));
    let mut flags = opts.flags & !MsFlags::MS_REMOUNT;
    if covered.is_some() {
        // Filled first, made read-only afterwards.
        flags &= !MsFlags::MS_RDONLY;
    }
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    match mount(
        Some(source),
        proc_fd_path(target.as_fd()).as_str(),
        Some(typ),
        flags,
        data,
    ) {
        Ok(()) => {}
        // Without their own network / IPC namespace, user-namespaced containers cannot
        // mount sysfs / mqueue; runc then binds the host's, and so do we.
        Err(Errno::EPERM) if p.in_user_ns && typ == "sysfs" => {
            return host_rbind(root, &dest, Path::new("/sys"), &opts)
        }
        Err(Errno::EPERM) if p.in_user_ns && typ == "mqueue" => {
            return host_rbind(root, &dest, Path::new("/dev/mqueue"), &opts)
        }
        // devpts refers its gid= to the caller's user namespace, which must map it.
        Err(Errno::EINVAL) if p.in_user_ns && typ == "devpts" => {
            return Err(match option_value(&opts.data, "gid") {
                Some(gid) => Fail(format!(
                    "mount: {}: gid={gid} is not mapped in the container's user namespace \
                     (linux.gidMappings); map it or drop the gid= option",
                    Errno::EINVAL
                )),
                None => Fail::from(("mount", Errno::EINVAL)),
            })
        }
        Err(e) => return Err(Fail::from(("mount", e))),
    }
    if let Some(covered) = covered {
        let mnt = root.resolve(&dest).ctx("reopen tmpfs")?;
        let top = copyup::open_dir(mnt.as_fd()).ctx("open new tmpfs")?;
        let keep_mode = opts.data.split(',').any(|o| o.starts_with("mode="));
        copyup::copy_tree(covered, top, keep_mode).ctx("tmpcopyup")?;
        if opts.flags.contains(MsFlags::MS_RDONLY) {
            let ro = MountAttr {
                attr_set: MOUNT_ATTR_RDONLY,
                ..Default::default()
            };
            mount_setattr_fd(mnt.as_fd(), false, &ro).ctx("make tmpfs read-only")?;
        }
    }
    if !opts.propagation.is_empty() || !opts.recursive.is_empty() {
        // The fd we mounted on is the covered directory; reopen to reach the new mount.
        let mnt = root.resolve(&dest).ctx("reopen mount")?;
        after_attach(mnt.as_fd(), &opts)?;
    }
    Ok(())
}

fn has_netns(p: &RootfsParams) -> bool {
    p.spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network)
        })
}

fn check_proc_dest(dest: &Path, typ: &str, opts: &MountOptions) -> Result<(), Fail> {
    if !dest.starts_with("proc") {
        return Ok(());
    }
    if dest == Path::new("proc") {
        if typ == "proc" && !opts.is_bind() {
            return Ok(());
        }
        return Err(Fail("/proc may only be a proc mount".into()));
    }
    if PROC_BIND_ALLOWED.iter().any(|a| dest == Path::new(a)) {
        return Ok(());
    }
    Err(Fail(
        "mounting over /proc is only allowed for lxcfs-style files (e.g. /proc/cpuinfo)".into(),
    ))
}

/// Propagation and recursive attributes of a mount already in place.
fn after_attach(mnt: BorrowedFd, opts: &MountOptions) -> Result<(), Fail> {
    if !opts.recursive.is_empty() {
        mount_setattr_fd(mnt, true, &opts.recursive).ctx("set recursive attributes")?;
    }
    for &(flag, rec) in &opts.propagation {
        let attr = MountAttr {
            propagation: flag.bits(),
            ..Default::default()
        };
        mount_setattr_fd(mnt, rec, &attr).ctx("set propagation")?;
    }
    Ok(())
}

/// Bind mount of a host path: target created as a directory or file like the source.
/// The user namespace carrying an idmapped mount's mappings: the mount's own, else the
/// container's (linux.uidMappings / gidMappings).
fn idmap_userns(p: &RootfsParams, m: &Mount, is_bind: bool) -> Result<OwnedFd, Fail> {
    if !is_bind {
        return Err(Fail("idmapped mounts must be bind mounts".into()));
    }
    if p.in_user_ns {
        return Err(Fail(
            "idmapped mounts in a container with a user namespace are not supported yet".into(),
        ));
    }
    let linux = p.spec.linux().as_ref();
    let uid = m
        .uid_mappings()
        .as_deref()
        .or_else(|| linux.and_then(|l| l.uid_mappings().as_deref()))
        .unwrap_or(&[]);
    let gid = m
        .gid_mappings()
        .as_deref()
        .or_else(|| linux.and_then(|l| l.gid_mappings().as_deref()))
        .unwrap_or(&[]);
    if uid.is_empty() || gid.is_empty() {
        return Err(Fail(
            "idmap needs uidMappings and gidMappings (on the mount or in linux)".into(),
        ));
    }
    idmap::userns_with(uid, gid).map_err(Fail)
}

/// The value of `key=` in comma-separated filesystem options.
fn option_value<'a>(data: &'a str, key: &str) -> Option<&'a str> {
    data.split(',')
        .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
}

/// A bind mount's source: its host path (for messages, and for the lookup when it was
/// not opened ahead) and the fd [`open_bind_sources`] got for it.
#[derive(Clone, Copy)]
struct Source<'a> {
    path: &'a Path,
    opened: Option<BorrowedFd<'a>>,
}

impl Source<'_> {
    /// The path the mount syscalls are given: the fd's magic link when opened ahead.
    fn sys_path(&self) -> PathBuf {
        match self.opened {
            Some(fd) => PathBuf::from(proc_fd_path(fd)),
            None => self.path.to_path_buf(),
        }
    }
}

fn bind(
    root: &InRoot,
    dest: &Path,
    source: Source,
    opts: &MountOptions,
    userns: Option<&OwnedFd>,
) -> Result<(), Fail> {
    let target = match root.resolve(dest) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => {
            let meta = std::fs::metadata(source.sys_path())
                .map_err(|e| Fail(format!("source {}: {e}", source.path.display())))?;
            if meta.is_dir() {
                root.mkdir_missing(dest).ctx("create mount point")?
            } else {
                root.create_missing_file(dest)
                    .ctx("create mount point file")?
            }
        }
        Err(e) => return Err(Fail::from(("resolve destination", e))),
    };
    bind_onto(source, Target::fd(target.as_fd()), opts, userns)
}

/// Clones `source` (recursively for rbind), applies the options' attributes to the clone
/// before it becomes visible, then attaches it on `target`.
fn bind_onto(
    source: Source,
    target: Target,
    opts: &MountOptions,
    userns: Option<&OwnedFd>,
) -> Result<(), Fail> {
    let shown = source.path;
    let source = source.sys_path();
    let source = source.as_path();
    let attr = opts.bind_attr();
    let rec = opts.is_recursive_bind();
    if attr.is_empty()
        && opts.propagation.is_empty()
        && opts.recursive.is_empty()
        && userns.is_none()
    {
        // Nothing to adjust afterwards: one mount(2) is cheapest.
        let mut flags = MsFlags::MS_BIND;
        if rec {
            flags |= MsFlags::MS_REC;
        }
        return mount(
            Some(source),
            target.proc_path().as_str(),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(|e| Fail(format!("bind {}: {e}", shown.display())));
    }
    let src = CString::new(source.as_os_str().as_bytes())
        .map_err(|_| Fail("source contains a NUL byte".into()))?;
    let mut tree_flags = OPEN_TREE_CLONE;
    if rec {
        tree_flags |= libc::AT_RECURSIVE as u32;
    }
    let tree = open_tree(None, &src, tree_flags)
        .map_err(|e| Fail(format!("open_tree {}: {e}", shown.display())))?;
    if let Some(ns) = userns {
        idmap::apply(&tree, ns, opts.idmap_recursive).ctx("idmap the mount")?;
    }
    if !attr.is_empty() {
        mount_setattr_fd(tree.as_fd(), false, &attr).ctx("set mount attributes")?;
    }
    move_mount(tree.as_fd(), target.dir, target.rel()).ctx("attach bind mount")?;
    after_attach(tree.as_fd(), opts)
}

/// Recursive bind of a host directory at `dest` (sysfs/mqueue stand-ins).
fn host_rbind(root: &InRoot, dest: &Path, host: &Path, opts: &MountOptions) -> Result<(), Fail> {
    let target = root.mkdir_all(dest).ctx("create mount point")?;
    let mut o = MountOptions {
        flags: opts.flags | MsFlags::MS_BIND | MsFlags::MS_REC,
        cleared: opts.cleared,
        ..Default::default()
    };
    o.propagation = opts.propagation.clone();
    o.recursive = opts.recursive;
    let source = Source {
        path: host,
        opened: None,
    };
    bind_onto(source, Target::fd(target.as_fd()), &o, None)
}

/// cgroup / cgroup2 mounts. On a v1 or hybrid host: a tmpfs with one entry per
/// hierarchy; each is this container's cgroup dir bound in (or, with a cgroup
/// namespace, a fresh cgroup mount of that hierarchy). On a pure v2 host: cgroup2 itself
/// (cgroup namespace) or a bind of the container's cgroup dir.
fn cgroup(
    root: &InRoot,
    p: &RootfsParams,
    dest: &Path,
    typ: &str,
    opts: &MountOptions,
) -> Result<(), Fail> {
    let v1 = typ == "cgroup" && p.cgroup_dirs.iter().any(|(n, _)| !n.is_empty());
    let flags = opts.flags & !(MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_REC);
    if !v1 {
        let target = root.mkdir_all(dest).ctx("create mount point")?;
        let unified = p.cgroup_dirs.iter().find(|(n, _)| n.is_empty());
        return match (p.new_cgroup_ns, unified) {
            (false, Some((_, dir))) => bind_cgroup(dir, Target::fd(target.as_fd()), flags),
            _ => mount(
                Some("cgroup2"),
                proc_fd_path(target.as_fd()).as_str(),
                Some("cgroup2"),
                flags,
                None::<&str>,
            )
            .ctx("mount cgroup2"),
        };
    }
    let target = root.mkdir_all(dest).ctx("create mount point")?;
    mount(
        Some("tmpfs"),
        proc_fd_path(target.as_fd()).as_str(),
        Some("tmpfs"),
        flags & !MsFlags::MS_RDONLY,
        Some("mode=755"),
    )
    .ctx("mount cgroup tmpfs")?;
    let tmpfs = root.resolve(dest).ctx("reopen cgroup tmpfs")?;
    for (name, dir) in &p.cgroup_dirs {
        let sub = if name.is_empty() {
            "unified"
        } else {
            name.strip_prefix("name=").unwrap_or(name)
        };
        let sub_c = CString::new(sub).map_err(|_| Fail(format!("bad hierarchy name {name:?}")))?;
        match nix::sys::stat::mkdirat(
            tmpfs.as_fd(),
            sub_c.as_c_str(),
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Fail::from(("create hierarchy dir", e))),
        }
        // A directory we just made in our own fresh tmpfs: addressed by name.
        let target = Target {
            dir: tmpfs.as_fd(),
            name: Some(sub_c.as_c_str()),
        };
        if p.new_cgroup_ns {
            let (fstype, data) = if name.is_empty() {
                ("cgroup2", String::new())
            } else if name.starts_with("name=") {
                ("cgroup", format!("none,{name}"))
            } else {
                ("cgroup", name.clone())
            };
            mount(
                Some("cgroup"),
                target.proc_path().as_str(),
                Some(fstype),
                flags,
                (!data.is_empty()).then_some(data.as_str()),
            )
            .map_err(|e| Fail(format!("mount cgroup hierarchy {name}: {e}")))?;
        } else {
            bind_cgroup(dir, target, flags)?;
        }
        // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name.
        if sub.contains(',') {
            for part in sub.split(',') {
                match nix::unistd::symlinkat(sub, tmpfs.as_fd(), part) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(Fail::from(("symlink co-mounted controller", e))),
                }
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let ro = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            ..Default::default()
        };
        mount_setattr_fd(tmpfs.as_fd(), false, &ro).ctx("make cgroup tmpfs read-only")?;
    }
    let mut o = MountOptions {
        propagation: opts.propagation.clone(),
        ..Default::default()
    };
    o.recursive = opts.recursive;
    after_attach(tmpfs.as_fd(), &o)
}

fn bind_cgroup(dir: &Path, target: Target, flags: MsFlags) -> Result<(), Fail> {
    let o = MountOptions {
        flags: flags | MsFlags::MS_BIND,
        ..Default::default()
    };
    let source = Source {
        path: dir,
        opened: None,
    };
    bind_onto(source, target, &o, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(dest: &str, typ: &str, opts: &str) -> bool {
        let o: Vec<String> = opts
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        check_proc_dest(&clean(Path::new(dest)), typ, &options::parse(&o)).is_ok()
    }

    #[test]
    fn option_values() {
        assert_eq!(
            option_value("newinstance,gid=5,mode=0620", "gid"),
            Some("5")
        );
        assert_eq!(option_value("newinstance,mode=0620", "gid"), None);
        assert_eq!(option_value("xgid=5", "gid"), None);
        assert_eq!(option_value("", "gid"), None);
    }

    #[test]
    fn proc_destinations() {
        assert!(check("/proc", "proc", ""));
        assert!(!check("/proc", "tmpfs", ""));
        assert!(!check("/proc", "bind", "rbind"));
        assert!(check("/proc/cpuinfo", "bind", "bind"));
        assert!(check("/x/../proc/meminfo", "bind", "bind"));
        assert!(!check("/proc/self", "bind", "bind"));
        assert!(!check("/proc/sys/kernel", "tmpfs", ""));
        assert!(check("/process", "tmpfs", ""));
        assert!(check("/etc/proc", "tmpfs", ""));
    }
}
