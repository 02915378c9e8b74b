//! Device nodes in the container's /dev: linux.devices, the default set, and the
//! conventional /dev symlinks.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::in_root::{clean, create_file_in, split, InRoot};
use super::sys::proc_fd_path;
use super::{RootfsError, RootfsParams};

/// A device node to create: (path in the container, kind, major, minor, mode, uid, gid).
struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// The devices every container gets unless linux.devices names the same path.
const DEFAULTS: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

fn dev_err(index: Option<usize>, path: &Path, reason: String) -> RootfsError {
    RootfsError::Device {
        field: match index {
            Some(i) => format!("linux.devices[{i}]"),
            None => "default device".into(),
        },
        path: path.display().to_string(),
        reason,
    }
}

fn node_of(d: &LinuxDevice) -> Result<Node<'_>, String> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => return Err("type must be c, b, u or p".into()),
    };
    if d.major() < 0 || d.minor() < 0 {
        return Err("major and minor must not be negative".into());
    }
    Ok(Node {
        path: d.path(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// Creates linux.devices, the default devices and the /dev symlinks.
pub(crate) fn create_all(root: &InRoot, p: &RootfsParams) -> Result<(), RootfsError> {
    let devices: &[LinuxDevice] = p
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_deref())
        .unwrap_or(&[]);
    // Nearly every node lives directly in /dev: resolve it once.
    let dev = root
        .mkdir_all(Path::new("dev"))
        .map_err(|e| dev_err(None, Path::new("/dev"), e.to_string()))?;
    for (i, d) in devices.iter().enumerate() {
        let node = node_of(d).map_err(|r| dev_err(Some(i), d.path(), r))?;
        create(root, &dev, &node, p.in_user_ns).map_err(|r| dev_err(Some(i), d.path(), r))?;
    }
    for &(path, major, minor) in DEFAULTS {
        if devices.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        let node = Node {
            path: Path::new(path),
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        create(root, &dev, &node, p.in_user_ns).map_err(|r| dev_err(None, node.path, r))?;
    }
    symlinks(dev.as_fd(), wants_core_link(p))
}

/// /dev/core only makes sense with a procfs at /proc and a kernel that has /proc/kcore.
fn wants_core_link(p: &RootfsParams) -> bool {
    let proc_mounted = p.spec.mounts().as_ref().is_some_and(|ms| {
        ms.iter().any(|m| {
            m.typ().as_deref() == Some("proc") && clean(m.destination()) == Path::new("proc")
        })
    });
    proc_mounted && nix::unistd::access("/proc/kcore", nix::unistd::AccessFlags::F_OK).is_ok()
}

fn create(root: &InRoot, dev: &OwnedFd, n: &Node, in_user_ns: bool) -> Result<(), String> {
    let rel = clean(n.path);
    let (parent, name) = split(&rel).map_err(|_| "not a valid device path".to_string())?;
    let other;
    let dir = if parent == Path::new("dev") {
        dev
    } else {
        other = root
            .mkdir_all(parent)
            .map_err(|e| format!("create parent directory: {e}"))?;
        &other
    };
    if in_user_ns {
        return bind_host_node(dir.as_fd(), name, n.path);
    }
    let dev = makedev(n.major, n.minor);
    match mknodat(
        dir.as_fd(),
        name,
        n.kind,
        Mode::from_bits_truncate(n.mode),
        dev,
    ) {
        Ok(()) => {}
        // Already there (a reused rootfs): keep it, as runc does.
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) => return bind_host_node(dir.as_fd(), name, n.path),
        Err(e) => return Err(format!("mknod: {e}")),
    }
    if n.uid != 0 || n.gid != 0 {
        fchownat(
            dir.as_fd(),
            name,
            Some(Uid::from_raw(n.uid)),
            Some(Gid::from_raw(n.gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| format!("chown: {e}"))?;
    }
    Ok(())
}

/// Where mknod is not allowed (user namespaces), the host's node is bound in instead.
fn bind_host_node(dir: BorrowedFd, name: &OsStr, host: &Path) -> Result<(), String> {
    let target = create_file_in(dir, name).map_err(|e| format!("create bind target: {e}"))?;
    mount(
        Some(host),
        proc_fd_path(target.as_fd()).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| format!("bind host device {}: {e}", host.display()))
}

fn symlinks(dev: BorrowedFd, with_core: bool) -> Result<(), RootfsError> {
    // /dev/ptmx must be the devpts instance's multiplexer, whatever the image holds.
    match unlinkat(dev, "ptmx", UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(dev_err(None, Path::new("/dev/ptmx"), e.to_string())),
    }
    let mut links: Vec<(&str, &str)> = vec![
        ("pts/ptmx", "ptmx"),
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if with_core {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match symlinkat(target, dev, name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(dev_err(
                    None,
                    &Path::new("/dev").join(name),
                    format!("symlink: {e}"),
                ))
            }
        }
    }
    Ok(())
}
