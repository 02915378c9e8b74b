//! What pull and push need from the local content store. The image store implements it;
//! keeping the registry code behind this narrow interface lets it stay independent of how
//! blobs and image records are kept.

use super::StoreError;
use oci_spec::image::Descriptor;
use std::io::Read;

pub trait ImageContent: Send + Sync + 'static {
    /// Whether the blob `digest` (`sha256:…`) is stored (for a layer: stored and unpacked).
    fn has_blob(&self, digest: &str) -> bool;
    /// Stores a non-layer blob (manifest, config) read from `reader`, verifying digest and size.
    fn write_blob(&self, desc: &Descriptor, reader: &mut dyn Read) -> Result<(), StoreError>;
    /// Stores and unpacks a layer in one pass while `reader` delivers it; verifies digest and
    /// size; leaves nothing behind on error.
    fn ingest_layer(&self, desc: &Descriptor, reader: &mut dyn Read) -> Result<(), StoreError>;
    /// The bytes of a stored blob.
    fn read_blob(&self, digest: &str) -> Result<Vec<u8>, StoreError>;
    /// Records `names` (normalized `registry/repo:tag`) as pointing at the stored manifest.
    fn register_image(&self, names: &[String], manifest_digest: &str) -> Result<(), StoreError>;
    /// The manifest digest a local name or id refers to.
    fn resolve(&self, name: &str) -> Result<String, StoreError>;
}

/// The image store behind pull and push.
impl ImageContent for crate::Store {
    fn has_blob(&self, digest: &str) -> bool {
        crate::digest::parse(digest).is_ok_and(|d| crate::Store::has_blob(self, &d))
    }

    fn write_blob(&self, desc: &Descriptor, reader: &mut dyn Read) -> Result<(), StoreError> {
        Ok(crate::Store::write_blob(
            self,
            desc.digest(),
            Some(desc.size()),
            reader,
        )?)
    }

    fn ingest_layer(&self, desc: &Descriptor, reader: &mut dyn Read) -> Result<(), StoreError> {
        Ok(crate::Store::ingest_layer(self, desc, reader)?)
    }

    fn read_blob(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let d = crate::digest::parse(digest)?;
        Ok(crate::Store::read_blob(self, &d)?)
    }

    fn register_image(&self, names: &[String], manifest_digest: &str) -> Result<(), StoreError> {
        let d = crate::digest::parse(manifest_digest)?;
        crate::Store::register_image(self, names, &d)?;
        Ok(())
    }

    fn resolve(&self, name: &str) -> Result<String, StoreError> {
        Ok(crate::Store::resolve(self, name)?
            .manifest_digest
            .to_string())
    }
}
