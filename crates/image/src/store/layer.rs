//! Layers: unpacked once each (per-layer flock), into a temp dir renamed into place
//! only when complete, so a layer directory that exists is always whole.

use super::{sync_dir, BlobWriter, FileLock, Store};
use crate::error::IoContext;
use crate::unpack::{self, Compression, Unpacked};
use crate::{digest, ImageError};
use oci_spec::image::{Descriptor, Digest};
use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::PathBuf;

/// What unpacking a layer learnt, kept beside the layer directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerInfo {
    pub diff_id: String,
    pub tar_size: u64,
}

/// Copies what is read into a blob writer: one pass stores and unpacks.
struct TeeReader<'a, R> {
    inner: R,
    blob: &'a mut BlobWriter,
}

impl<R: Read> Read for TeeReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        io::Write::write_all(self.blob, &buf[..n])?;
        Ok(n)
    }
}

/// Removes a directory tree on drop unless disarmed (a failed unpack leaves nothing).
struct TempTree(Option<PathBuf>);

impl Drop for TempTree {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

pub(crate) fn compression_of(desc: &Descriptor) -> Result<Compression, ImageError> {
    let mt = desc.media_type().to_string();
    Compression::for_media_type(&mt).ok_or_else(|| ImageError::UnknownMediaType {
        digest: desc.digest().to_string(),
        media_type: mt,
    })
}

impl Store {
    /// Where a layer is (or will be) unpacked.
    pub fn layer_dir(&self, d: &Digest) -> PathBuf {
        self.image_dir.join("layers").join(digest::hex(d))
    }

    fn layer_info_path(&self, d: &Digest) -> PathBuf {
        self.image_dir
            .join("layers")
            .join(format!("{}.json", digest::hex(d)))
    }

    pub fn is_layer_unpacked(&self, d: &Digest) -> bool {
        self.layer_dir(d).is_dir()
    }

    /// diff_id and uncompressed size, once the layer has been unpacked.
    pub fn layer_info(&self, d: &Digest) -> Option<LayerInfo> {
        let data = fs::read(self.layer_info_path(d)).ok()?;
        serde_json::from_slice(&data).ok()
    }

    fn lock_layer(&self, d: &Digest) -> Result<FileLock, ImageError> {
        self.lock(
            &format!("layer-{}.lock", digest::hex(d)),
            FlockOperation::LockExclusive,
        )
    }

    /// Unpacks `r` into a temp dir and hands back (temp dir guard, result); the caller
    /// decides whether to move it into place.
    fn unpack_to_temp(
        &self,
        layer_name: &str,
        r: impl Read,
        compression: Compression,
    ) -> Result<(TempTree, Unpacked), ImageError> {
        let tmp = self.tmp_path("layer");
        fs::create_dir(&tmp).ctx(|| format!("create {}", tmp.display()))?;
        let guard = TempTree(Some(tmp.clone()));
        let unpacked = unpack::unpack_layer(layer_name, r, compression, &tmp)?;
        Ok((guard, unpacked))
    }

    /// Makes an unpacked temp tree the layer's directory: data synced first, then the
    /// info file, then the rename that makes the layer visible.
    fn publish_layer(
        &self,
        d: &Digest,
        mut tree: TempTree,
        unpacked: &Unpacked,
    ) -> Result<PathBuf, ImageError> {
        let tmp = tree.0.clone().expect("armed");
        let dir = File::open(&tmp).ctx(|| format!("open {}", tmp.display()))?;
        rustix::fs::syncfs(&dir).ctx(|| format!("syncfs {}", tmp.display()))?;
        let info = LayerInfo {
            diff_id: unpacked.diff_id.to_string(),
            tar_size: unpacked.tar_size,
        };
        let info_tmp = self.tmp_path("layerinfo");
        fs::write(&info_tmp, serde_json::to_vec(&info).expect("serializable"))
            .ctx(|| format!("write {}", info_tmp.display()))?;
        fs::rename(&info_tmp, self.layer_info_path(d))
            .ctx(|| format!("rename {}", info_tmp.display()))?;
        let dest = self.layer_dir(d);
        fs::rename(&tmp, &dest).ctx(|| format!("rename layer into {}", dest.display()))?;
        tree.0 = None;
        sync_dir(dest.parent().expect("layers dir"))?;
        Ok(dest)
    }

    /// Unpacks a stored layer blob if it is not unpacked yet; returns its directory.
    /// Safe to call from several threads or processes at once: one unpacks, the
    /// others wait and reuse it.
    pub fn ensure_layer_unpacked(&self, desc: &Descriptor) -> Result<PathBuf, ImageError> {
        let compression = compression_of(desc)?;
        self.ensure_unpacked(desc.digest(), compression, None)
    }

    /// Like `ensure_layer_unpacked`, checking the uncompressed content against the
    /// image config's diff_id when given.
    pub(crate) fn ensure_unpacked(
        &self,
        d: &Digest,
        compression: Compression,
        expected_diff_id: Option<&str>,
    ) -> Result<PathBuf, ImageError> {
        digest::check(d)?;
        if self.is_layer_unpacked(d) {
            return Ok(self.layer_dir(d));
        }
        let _lock = self.lock_layer(d)?;
        if self.is_layer_unpacked(d) {
            return Ok(self.layer_dir(d));
        }
        let path = self.blob_path(d);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ImageError::MissingBlob(d.to_string())
            } else {
                ImageError::io(format!("open {}", path.display()), e)
            }
        })?;
        let (tree, unpacked) = self.unpack_to_temp(d.as_ref(), file, compression)?;
        if let Some(want) = expected_diff_id {
            if unpacked.diff_id.as_ref() != want {
                return Err(ImageError::BadLayer {
                    layer: d.to_string(),
                    reason: format!(
                        "uncompressed content hashes to {}, the image config says {want}",
                        unpacked.diff_id
                    ),
                });
            }
        }
        self.publish_layer(d, tree, &unpacked)
    }

    /// One pass over a layer stream (e.g. while it downloads): stores the compressed
    /// blob, digest-verified, and unpacks it. Both become visible only if the digest
    /// (and size) verify.
    pub fn ingest_layer(&self, desc: &Descriptor, r: impl Read) -> Result<(), ImageError> {
        let d = desc.digest();
        digest::check(d)?;
        let compression = compression_of(desc)?;
        let _lock = self.lock_layer(d)?;
        let unpacked_already = self.is_layer_unpacked(d);
        let mut blob = self.blob_writer(d, Some(desc.size()))?;
        let mut r = r;
        if unpacked_already {
            io::copy(&mut r, &mut blob).map_err(|e| stream_error(d, e))?;
            blob.commit()?;
            return Ok(());
        }
        let mut tee = TeeReader {
            inner: r,
            blob: &mut blob,
        };
        let (tree, unpacked) = self.unpack_to_temp(d.as_ref(), &mut tee, compression)?;
        // Whatever follows the tar (compression trailer, padding) is part of the blob.
        io::copy(&mut tee, &mut io::sink()).map_err(|e| stream_error(d, e))?;
        blob.commit()?;
        self.publish_layer(d, tree, &unpacked)?;
        Ok(())
    }

    /// One pass over a layer whose digest is not known in advance (import, commit):
    /// stores the blob under its computed digest and unpacks it. Returns the digest
    /// and blob size.
    pub(crate) fn ingest_layer_unverified(
        &self,
        r: impl Read,
        compression: Compression,
    ) -> Result<(Digest, u64), ImageError> {
        let mut blob = self.blob_writer_unverified()?;
        let mut tee = TeeReader {
            inner: r,
            blob: &mut blob,
        };
        let (tree, unpacked) = self.unpack_to_temp("(new layer)", &mut tee, compression)?;
        io::copy(&mut tee, &mut io::sink()).map_err(|e| ImageError::io("read layer", e))?;
        let (d, size) = blob.commit()?;
        let _lock = self.lock_layer(&d)?;
        if !self.is_layer_unpacked(&d) {
            self.publish_layer(&d, tree, &unpacked)?;
        }
        Ok((d, size))
    }

    /// Deletes a layer's directory and info file (callers make sure nothing uses it).
    pub(crate) fn delete_layer_dir(&self, d: &Digest) {
        let Ok(_lock) = self.lock_layer(d) else {
            return;
        };
        let dir = self.layer_dir(d);
        if dir.is_dir() {
            // Move aside first so the layer stops being visible at once.
            let aside = self.tmp_path("rmlayer");
            if fs::rename(&dir, &aside).is_ok() {
                let _ = fs::remove_dir_all(&aside);
            }
        }
        let _ = fs::remove_file(self.layer_info_path(d));
        // The lock file stays: removing it could let two processes lock different inodes.
    }
}

fn stream_error(d: &Digest, e: io::Error) -> ImageError {
    ImageError::BadLayer {
        layer: d.to_string(),
        reason: format!("cannot read: {e}"),
    }
}
