//! Tar extraction relative to a directory fd. Parents are opened with openat2
//! (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV):
//! a parent path that goes through a symlink (one the layer planted earlier) or leaves
//! the layer fails, and the entry is refused. Final components are created with
//! O_NOFOLLOW / *at() calls, so an existing symlink there is replaced, never followed.

use super::entry_path::{self, NameKind};
use crate::ImageError;
use rustix::fs::{
    self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps,
};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use tar::EntryType;

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Metadata of one entry, from the tar header and its PAX extensions.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: Timespec,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

struct Extractor<'a> {
    layer: &'a str,
    root: OwnedFd,
    /// The last parent directory opened: tar members come grouped by directory.
    cached_parent: Option<(PathBuf, OwnedFd)>,
    /// Directory mtimes, applied at the end (creating children changes them).
    dir_times: Vec<(PathBuf, Timespec)>,
}

/// Extracts the tar stream `r` into the existing directory `dest`.
pub fn extract_tar<R: Read>(layer: &str, r: R, dest: &Path) -> Result<(), ImageError> {
    let root = rfs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| ImageError::io(format!("open {}", dest.display()), e.into()))?;
    let mut ex = Extractor {
        layer,
        root,
        cached_parent: None,
        dir_times: Vec::new(),
    };
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(|e| ex.bad_layer(e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ex.bad_layer(e))?;
        let raw_name = entry.path().map_err(|e| ex.bad_layer(e))?.into_owned();
        ex.entry(&raw_name, &mut entry)
            .map_err(|reason| ImageError::BadLayerEntry {
                layer: layer.to_owned(),
                entry: raw_name.to_string_lossy().into_owned(),
                reason,
            })?;
    }
    ex.finish_dir_times()
}

fn io_reason(what: &str, e: impl Into<io::Error>) -> String {
    format!("{what}: {}", e.into())
}

impl Extractor<'_> {
    fn bad_layer(&self, e: io::Error) -> ImageError {
        ImageError::BadLayer {
            layer: self.layer.to_owned(),
            reason: format!("cannot read tar: {e}"),
        }
    }

    /// Opens a directory of the layer; symlinks anywhere on the way are refused.
    fn open_dir(&self, rel: &Path) -> Result<OwnedFd, String> {
        let rel: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        rfs::openat2(
            &self.root,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::BENEATH
                | ResolveFlags::NO_SYMLINKS
                | ResolveFlags::NO_MAGICLINKS
                | ResolveFlags::NO_XDEV,
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP => {
                format!("parent {:?} goes through a symlink (refused)", rel)
            }
            rustix::io::Errno::XDEV => format!("parent {:?} leaves the layer", rel),
            rustix::io::Errno::NOTDIR if self.is_symlink(rel) => {
                format!(
                    "parent {:?} is a symlink (refused, never written through)",
                    rel
                )
            }
            rustix::io::Errno::NOTDIR => format!("parent {:?} is not a directory", rel),
            rustix::io::Errno::NOENT => format!("parent {:?} does not exist", rel),
            e => io_reason(&format!("open parent {:?}", rel), e),
        })
    }

    /// Whether `rel` itself is a symlink (only for error messages; resolved safely).
    fn is_symlink(&self, rel: &Path) -> bool {
        rfs::openat2(
            &self.root,
            rel,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
        )
        .and_then(rfs::fstat)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
    }

    /// The parent directory fd for `rel`, creating missing directories (tar may omit them).
    fn parent(&mut self, rel: &Path) -> Result<BorrowedFd<'_>, String> {
        let hit = matches!(&self.cached_parent, Some((p, _)) if p == rel);
        if !hit {
            let fd = match self.open_dir(rel) {
                Ok(fd) => fd,
                Err(_) if !rel.as_os_str().is_empty() && !self.exists_any(rel) => {
                    self.mkdir_all(rel)?;
                    self.open_dir(rel)?
                }
                Err(e) => return Err(e),
            };
            self.cached_parent = Some((rel.to_path_buf(), fd));
        }
        Ok(self.cached_parent.as_ref().expect("just set").1.as_fd())
    }

    fn exists_any(&self, rel: &Path) -> bool {
        let Some((parent, name)) = entry_path::split(rel) else {
            return true;
        };
        match self.open_dir(parent) {
            Ok(fd) => rfs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok(),
            // The parent itself is missing: so is rel; a refused parent will be reported
            // again by mkdir_all.
            Err(_) => false,
        }
    }

    /// Creates the missing directories of `rel` (mode 755, root-owned, as tar does).
    fn mkdir_all(&self, rel: &Path) -> Result<(), String> {
        let mut cur = PathBuf::new();
        for c in rel.components() {
            let parent = self.open_dir(&cur)?;
            cur.push(c);
            let name = c.as_os_str();
            match rfs::mkdirat(&parent, name, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(io_reason(&format!("mkdir {:?}", cur), e)),
            }
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, raw_name: &Path, entry: &mut tar::Entry<R>) -> Result<(), String> {
        let kind = entry.header().entry_type();
        match kind {
            // Metadata records: the tar crate applies PAX and GNU long names itself.
            EntryType::XGlobalHeader | EntryType::XHeader => return Ok(()),
            EntryType::GNULongName | EntryType::GNULongLink => return Ok(()),
            _ => {}
        }
        let rel = entry_path::normalize(raw_name)?;
        let meta = read_meta(entry)?;
        let Some((parent_rel, name)) = entry_path::split(&rel) else {
            // The layer root itself ("./"): only directories make sense.
            if kind != EntryType::Directory {
                return Err("the layer root must be a directory".into());
            }
            let root = self.open_dir(Path::new(""))?;
            apply_fd_meta(&root, &meta)?;
            self.dir_times.push((PathBuf::new(), meta.mtime));
            return Ok(());
        };
        let parent_rel = parent_rel.to_path_buf();
        let name = name.to_os_string();
        match entry_path::classify(&name)? {
            NameKind::AufsMeta => return Ok(()),
            NameKind::Opaque => {
                let parent = self.parent(&parent_rel)?;
                return rfs::fsetxattr(parent, OPAQUE_XATTR, b"y", rfs::XattrFlags::empty())
                    .map_err(|e| io_reason("set opaque xattr", e));
            }
            NameKind::Whiteout(target) => {
                let target = target.to_os_string();
                let parent = self.parent(&parent_rel)?;
                remove_non_dir(parent, &target)?;
                return rfs::mknodat(
                    parent,
                    target.as_os_str(),
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rfs::makedev(0, 0),
                )
                .map_err(|e| io_reason("create whiteout", e));
            }
            NameKind::Plain => {}
        }
        match kind {
            EntryType::Directory => {
                let parent = self.parent(&parent_rel)?;
                let dir = match rfs::statat(parent, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                        open_child_dir(parent, &name)?
                    }
                    Ok(_) => {
                        remove_non_dir(parent, &name)?;
                        mkdir_child(parent, &name)?
                    }
                    Err(_) => mkdir_child(parent, &name)?,
                };
                apply_fd_meta(&dir, &meta)?;
                self.dir_times.push((rel.clone(), meta.mtime));
                // A directory's own path may be the next entries' parent: cache it.
                self.cached_parent = Some((rel, dir));
                Ok(())
            }
            EntryType::Regular | EntryType::Continuous => {
                let parent = self.parent(&parent_rel)?;
                remove_non_dir(parent, &name)?;
                let fd = rfs::openat(
                    parent,
                    name.as_os_str(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|e| io_reason("create file", e))?;
                let mut file = File::from(fd);
                let want = entry.header().size().map_err(|e| io_reason("size", e))?;
                let got = io::copy(entry, &mut file).map_err(|e| io_reason("write file", e))?;
                if got != want {
                    return Err(format!("truncated: {got} of {want} bytes"));
                }
                apply_fd_meta(&file, &meta)?;
                Ok(())
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| io_reason("link name", e))?
                    .ok_or("symlink without a target")?
                    .into_owned();
                let parent = self.parent(&parent_rel)?;
                remove_non_dir(parent, &name)?;
                rfs::symlinkat(target.as_os_str(), parent, name.as_os_str())
                    .map_err(|e| io_reason("create symlink", e))?;
                apply_at_meta(parent, &name, &meta, false)
            }
            EntryType::Link => {
                let raw_target = entry
                    .link_name()
                    .map_err(|e| io_reason("link name", e))?
                    .ok_or("hard link without a target")?
                    .into_owned();
                let target = entry_path::normalize(&raw_target)
                    .map_err(|e| format!("hard link target {:?}: {e}", raw_target))?;
                let (tparent_rel, tname) =
                    entry_path::split(&target).ok_or("hard link to the layer root")?;
                let tparent = self
                    .open_dir(tparent_rel)
                    .map_err(|e| format!("hard link target {:?}: {e}", raw_target))?;
                match rfs::statat(&tparent, tname, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                        return Err(format!("hard link target {:?} is a directory", raw_target));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return Err(format!(
                            "hard link target {:?} is not in the layer",
                            raw_target
                        ))
                    }
                }
                let tname = tname.to_os_string();
                let parent = self.parent(&parent_rel)?;
                if target == rel {
                    return Ok(());
                }
                remove_non_dir(parent, &name)?;
                // Flags 0: a symlink target is linked itself, never followed.
                rfs::linkat(
                    &tparent,
                    tname.as_os_str(),
                    parent,
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(|e| io_reason("create hard link", e))
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (ft, dev) = match kind {
                    EntryType::Fifo => (FileType::Fifo, rfs::makedev(0, 0)),
                    _ => {
                        let h = entry.header();
                        let major = h.device_major().ok().flatten().unwrap_or(0);
                        let minor = h.device_minor().ok().flatten().unwrap_or(0);
                        let ft = if kind == EntryType::Char {
                            FileType::CharacterDevice
                        } else {
                            FileType::BlockDevice
                        };
                        (ft, rfs::makedev(major, minor))
                    }
                };
                let parent = self.parent(&parent_rel)?;
                remove_non_dir(parent, &name)?;
                rfs::mknodat(
                    parent,
                    name.as_os_str(),
                    ft,
                    Mode::from_raw_mode(0o600),
                    dev,
                )
                .map_err(|e| io_reason("create device node", e))?;
                apply_at_meta(parent, &name, &meta, true)
            }
            other => Err(format!("unsupported tar entry type {other:?}")),
        }
    }

    fn finish_dir_times(&mut self) -> Result<(), ImageError> {
        self.cached_parent = None;
        // Deepest first, so setting a child's time does not disturb its parent's.
        let mut times = std::mem::take(&mut self.dir_times);
        times.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        for (rel, mtime) in times {
            let fd = self
                .open_dir(&rel)
                .map_err(|reason| ImageError::BadLayerEntry {
                    layer: self.layer.to_owned(),
                    entry: rel.to_string_lossy().into_owned(),
                    reason,
                })?;
            rfs::futimens(&fd, &times_of(mtime)).map_err(|e| ImageError::BadLayerEntry {
                layer: self.layer.to_owned(),
                entry: rel.to_string_lossy().into_owned(),
                reason: io_reason("set mtime", e),
            })?;
        }
        Ok(())
    }
}

fn times_of(mtime: Timespec) -> Timestamps {
    Timestamps {
        last_access: mtime,
        last_modification: mtime,
    }
}

fn mkdir_child(parent: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, String> {
    rfs::mkdirat(parent, name, Mode::from_raw_mode(0o700)).map_err(|e| io_reason("mkdir", e))?;
    open_child_dir(parent, name)
}

fn open_child_dir(parent: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, String> {
    rfs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| io_reason("open directory", e))
}

/// Removes whatever non-directory sits at `name` (an earlier entry of the same path);
/// replacing a directory by something else is refused.
fn remove_non_dir(parent: BorrowedFd<'_>, name: &OsStr) -> Result<(), String> {
    match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(io_reason("stat", e)),
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            Err("would replace a directory of the same layer".into())
        }
        Ok(_) => rfs::unlinkat(parent, name, AtFlags::empty()).map_err(|e| io_reason("unlink", e)),
    }
}

fn read_meta<R: Read>(entry: &mut tar::Entry<R>) -> Result<Meta, String> {
    let h = entry.header();
    let mut meta = Meta {
        uid: h.uid().map_err(|e| io_reason("uid", e))? as u32,
        gid: h.gid().map_err(|e| io_reason("gid", e))? as u32,
        mode: h.mode().map_err(|e| io_reason("mode", e))? & 0o7777,
        mtime: Timespec {
            tv_sec: h.mtime().unwrap_or(0) as i64,
            tv_nsec: 0,
        },
        xattrs: Vec::new(),
    };
    if let Some(exts) = entry
        .pax_extensions()
        .map_err(|e| io_reason("pax header", e))?
    {
        for ext in exts {
            let ext = ext.map_err(|e| io_reason("pax header", e))?;
            let key = ext.key_bytes();
            let value = ext.value_bytes();
            if let Some(xname) = key.strip_prefix(b"SCHILY.xattr.") {
                // Overlay's own xattrs (redirect, metacopy...) must come only from
                // whiteout translation, never from the image.
                if xname.starts_with(b"trusted.overlay.") {
                    return Err(format!(
                        "xattr {} is reserved for overlayfs",
                        String::from_utf8_lossy(xname)
                    ));
                }
                meta.xattrs
                    .push((OsStr::from_bytes(xname).to_os_string(), value.to_vec()));
            } else if key == b"uid" || key == b"gid" {
                let v: u32 = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or("invalid PAX uid/gid")?;
                if key == b"uid" {
                    meta.uid = v;
                } else {
                    meta.gid = v;
                }
            } else if key == b"mtime" {
                if let Some(t) = std::str::from_utf8(value).ok().and_then(parse_pax_time) {
                    meta.mtime = t;
                }
            }
        }
    }
    Ok(meta)
}

/// PAX times are decimal seconds with an optional fraction: `1700000000.123`.
fn parse_pax_time(s: &str) -> Option<Timespec> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let tv_sec: i64 = secs.parse().ok()?;
    let frac: String = frac.chars().take(9).collect();
    let tv_nsec = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(Timespec { tv_sec, tv_nsec })
}

/// Ownership, then mode (chown clears setuid), then xattrs (chown also drops
/// security.capability), then mtime — on an open fd of a file or directory.
fn apply_fd_meta(fd: &impl AsFd, meta: &Meta) -> Result<(), String> {
    rfs::fchown(
        fd,
        Some(rustix::fs::Uid::from_raw_unchecked(meta.uid)),
        Some(rustix::fs::Gid::from_raw_unchecked(meta.gid)),
    )
    .map_err(|e| io_reason("chown", e))?;
    rfs::fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(|e| io_reason("chmod", e))?;
    for (name, value) in &meta.xattrs {
        rfs::fsetxattr(fd, name.as_os_str(), value, rfs::XattrFlags::empty())
            .map_err(|e| io_reason(&format!("set xattr {:?}", name), e))?;
    }
    rfs::futimens(fd, &times_of(meta.mtime)).map_err(|e| io_reason("set mtime", e))
}

/// The same for entries that cannot be opened (symlinks, device nodes, fifos).
fn apply_at_meta(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    meta: &Meta,
    chmod: bool,
) -> Result<(), String> {
    rfs::chownat(
        parent,
        name,
        Some(rustix::fs::Uid::from_raw_unchecked(meta.uid)),
        Some(rustix::fs::Gid::from_raw_unchecked(meta.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| io_reason("chown", e))?;
    if chmod {
        rfs::chmodat(
            parent,
            name,
            Mode::from_raw_mode(meta.mode),
            AtFlags::empty(),
        )
        .map_err(|e| io_reason("chmod", e))?;
    }
    rfs::utimensat(
        parent,
        name,
        &times_of(meta.mtime),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| io_reason("set mtime", e))
}

#[cfg(test)]
mod tests {
    use super::parse_pax_time;

    #[test]
    fn pax_times_parse_with_fractions() {
        let t = parse_pax_time("1700000000.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1700000000, 500_000_000));
        let t = parse_pax_time("12").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (12, 0));
        assert!(parse_pax_time("x").is_none());
    }
}
