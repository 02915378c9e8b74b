//! Errors from turning run options and an image config into an OCI spec.

use std::path::PathBuf;

/// Why a spec could not be built. Messages follow Docker's wording where Docker has one,
/// so a user sees the flag or field that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A `docker run` flag value that does not parse, e.g.
    /// `invalid argument "abc" for "-m, --memory" flag: ...`.
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    InvalidFlag {
        flag: &'static str,
        value: String,
        reason: String,
    },
    /// Options that parse but make no sense together or for this host.
    #[error("{0}")]
    Invalid(String),
    /// A user or group that the image's /etc/passwd or /etc/group does not know.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UserNotFound(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    GroupNotFound(String),
    /// Reading a file inside the container root failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The oci-spec builders refused a value.
    #[error("building OCI spec: {0}")]
    Oci(String),
}

impl SpecError {
    pub(crate) fn flag(flag: &'static str, value: &str, reason: impl Into<String>) -> Self {
        SpecError::InvalidFlag {
            flag,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SpecError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<oci_spec::OciSpecError> for SpecError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        SpecError::Oci(e.to_string())
    }
}
