//! File access confined to the container's root filesystem: symlinks and `..` in an image
//! resolve as if the rootfs were `/` (openat2 RESOLVE_IN_ROOT through pathrs), so a hostile
//! image cannot make the engine read or create host files.

use std::fs::Permissions;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::SpecError;

fn to_io(e: pathrs::error::Error) -> std::io::Error {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(errno)) => std::io::Error::from_raw_os_error(errno),
        _ => std::io::Error::other(e.to_string()),
    }
}

/// Largest file `read_file` accepts: passwd and group files are far smaller; an image
/// must not make the engine read without bound.
pub const MAX_READ: u64 = 16 << 20;

/// Contents of `path` inside `rootfs`, or None if it (or a parent) does not exist. Only
/// regular files are opened (a device node or FIFO planted in the image could block or
/// never end), and at most `MAX_READ` bytes are read.
pub fn read_file(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let shown = || rootfs.join(path.trim_start_matches('/'));
    let root = pathrs::Root::open(rootfs).map_err(|e| SpecError::io(rootfs, to_io(e)))?;
    let handle = match root.resolve(path) {
        Ok(h) => h,
        Err(e) => {
            let io = to_io(e);
            return match io.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) => Ok(None),
                _ => Err(SpecError::io(shown(), io)),
            };
        }
    };
    let st = nix::sys::stat::fstat(&handle).map_err(|e| SpecError::io(shown(), e.into()))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(SpecError::io(
            shown(),
            std::io::Error::other("not a regular file"),
        ));
    }
    let f = handle
        .reopen(pathrs::flags::OpenFlags::O_RDONLY)
        .map_err(|e| SpecError::io(shown(), to_io(e)))?;
    let mut buf = Vec::new();
    f.take(MAX_READ + 1)
        .read_to_end(&mut buf)
        .map_err(|e| SpecError::io(shown(), e))?;
    if buf.len() as u64 > MAX_READ {
        return Err(SpecError::io(
            shown(),
            std::io::Error::other(format!("larger than {MAX_READ} bytes")),
        ));
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The mode (type and permission bits) of `path` inside `rootfs`, following symlinks
/// within it; None if it does not exist.
pub fn mode_of(rootfs: &Path, path: &str) -> Result<Option<u32>, SpecError> {
    let shown = || rootfs.join(path.trim_start_matches('/'));
    // Opened with a plain open(2), not Root::open: `rootfs` may be /proc/PID/root, a magic
    // link pathrs will not follow; what is resolved beneath it stays confined.
    let dir = std::fs::File::open(rootfs).map_err(|e| SpecError::io(rootfs, e))?;
    let root = pathrs::Root::from_fd(std::os::fd::OwnedFd::from(dir));
    match root.resolve(path) {
        Ok(h) => {
            let st = nix::sys::stat::fstat(&h).map_err(|e| SpecError::io(shown(), e.into()))?;
            Ok(Some(st.st_mode))
        }
        Err(e) => {
            let io = to_io(e);
            match io.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP) => Ok(None),
                _ => Err(SpecError::io(shown(), io)),
            }
        }
    }
}

/// Creates directory `path` (and parents) inside `rootfs`, mode 0755, as Docker does for
/// the working directory. Existing directories are left alone.
pub fn mkdir_all(rootfs: &Path, path: &str) -> Result<(), SpecError> {
    let root = pathrs::Root::open(rootfs).map_err(|e| SpecError::io(rootfs, to_io(e)))?;
    root.mkdir_all(path, &Permissions::from_mode(0o755))
        .map(|_| ())
        .map_err(|e| SpecError::io(rootfs.join(path.trim_start_matches('/')), to_io(e)))
}
