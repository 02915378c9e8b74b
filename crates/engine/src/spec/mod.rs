//! Image config + run options → OCI runtime spec, with Docker's defaults.

mod context;
mod error;
mod options;
pub mod parse;

pub use context::{NamespaceKind, SpecContext};
pub use error::SpecError;
pub use options::{
    DeviceMapping, HealthOptions, NamespaceMode, RunOptions, SeccompOpt, SecurityOpts, Ulimit,
};
