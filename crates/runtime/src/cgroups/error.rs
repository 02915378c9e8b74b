//! Errors of the cgroups module; each names the spec field or file involved.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Writing a limit failed; `field` is the config.json field it came from.
    #[error("{field}: writing {}: {source}", path.display())]
    Write {
        field: String,
        path: PathBuf,
        source: io::Error,
    },
    /// A value in the spec is out of range or malformed.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The spec asks for something this host's cgroups cannot do.
    #[error("{field}: {reason}")]
    Unsupported { field: String, reason: String },
    /// A file-system operation on the cgroup tree failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// /proc/self/mountinfo or /proc/self/cgroup could not be understood.
    #[error("cgroup discovery: {0}")]
    Discovery(String),
    /// Loading or attaching the eBPF device filter failed.
    #[error("linux.resources.devices: {op}: {source}")]
    Bpf { op: &'static str, source: io::Error },
    /// The freezer did not reach the wanted state in time.
    #[error("freezer {}: {reason}", path.display())]
    Freezer { path: PathBuf, reason: String },
}

impl CgroupError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CgroupError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CgroupError::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
