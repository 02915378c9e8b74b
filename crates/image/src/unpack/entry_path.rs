//! Pure logic on layer entry names: normalization (refusing `..` and absolute names)
//! and the whiteout mapping of the OCI image-spec to what overlayfs understands.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What an entry's final name means.
#[derive(Debug, PartialEq, Eq)]
pub enum NameKind<'a> {
    /// An ordinary file, directory, link...
    Plain,
    /// `.wh.NAME`: NAME is deleted from the lower layers (overlayfs: a 0/0 char device).
    Whiteout(&'a OsStr),
    /// `.wh..wh..opq`: the parent directory hides the lower layers' content
    /// (overlayfs: xattr trusted.overlay.opaque=y).
    Opaque,
    /// Other `.wh..wh.` names (aufs metadata such as `.wh..wh.plnk`): ignored.
    AufsMeta,
}

/// Classifies the last component of an entry name.
pub fn classify(name: &OsStr) -> Result<NameKind<'_>, String> {
    let b = name.as_bytes();
    if b == OPAQUE_MARKER.as_bytes() {
        return Ok(NameKind::Opaque);
    }
    if b.starts_with(b".wh..wh.") {
        return Ok(NameKind::AufsMeta);
    }
    if let Some(rest) = b.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
        if rest.is_empty() || rest == b"." || rest == b".." || rest.contains(&b'/') {
            return Err(format!("invalid whiteout name {:?}", name));
        }
        return Ok(NameKind::Whiteout(OsStr::from_bytes(rest)));
    }
    Ok(NameKind::Plain)
}

/// Normalizes a tar member name to a relative path inside the layer: `./a/b/` → `a/b`.
/// Absolute names and `..` components are refused (never clamped), so a hostile
/// layer is reported rather than silently rewritten. An empty result is the layer root.
pub fn normalize(name: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains \"..\"".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute path".into());
            }
        }
    }
    Ok(out)
}

/// Splits a normalized path into (parent, last name); None for the root.
pub fn split(p: &Path) -> Option<(&Path, &OsStr)> {
    let name = p.file_name()?;
    Some((p.parent().unwrap_or(Path::new("")), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whiteout_names_map_to_overlay_forms() {
        assert_eq!(
            classify(OsStr::new(".wh.delete-me.txt")).unwrap(),
            NameKind::Whiteout(OsStr::new("delete-me.txt"))
        );
        assert_eq!(
            classify(OsStr::new(".wh..wh..opq")).unwrap(),
            NameKind::Opaque
        );
        assert_eq!(
            classify(OsStr::new(".wh..wh.plnk")).unwrap(),
            NameKind::AufsMeta
        );
        assert_eq!(classify(OsStr::new("file.wh.x")).unwrap(), NameKind::Plain);
        assert_eq!(classify(OsStr::new(".whx")).unwrap(), NameKind::Plain);
        assert!(classify(OsStr::new(".wh.")).is_err());
        assert!(classify(OsStr::new(".wh..")).is_err());
    }

    #[test]
    fn normalize_refuses_escapes() {
        assert_eq!(normalize(Path::new("./a/b/")).unwrap(), Path::new("a/b"));
        assert_eq!(normalize(Path::new("./")).unwrap(), Path::new(""));
        assert_eq!(normalize(Path::new("a//b")).unwrap(), Path::new("a/b"));
        assert!(normalize(Path::new("../etc/passwd")).is_err());
        assert!(normalize(Path::new("a/../../b")).is_err());
        assert!(normalize(Path::new("/etc/passwd")).is_err());
        assert_eq!(
            split(Path::new("a/b/c")).unwrap(),
            (Path::new("a/b"), OsStr::new("c"))
        );
        assert_eq!(
            split(Path::new("c")).unwrap(),
            (Path::new(""), OsStr::new("c"))
        );
        assert!(split(Path::new("")).is_none());
    }
}
