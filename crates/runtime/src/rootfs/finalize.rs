//! Steps after pivot_root: root propagation, readonlyPaths, maskedPaths, root.readonly.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

use super::sys::{mount_setattr, MountAttr, MOUNT_ATTR_RDONLY};
use super::{initial_propagation, requested_propagation, sys_err, RootfsError};

const RDONLY: MountAttr = MountAttr {
    attr_set: MOUNT_ATTR_RDONLY,
    attr_clr: 0,
    propagation: 0,
    userns_fd: 0,
};

/// After [`super::pivot`]: applies linux.rootfsPropagation to the new "/", makes
/// readonlyPaths read-only, masks maskedPaths (missing ones are skipped), and makes "/"
/// read-only if root.readonly. Write linux.sysctl before calling this: /proc/sys is
/// normally among the readonlyPaths.
pub fn finalize(spec: &oci_spec::runtime::Spec) -> Result<(), RootfsError> {
    let req = requested_propagation(spec)?;
    if let Some((flag, rec)) = req {
        let f = if rec { flag | MsFlags::MS_REC } else { flag };
        if f != initial_propagation(req) {
            mount(None::<&str>, "/", None::<&str>, f, None::<&str>)
                .map_err(sys_err("set propagation of", Path::new("/")))?;
        }
    }
    if let Some(linux) = spec.linux() {
        for p in linux.readonly_paths().iter().flatten() {
            readonly_path(Path::new(p))?;
        }
        for p in linux.masked_paths().iter().flatten() {
            mask_path(Path::new(p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        mount_setattr(None, c"/", 0, &RDONLY)
            .map_err(sys_err("make read-only (root.readonly):", Path::new("/")))?;
    }
    Ok(())
}

fn readonly_path(p: &Path) -> Result<(), RootfsError> {
    match mount(
        Some(p),
        p,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Ok(()) => {}
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(sys_err("bind readonlyPaths entry", p)(e)),
    }
    let c = CString::new(p.as_os_str().as_bytes()).map_err(|_| RootfsError::Config {
        field: "linux.readonlyPaths",
        reason: format!("{} contains a NUL byte", p.display()),
    })?;
    // mount_setattr changes only the read-only bit, so flags locked by a user namespace
    // (nosuid, nodev, ...) need not be repeated as a remount would.
    mount_setattr(None, &c, libc::AT_RECURSIVE as u32, &RDONLY)
        .map_err(sys_err("make read-only readonlyPaths entry", p))
}

fn mask_path(p: &Path) -> Result<(), RootfsError> {
    // Look before mounting: a failed bind (file over directory) costs the kernel an RCU
    // grace period, milliseconds, while a stat costs about a microsecond.
    let st = match nix::sys::stat::stat(p) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(sys_err("stat maskedPaths entry", p)(e)),
    };
    let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        // A directory: cover it with an empty read-only tmpfs.
        mount(
            Some("tmpfs"),
            p,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            Some("size=0"),
        )
    } else {
        mount(
            Some("/dev/null"),
            p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    r.map_err(sys_err("mask maskedPaths entry", p))
}
