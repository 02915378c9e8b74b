//! Resolving and creating paths inside the container root so that nothing planted in
//! the rootfs (symlinks, "..") can lead outside it: every lookup is openat2 with
//! RESOLVE_IN_ROOT from an fd of the root, and every creation is relative to an fd
//! obtained that way.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{mkdirat, Mode};

use super::sys::{openat2, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};

/// An O_PATH handle on a directory that acts as "/" for every lookup made through it.
pub(crate) struct InRoot {
    fd: OwnedFd,
}

/// `path` made relative with "." and ".." removed lexically (".." stops at the root),
/// as the runtime-spec resolves mount destinations.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn cstr(p: &Path) -> Result<CString, Errno> {
    let b = p.as_os_str().as_bytes();
    if b.is_empty() {
        return Ok(c".".to_owned());
    }
    CString::new(b).map_err(|_| Errno::EINVAL)
}

impl InRoot {
    /// Opens `root` (a host path) as the lookup root.
    pub(crate) fn open(root: &Path) -> Result<Self, Errno> {
        let fd = nix::fcntl::open(
            root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self { fd })
    }

    /// O_PATH fd of the existing `rel` (a cleaned relative path), symlinks resolved
    /// inside the root.
    pub(crate) fn resolve(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        openat2(
            self.fd.as_fd(),
            &cstr(rel)?,
            libc::O_PATH,
            0,
            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Like `resolve`, creating missing directories (mode 0755 before umask) on the way.
    /// A dangling symlink on the way is followed inside the root, as the kernel would.
    pub(crate) fn mkdir_all(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        match self.resolve(rel) {
            Err(Errno::ENOENT) => self.mkdir_missing(rel),
            r => r,
        }
    }

    /// `mkdir_all` for a path already known not to resolve.
    pub(crate) fn mkdir_missing(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        let mut path = std::borrow::Cow::Borrowed(rel);
        let mut known_missing = true;
        for _ in 0..MAX_SYMLINKS {
            match self.mkdir_walk(&path, known_missing)? {
                Walk::Done(fd) => return Ok(fd),
                Walk::Redirect(p) => path = std::borrow::Cow::Owned(p),
            }
            known_missing = false;
        }
        Err(Errno::ELOOP)
    }

    /// Creates the missing tail of `rel` from its deepest existing ancestor: in the
    /// common case (only the last component missing) that is one lookup of the parent,
    /// one mkdirat and one open.
    fn mkdir_walk(&self, rel: &Path, known_missing: bool) -> Result<Walk, Errno> {
        if !known_missing {
            match self.resolve(rel) {
                Err(Errno::ENOENT) => {}
                r => return r.map(Walk::Done),
            }
        }
        let (parent, name) = split(rel)?;
        let parent_fd = if parent.as_os_str().is_empty() {
            None
        } else {
            match self.mkdir_walk(parent, false)? {
                Walk::Done(fd) => Some(fd),
                Walk::Redirect(mut p) => {
                    p.push(name);
                    return Ok(Walk::Redirect(p));
                }
            }
        };
        let dir = parent_fd.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
        match mkdir_in(dir, name) {
            Ok(fd) => Ok(Walk::Done(fd)),
            Err(e @ (Errno::ENOTDIR | Errno::ELOOP)) => redirect(dir, parent, name, rel, e),
            Err(e) => Err(e),
        }
    }

    /// Creates `rel` (known not to resolve) as an empty regular file, its parents as
    /// directories; dangling symlinks are followed inside the root.
    pub(crate) fn create_missing_file(&self, rel: &Path) -> Result<OwnedFd, Errno> {
        let mut path = rel.to_path_buf();
        for i in 0..MAX_SYMLINKS {
            if i > 0 {
                match self.resolve(&path) {
                    Err(Errno::ENOENT) => {}
                    r => return r,
                }
            }
            let (parent, name) = split(&path)?;
            let dir = self.mkdir_all(parent)?;
            match create_file_in(dir.as_fd(), name) {
                Err(e @ Errno::ELOOP) => match redirect(dir.as_fd(), parent, name, &path, e)? {
                    Walk::Redirect(p) => path = p,
                    Walk::Done(fd) => return Ok(fd),
                },
                r => return r,
            }
        }
        Err(Errno::ELOOP)
    }
}

/// How often a creating walk follows dangling symlinks before giving up (the kernel's
/// own limit is 40).
const MAX_SYMLINKS: usize = 40;

enum Walk {
    Done(OwnedFd),
    /// A dangling symlink was met: start over with this path (still relative to the root).
    Redirect(PathBuf),
}

/// `name` in `dir` (reached as `prefix`) could not be entered or created because it is a
/// symlink: the walk restarts at its target, with the rest of `rel` appended. The new
/// path is cleaned lexically and resolved from the root again, so it stays inside.
fn redirect(
    dir: BorrowedFd,
    prefix: &Path,
    name: &OsStr,
    rel: &Path,
    err: Errno,
) -> Result<Walk, Errno> {
    let target = match nix::fcntl::readlinkat(dir, name) {
        Ok(t) => PathBuf::from(t),
        Err(_) => return Err(err),
    };
    let mut next = if target.is_absolute() {
        target
    } else {
        prefix.join(target)
    };
    let consumed = prefix.iter().count() + 1;
    for c in rel.iter().skip(consumed) {
        next.push(c);
    }
    Ok(Walk::Redirect(clean(&next)))
}

/// (parent, last component) of a cleaned relative path.
pub(crate) fn split(rel: &Path) -> Result<(&Path, &OsStr), Errno> {
    match (rel.parent(), rel.file_name()) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(Errno::EINVAL),
    }
}

/// mkdir `name` in `dir` (an existing one is fine) and open it without following a
/// symlink someone may have put there.
pub(crate) fn mkdir_in(dir: BorrowedFd, name: &OsStr) -> Result<OwnedFd, Errno> {
    match mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Creates (or opens) the regular file `name` in `dir`, never through a symlink.
pub(crate) fn create_file_in(dir: BorrowedFd, name: &OsStr) -> Result<OwnedFd, Errno> {
    openat(
        dir,
        name,
        OFlag::O_CREAT | OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::from_bits_truncate(0o644),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_stays_below_root() {
        assert_eq!(clean(Path::new("/a/../../b/./c")), PathBuf::from("b/c"));
        assert_eq!(clean(Path::new("../../etc")), PathBuf::from("etc"));
        assert_eq!(clean(Path::new("/")), PathBuf::new());
        assert_eq!(clean(Path::new("dev/shm/")), PathBuf::from("dev/shm"));
    }
}
