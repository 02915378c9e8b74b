//! `create`: a record, a directory with the bundle, and a root filesystem.

use super::{basic_spec, Engine};
use crate::error::{EngineError, Result};
use crate::monitor::{HealthCheck, RestartPolicy};
use crate::names;
use crate::runtime_client::resolve_runtime;
use crate::spec::{RunOptions, SpecContext};
use crate::state::status::{self, LiveState};
use crate::state::MountPoint;
use crate::state::{ContainerConfig, ContainerRecord};
use oci_spec::image::ImageConfiguration;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The image a container is made from.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// As the user named it.
    pub reference: String,
    /// `sha256:...`; empty for `--rootfs`.
    pub id: String,
    pub config: ImageConfiguration,
    /// The store's record (the root filesystem is made from it).
    pub record: Option<berth_image::ImageRecord>,
    /// The config blob as stored (for Docker's Healthcheck, which oci-spec drops).
    pub raw_config: Vec<u8>,
}

/// Everything `berth create`/`run` was asked.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub image: Option<ImageInfo>,
    /// `--rootfs DIR` instead of an image.
    pub rootfs_dir: Option<PathBuf>,
    pub options: RunOptions,
    pub restart: RestartPolicy,
    pub auto_remove: bool,
    /// `--runtime`: a name or a path.
    pub runtime: String,
    pub log_opts: BTreeMap<String, String>,
    /// `--network`: bridge (default), none, host, or a network name.
    pub network: String,
    pub publish: Vec<String>,
    pub publish_all: bool,
    pub network_aliases: Vec<String>,
    pub dns: Vec<String>,
    /// `--add-host name:ip`.
    pub add_hosts: Vec<String>,
    /// `-v`, `--mount`, `--tmpfs` requests.
    pub mounts: Vec<crate::volume::MountRequest>,
}

/// Parses `max-size` values such as `10m`, `1g`, `512k`.
pub fn parse_log_size(s: &str) -> Result<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1024),
        Some('m') => (&s[..s.len() - 1], 1024 * 1024),
        Some('g') => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s.as_str(), 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| EngineError::Invalid(format!("invalid value for log-opt max-size: {s}")))
}

impl Engine {
    /// Creates the container; on any failure nothing is left behind.
    pub fn create(&self, req: CreateRequest) -> Result<ContainerRecord> {
        if let Some(n) = &req.name {
            let n = n.strip_prefix('/').unwrap_or(n);
            if !names::valid_name(n) {
                return Err(EngineError::InvalidName(n.to_string()));
            }
        }
        let runtime_name = if req.runtime.is_empty() {
            crate::runtime_client::DEFAULT_RUNTIME.to_string()
        } else {
            req.runtime.clone()
        };
        let runtime = resolve_runtime(&runtime_name)?;
        let id = names::new_id();
        let name = match &req.name {
            Some(n) => n.strip_prefix('/').unwrap_or(n).to_string(),
            None => self.free_random_name()?,
        };
        let mut log_max_size = 0;
        let mut log_max_file = 1;
        for (k, v) in &req.log_opts {
            match k.as_str() {
                "max-size" => log_max_size = parse_log_size(v)?,
                "max-file" => {
                    log_max_file = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        EngineError::Invalid(format!("invalid value for log-opt max-file: {v}"))
                    })?
                }
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )))
                }
            }
        }
        let (image_ref, image_id, img) = match (&req.image, &req.rootfs_dir) {
            (Some(i), _) => (i.reference.clone(), i.id.clone(), i.config.clone()),
            (None, Some(d)) => (
                d.display().to_string(),
                String::new(),
                ImageConfiguration::default(),
            ),
            (None, None) => return Err(EngineError::Invalid("no image given".into())),
        };
        let args = basic_spec::command(&img, &req.options)?;
        let hostname = req
            .options
            .hostname
            .clone()
            .unwrap_or_else(|| id[..12].to_string());
        let mut labels: BTreeMap<String, String> = img
            .config()
            .as_ref()
            .and_then(|c| c.labels().clone())
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        labels.extend(req.options.labels.clone());
        let image_health = match &req.image {
            Some(i) if !i.raw_config.is_empty() => {
                crate::spec::image_healthcheck(&i.raw_config).map_err(spec_err)?
            }
            _ => None,
        };
        let health = crate::spec::healthcheck(image_health.as_ref(), &req.options)
            .map_err(spec_err)?
            .map(health_check);
        let stop_signal = crate::spec::stop_signal(&img, &req.options);
        // Docker's HostConfig.PortBindings: "80/tcp" -> [{HostIp, HostPort}] as asked
        // ("" where Berth picks); the ports also count as exposed.
        let mut port_bindings = serde_json::Map::new();
        let mut exposed_ports: Vec<String> = img
            .config()
            .as_ref()
            .and_then(|c| c.exposed_ports().clone())
            .unwrap_or_default();
        for p in &req.publish {
            let maps = crate::network::parse_publish(p)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            for m in maps {
                let key = format!("{}/{}", m.container_port, m.protocol);
                if !exposed_ports.contains(&key) {
                    exposed_ports.push(key.clone());
                }
                let entry = port_bindings.entry(key).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(json!({
                        "HostIp": m.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                        "HostPort": if m.host_port == 0 { String::new() } else { m.host_port.to_string() },
                    }));
                }
            }
        }
        let binds: Vec<String> = req
            .mounts
            .iter()
            .filter(|m| m.create_source && m.kind != crate::volume::MountKind::Tmpfs)
            .filter_map(|m| {
                let src = m.source.as_ref()?;
                Some(if m.read_only {
                    format!("{src}:{}:ro", m.target)
                } else {
                    format!("{src}:{}", m.target)
                })
            })
            .collect();
        let (entrypoint, cmd) = match &req.options.entrypoint {
            // --entrypoint resets the image's Cmd, as in Docker.
            Some(e) => (Some(e.clone()), req.options.cmd.clone()),
            None => {
                let cfg = img.config().as_ref();
                let entry = cfg
                    .and_then(|c| c.entrypoint().clone())
                    .filter(|e| !e.is_empty());
                let cmd = if req.options.cmd.is_empty() {
                    cfg.and_then(|c| c.cmd().clone()).unwrap_or_default()
                } else {
                    req.options.cmd.clone()
                };
                (entry, cmd)
            }
        };
        let network = if req.network.is_empty() {
            "bridge".to_string()
        } else {
            req.network.clone()
        };
        let cgroup_path = format!("/berth/{id}");
        let host_config = json!({
            "Binds": if binds.is_empty() { serde_json::Value::Null } else { json!(binds) },
            "NetworkMode": network,
            "PortBindings": port_bindings,
            "PublishAllPorts": req.publish_all,
            "RestartPolicy": req.restart,
            "AutoRemove": req.auto_remove,
            "Runtime": runtime_name,
            "LogConfig": {"Type": "json-file", "Config": req.log_opts},
            "Privileged": req.options.privileged,
            "ReadonlyRootfs": req.options.read_only,
            "CapAdd": req.options.cap_add,
            "CapDrop": req.options.cap_drop,
            "Memory": req.options.memory.unwrap_or(0),
            "MemorySwap": req.options.memory_swap.unwrap_or(0),
            "NanoCpus": req.options.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "CpuShares": req.options.cpu_shares.unwrap_or(0),
            "PidsLimit": req.options.pids_limit,
            "Init": req.options.init,
            "CgroupParent": "",
        });
        let config = ContainerConfig {
            rootfs: req.rootfs_dir.clone(),
            path: args[0].clone(),
            args: args[1..].to_vec(),
            entrypoint,
            cmd,
            env: basic_spec::environment(&img, &req.options, &hostname),
            working_dir: req.options.workdir.clone().unwrap_or_default(),
            user: req.options.user.clone().unwrap_or_default(),
            hostname: hostname.clone(),
            domainname: req.options.domainname.clone().unwrap_or_default(),
            tty: req.options.tty,
            open_stdin: req.options.interactive,
            labels,
            exposed_ports,
            stop_signal,
            stop_timeout: req.options.stop_timeout,
            health,
            runtime,
            runtime_name,
            restart: req.restart,
            auto_remove: req.auto_remove,
            network_mode: network,
            port_bindings: req.publish.clone(),
            publish_all: req.publish_all,
            network_aliases: req.network_aliases.clone(),
            extra_networks: Vec::new(),
            dns: req.dns.clone(),
            add_hosts: req.add_hosts.clone(),
            mounts: Vec::new(),
            volumes: img
                .config()
                .as_ref()
                .and_then(|c| c.volumes().clone())
                .unwrap_or_default()
                .into_iter()
                .chain(
                    req.mounts
                        .iter()
                        .filter(|m| {
                            m.kind == crate::volume::MountKind::Volume && m.source.is_none()
                        })
                        .map(|m| m.target.clone()),
                )
                .collect(),
            log_max_size,
            log_max_file,
            log_opts: req.log_opts.clone(),
            cgroup_path: cgroup_path.clone(),
            host_config,
        };
        let mut rec = ContainerRecord {
            id: id.clone(),
            name,
            image: image_ref,
            image_id,
            created: status::now_rfc3339(),
            config,
        };
        let dir = self.layout.container(&id);
        std::fs::create_dir_all(self.layout.bundle(&id))
            .map_err(|e| EngineError::io(format!("create {}", dir.display()), e))?;
        let mut attempt = 0;
        loop {
            match self.db.insert(&rec) {
                Ok(()) => break,
                // Another `berth` picked the same random name first: pick again.
                Err(EngineError::NameInUse { .. }) if req.name.is_none() && attempt < 20 => {
                    attempt += 1;
                    rec.name = names::random_name(attempt);
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(e);
                }
            }
        }
        match self.prepare_bundle(&rec, &req, &img) {
            Ok(()) => Ok(rec),
            Err(e) => {
                let _ = self.cleanup(&rec, true, true);
                Err(e)
            }
        }
    }

    fn free_random_name(&self) -> Result<String> {
        for attempt in 0..20 {
            let n = names::random_name(attempt);
            if !self.db.name_taken(&n)? {
                return Ok(n);
            }
        }
        Ok(names::random_name(99))
    }

    /// Root filesystem, volumes, /etc files and config.json.
    fn prepare_bundle(
        &self,
        rec: &ContainerRecord,
        req: &CreateRequest,
        img: &ImageConfiguration,
    ) -> Result<()> {
        let dir = self.layout.container(&rec.id);
        if let Some(info) = req.image.as_ref().and_then(|i| i.record.as_ref()) {
            let store = self.image_store()?;
            store
                .create_rootfs(&rec.id, info)
                .map_err(|e| EngineError::Other(e.to_string()))?;
        }
        let rootfs = self.rootfs_path(rec)?;
        let image_volumes: Vec<String> = img
            .config()
            .as_ref()
            .and_then(|c| c.volumes().clone())
            .unwrap_or_default();
        let mut extra_mounts = Vec::new();
        if !req.mounts.is_empty() || !image_volumes.is_empty() {
            let vm = crate::volume::VolumeManager::open(&self.layout.root)
                .map_err(|e| EngineError::Other(e.to_string()))?;
            extra_mounts = vm
                .resolve(&rec.id, &req.mounts, &image_volumes, &rootfs)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            let points: Vec<MountPoint> = extra_mounts
                .iter()
                .map(|m| mount_point(m, &req.mounts))
                .collect();
            let mut cfg = rec.config.clone();
            cfg.mounts = points;
            self.db.update_config(&rec.id, &cfg)?;
        }
        let hostname_file = dir.join("hostname");
        let hosts_file = dir.join("hosts");
        let resolv = dir.join("resolv.conf");
        let w = |p: &PathBuf, s: String| {
            std::fs::write(p, s).map_err(|e| EngineError::io(format!("write {}", p.display()), e))
        };
        w(&hostname_file, format!("{}\n", rec.config.hostname))?;
        w(
            &hosts_file,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n".to_string(),
        )?;
        w(&resolv, host_resolv_conf())?;
        let ctx = SpecContext {
            container_id: rec.id.clone(),
            rootfs,
            hosts_file: Some(hosts_file),
            resolv_conf: Some(resolv),
            hostname_file: Some(hostname_file),
            netns_path: None,
            host_network: rec.config.network_mode == "host",
            extra_mounts,
            cgroups_path: rec.config.cgroup_path.clone(),
            init_path: if req.options.init {
                let dir = self.layout.root.join("init");
                Some(crate::spec::install_init(&dir).map_err(|e| {
                    EngineError::io(format!("install berth-init in {}", dir.display()), e)
                })?)
            } else {
                None
            },
            join_namespaces: Vec::new(),
        };
        let spec = crate::spec::build(img, &req.options, &ctx).map_err(spec_err)?;
        let mut spec =
            serde_json::to_value(&spec).map_err(|e| EngineError::Other(e.to_string()))?;
        drop_specific_device_denies(&mut spec);
        let cfg = self.layout.bundle(&rec.id).join("config.json");
        w(&cfg, serde_json::to_string_pretty(&spec).expect("json"))?;
        status::write(&dir, &LiveState::new_created())
            .map_err(|e| EngineError::io(format!("write status in {}", dir.display()), e))
    }

    pub fn image_store(&self) -> Result<berth_image::Store> {
        berth_image::Store::open(&self.layout.root).map_err(|e| EngineError::Other(e.to_string()))
    }

    /// Where the container's root filesystem is (mounted) on the host.
    pub fn rootfs_path(&self, rec: &ContainerRecord) -> Result<PathBuf> {
        match &rec.config.rootfs {
            Some(d) => Ok(d.clone()),
            None => self
                .image_store()?
                .mount_rootfs(&rec.id)
                .map_err(|e| EngineError::Other(format!("mount root filesystem: {e}"))),
        }
    }
}

/// Drops device-cgroup deny rules for single devices that follow the leading deny-all:
/// they are redundant for access (nothing allowed them) and on cgroup v1 runtimes
/// refuse them after a `c *:* m` allow ("cannot punch hole in existing wildcard rule").
fn drop_specific_device_denies(spec: &mut serde_json::Value) {
    if let Some(list) = spec["linux"]["resources"]["devices"].as_array_mut() {
        let mut first = true;
        list.retain(|r| {
            let keep = first || r["allow"].as_bool().unwrap_or(true);
            first = false;
            keep
        });
    }
}

fn spec_err(e: crate::spec::SpecError) -> EngineError {
    EngineError::Invalid(e.to_string())
}

/// An OCI mount as `inspect` shows it.
fn mount_point(m: &oci_spec::runtime::Mount, reqs: &[crate::volume::MountRequest]) -> MountPoint {
    let dest = m.destination().display().to_string();
    let opts = m.options().clone().unwrap_or_default();
    let rw = !opts.iter().any(|o| o == "ro");
    let req = reqs.iter().find(|r| r.target == dest);
    let kind = match req.map(|r| r.kind) {
        Some(crate::volume::MountKind::Bind) => "bind",
        Some(crate::volume::MountKind::Tmpfs) => "tmpfs",
        _ => "volume",
    };
    let source = m
        .source()
        .as_ref()
        .map(|s| s.display().to_string())
        .unwrap_or_default();
    let name = if kind == "volume" {
        req.and_then(|r| r.source.clone()).unwrap_or_else(|| {
            // .../volumes/<name>/_data
            std::path::Path::new(&source)
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    } else {
        String::new()
    };
    MountPoint {
        kind: kind.into(),
        name,
        source,
        destination: dest,
        mode: String::new(),
        rw,
    }
}

/// The host's resolver configuration without loopback name servers (unreachable from a
/// container's own network namespace), as Docker filters it.
fn host_resolv_conf() -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let kept: Vec<&str> = host
        .lines()
        .filter(|l| {
            let mut f = l.split_whitespace();
            !(f.next() == Some("nameserver")
                && f.next()
                    .is_some_and(|a| a.starts_with("127.") || a == "::1"))
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Docker's merged health check as the monitor runs it (Docker's defaults for zeros).
fn health_check(h: crate::spec::HealthConfig) -> HealthCheck {
    let argv = match h.test.first().map(String::as_str) {
        Some("CMD-SHELL") => vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            h.test[1..].join(" "),
        ],
        Some("CMD") => h.test[1..].to_vec(),
        _ => h.test.clone(),
    };
    let ms = |d: std::time::Duration, def: u64| {
        if d.is_zero() {
            def
        } else {
            d.as_millis() as u64
        }
    };
    HealthCheck {
        test: h.test.clone(),
        argv,
        interval_ms: ms(h.interval, 30_000),
        timeout_ms: ms(h.timeout, 30_000),
        start_period_ms: ms(h.start_period, 0),
        retries: if h.retries == 0 { 3 } else { h.retries },
    }
}
