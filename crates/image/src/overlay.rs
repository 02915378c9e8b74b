//! Overlay mounts through the new mount API: fsopen("overlay") and one
//! `lowerdir+` fsconfig call per layer (Linux 6.8+), so the number of layers is not
//! limited by the page-sized mount option string of mount(2).

use crate::error::IoContext;
use crate::ImageError;
use rustix::fs::{AtFlags, CWD};
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount, unmount, FsMountFlags,
    FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags,
};
use std::path::{Path, PathBuf};

/// Mounts an overlay at `target`: `lowers` top first, plus upper and work dirs.
pub fn mount(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), ImageError> {
    if lowers.is_empty() {
        return Err(ImageError::Invalid(
            "an overlay needs at least one lower layer".into(),
        ));
    }
    let what = || format!("mount overlay at {}", target.display());
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).ctx(what)?;
    for l in lowers {
        fsconfig_set_string(&fs, "lowerdir+", l)
            .ctx(|| format!("overlay lowerdir+ {}", l.display()))?;
    }
    fsconfig_set_string(&fs, "upperdir", upper)
        .ctx(|| format!("overlay upperdir {}", upper.display()))?;
    fsconfig_set_string(&fs, "workdir", work)
        .ctx(|| format!("overlay workdir {}", work.display()))?;
    fsconfig_create(&fs).ctx(what)?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty()).ctx(what)?;
    move_mount(
        &mnt,
        "",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .ctx(what)?;
    Ok(())
}

/// Whether `path` is the root of a mount (its device differs from its parent's, or
/// it is its own parent).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(st) = rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    let parent = path.join("..");
    let Ok(pst) = rustix::fs::statat(CWD, &parent, AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    st.st_dev != pst.st_dev || st.st_ino == pst.st_ino
}

/// Unmounts `target` if mounted; a busy mount is detached.
pub fn unmount_if_mounted(target: &Path) -> Result<(), ImageError> {
    while is_mountpoint(target) {
        match unmount(target, UnmountFlags::empty()) {
            Ok(()) => {}
            Err(rustix::io::Errno::BUSY) => {
                unmount(target, UnmountFlags::DETACH)
                    .ctx(|| format!("unmount {}", target.display()))?;
            }
            Err(rustix::io::Errno::INVAL) => break,
            Err(e) => {
                return Err(ImageError::io(
                    format!("unmount {}", target.display()),
                    e.into(),
                ))
            }
        }
    }
    Ok(())
}
