//! Layer unpacking: a (compressed) tar stream becomes a directory overlayfs can use as
//! a lower layer. Every entry's parent is resolved with openat2 beneath the layer
//! directory with symlinks refused, and created with *at() calls relative to that
//! directory fd, so no entry can write outside the layer.

pub mod entry_path;
mod extract;

use crate::ImageError;
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::io::{self, BufReader, Read};
use std::path::Path;

pub use extract::extract_tar;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a layer media type implies; None for media types that are not layers.
    pub fn for_media_type(media_type: &str) -> Option<Compression> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
                Some(Compression::Gzip)
            }
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Guesses from the first bytes (for docker-save archives, whose layers carry no media type).
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// What unpacking learnt about the layer.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// sha256 of the uncompressed tar stream (the config's rootfs.diff_ids entry).
    pub diff_id: Digest,
    /// Size of the uncompressed tar stream.
    pub tar_size: u64,
}

/// Counts and hashes what passes through (the uncompressed tar → diff_id).
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Decompresses `r` and extracts the tar into `dest` (an existing, empty directory).
/// `layer` names the layer in errors.
pub fn unpack_layer<R: Read>(
    layer: &str,
    r: R,
    compression: Compression,
    dest: &Path,
) -> Result<Unpacked, ImageError> {
    let bad = |e: io::Error| ImageError::BadLayer {
        layer: layer.to_owned(),
        reason: format!("cannot decompress: {e}"),
    };
    let decompressed: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            r,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r).map_err(bad)?),
    };
    let mut hashing = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, decompressed),
        hasher: Sha256::new(),
        count: 0,
    };
    extract_tar(layer, &mut hashing, dest)?;
    // The tar end blocks and any padding after them are part of the diff_id.
    io::copy(&mut hashing, &mut io::sink()).map_err(bad)?;
    Ok(Unpacked {
        diff_id: crate::digest::from_hasher(hashing.hasher),
        tar_size: hashing.count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testutil::TempDir;
    use std::io::Write;

    /// A tar with one directory and one file, as a layer writer makes it.
    fn small_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(0);
        b.append_data(&mut h, "etc/", io::empty()).unwrap();
        let body = b"berth\n";
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(body.len() as u64);
        b.append_data(&mut h, "etc/hostname", &body[..]).unwrap();
        b.into_inner().unwrap()
    }

    fn compress(tar: &[u8], c: Compression) -> Vec<u8> {
        match c {
            Compression::None => tar.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(tar).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(tar, 3).unwrap(),
        }
    }

    #[test]
    fn plain_gzip_and_zstd_layers_unpack_to_the_same_tree_and_diff_id() {
        let tar = small_tar();
        let want = crate::digest::from_hasher(Sha256::new_with_prefix(&tar));
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let blob = compress(&tar, c);
            assert_eq!(Compression::detect(&blob), c, "magic of {c:?}");
            let tmp = TempDir::new("berth-unpack").unwrap();
            let dir = tmp.path();
            let u = unpack_layer("sha256:test", blob.as_slice(), c, dir).unwrap();
            assert_eq!(u.diff_id, want, "{c:?}: diff_id is the plain tar's sha256");
            assert_eq!(u.tar_size, tar.len() as u64, "{c:?}");
            assert_eq!(std::fs::read(dir.join("etc/hostname")).unwrap(), b"berth\n");
        }
    }

    #[test]
    fn a_layer_compressed_otherwise_than_its_media_type_says_is_refused_naming_it() {
        let blob = compress(&small_tar(), Compression::Zstd);
        let tmp = TempDir::new("berth-unpack").unwrap();
        let err = unpack_layer("sha256:abc", blob.as_slice(), Compression::Gzip, tmp.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256:abc"), "{err}");
    }
}
