//! Thin wrappers over the mount-related syscalls that nix does not wrap
//! (openat2, open_tree, move_mount, mount_setattr). Each returns nix's `Errno`.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub(crate) const RESOLVE_IN_ROOT: u64 = 0x10;

pub(crate) const OPEN_TREE_CLONE: u32 = 0x01;
pub(crate) const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x04;
pub(crate) const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub(crate) const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub(crate) const MOUNT_ATTR_NODEV: u64 = 0x04;
pub(crate) const MOUNT_ATTR_NOEXEC: u64 = 0x08;
pub(crate) const MOUNT_ATTR__ATIME: u64 = 0x70;
pub(crate) const MOUNT_ATTR_RELATIME: u64 = 0x00;
pub(crate) const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub(crate) const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub(crate) const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub(crate) const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
pub(crate) const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct open_how` of openat2(2); libc's is non-exhaustive, so we keep our own.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

impl MountAttr {
    pub(crate) fn is_empty(&self) -> bool {
        self.attr_set == 0 && self.attr_clr == 0 && self.propagation == 0
    }
}

fn owned(ret: libc::c_long) -> Result<OwnedFd, Errno> {
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

fn unit(ret: libc::c_long) -> Result<(), Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// openat2(2); retries the EAGAIN the kernel returns when a rename raced the lookup.
pub(crate) fn openat2(
    dir: BorrowedFd,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> Result<OwnedFd, Errno> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    let mut tries = 0;
    loop {
        // SAFETY: `path` is NUL-terminated and `how` is a valid open_how of the size passed.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(ret) {
            Err(Errno::EAGAIN) if tries < 16 => tries += 1,
            r => return r,
        }
    }
}

/// open_tree(2) with an fd-relative path (`dir` may be `None` for the cwd).
pub(crate) fn open_tree(
    dir: Option<BorrowedFd>,
    path: &CStr,
    flags: u32,
) -> Result<OwnedFd, Errno> {
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `path` is NUL-terminated; the call only reads it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dirfd,
            path.as_ptr(),
            flags | libc::O_CLOEXEC as u32,
        )
    };
    owned(ret)
}

/// move_mount(2) of the detached tree `from` onto `to_path` in `to_dir` (the inode
/// `to_dir` is open on when `to_path` is empty).
pub(crate) fn move_mount(
    from: BorrowedFd,
    to_dir: BorrowedFd,
    to_path: &CStr,
) -> Result<(), Errno> {
    let mut flags = MOVE_MOUNT_F_EMPTY_PATH;
    if to_path.is_empty() {
        flags |= MOVE_MOUNT_T_EMPTY_PATH;
    }
    // SAFETY: both paths are NUL-terminated C strings; fds are valid borrows.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to_dir.as_raw_fd(),
            to_path.as_ptr(),
            flags,
        )
    };
    unit(ret)
}

/// mount_setattr(2) on `path` relative to `dir` (or the cwd), `flags` being AT_* flags.
pub(crate) fn mount_setattr(
    dir: Option<BorrowedFd>,
    path: &CStr,
    flags: u32,
    attr: &MountAttr,
) -> Result<(), Errno> {
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `path` is NUL-terminated and `attr` is a valid mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    unit(ret)
}

/// mount_setattr(2) on the mount an fd from open_tree / openat2 refers to.
pub(crate) fn mount_setattr_fd(
    fd: BorrowedFd,
    recursive: bool,
    attr: &MountAttr,
) -> Result<(), Errno> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    mount_setattr(Some(fd), c"", flags, attr)
}

/// "/proc/self/fd/N" for mount(2) calls that must target an already-resolved inode.
pub(crate) fn proc_fd_path(fd: BorrowedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// A mount target: an already-resolved directory fd, or a plain name inside one (only
/// for directories this process has just created, e.g. in its own fresh tmpfs, where
/// nothing else can have planted a symlink).
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub dir: BorrowedFd<'a>,
    pub name: Option<&'a CStr>,
}

impl<'a> Target<'a> {
    pub(crate) fn fd(dir: BorrowedFd<'a>) -> Self {
        Self { dir, name: None }
    }

    /// Path for mount(2).
    pub(crate) fn proc_path(&self) -> String {
        match self.name {
            None => proc_fd_path(self.dir),
            Some(n) => format!(
                "/proc/self/fd/{}/{}",
                self.dir.as_raw_fd(),
                n.to_string_lossy()
            ),
        }
    }

    /// Path relative to `dir` for move_mount(2).
    pub(crate) fn rel(&self) -> &CStr {
        self.name.unwrap_or(c"")
    }
}
