//! What the engine has prepared on the host for one container, which the spec points at.

use std::path::PathBuf;

/// A namespace kind, as in the OCI spec.
pub type NamespaceKind = oci_spec::runtime::LinuxNamespaceType;

/// Host-side facts `build` needs besides the image config and the run options.
#[derive(Debug, Clone, Default)]
pub struct SpecContext {
    /// Full container id (64 hex); the default hostname is its first 12 characters.
    pub container_id: String,
    /// The mounted root filesystem (overlay merged dir).
    pub rootfs: PathBuf,
    /// Files the engine wrote, bind-mounted at /etc/hosts, /etc/resolv.conf, /etc/hostname.
    pub hosts_file: Option<PathBuf>,
    pub resolv_conf: Option<PathBuf>,
    pub hostname_file: Option<PathBuf>,
    /// Network namespace to join (e.g. /run/netns/X made by the network code).
    /// With `host_network` and no path, the container shares the host's.
    pub netns_path: Option<PathBuf>,
    pub host_network: bool,
    /// Volumes, binds and `--mount` entries from the volume code, already resolved.
    pub extra_mounts: Vec<oci_spec::runtime::Mount>,
    /// Passed to the runtime as linux.cgroupsPath.
    pub cgroups_path: String,
    /// Host path of the `berth-init` binary, used with `--init`.
    pub init_path: Option<PathBuf>,
    /// Namespaces to join rather than create (`--ipc container:X`, `--pid container:X`...),
    /// e.g. `(LinuxNamespaceType::Ipc, "/proc/1234/ns/ipc")`.
    pub join_namespaces: Vec<(NamespaceKind, PathBuf)>,
}
