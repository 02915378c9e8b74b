//! Reads an image archive (a tar of an OCI layout and/or a `docker save` tree) as a
//! stream, without ever writing a member to a path: `blobs/sha256/<hex>` members go
//! straight into the blob store (digest-verified), small files stay in memory, big
//! unnamed files (legacy `<id>/layer.tar`) become blobs by their computed digest.
//! Member names with `..` or a leading `/`, and links pointing outside the archive,
//! are refused.

use crate::error::ImageError;
use crate::unpack::entry_path;
use crate::{digest, Store};
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Files up to this size are kept in memory (JSON documents, small layers).
const SMALL_FILE: u64 = 4 * 1024 * 1024;

pub(crate) enum Member {
    Small(Vec<u8>),
    Blob { digest: Digest, size: u64 },
}

pub(crate) struct ArchiveContents {
    members: HashMap<String, Member>,
    /// Symlinks and hard links: member → target member (normalized, inside the archive).
    links: HashMap<String, String>,
    /// Blobs this read added to the store (to remove again if the load fails).
    pub new_blobs: Vec<Digest>,
}

fn bad(member: &str, reason: impl Into<String>) -> ImageError {
    ImageError::BadArchiveMember {
        member: member.to_owned(),
        reason: reason.into(),
    }
}

fn to_key(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Resolves a symlink target lexically against the link's directory; None if it
/// leaves the archive (absolute, or `..` above the top).
fn resolve_link(link_dir: &Path, target: &Path) -> Option<PathBuf> {
    let mut out: Vec<std::ffi::OsString> = link_dir
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect();
    for c in target.components() {
        match c {
            Component::Normal(p) => out.push(p.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

impl ArchiveContents {
    pub fn new() -> ArchiveContents {
        ArchiveContents {
            members: HashMap::new(),
            links: HashMap::new(),
            new_blobs: Vec::new(),
        }
    }

    /// Reads the archive. On error the blobs already added stay listed in
    /// `new_blobs`: the caller discards them once it no longer holds the blob lock.
    pub fn read(&mut self, store: &Store, r: impl Read) -> Result<(), ImageError> {
        self.read_inner(store, r)
    }

    fn read_inner(&mut self, store: &Store, r: impl Read) -> Result<(), ImageError> {
        let mut archive = tar::Archive::new(r);
        let read_err = |e: io::Error| ImageError::BadArchive(format!("cannot read tar: {e}"));
        for entry in archive.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            let raw = entry.path().map_err(read_err)?.into_owned();
            let name = raw.to_string_lossy().into_owned();
            let rel = entry_path::normalize(&raw).map_err(|e| bad(&name, e))?;
            let key = to_key(&rel);
            let kind = entry.header().entry_type();
            match kind {
                tar::EntryType::Directory
                | tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader => {}
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name()
                        .map_err(read_err)?
                        .ok_or_else(|| bad(&name, "link without target"))?
                        .into_owned();
                    let resolved = if kind == tar::EntryType::Symlink {
                        resolve_link(rel.parent().unwrap_or(Path::new("")), &target)
                    } else {
                        entry_path::normalize(&target).ok()
                    };
                    let resolved = resolved.ok_or_else(|| {
                        bad(
                            &name,
                            format!("link to {} points outside the archive", target.display()),
                        )
                    })?;
                    self.links.insert(key, to_key(&resolved));
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let size = entry.header().size().map_err(read_err)?;
                    let member = self.read_file(store, &key, size, &mut entry)?;
                    self.members.insert(key, member);
                }
                other => return Err(bad(&name, format!("unsupported member type {other:?}"))),
            }
        }
        Ok(())
    }

    fn read_file(
        &mut self,
        store: &Store,
        key: &str,
        size: u64,
        r: &mut impl Read,
    ) -> Result<Member, ImageError> {
        if let Some(hex) = key.strip_prefix("blobs/sha256/") {
            let d = digest::parse(&format!("sha256:{hex}"))
                .map_err(|_| bad(key, "blob name is not a sha256 hex digest"))?;
            if store.has_blob(&d) {
                // Still verify what the archive carries (a mismatch means a corrupt
                // archive), without writing a second copy.
                let mut h = HashSink(Sha256::new(), 0);
                io::copy(r, &mut h).map_err(|e| bad(key, e.to_string()))?;
                digest::verify(&d, Some(size), &digest::from_hasher(h.0), h.1)?;
            } else {
                store
                    .write_blob(&d, Some(size), &mut *r)
                    .map_err(|e| match e {
                        ImageError::Io { source, .. } => bad(key, source.to_string()),
                        e => e,
                    })?;
                self.new_blobs.push(d.clone());
            }
            return Ok(Member::Blob { digest: d, size });
        }
        if size <= SMALL_FILE {
            let mut data = Vec::with_capacity(size as usize);
            r.read_to_end(&mut data)
                .map_err(|e| bad(key, e.to_string()))?;
            if data.len() as u64 != size {
                return Err(bad(key, "truncated"));
            }
            return Ok(Member::Small(data));
        }
        let mut w = store.blob_writer_unverified()?;
        copy_member(key, r, &mut w)?;
        if w.written() != size {
            return Err(bad(key, "truncated"));
        }
        let (d, size) = w.commit()?;
        if !self.new_blobs.contains(&d) {
            self.new_blobs.push(d.clone());
        }
        Ok(Member::Blob { digest: d, size })
    }

    /// Follows links (member or directory links) to a member name.
    fn resolve_name(&self, name: &str) -> Result<String, ImageError> {
        let mut cur = entry_path::normalize(Path::new(name))
            .map(|p| to_key(&p))
            .map_err(|e| bad(name, e))?;
        for _ in 0..32 {
            if self.members.contains_key(&cur) {
                return Ok(cur);
            }
            if let Some(t) = self.links.get(&cur) {
                cur = t.clone();
                continue;
            }
            // A link on a leading directory: blobs/sha256 -> elsewhere.
            let p = PathBuf::from(&cur);
            let mut replaced = None;
            for anc in p.ancestors().skip(1) {
                if let Some(t) = self.links.get(&to_key(anc)) {
                    let rest = p.strip_prefix(anc).expect("ancestor");
                    replaced = Some(to_key(&Path::new(t).join(rest)));
                    break;
                }
            }
            match replaced {
                Some(n) => cur = n,
                None => return Err(bad(name, "not in the archive")),
            }
        }
        Err(bad(name, "too many levels of links"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.resolve_name(name).is_ok()
    }

    /// The bytes of a (small) member, e.g. index.json.
    pub fn bytes(&self, store: &Store, name: &str) -> Result<Vec<u8>, ImageError> {
        let key = self.resolve_name(name)?;
        match &self.members[&key] {
            Member::Small(d) => Ok(d.clone()),
            Member::Blob { digest, .. } => store.read_blob(digest),
        }
    }

    /// Makes a member a blob of the store; returns its digest and size.
    pub fn store_member(&mut self, store: &Store, name: &str) -> Result<(Digest, u64), ImageError> {
        let key = self.resolve_name(name)?;
        match &self.members[&key] {
            Member::Blob { digest, size } => Ok((digest.clone(), *size)),
            Member::Small(data) => {
                let d = digest::of_bytes(data);
                let size = data.len() as u64;
                if !store.has_blob(&d) {
                    store.write_blob(&d, Some(size), data.as_slice())?;
                    self.new_blobs.push(d.clone());
                }
                self.members.insert(
                    key,
                    Member::Blob {
                        digest: d.clone(),
                        size,
                    },
                );
                Ok((d, size))
            }
        }
    }

    /// Removes the blobs this archive added that no image refers to.
    pub fn discard_new_blobs(&mut self, store: &Store) {
        let blobs = std::mem::take(&mut self.new_blobs);
        store.delete_unreferenced_blobs(&blobs);
    }
}

/// Hashes and counts what is written to it.
struct HashSink(Sha256, u64);

impl io::Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn copy_member(key: &str, r: &mut impl Read, w: &mut crate::BlobWriter) -> Result<(), ImageError> {
    io::copy(r, w)
        .map(|_| ())
        .map_err(|e| bad(key, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::resolve_link;
    use std::path::Path;

    #[test]
    fn links_resolve_inside_the_archive_only() {
        assert_eq!(
            resolve_link(Path::new("a/b"), Path::new("../c/layer.tar")).unwrap(),
            Path::new("a/c/layer.tar")
        );
        assert!(resolve_link(Path::new("blobs"), Path::new("/etc")).is_none());
        assert!(resolve_link(Path::new("blobs"), Path::new("../../x")).is_none());
        assert_eq!(
            resolve_link(Path::new(""), Path::new("./x")).unwrap(),
            Path::new("x")
        );
    }
}
