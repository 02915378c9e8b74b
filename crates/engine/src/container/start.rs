//! `start`: hand the container to a fresh monitor process and wait until it runs.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::monitor::config::{MonitorConfig, MONITOR_CONFIG_FILE, STOP_MARKER};
use crate::state::ContainerRecord;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Finds a helper binary shipped next to `berth` (berth-monitor, berth-init), else on PATH.
pub fn sibling_binary(name: &str) -> PathBuf {
    if let Some(p) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
    {
        return p;
    }
    PathBuf::from(name)
}

impl Engine {
    /// Starts the container. Detached: returns once it runs. Attached (foreground `run`,
    /// `start -a`): returns the monitor child, which copies the container's stdio to
    /// ours and exits with the container's exit code.
    pub fn start(&self, rec: &ContainerRecord, attach: bool) -> Result<Option<Child>> {
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if st.status.is_live() {
            return Ok(None);
        }
        self.wait_monitor_gone(rec, None);
        let dir = self.layout.container(&rec.id);
        let _ = std::fs::remove_file(dir.join(STOP_MARKER));
        self.rootfs_path(rec)?;
        if let Err(e) = self.setup_network(rec) {
            let _ = self.cleanup(rec, false, false);
            return Err(e);
        }
        match self.spawn_monitor(rec, attach) {
            Ok(c) => Ok(c),
            Err(e) => {
                // The monitor cleans up after itself when it got to run; this covers
                // a monitor that never started.
                let _ = self.cleanup(rec, false, false);
                Err(e)
            }
        }
    }

    fn spawn_monitor(&self, rec: &ContainerRecord, attach: bool) -> Result<Option<Child>> {
        let dir = self.layout.container(&rec.id);
        let cfg = MonitorConfig {
            id: rec.id.clone(),
            runtime: rec.config.runtime.clone(),
            runtime_root: self.layout.runtime_root(&rec.config.runtime),
            bundle: self.layout.bundle(&rec.id),
            log_path: self.layout.log(&rec.id),
            log_max_size: rec.config.log_max_size,
            log_max_file: rec.config.log_max_file,
            restart: rec.config.restart,
            health: rec.config.health.clone(),
            tty: rec.config.tty,
            stdin: rec.config.open_stdin,
            cgroup_path: rec.config.cgroup_path.clone(),
            berth_exe: std::env::current_exe()
                .map_err(|e| EngineError::io("current executable", e))?,
            berth_root: self.layout.root.clone(),
            auto_remove: rec.config.auto_remove,
        };
        let cfg_path = dir.join(MONITOR_CONFIG_FILE);
        std::fs::write(&cfg_path, serde_json::to_vec(&cfg).expect("json"))
            .map_err(|e| EngineError::io(format!("write {}", cfg_path.display()), e))?;
        let (sync_r, sync_w) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| EngineError::io("pipe", e.into()))?;
        // The monitor inherits the write end (and marks it close-on-exec itself).
        fcntl(&sync_w, FcntlArg::F_SETFD(FdFlag::empty()))
            .map_err(|e| EngineError::io("fcntl", e.into()))?;
        let mut cmd = Command::new(sibling_binary("berth-monitor"));
        use std::os::fd::AsRawFd;
        cmd.arg("--sync-fd").arg(sync_w.as_raw_fd().to_string());
        if attach {
            cmd.arg("--attach");
        } else {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        cmd.arg(&dir);
        let child = cmd
            .spawn()
            .map_err(|e| EngineError::io("start berth-monitor", e))?;
        drop(cmd);
        drop(sync_w);
        let mut msg = String::new();
        let _ = std::fs::File::from(sync_r).read_to_string(&mut msg);
        if msg.starts_with("ok") {
            return Ok(if attach {
                Some(child)
            } else {
                // The monitor is on its own now (new session); reap nothing.
                drop(child);
                None
            });
        }
        let mut child = child;
        let _ = child.wait();
        let (code, text) = match msg.strip_prefix("err ") {
            Some(rest) => {
                let (c, t) = rest.split_once(' ').unwrap_or((rest, ""));
                (c.parse().unwrap_or(125), t.to_string())
            }
            None => (
                125,
                "berth-monitor exited before the container started".into(),
            ),
        };
        Err(EngineError::Start { msg: text, code })
    }

    /// Network namespace, interfaces, ports, DNS and the /etc files, then the bundle's
    /// network namespace path.
    fn setup_network(&self, rec: &ContainerRecord) -> Result<()> {
        use crate::network::{AttachRequest, NetworkManager, NetworkMode};
        let net_err = |e: crate::network::NetworkError| EngineError::Invalid(e.to_string());
        let c = &rec.config;
        let mut mode = NetworkMode::parse(&c.network_mode);
        if let NetworkMode::Container(other) = &mode {
            mode = NetworkMode::Container(self.find(other)?.id);
        }
        let mut req = AttachRequest::new(&rec.id, &rec.name, mode);
        req.hostname = c.hostname.clone();
        req.domainname = Some(c.domainname.clone()).filter(|d| !d.is_empty());
        req.aliases = c.network_aliases.clone();
        if matches!(req.mode, NetworkMode::Default | NetworkMode::Named(_)) {
            req.networks = c.extra_networks.clone();
        }
        for p in &c.port_bindings {
            req.ports
                .extend(crate::network::parse_publish(p).map_err(net_err)?);
        }
        req.publish_all = c.publish_all;
        req.exposed_ports = c
            .exposed_ports
            .iter()
            .filter_map(|p| {
                let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                Some((port.parse().ok()?, proto.to_string()))
            })
            .collect();
        req.dns = c.dns.clone();
        for h in &c.add_hosts {
            let (n, ip) = h.split_once(':').ok_or_else(|| {
                EngineError::Invalid(format!("invalid argument {h:?} for \"--add-host\" flag"))
            })?;
            req.extra_hosts.push((n.to_string(), ip.to_string()));
        }
        let nm = NetworkManager::open(&self.layout.root)
            .map_err(net_err)?
            .with_dns_binary(&sibling_binary("berth-dns"));
        let setup = nm.setup(&req).map_err(net_err)?;
        let dir = self.layout.container(&rec.id);
        let write = |name: &str, s: &str| {
            let p = dir.join(name);
            std::fs::write(&p, s).map_err(|e| EngineError::io(format!("write {}", p.display()), e))
        };
        write("hosts", &setup.hosts)?;
        write("resolv.conf", &setup.resolv_conf)?;
        write("hostname", &setup.hostname)?;
        std::fs::write(
            dir.join("ports.json"),
            serde_json::to_vec(&setup.ports).unwrap_or_default(),
        )
        .map_err(|e| EngineError::io("write ports.json", e))?;
        if let Some(ns) = setup.netns_path {
            let cfg_path = self.layout.bundle(&rec.id).join("config.json");
            let text = std::fs::read(&cfg_path)
                .map_err(|e| EngineError::io(format!("read {}", cfg_path.display()), e))?;
            let mut spec: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| EngineError::Other(format!("{}: {e}", cfg_path.display())))?;
            if let Some(list) = spec["linux"]["namespaces"].as_array_mut() {
                list.retain(|n| n["type"] != "network");
                list.push(serde_json::json!({"type": "network", "path": ns}));
            }
            std::fs::write(&cfg_path, serde_json::to_vec_pretty(&spec).expect("json"))
                .map_err(|e| EngineError::io(format!("write {}", cfg_path.display()), e))?;
        }
        Ok(())
    }
}
