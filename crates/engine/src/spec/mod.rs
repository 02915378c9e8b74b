//! Image config + run options → OCI runtime spec, with Docker's defaults: what `docker run`
//! would hand its runtime.
//!
//! How the engine uses it:
//! 1. The CLI fills `RunOptions` from flags, using `parse::*` for values (sizes, ulimits,
//!    devices, `--security-opt`, sysctls, env files, durations...); their errors already
//!    name the flag the way Docker does.
//! 2. The engine mounts the rootfs, writes hosts/resolv.conf/hostname, gets the netns and
//!    volume mounts, and for `--init` puts berth-init on disk with `install_init(dir)`; all of
//!    that goes into `SpecContext`.
//! 3. `build(image_config, &opts, &ctx)` returns the spec (config.json) and creates the
//!    working directory inside the rootfs. `healthcheck`/`image_healthcheck`,
//!    `stop_signal`, `hostname` give the pieces the engine records for inspect.

mod builder;
pub mod capabilities;
mod context;
pub mod devices;
mod error;
mod health;
pub mod host;
pub mod in_root;
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
