//! `commit`: a container's upper directory becomes a new layer on top of its image.
//! Overlay's own markers are translated back to the OCI forms: a 0/0 character device
//! is a `.wh.NAME` whiteout, a directory with trusted.overlay.opaque=y gets a
//! `.wh..wh..opq` entry. The layer is stored gzip-compressed, unpacked like any other,
//! and a new image (base config + changes + history entry) is registered.

use super::Store;
use crate::archive::apply_change;
use crate::error::IoContext;
use crate::unpack::Compression;
use crate::{digest, ImageError, ImageRecord};
use oci_spec::image::Config;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// What `berth commit` can set on the new image.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repository[:tag]`; None leaves the new image unnamed.
    pub name: Option<String>,
    /// Dockerfile instructions applied to the config (`-c`).
    pub changes: Vec<String>,
    /// History comment (`-m`).
    pub message: Option<String>,
    /// Author (`-a`).
    pub author: Option<String>,
}

/// Hashes (diff_id) and counts the uncompressed tar on its way to the compressor.
struct DiffWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for DiffWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A PAX extended header record: `"<len> key=value\n"`, len counting itself.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3; // space, '=', '\n'
    let mut len = body_len + 1;
    while len.to_string().len() + body_len != len {
        len = len.to_string().len() + body_len;
    }
    let mut r = format!("{len} ").into_bytes();
    r.extend_from_slice(key);
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

fn xattrs_of(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(path, &mut names) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        if name.starts_with(b"trusted.overlay.") {
            continue;
        }
        let name_str = std::ffi::OsStr::from_bytes(name);
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::lgetxattr(path, name_str, &mut value) {
            value.truncate(len);
            out.push((name.to_vec(), value));
        }
    }
    out
}

fn is_opaque(path: &Path) -> bool {
    let mut v = [0u8; 4];
    matches!(rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut v), Ok(1) if v[0] == b'y')
}

struct LayerTarWriter<W: Write> {
    b: tar::Builder<W>,
    /// (dev, ino) of regular files already written: later names become hard links.
    seen: HashMap<(u64, u64), String>,
}

impl<W: Write> LayerTarWriter<W> {
    fn header_for(md: &fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(md.mode() & 0o7777);
        h.set_uid(md.uid() as u64);
        h.set_gid(md.gid() as u64);
        h.set_mtime(md.mtime().max(0) as u64);
        h
    }

    fn pax(&mut self, name: &str, xattrs: &[(Vec<u8>, Vec<u8>)]) -> io::Result<()> {
        if xattrs.is_empty() {
            return Ok(());
        }
        let mut data = Vec::new();
        for (k, v) in xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(k);
            data.extend(pax_record(&key, v));
        }
        let mut h = tar::Header::new_ustar();
        let short: String = format!("PaxHeaders/{name}").chars().take(99).collect();
        h.set_path(&short).or_else(|_| h.set_path("PaxHeaders/x"))?;
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.b.append(&h, data.as_slice())
    }

    fn walk(&mut self, root: &Path, rel: &str) -> Result<(), ImageError> {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .ctx(|| format!("read {}", dir.display()))?
            .collect::<Result<_, _>>()
            .ctx(|| format!("read {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let path = e.path();
            let rel_name = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let md = fs::symlink_metadata(&path).ctx(|| format!("stat {}", path.display()))?;
            let ft = md.file_type();
            let werr = |e: io::Error| ImageError::io(format!("write layer entry {rel_name}"), e);
            if ft.is_char_device() && md.rdev() == 0 {
                // overlay whiteout → OCI whiteout file
                let wh = if rel.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{rel}/.wh.{name}")
                };
                let mut h = Self::header_for(&md, tar::EntryType::Regular, 0);
                h.set_mode(0o644);
                self.b.append_data(&mut h, &wh, io::empty()).map_err(werr)?;
                continue;
            }
            let xattrs = xattrs_of(&path);
            if ft.is_dir() {
                self.pax(&rel_name, &xattrs).map_err(werr)?;
                let mut h = Self::header_for(&md, tar::EntryType::Directory, 0);
                self.b
                    .append_data(&mut h, format!("{rel_name}/"), io::empty())
                    .map_err(werr)?;
                if is_opaque(&path) {
                    let mut h = Self::header_for(&md, tar::EntryType::Regular, 0);
                    h.set_mode(0o644);
                    self.b
                        .append_data(&mut h, format!("{rel_name}/.wh..wh..opq"), io::empty())
                        .map_err(werr)?;
                }
                self.walk(root, &rel_name)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).ctx(|| format!("readlink {}", path.display()))?;
                let mut h = Self::header_for(&md, tar::EntryType::Symlink, 0);
                self.b
                    .append_link(&mut h, &rel_name, &target)
                    .map_err(werr)?;
            } else if ft.is_file() {
                if md.nlink() > 1 {
                    if let Some(first) = self.seen.get(&(md.dev(), md.ino())) {
                        let mut h = Self::header_for(&md, tar::EntryType::Link, 0);
                        let first = first.clone();
                        self.b
                            .append_link(&mut h, &rel_name, &first)
                            .map_err(werr)?;
                        continue;
                    }
                    self.seen.insert((md.dev(), md.ino()), rel_name.clone());
                }
                self.pax(&rel_name, &xattrs).map_err(werr)?;
                let f = fs::File::open(&path).ctx(|| format!("open {}", path.display()))?;
                let mut h = Self::header_for(&md, tar::EntryType::Regular, md.len());
                self.b.append_data(&mut h, &rel_name, f).map_err(werr)?;
            } else {
                let kind = if ft.is_fifo() {
                    tar::EntryType::Fifo
                } else if ft.is_char_device() {
                    tar::EntryType::Char
                } else if ft.is_block_device() {
                    tar::EntryType::Block
                } else {
                    continue; // sockets are not archived
                };
                let mut h = Self::header_for(&md, kind, 0);
                let rdev = md.rdev();
                h.set_device_major(rustix::fs::major(rdev)).map_err(werr)?;
                h.set_device_minor(rustix::fs::minor(rdev)).map_err(werr)?;
                self.b
                    .append_data(&mut h, &rel_name, io::empty())
                    .map_err(werr)?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Turns the container's changes (its upper dir) into a new image on top of the
    /// image its root filesystem was made from.
    pub fn commit_rootfs(
        &self,
        container_id: &str,
        opts: &CommitOptions,
    ) -> Result<ImageRecord, ImageError> {
        let name = opts
            .name
            .as_deref()
            .map(crate::names::normalize_tagged)
            .transpose()?;
        let image_id = self.rootfs_image_id(container_id)?;
        let base = self.resolve(&image_id)?;
        let layout = self.rootfs_layout(container_id)?;
        let mut raw: Value = serde_json::from_slice(&self.read_blob(&base.id)?)
            .map_err(|e| ImageError::json(format!("image config {}", base.id), e))?;
        let mut config: Config = match raw.get("config") {
            Some(c) if !c.is_null() => serde_json::from_value(c.clone())
                .map_err(|e| ImageError::json(format!("image config {}", base.id), e))?,
            _ => Config::default(),
        };
        for c in &opts.changes {
            apply_change(&mut config, c)?;
        }

        let hold = self.hold_blobs()?;
        let mut new_blobs = Vec::new();
        let result = (|| {
            let blob = self.blob_writer_unverified()?;
            let gz = flate2::write::GzEncoder::new(blob, flate2::Compression::new(6));
            let diff = DiffWriter {
                inner: gz,
                hasher: Sha256::new(),
                count: 0,
            };
            let mut w = LayerTarWriter {
                b: tar::Builder::new(diff),
                seen: HashMap::new(),
            };
            w.walk(&layout.upper, "")?;
            let diff =
                w.b.into_inner()
                    .map_err(|e| ImageError::io("finish layer tar", e))?;
            let diff_id = digest::from_hasher(diff.hasher);
            let blob = diff
                .inner
                .finish()
                .map_err(|e| ImageError::io("compress layer", e))?;
            let (layer_digest, layer_size) = blob.commit()?;
            new_blobs.push(layer_digest.clone());
            self.ensure_unpacked(&layer_digest, Compression::Gzip, Some(diff_id.as_ref()))?;

            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            raw["created"] = json!(now);
            raw["config"] = serde_json::to_value(&config).expect("serializable");
            if let Some(a) = &opts.author {
                raw["author"] = json!(a);
            }
            let diff_ids = raw
                .pointer_mut("/rootfs/diff_ids")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| {
                    ImageError::Invalid(format!("image config {} has no rootfs.diff_ids", base.id))
                })?;
            diff_ids.push(json!(diff_id.to_string()));
            let mut h = json!({"created": now, "created_by": "berth commit"});
            if let Some(m) = &opts.message {
                h["comment"] = json!(m);
            }
            if let Some(a) = &opts.author {
                h["author"] = json!(a);
            }
            match raw.get_mut("history").and_then(Value::as_array_mut) {
                Some(hist) => hist.push(h),
                None => raw["history"] = json!([h]),
            }
            let config_bytes = serde_json::to_vec(&raw).expect("serializable");
            let config_digest = digest::of_bytes(&config_bytes);
            self.write_blob(
                &config_digest,
                Some(config_bytes.len() as u64),
                config_bytes.as_slice(),
            )?;
            new_blobs.push(config_digest.clone());

            let base_manifest = self.manifest(&base)?;
            let mut layers: Vec<Value> = base_manifest
                .layers()
                .iter()
                .map(|l| serde_json::to_value(l).expect("serializable"))
                .collect();
            layers.push(json!({
                "mediaType": Compression::Gzip.layer_media_type(),
                "digest": layer_digest.to_string(),
                "size": layer_size,
            }));
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest.to_string(),
                    "size": config_bytes.len(),
                },
                "layers": layers,
            });
            let manifest_bytes = serde_json::to_vec(&manifest).expect("serializable");
            let manifest_digest = digest::of_bytes(&manifest_bytes);
            self.write_blob(
                &manifest_digest,
                Some(manifest_bytes.len() as u64),
                manifest_bytes.as_slice(),
            )?;
            new_blobs.push(manifest_digest.clone());
            self.register_image(
                &name.clone().into_iter().collect::<Vec<_>>(),
                &manifest_digest,
            )
        })();
        drop(hold);
        if result.is_err() {
            self.delete_unreferenced_blobs(&new_blobs);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::pax_record;

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record(b"a", b"b"), b"6 a=b\n");
        let r = pax_record(b"SCHILY.xattr.user.test", b"hello");
        let s = String::from_utf8(r.clone()).unwrap();
        let len: usize = s.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(len, r.len());
        // Crossing a digit boundary: 9 bytes of body + "10 " would be 12, not 11.
        let r = pax_record(b"k", b"123456");
        let len: usize = String::from_utf8_lossy(&r)
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, r.len());
    }
}
