//! `cp` and `export`: files between the host and a container's root filesystem.
//!
//! Everything on the container side happens in a helper process (`berth` re-executed with
//! a hidden command) that has chrooted into the container's root first, so a symlink or
//! `..` planted in the container can only ever resolve inside it. Archives travel as tar
//! over a pipe; the host side unpacks with the tar crate's in-directory checks.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::state::ContainerRecord;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// Hidden `berth` command the helper runs as.
pub const HELPER_COMMAND: &str = "container-fs-helper";

/// One side of `berth cp`: `CONTAINER:PATH` or a host path (`-` = tar on stdin/stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEndpoint {
    Container { container: String, path: String },
    Host(PathBuf),
}

impl CopyEndpoint {
    /// Docker's rule: `NAME:PATH` names a container unless the part before `:` holds a
    /// `/` (then it is a host path like `./a:b`).
    pub fn parse(s: &str) -> CopyEndpoint {
        match s.split_once(':') {
            Some((c, p)) if !c.is_empty() && !c.contains('/') => CopyEndpoint::Container {
                container: c.to_string(),
                path: p.to_string(),
            },
            _ => CopyEndpoint::Host(PathBuf::from(s)),
        }
    }
}

fn helper(rootfs: &Path, mode: &str, path: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("berth"));
    let mut c = Command::new(exe);
    c.arg(HELPER_COMMAND).arg(mode).arg(rootfs).arg(path);
    c
}

/// Last normal component of a path (`/a/b/` → `b`), or None for `/`.
fn base_name(p: &Path) -> Option<std::ffi::OsString> {
    p.components().rev().find_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        _ => None,
    })
}

impl Engine {
    /// `cp CONTAINER:SRC HOST_DEST` (DEST `-`: the tar goes to stdout).
    pub fn copy_from(&self, rec: &ContainerRecord, src: &str, dest: &Path) -> Result<()> {
        let rootfs = self.rootfs_path(rec)?;
        let mut child = helper(&rootfs, "out", src)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io("start copy helper", e))?;
        let mut out = child.stdout.take().expect("piped");
        let res = if dest == Path::new("-") {
            io::copy(&mut out, &mut io::stdout().lock())
                .map(|_| ())
                .map_err(|e| EngineError::io("write archive", e))
        } else {
            unpack_on_host(&mut out, src, dest)
        };
        drop(out);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        if !ok {
            return Err(EngineError::Invalid(if err.trim().is_empty() {
                format!("Could not find the file {src} in container {}", rec.name)
            } else {
                err.trim().to_string()
            }));
        }
        res
    }

    /// `cp HOST_SRC CONTAINER:DEST` (SRC `-`: a tar read from stdin is extracted at DEST).
    pub fn copy_to(&self, rec: &ContainerRecord, src: &Path, dest: &str) -> Result<()> {
        let rootfs = self.rootfs_path(rec)?;
        let mode = if src == Path::new("-") {
            "in-tar"
        } else {
            "in"
        };
        let mut child = helper(&rootfs, mode, dest)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io("start copy helper", e))?;
        let mut input = child.stdin.take().expect("piped");
        let res = if src == Path::new("-") {
            io::copy(&mut io::stdin().lock(), &mut input)
                .map(|_| ())
                .map_err(|e| EngineError::io("read archive", e))
        } else {
            let meta = std::fs::symlink_metadata(src)
                .map_err(|e| EngineError::io(format!("lstat {}", src.display()), e))?;
            let name = base_name(src).unwrap_or_else(|| ".".into());
            let mut b = tar::Builder::new(&mut input);
            b.follow_symlinks(false);
            let r = if meta.is_dir() {
                b.append_dir_all(&name, src)
            } else {
                b.append_path_with_name(src, &name)
            };
            r.and_then(|_| b.finish())
                .map_err(|e| EngineError::io(format!("archive {}", src.display()), e))
        };
        drop(input);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        if !ok {
            return Err(EngineError::Invalid(err.trim().to_string()));
        }
        res
    }

    /// `export`: the container's whole filesystem as a tar stream.
    pub fn export(&self, rec: &ContainerRecord, out: &mut dyn Write) -> Result<()> {
        let rootfs = self.rootfs_path(rec)?;
        let mut child = helper(&rootfs, "export", "/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io("start export helper", e))?;
        let mut o = child.stdout.take().expect("piped");
        io::copy(&mut o, out).map_err(|e| EngineError::io("write archive", e))?;
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(EngineError::Other("export failed".into()))
        }
    }
}

/// Unpacks an archive whose top entry is `basename(src)` as Docker's cp places it:
/// into DEST when DEST is an existing directory, else as DEST itself.
fn unpack_on_host(r: &mut dyn Read, src: &str, dest: &Path) -> Result<()> {
    let name = base_name(Path::new(src)).unwrap_or_else(|| ".".into());
    let (parent, final_name) = if dest.is_dir() {
        (dest.to_path_buf(), name.clone())
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let fname = base_name(dest).ok_or_else(|| {
            EngineError::Invalid(format!("invalid destination {}", dest.display()))
        })?;
        (parent, fname)
    };
    if !parent.is_dir() {
        return Err(EngineError::Invalid(format!(
            "destination directory {} does not exist",
            parent.display()
        )));
    }
    let tmp = parent.join(format!(".berth-cp-{}", std::process::id()));
    std::fs::create_dir(&tmp)
        .map_err(|e| EngineError::io(format!("create {}", tmp.display()), e))?;
    let mut ar = tar::Archive::new(r);
    ar.set_preserve_permissions(true);
    ar.set_overwrite(true);
    let res = ar
        .unpack(&tmp)
        .map_err(|e| EngineError::io("extract archive", e))
        .and_then(|_| {
            let target = parent.join(&final_name);
            if target.is_dir() && tmp.join(&name).is_dir() {
                // Merge a directory into an existing one, as cp -r does.
                merge_dir(&tmp.join(&name), &target)
            } else {
                std::fs::rename(tmp.join(&name), &target)
                    .map_err(|e| EngineError::io(format!("create {}", target.display()), e))
            }
        });
    let _ = std::fs::remove_dir_all(&tmp);
    res
}

fn merge_dir(from: &Path, to: &Path) -> Result<()> {
    for e in std::fs::read_dir(from).map_err(|e| EngineError::io("read dir", e))? {
        let e = e.map_err(|e| EngineError::io("read dir", e))?;
        let dst = to.join(e.file_name());
        if e.path().is_dir() && !e.path().is_symlink() && dst.is_dir() {
            merge_dir(&e.path(), &dst)?;
        } else {
            if dst.is_dir() && !dst.is_symlink() {
                let _ = std::fs::remove_dir_all(&dst);
            }
            std::fs::rename(e.path(), &dst)
                .map_err(|err| EngineError::io(format!("create {}", dst.display()), err))?;
        }
    }
    Ok(())
}

/// The helper process: `container-fs-helper MODE ROOTFS PATH`, chrooted into ROOTFS.
/// `out`: tar of PATH to stdout; `export`: tar of the whole root; `in`: a tar from stdin
/// whose top entry becomes PATH (or goes into PATH when it is a directory); `in-tar`: a
/// tar from stdin extracted into the directory PATH.
pub fn helper_main(mode: &str, rootfs: &Path, path: &str) -> std::result::Result<(), String> {
    nix::unistd::chroot(rootfs).map_err(|e| format!("chroot {}: {e}", rootfs.display()))?;
    std::env::set_current_dir("/").map_err(|e| e.to_string())?;
    let abs = Path::new("/").join(path.trim_start_matches('/'));
    match mode {
        "out" | "export" => {
            let meta = std::fs::symlink_metadata(&abs)
                .map_err(|_| format!("Could not find the file {path} in container"))?;
            let stdout = io::stdout();
            let mut b = tar::Builder::new(stdout.lock());
            b.follow_symlinks(false);
            let r = if mode == "export" {
                b.append_dir_all(".", "/")
            } else if meta.is_dir() {
                b.append_dir_all(base_name(&abs).unwrap_or_else(|| ".".into()), &abs)
            } else {
                b.append_path_with_name(&abs, base_name(&abs).unwrap_or_else(|| ".".into()))
            };
            r.and_then(|_| b.finish()).map_err(|e| e.to_string())
        }
        "in-tar" => {
            if !abs.is_dir() {
                return Err(format!("destination {path} must be a directory"));
            }
            let mut ar = tar::Archive::new(io::stdin().lock());
            ar.set_preserve_permissions(true);
            ar.set_overwrite(true);
            ar.unpack(&abs).map_err(|e| e.to_string())
        }
        "in" => {
            let mut data = Vec::new();
            io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| e.to_string())?;
            // The archive's top entry name is the source's base name.
            let top = tar::Archive::new(&data[..])
                .entries()
                .map_err(|e| e.to_string())?
                .next()
                .and_then(|e| e.ok())
                .and_then(|e| e.path().ok().map(|p| p.into_owned()))
                .and_then(|p| base_name(&p))
                .ok_or("empty archive")?;
            let src = top.to_string_lossy().into_owned();
            unpack_on_host(&mut &data[..], &src, &abs).map_err(|e| e.to_string())
        }
        _ => Err(format!("unknown mode {mode}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cp_endpoints() {
        assert_eq!(
            CopyEndpoint::parse("web:/etc/hosts"),
            CopyEndpoint::Container {
                container: "web".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(
            CopyEndpoint::parse("./a:b"),
            CopyEndpoint::Host("./a:b".into())
        );
        assert_eq!(
            CopyEndpoint::parse("/tmp/x"),
            CopyEndpoint::Host("/tmp/x".into())
        );
        assert_eq!(base_name(Path::new("/a/b/")), Some("b".into()));
        assert_eq!(base_name(Path::new("/")), None);
    }
}
