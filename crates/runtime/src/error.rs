//! The runtime's error type: every failure says what it was doing and what went wrong.

use std::fmt::Display;

/// An error from the runtime library; its Display is the message `berth-oci` prints.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plain message (already complete, e.g. from the container's init process).
    #[error("{0}")]
    Msg(String),
    /// config.json is unreadable or invalid; the text names the field.
    #[error("invalid config.json: {0}")]
    Config(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("rootfs: {0}")]
    Rootfs(#[from] crate::rootfs::RootfsError),
    #[error("linux.seccomp: {0}")]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Sys {
        context: String,
        #[source]
        source: nix::errno::Errno,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what we were doing to io and errno errors.
pub trait Context<T> {
    fn ctx<C: Display>(self, context: C) -> Result<T>;
    fn with_ctx<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn ctx<C: Display>(self, context: C) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context.to_string(),
            source,
        })
    }
    fn with_ctx<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: f().to_string(),
            source,
        })
    }
}

impl<T> Context<T> for nix::Result<T> {
    fn ctx<C: Display>(self, context: C) -> Result<T> {
        self.map_err(|source| Error::Sys {
            context: context.to_string(),
            source,
        })
    }
    fn with_ctx<C: Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|source| Error::Sys {
            context: f().to_string(),
            source,
        })
    }
}

/// Shorthand for a message error.
pub fn msg(s: impl Into<String>) -> Error {
    Error::Msg(s.into())
}
