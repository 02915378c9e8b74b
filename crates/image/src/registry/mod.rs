//! Registry client (OCI distribution-spec): auth, manifests, pull, push.
//!
//! Built on `oci-client` for the HTTP protocol (auth challenges, token flow, blob and
//! manifest endpoints). Berth adds what it needs around it: Docker's credentials file,
//! a registries config (mirrors, insecure hosts), its own manifest checks and platform
//! choice, digest and size checks on every byte it stores, retries, and streaming each
//! layer straight into the content store while it downloads.

pub mod config;
pub mod content;
pub mod credentials;
pub mod login;
pub mod manifest;
mod pipe;
pub mod progress;
pub mod pull;
pub mod push;
mod retry;
pub mod session;
pub mod sources;

pub use config::RegistriesConfig;
pub use content::ImageContent;
pub use credentials::{Credentials, DockerConfig};
pub use manifest::Platform;
pub use progress::{Progress, ProgressMode};
pub use pull::{pull, PullOptions, PullOutcome};
pub use push::{push, PushOptions, PushOutcome};
pub use session::Session;

/// A boxed error from the content store behind [`ImageContent`].
pub type StoreError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Reference(#[from] crate::reference::ReferenceError),
    #[error("registries config: {0}")]
    Config(String),
    #[error("invalid platform {0}")]
    Platform(String),
    #[error("manifest {digest}: {reason}")]
    BadManifest { digest: String, reason: String },
    #[error("{digest}: unsupported media type {media_type}")]
    UnknownMediaType { digest: String, media_type: String },
    #[error("image index {digest} has no manifest for platform {platform}")]
    NoMatchingPlatform { digest: String, platform: String },
    #[error("image with reference {reference} was found but its platform ({found}) does not match the specified platform ({wanted})")]
    PlatformMismatch {
        reference: String,
        found: String,
        wanted: String,
    },
    #[error("digest mismatch for {expected}: content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("manifest unknown: {0} not found")]
    ManifestUnknown(String),
    #[error("blob unknown: {digest} not found in {repository}")]
    BlobUnknown { digest: String, repository: String },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("{what}: {source}")]
    Registry {
        what: String,
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    #[error("{what}: {reason}")]
    Http { what: String, reason: String },
    #[error("{context}: {source}")]
    Store {
        context: String,
        #[source]
        source: StoreError,
    },
    #[error("{0}")]
    Other(String),
}
