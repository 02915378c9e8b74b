//! "tmpcopyup": a tmpfs mounted over an image directory starts with a copy of what it
//! covers (podman's default for --tmpfs and --read-only tmpfs mounts). Everything is
//! done relative to directory fds with O_NOFOLLOW, so image symlinks are copied as
//! symlinks and never followed.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, mknodat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

/// Opens the directory an O_PATH fd refers to for reading its entries. Done before the
/// tmpfs is mounted over it, this still reaches the covered directory afterwards.
pub(crate) fn open_dir(at: BorrowedFd) -> Result<OwnedFd, Errno> {
    openat(
        at,
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Copies the contents of `src` into the (empty) directory `dst`; unless the mount set
/// its own mode (`keep_mode`), `dst` also gets the mode and owner of `src`.
pub(crate) fn copy_tree(src: OwnedFd, dst: OwnedFd, keep_mode: bool) -> Result<(), Errno> {
    let st = fstat(&src)?;
    copy_dir(src, &dst)?;
    if keep_mode {
        return Ok(());
    }
    fchmod(&dst, Mode::from_bits_truncate(st.st_mode & 0o7777))?;
    fchown(
        &dst,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
}

fn copy_dir(src: OwnedFd, dst: &OwnedFd) -> Result<(), Errno> {
    let mut dir = Dir::from_fd(src)?;
    let src_fd = dir
        .as_fd()
        .try_clone_to_owned()
        .map_err(|_| Errno::EMFILE)?;
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let st = fstatat(&src_fd, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        copy_entry(src_fd.as_fd(), dst.as_fd(), name, &st)?;
    }
    Ok(())
}

fn copy_entry(src: BorrowedFd, dst: BorrowedFd, name: &CStr, st: &FileStat) -> Result<(), Errno> {
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, perm)?;
            let s = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )?;
            let d = openat(
                dst,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )?;
            copy_dir(s, &d)?;
        }
        SFlag::S_IFREG => {
            let s = openat(src, name, OFlag::O_RDONLY | nofollow, Mode::empty())?;
            let d = openat(
                dst,
                name,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow,
                perm,
            )?;
            let (mut s, mut d) = (std::fs::File::from(s), std::fs::File::from(d));
            std::io::copy(&mut s, &mut d)
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name)?;
            symlinkat(target.as_os_str(), dst, name)?;
        }
        // Device nodes, fifos and sockets are recreated as nodes.
        _ => mknodat(dst, name, kind, perm, st.st_rdev)?,
    }
    fchownat(
        dst,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}
