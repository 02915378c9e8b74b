//! Image archives: `load` (docker-save and OCI archives), `save`, `import`.

mod changes;
mod docker_manifest;
mod import;
mod load;
mod reader;
mod save;

pub use changes::apply as apply_change;
pub use docker_manifest::{parse as parse_docker_manifest, DockerSaveEntry};
pub use import::{import, ImportOptions};
pub use load::load;
pub use save::{save, ArchiveFormat};

/// The platform images are chosen for when an archive holds an index: the host's.
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
