//! The image library's error type: each variant names what is wrong (the digest, the
//! layer entry, the archive member), worded like Docker where Docker has a wording.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Docker's wording for an unknown name or id.
    #[error("No such image: {0}")]
    NotFound(String),

    #[error("{0}")]
    InvalidReference(String),

    #[error("digest mismatch for {expected}: content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },

    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },

    #[error("unsupported digest {0}: only sha256 digests are accepted")]
    UnsupportedDigest(String),

    #[error("blob {0} is missing from the store")]
    MissingBlob(String),

    #[error("layer {digest}: unsupported media type {media_type}")]
    UnknownMediaType { digest: String, media_type: String },

    /// A layer tar entry that is refused (escapes the layer, bad type, ...).
    #[error("layer {layer}: entry {entry:?}: {reason}")]
    BadLayerEntry {
        layer: String,
        entry: String,
        reason: String,
    },

    /// A layer that cannot be read at all (corrupt compression, truncated tar).
    #[error("layer {layer}: {reason}")]
    BadLayer { layer: String, reason: String },

    /// A member of an archive given to `load` that is refused.
    #[error("archive member {member:?}: {reason}")]
    BadArchiveMember { member: String, reason: String },

    #[error("invalid archive: {0}")]
    BadArchive(String),

    #[error("invalid {what}: {reason}")]
    BadJson { what: String, reason: String },

    /// Docker: `conflict: unable to remove repository reference "x" (must force) - container C is using its referenced image I`.
    #[error("conflict: unable to remove repository reference \"{name}\" (must force) - container {container} is using its referenced image {image}")]
    InUseByName {
        name: String,
        container: String,
        image: String,
    },

    #[error("conflict: unable to delete {image} (must be forced) - image is being used by container {container}")]
    InUseById { image: String, container: String },

    #[error("conflict: unable to delete {image} (must be forced) - image is referenced in multiple repositories")]
    MultipleRepositories { image: String },

    #[error("{0}")]
    Ambiguous(String),

    #[error("{0}")]
    Invalid(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("database {0}")]
    Db(#[from] rusqlite::Error),
}

impl ImageError {
    /// An I/O error with what was being done (and on which path) in front of it.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        ImageError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn json(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        ImageError::BadJson {
            what: what.into(),
            reason: e.to_string(),
        }
    }
}

/// Adds a context to `io::Result`s.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::io(context(), e))
    }
}

impl<T> IoContext<T> for Result<T, rustix::io::Errno> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::io(context(), e.into()))
    }
}
