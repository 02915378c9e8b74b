//! Everything a `docker run` command line says that shapes the container's OCI spec.
//! The CLI fills this from its flags (using the parsers in `parse`); `build` reads it.

use std::collections::BTreeMap;
use std::time::Duration;

/// One `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Docker's name without the `RLIMIT_` prefix, lower case: `nofile`, `nproc`, `core`...
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// One `--device host[:container[:perms]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    /// Any of `r`, `w`, `m`; Docker's default is `rwm`.
    pub cgroup_permissions: String,
}

/// `--security-opt seccomp=...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompOpt {
    /// Docker's default profile.
    #[default]
    Default,
    /// `seccomp=unconfined`: no filter.
    Unconfined,
    /// `seccomp=/path/profile.json`: a Docker-format profile read from that file.
    Profile(std::path::PathBuf),
}

/// The parsed `--security-opt` values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityOpts {
    pub seccomp: SeccompOpt,
    pub no_new_privileges: bool,
    /// `apparmor=PROFILE`; recorded, applied only if the host has AppArmor.
    pub apparmor: Option<String>,
    /// `label=...` values (SELinux); recorded, `label=disable` accepted.
    pub labels: Vec<String>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub systempaths_unconfined: bool,
}

/// How a namespace is set up: `--ipc`, `--pid`, `--uts`, `--cgroupns`, `--userns`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NamespaceMode {
    /// Flag not given: Docker's default for that namespace.
    #[default]
    Default,
    /// A new namespace for this container.
    Private,
    /// `--ipc shareable`: private, but others may join it.
    Shareable,
    /// `--ipc none`: private, and no /dev/shm mount.
    None,
    /// Share the host's namespace.
    Host,
    /// `container:NAME_OR_ID`; the engine resolves it and passes the path in
    /// `SpecContext::join_namespaces`.
    Container(String),
}

/// `--health-*` and `--no-healthcheck`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthOptions {
    /// `--health-cmd`: run with `CMD-SHELL`.
    pub cmd: Option<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
    pub no_healthcheck: bool,
}

/// The `docker run` options that decide the OCI spec. `Default` is `docker run IMAGE` with
/// no flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOptions {
    /// `--entrypoint`: `Some(vec![])` (`--entrypoint ""`) resets the image's entrypoint;
    /// any `Some` also drops the image's Cmd, as Docker does.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the image name; non-empty replaces the image's Cmd.
    pub cmd: Vec<String>,
    /// `KEY=VALUE` in command-line order, `--env-file` entries first then `-e`
    /// (see `parse::parse_env` for `-e KEY` taking the caller's value).
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`, names or numbers.
    pub user: Option<String>,
    /// `--group-add`, names or numbers.
    pub group_add: Vec<String>,
    /// `-h`; defaults to the first 12 characters of the container id.
    pub hostname: Option<String>,
    /// `--domainname`.
    pub domainname: Option<String>,
    pub privileged: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--cap-add` / `--cap-drop` as given (`ALL`, `NET_ADMIN`, `cap_net_admin`...).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: SecurityOpts,
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule`, e.g. `c 1:3 rwm`.
    pub device_cgroup_rules: Vec<String>,
    /// Bytes (`-m`); None = unlimited.
    pub memory: Option<i64>,
    /// Bytes of memory+swap (`--memory-swap`); `Some(-1)` = unlimited swap.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// 0..=100.
    pub memory_swappiness: Option<u64>,
    pub kernel_memory: Option<i64>,
    pub oom_kill_disable: bool,
    /// -1000..=1000.
    pub oom_score_adj: Option<i32>,
    /// `--cpus 1.5`.
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// `--pids-limit`; 0 or -1 = unlimited.
    pub pids_limit: Option<i64>,
    /// 10..=1000.
    pub blkio_weight: Option<u16>,
    pub ulimits: Vec<Ulimit>,
    /// Bytes of /dev/shm; Docker's default is 64 MiB.
    pub shm_size: Option<i64>,
    /// `--tmpfs PATH[:OPTS]` as (path, options string, possibly empty).
    pub tmpfs: Vec<(String, String)>,
    /// `--sysctl KEY=VALUE`.
    pub sysctls: BTreeMap<String, String>,
    /// `--init`.
    pub init: bool,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub interactive: bool,
    /// `--stop-signal`; image StopSignal otherwise, then SIGTERM.
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds.
    pub stop_timeout: Option<i64>,
    pub ipc: NamespaceMode,
    pub pid: NamespaceMode,
    pub uts: NamespaceMode,
    pub cgroupns: NamespaceMode,
    pub userns: NamespaceMode,
    /// `-l` / `--label-file`, merged over the image's labels by the engine.
    pub labels: BTreeMap<String, String>,
    /// `--annotation KEY=VALUE`: copied into the OCI spec's annotations.
    pub annotations: BTreeMap<String, String>,
    pub health: HealthOptions,
}
