//! Image config + run options → OCI runtime spec, with Docker's defaults: what `docker run`
//! would hand its runtime. The CLI fills `RunOptions` (with the parsers in `parse`), the
//! engine fills `SpecContext`, and `build` returns the `config.json` content.

mod builder;
pub mod capabilities;
mod context;
pub mod devices;
mod error;
mod health;
pub mod host;
mod in_root;
mod init;
pub mod mounts;
mod options;
pub mod parse;
pub mod process;
pub mod resources;
pub mod seccomp;
mod user;

pub use builder::{
    build, build_for_host, domainname, hostname, stop_signal, DEFAULT_NOFILE,
    INIT_PATH_IN_CONTAINER, STOP_SIGNAL_ANNOTATION,
};
pub use context::{NamespaceKind, SpecContext};
pub use error::SpecError;
pub use health::{healthcheck, image_healthcheck, HealthConfig};
pub use host::HostInfo;
pub use init::{install_init, BERTH_INIT};
pub use options::{
    DeviceMapping, HealthOptions, NamespaceMode, RunOptions, SeccompOpt, SecurityOpts, Ulimit,
};
pub use user::{resolve_user, resolve_user_with_groups, ResolvedUser};
