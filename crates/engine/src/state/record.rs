//! What is recorded about a container when it is created.

use crate::monitor::{HealthCheck, RestartPolicy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// `sha256:...` (empty for `--rootfs`).
    pub image_id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub config: ContainerConfig,
}

/// A mount as `inspect` shows it (Docker's `Mounts` entries).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "Source")]
    pub source: String,
    #[serde(rename = "Destination")]
    pub destination: String,
    #[serde(rename = "Mode")]
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ContainerConfig {
    /// `--rootfs DIR`: run from a directory instead of an image.
    pub rootfs: Option<PathBuf>,
    pub path: String,
    pub args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub domainname: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub health: Option<HealthCheck>,
    /// Runtime binary (resolved path) and the name the user gave.
    pub runtime: PathBuf,
    pub runtime_name: String,
    pub restart: RestartPolicy,
    pub auto_remove: bool,
    pub network_mode: String,
    pub port_bindings: Vec<String>,
    pub publish_all: bool,
    pub network_aliases: Vec<String>,
    /// Networks joined besides `network_mode`'s (`network connect`), attached on every start.
    pub extra_networks: Vec<String>,
    pub dns: Vec<String>,
    pub add_hosts: Vec<String>,
    pub mounts: Vec<MountPoint>,
    /// Docker's `Config.Volumes`: the image's VOLUMEs and anonymous `-v /path` volumes.
    pub volumes: Vec<String>,
    pub log_max_size: u64,
    pub log_max_file: u32,
    pub log_opts: BTreeMap<String, String>,
    pub cgroup_path: String,
    /// Docker's HostConfig as `inspect` shows it, built at create time.
    pub host_config: serde_json::Value,
}
