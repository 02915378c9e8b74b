//! Content-addressed blobs: written to a temp file while hashed, verified, fsync'd and
//! renamed into place, so a blob that is visible is always complete and correct.

use super::{sync_dir, Store};
use crate::error::IoContext;
use crate::{digest, ImageError};
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

/// A blob being written. `commit` verifies digest and size and renames it into
/// place; dropping it without commit removes the temp file.
pub struct BlobWriter {
    tmp_path: PathBuf,
    final_path: PathBuf,
    blobs_dir: PathBuf,
    file: Option<BufWriter<File>>,
    hasher: Sha256,
    written: u64,
    expected: Option<Digest>,
    size: Option<u64>,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(size) = self.size {
            if self.written + buf.len() as u64 > size {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {} is larger than its declared size {size}",
                        self.expected
                            .as_ref()
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
        let file = self.file.as_mut().expect("open until commit");
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open until commit").flush()
    }
}

impl BlobWriter {
    /// Verifies the content against the expected digest and size, then makes the blob
    /// visible. Returns the digest (computed, when none was expected) and the size.
    pub fn commit(mut self) -> Result<(Digest, u64), ImageError> {
        let actual = digest::from_hasher(std::mem::take(&mut self.hasher));
        let expected = self.expected.clone().unwrap_or_else(|| actual.clone());
        digest::verify(&expected, self.size, &actual, self.written)?;
        let file = self
            .file
            .take()
            .expect("open until commit")
            .into_inner()
            .map_err(|e| ImageError::io(format!("write blob {expected}"), e.into_error()))?;
        file.sync_all()
            .ctx(|| format!("fsync {}", self.tmp_path.display()))?;
        drop(file);
        let final_path = if self.expected.is_some() {
            self.final_path.clone()
        } else {
            self.blobs_dir.join(digest::hex(&actual))
        };
        fs::rename(&self.tmp_path, &final_path)
            .ctx(|| format!("rename blob into {}", final_path.display()))?;
        sync_dir(&self.blobs_dir)?;
        Ok((actual, self.written))
    }

    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a successful commit the temp file has been renamed: this is a no-op.
        let _ = fs::remove_file(&self.tmp_path);
    }
}

impl Store {
    fn blobs_dir(&self) -> PathBuf {
        self.image_dir.join("blobs/sha256")
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blobs_dir().join(digest::hex(d))
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        digest::check(d).is_ok() && self.blob_path(d).is_file()
    }

    fn new_writer(
        &self,
        expected: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<BlobWriter, ImageError> {
        if let Some(d) = expected {
            digest::check(d)?;
        }
        let tmp_path = self.tmp_path("blob");
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .ctx(|| format!("create {}", tmp_path.display()))?;
        Ok(BlobWriter {
            final_path: expected.map(|d| self.blob_path(d)).unwrap_or_default(),
            tmp_path,
            blobs_dir: self.blobs_dir(),
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            hasher: Sha256::new(),
            written: 0,
            expected: expected.cloned(),
            size,
        })
    }

    /// A writer for a blob of known digest (and size, if known).
    pub fn blob_writer(
        &self,
        expected: &Digest,
        size: Option<u64>,
    ) -> Result<BlobWriter, ImageError> {
        self.new_writer(Some(expected), size)
    }

    /// A writer for content whose digest is only known once written (archive members).
    pub fn blob_writer_unverified(&self) -> Result<BlobWriter, ImageError> {
        self.new_writer(None, None)
    }

    /// Stores a blob read from `r`, verified against `expected` (and `size`).
    pub fn write_blob(
        &self,
        expected: &Digest,
        size: Option<u64>,
        mut r: impl Read,
    ) -> Result<(), ImageError> {
        let mut w = self.blob_writer(expected, size)?;
        io::copy(&mut r, &mut w).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                ImageError::SizeMismatch {
                    digest: expected.to_string(),
                    expected: size.unwrap_or(0),
                    actual: w.written() + 1,
                }
            } else {
                ImageError::io(format!("write blob {expected}"), e)
            }
        })?;
        w.commit().map(|_| ())
    }

    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, ImageError> {
        digest::check(d)?;
        fs::read(self.blob_path(d)).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ImageError::MissingBlob(d.to_string())
            } else {
                ImageError::io(format!("read blob {d}"), e)
            }
        })
    }

    /// Checks a stored blob has the size its descriptor declares.
    pub(crate) fn check_blob_size(
        &self,
        desc: &oci_spec::image::Descriptor,
    ) -> Result<(), ImageError> {
        let d = desc.digest();
        let len = fs::metadata(self.blob_path(d))
            .map_err(|_| ImageError::MissingBlob(d.to_string()))?
            .len();
        if len != desc.size() {
            return Err(ImageError::SizeMismatch {
                digest: d.to_string(),
                expected: desc.size(),
                actual: len,
            });
        }
        Ok(())
    }

    /// Removes a blob file (callers make sure nothing refers to it).
    pub(crate) fn delete_blob(&self, d: &Digest) {
        let _ = fs::remove_file(self.blob_path(d));
    }
}
