//! Docker's copy-up: a new, empty volume is filled with what the image has at the mount
//! path. The image side is resolved with openat2(RESOLVE_IN_ROOT) and walked with
//! O_NOFOLLOW per component, so no symlink in the image can lead outside its rootfs;
//! symlinks are copied as symlinks.

use nix::fcntl::{openat, openat2, readlinkat, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

fn dir_entries(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    // The fd pins the directory; /proc/self/fd/N lists exactly that directory.
    let mut names = Vec::new();
    for e in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        names.push(e?.file_name());
    }
    Ok(names)
}

fn open_dir_nofollow(parent: impl AsFd, name: &OsString) -> io::Result<OwnedFd> {
    Ok(openat(
        parent,
        name.as_os_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

fn copy_attrs(fd: &OwnedFd, st: &nix::sys::stat::FileStat) -> io::Result<()> {
    fchown(
        fd,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    // After chown, which clears set-id bits.
    fchmod(fd, Mode::from_bits_truncate(st.st_mode & 0o7777))?;
    Ok(())
}

fn copy_tree(src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
    for name in dir_entries(src)? {
        let st = fstatat(src, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if kind == SFlag::S_IFDIR {
            mkdirat(dst, name.as_os_str(), Mode::from_bits_truncate(0o700))?;
            let s = open_dir_nofollow(src, &name)?;
            let d = open_dir_nofollow(dst, &name)?;
            copy_tree(&s, &d)?;
            copy_attrs(&d, &st)?;
        } else if kind == SFlag::S_IFREG {
            let s = openat(
                src,
                name.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let d = openat(
                dst,
                name.as_os_str(),
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let (mut sf, mut df) = (File::from(s), File::from(d));
            io::copy(&mut sf, &mut df)?;
            let d: OwnedFd = df.into();
            copy_attrs(&d, &st)?;
        } else if kind == SFlag::S_IFLNK {
            let target = readlinkat(src, name.as_os_str())?;
            symlinkat(target.as_os_str(), dst, name.as_os_str())?;
            fchownat(
                dst,
                name.as_os_str(),
                Some(Uid::from_raw(st.st_uid)),
                Some(Gid::from_raw(st.st_gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        } else {
            // Devices, FIFOs and sockets are not volume content.
            tracing::debug!("copy-up skips special file {:?}", name);
        }
    }
    Ok(())
}

/// Whether a directory has no entries.
pub fn is_empty_dir(path: &Path) -> io::Result<bool> {
    Ok(std::fs::read_dir(path)?.next().is_none())
}

/// Copies `rootfs`/`target` (resolved inside `rootfs`) into the directory `dest`.
/// Returns false when the image has nothing (or no directory) at that path.
pub fn copy_up(rootfs: &Path, target: &str, dest: &Path) -> io::Result<bool> {
    let root = openat(
        nix::fcntl::AT_FDCWD,
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let rel = target.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let src = match openat2(&root, rel, how) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ENOTDIR) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let dst = openat(
        nix::fcntl::AT_FDCWD,
        dest,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    copy_tree(&src, &dst)?;
    let st = nix::sys::stat::fstat(&src)?;
    copy_attrs(&dst, &st)?;
    Ok(true)
}
