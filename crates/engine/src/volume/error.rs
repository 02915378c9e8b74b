//! Typed errors for volumes and mounts.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{containers}]")]
    InUse { name: String, containers: String },
    #[error("create {name}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("invalid volume specification: '{spec}': {reason}")]
    InvalidSpec { spec: String, reason: String },
    #[error("invalid argument {spec:?} for \"--mount\" flag: {reason}")]
    InvalidMount { spec: String, reason: String },
    #[error("invalid mount config for type \"bind\": bind source path does not exist: {0}")]
    BindSourceMissing(String),
    #[error("volume driver {0:?} not found: only \"local\" is supported")]
    UnknownDriver(String),
    #[error("invalid option for the local volume driver: {0}")]
    InvalidOption(String),
    #[error("copying image content at {path} into volume {volume}: {source}")]
    CopyUp {
        volume: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mounting volume {volume}: {source}")]
    Mount {
        volume: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl VolumeError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        VolumeError::Io {
            context: context.into(),
            source,
        }
    }
}
