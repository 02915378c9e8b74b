//! Networks: CNI configuration lists, network namespaces, port publishing, DNS.
//!
//! Daemonless: every operation works from the state database and the files under the data
//! root; long-lived pieces are only the pinned namespaces, the kernel's bridges/veths/iptables
//! rules the CNI plugins create, and one small DNS responder per user-defined network in use.

mod cni;
mod dns;
pub mod dns_server;
mod error;
mod files;
mod firewall;
mod netns;
mod ports;
mod publish;
mod store;
mod subnet;
mod types;

pub use error::NetworkError;
pub use netns::{path_for as netns_path, NETNS_DIR};
pub use publish::parse_publish;
pub use types::{
    AttachRequest, Attachment, EndpointInfo, NetworkCreateOptions, NetworkMode, NetworkRecord,
    NetworkSetup, PortMapping,
};

use rusqlite::{Connection, TransactionBehavior};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use store::EndpointRow;
use subnet::Cidr;

/// host-local keeps its allocations here, shared by all data roots because the bridges
/// are host-wide; /run empties on reboot, as do the namespaces.
const IPAM_DIR: &str = "/run/berth/ipam";

/// The Linux bridge of the default "bridge" network.
pub const DEFAULT_BRIDGE: &str = "berth0";

pub struct NetworkManager {
    root: PathBuf,
    conn: Mutex<Connection>,
    dns_bin: PathBuf,
}

fn random_id() -> String {
    let mut buf = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

impl NetworkManager {
    /// Opens the network state under `root`, creating the predefined networks
    /// ("bridge" on device berth0, "host", "none") on first use.
    pub fn open(root: &Path) -> Result<NetworkManager, NetworkError> {
        let conn = store::open(root)?;
        let dir = root.join("networks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| NetworkError::io(dir.display().to_string(), e))?;
        let nm = NetworkManager {
            root: root.to_path_buf(),
            conn: Mutex::new(conn),
            dns_bin: dns::default_binary(),
        };
        nm.ensure_predefined()?;
        Ok(nm)
    }

    /// Uses this `berth-dns` binary for the DNS responder (tests pass Cargo's path).
    pub fn with_dns_binary(mut self, path: &Path) -> Self {
        self.dns_bin = path.to_path_buf();
        self
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn conflist_path(&self, name: &str) -> PathBuf {
        self.root.join("networks").join(format!("{name}.conflist"))
    }

    fn write_conflist(&self, net: &NetworkRecord) -> Result<(), NetworkError> {
        let list = cni::conflist(net, Path::new(IPAM_DIR))?;
        let path = self.conflist_path(&net.name);
        let text = serde_json::to_string_pretty(&list).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| NetworkError::io(path.display().to_string(), e))
    }

    fn read_conflist(&self, net: &NetworkRecord) -> Result<Value, NetworkError> {
        let path = self.conflist_path(&net.name);
        match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| NetworkError::Json {
                context: path.display().to_string(),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.write_conflist(net)?;
                cni::conflist(net, Path::new(IPAM_DIR))
            }
            Err(e) => Err(NetworkError::io(path.display().to_string(), e)),
        }
    }

    fn ensure_predefined(&self) -> Result<(), NetworkError> {
        let mut conn = self.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = store::list_networks(&tx)?;
        let has = |n: &str| existing.iter().any(|r| r.name == n);
        let mut created = None;
        if !has("bridge") {
            let taken: Vec<Cidr> = existing
                .iter()
                .filter_map(|n| Cidr::parse(&n.subnet).ok())
                .collect();
            let candidates = subnet::DEFAULT_BRIDGE_POOL
                .iter()
                .filter_map(|s| Cidr::parse(s).ok());
            // berth0 is host-wide: another data root may have brought it up already, and
            // its address then decides the subnet (its route would look like a clash).
            let (sub, gateway) = match subnet::device_address(DEFAULT_BRIDGE) {
                Some((gw, sub)) => (sub, gw),
                None => {
                    let sub = subnet::pick_free(candidates, &taken).ok_or(NetworkError::NoPool)?;
                    (sub, sub.first_host())
                }
            };
            let mut options = BTreeMap::new();
            options.insert(
                "com.docker.network.bridge.default_bridge".into(),
                "true".into(),
            );
            options.insert(
                "com.docker.network.bridge.name".into(),
                DEFAULT_BRIDGE.into(),
            );
            let rec = NetworkRecord {
                id: random_id(),
                name: "bridge".into(),
                driver: "bridge".into(),
                subnet: sub.to_string(),
                gateway: gateway.to_string(),
                ip_range: None,
                internal: false,
                bridge: DEFAULT_BRIDGE.into(),
                labels: BTreeMap::new(),
                options,
                created: now_rfc3339(),
                containers: BTreeMap::new(),
            };
            store::insert_network(&tx, &rec)?;
            created = Some(rec);
        }
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if !has(name) {
                store::insert_network(
                    &tx,
                    &NetworkRecord {
                        id: random_id(),
                        name: name.into(),
                        driver: driver.into(),
                        subnet: String::new(),
                        gateway: String::new(),
                        ip_range: None,
                        internal: false,
                        bridge: String::new(),
                        labels: BTreeMap::new(),
                        options: BTreeMap::new(),
                        created: now_rfc3339(),
                        containers: BTreeMap::new(),
                    },
                )?;
            }
        }
        tx.commit()?;
        drop(conn);
        if let Some(rec) = created {
            self.write_conflist(&rec)?;
        }
        Ok(())
    }

    /// `network create`: a bridge network with its own Linux bridge and CNI list.
    pub fn create(
        &self,
        name: &str,
        opts: &NetworkCreateOptions,
    ) -> Result<NetworkRecord, NetworkError> {
        if !valid_name(name) {
            return Err(NetworkError::InvalidOption(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if !opts.driver.is_empty() && opts.driver != "bridge" {
            return Err(NetworkError::InvalidOption(format!(
                "plugin {:?} not found: only the \"bridge\" driver is supported",
                opts.driver
            )));
        }
        let options: BTreeMap<String, String> = opts.options.iter().cloned().collect();
        let labels: BTreeMap<String, String> = opts.labels.iter().cloned().collect();
        let id = random_id();
        let bridge = options
            .get("com.docker.network.bridge.name")
            .cloned()
            .unwrap_or_else(|| format!("br-{}", short(&id)));
        if bridge.is_empty() || bridge.len() > 15 {
            return Err(NetworkError::InvalidOption(format!(
                "bridge name {bridge:?} must be 1 to 15 characters"
            )));
        }
        let mut conn = self.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = store::list_networks(&tx)?;
        if existing.iter().any(|n| n.name == name) {
            return Err(NetworkError::AlreadyExists(name.to_string()));
        }
        if existing.iter().any(|n| n.bridge == bridge) {
            return Err(NetworkError::InvalidOption(format!(
                "bridge name {bridge} is already used by another network"
            )));
        }
        let taken: Vec<Cidr> = existing
            .iter()
            .filter_map(|n| Cidr::parse(&n.subnet).ok())
            .collect();
        let sub = match &opts.subnet {
            Some(s) => {
                let c = Cidr::parse(s)?.canonical();
                if c.prefix > 30 {
                    return Err(NetworkError::InvalidOption(format!(
                        "subnet {s} is too small"
                    )));
                }
                if let Some(t) = taken.iter().find(|t| t.overlaps(&c)) {
                    return Err(NetworkError::PoolOverlap(format!("{c} overlaps {t}")));
                }
                if let Some(r) = subnet::host_routes().iter().find(|r| r.overlaps(&c)) {
                    return Err(NetworkError::PoolOverlap(format!(
                        "{c} overlaps the host route {r}"
                    )));
                }
                c
            }
            None => {
                if opts.gateway.is_some() || opts.ip_range.is_some() {
                    return Err(NetworkError::InvalidOption(
                        "--gateway and --ip-range need --subnet".into(),
                    ));
                }
                subnet::pick_free(subnet::user_pool(), &taken).ok_or(NetworkError::NoPool)?
            }
        };
        let gateway = match &opts.gateway {
            Some(g) => {
                let ip: std::net::Ipv4Addr = g.parse().map_err(|_| {
                    NetworkError::InvalidOption(format!("invalid gateway address {g:?}"))
                })?;
                if !sub.contains(ip)
                    || u32::from(ip) == sub.network()
                    || u32::from(ip) == sub.broadcast()
                {
                    return Err(NetworkError::InvalidOption(format!(
                        "no matching subnet for gateway {g}"
                    )));
                }
                ip
            }
            None => sub.first_host(),
        };
        if let Some(r) = &opts.ip_range {
            let rc = Cidr::parse(r)?;
            if rc.prefix < sub.prefix || !sub.contains(rc.addr) {
                return Err(NetworkError::InvalidOption(format!(
                    "ip-range {r} is not inside subnet {sub}"
                )));
            }
        }
        let rec = NetworkRecord {
            id,
            name: name.to_string(),
            driver: "bridge".into(),
            subnet: sub.to_string(),
            gateway: gateway.to_string(),
            ip_range: opts.ip_range.clone(),
            internal: opts.internal,
            bridge,
            labels,
            options,
            created: now_rfc3339(),
            containers: BTreeMap::new(),
        };
        // Fail at create time, not at the first `run`, when the plugins are missing or old.
        let list = cni::conflist(&rec, Path::new(IPAM_DIR))?;
        let kinds: Vec<&str> = list["plugins"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["type"].as_str()).collect())
            .unwrap_or_default();
        cni::check_plugins(&kinds)?;
        self.write_conflist(&rec)?;
        if let Err(e) = store::insert_network(&tx, &rec).and_then(|_| Ok(tx.commit()?)) {
            let _ = std::fs::remove_file(self.conflist_path(name));
            return Err(e);
        }
        Ok(rec)
    }

    fn with_containers(
        &self,
        conn: &Connection,
        mut rec: NetworkRecord,
    ) -> Result<NetworkRecord, NetworkError> {
        for e in store::endpoints_of_network(conn, &rec.id)? {
            rec.containers.insert(e.container_id.clone(), e.info);
        }
        Ok(rec)
    }

    pub fn list(&self) -> Result<Vec<NetworkRecord>, NetworkError> {
        let conn = self.db();
        store::list_networks(&conn)?
            .into_iter()
            .map(|n| self.with_containers(&conn, n))
            .collect()
    }

    /// By name, id or unique id prefix.
    pub fn inspect(&self, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
        let conn = self.db();
        let rec = store::find_network(&conn, name_or_id)?
            .ok_or_else(|| NetworkError::NotFound(name_or_id.to_string()))?;
        self.with_containers(&conn, rec)
    }

    /// `network rm`: refused for predefined networks and while containers are attached.
    pub fn remove(&self, name_or_id: &str) -> Result<(), NetworkError> {
        let mut conn = self.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = store::find_network(&tx, name_or_id)?
            .ok_or_else(|| NetworkError::NotFound(name_or_id.to_string()))?;
        if rec.is_predefined() {
            return Err(NetworkError::Predefined(rec.name));
        }
        if !store::endpoints_of_network(&tx, &rec.id)?.is_empty() {
            return Err(NetworkError::ActiveEndpoints {
                name: rec.name,
                id: rec.id,
            });
        }
        store::delete_network(&tx, &rec.id)?;
        tx.commit()?;
        drop(conn);
        dns::remove(&self.root, &rec);
        firewall::remove(&rec);
        delete_bridge(&rec.bridge);
        let _ = std::fs::remove_file(self.conflist_path(&rec.name));
        let _ = std::fs::remove_dir_all(Path::new(IPAM_DIR).join(&rec.name));
        Ok(())
    }

    /// Removes every user-defined network without containers; returns their names.
    pub fn prune(&self) -> Result<Vec<String>, NetworkError> {
        let mut removed = Vec::new();
        for n in self.list()? {
            if n.is_predefined() || !n.containers.is_empty() {
                continue;
            }
            match self.remove(&n.id) {
                Ok(()) => removed.push(n.name),
                Err(NetworkError::ActiveEndpoints { .. }) | Err(NetworkError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    pub fn find(&self, name_or_id: &str) -> Result<NetworkRecord, NetworkError> {
        store::find_network(&self.db(), name_or_id)?
            .ok_or_else(|| NetworkError::NotFound(name_or_id.to_string()))
    }

    /// Networks a container's sandbox joins: the mode's network first, then the extras.
    fn networks_for(&self, req: &AttachRequest) -> Result<Vec<NetworkRecord>, NetworkError> {
        let first = match &req.mode {
            NetworkMode::Default => "bridge".to_string(),
            NetworkMode::Named(n) => n.clone(),
            _ => unreachable!("only bridge modes have networks"),
        };
        let mut out: Vec<NetworkRecord> = Vec::new();
        for name in std::iter::once(&first).chain(req.networks.iter()) {
            let n = self.find(name)?;
            match n.driver.as_str() {
                "bridge" => {}
                "host" | "null" => {
                    return Err(NetworkError::Unsupported {
                        mode: n.name.clone(),
                        what: "being combined with other networks".into(),
                    })
                }
                d => {
                    return Err(NetworkError::InvalidOption(format!(
                        "network {} has unknown driver {d}",
                        n.name
                    )))
                }
            }
            if !out.iter().any(|o| o.id == n.id) {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Before the container starts: its namespace, interfaces, published ports, DNS names,
    /// and the contents of its /etc/hosts, /etc/resolv.conf and /etc/hostname.
    /// On failure everything done so far is undone.
    pub fn setup(&self, req: &AttachRequest) -> Result<NetworkSetup, NetworkError> {
        let (host_ns, host_search, host_opts) = files::host_resolv();
        let search = if req.dns_search.is_empty() {
            host_search
        } else {
            req.dns_search.clone()
        };
        let options = if req.dns_options.is_empty() {
            host_opts
        } else {
            req.dns_options.clone()
        };
        let hostname_file = |h: &str| format!("{h}\n");
        match &req.mode {
            NetworkMode::Host => {
                let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| req.hostname.clone());
                let mut hosts = std::fs::read_to_string("/etc/hosts")
                    .unwrap_or_else(|_| files::hosts(&[], None, "", None));
                for (n, ip) in &req.extra_hosts {
                    hosts.push_str(&format!("{ip}\t{n}\n"));
                }
                let ns = if req.dns.is_empty() {
                    host_ns
                } else {
                    req.dns.clone()
                };
                return Ok(NetworkSetup {
                    netns_path: None,
                    hosts,
                    resolv_conf: files::resolv_conf(&ns, &search, &options),
                    hostname: hostname_file(&hostname),
                    attachments: Vec::new(),
                    ports: Vec::new(),
                });
            }
            NetworkMode::Container(other) => {
                let conn = self.db();
                let (_, path) = store::sandbox(&conn, other)?
                    .ok_or_else(|| NetworkError::NoSandbox(other.clone()))?;
                let attachments = store::endpoints_of_container(&conn, other)?
                    .into_iter()
                    .map(|e| self.attachment_of(&conn, e))
                    .collect::<Result<Vec<_>, _>>()?;
                let own_ip = attachments.first().map(|a| a.ip);
                let ns = if req.dns.is_empty() {
                    files::reachable_nameservers(host_ns)
                } else {
                    req.dns.clone()
                };
                return Ok(NetworkSetup {
                    netns_path: Some(PathBuf::from(path)),
                    hosts: files::hosts(
                        &req.extra_hosts,
                        own_ip,
                        &req.hostname,
                        req.domainname.as_deref(),
                    ),
                    resolv_conf: files::resolv_conf(&ns, &search, &options),
                    hostname: hostname_file(&req.hostname),
                    attachments,
                    ports: Vec::new(),
                });
            }
            _ => {}
        }
        let nets = if req.mode == NetworkMode::None {
            Vec::new()
        } else {
            self.networks_for(req)?
        };
        let path = netns::path_for(&req.container_id);
        // Leftovers of an earlier start that was never torn down (a crash, a restart
        // without stop): start from a clean slate.
        let stale = path.exists()
            || store::sandbox(&self.db(), &req.container_id)?.is_some()
            || !store::endpoints_of_container(&self.db(), &req.container_id)?.is_empty();
        if stale {
            self.teardown(&req.container_id)?;
        }
        netns::create(&path)?;
        {
            let conn = self.db();
            if let Err(e) = store::insert_sandbox(
                &conn,
                &req.container_id,
                &req.container_name,
                &path.display().to_string(),
            ) {
                drop(conn);
                let _ = netns::remove(&path);
                return Err(e);
            }
        }
        match self.setup_interfaces(req, &nets, &path) {
            Ok((attachments, ports)) => {
                let own_ip = attachments.first().map(|a| a.ip);
                let dns_gw = nets
                    .iter()
                    .zip(&attachments)
                    .find(|(n, _)| n.has_dns())
                    .map(|(n, _)| n.gateway.clone());
                let mut ns: Vec<String> = dns_gw.into_iter().collect();
                if req.dns.is_empty() {
                    if ns.is_empty() {
                        ns = files::reachable_nameservers(host_ns);
                    }
                } else {
                    ns.extend(req.dns.iter().cloned());
                }
                Ok(NetworkSetup {
                    netns_path: Some(path),
                    hosts: files::hosts(
                        &req.extra_hosts,
                        own_ip,
                        &req.hostname,
                        req.domainname.as_deref(),
                    ),
                    resolv_conf: files::resolv_conf(&ns, &search, &options),
                    hostname: hostname_file(&req.hostname),
                    attachments,
                    ports,
                })
            }
            Err(e) => {
                if let Err(te) = self.teardown(&req.container_id) {
                    tracing::warn!("cleanup after failed network setup: {te}");
                }
                Err(e)
            }
        }
    }

    fn setup_interfaces(
        &self,
        req: &AttachRequest,
        nets: &[NetworkRecord],
        netns: &Path,
    ) -> Result<(Vec<Attachment>, Vec<PortMapping>), NetworkError> {
        if nets.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        if req.ip.is_some() && nets[0].is_predefined() {
            return Err(NetworkError::InvalidOption(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        let mut wanted = req.ports.clone();
        if req.publish_all {
            for (port, proto) in &req.exposed_ports {
                if !wanted
                    .iter()
                    .any(|m| m.container_port == *port && &m.protocol == proto)
                {
                    wanted.push(PortMapping {
                        host_ip: None,
                        host_port: 0,
                        container_port: *port,
                        protocol: proto.clone(),
                    });
                }
            }
        }
        // Reserve the host ports in the database first, so that concurrent setups cannot
        // both take one; teardown releases them.
        let ports = if wanted.is_empty() || nets[0].internal {
            Vec::new()
        } else {
            let mut conn = self.db();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let in_use: Vec<PortMapping> =
                store::all_ports(&tx)?.into_iter().map(|(_, m)| m).collect();
            let got = ports::allocate(&wanted, &in_use)?;
            for m in &got {
                store::insert_port(&tx, &req.container_id, m)?;
            }
            tx.commit()?;
            got
        };
        let mut attachments = Vec::new();
        for (i, net) in nets.iter().enumerate() {
            let ifname = format!("eth{i}");
            let (ip, mac, p) = if i == 0 {
                (req.ip, req.mac.as_deref(), ports.as_slice())
            } else {
                (None, None, &[][..])
            };
            let a = self.attach(
                net,
                &req.container_id,
                &req.container_name,
                netns,
                &ifname,
                &req.aliases,
                ip,
                mac,
                p,
            )?;
            attachments.push(a);
        }
        Ok((attachments, ports))
    }

    fn attachment_of(&self, conn: &Connection, e: EndpointRow) -> Result<Attachment, NetworkError> {
        let net = store::find_network(conn, &e.network_id)?;
        Ok(Attachment {
            network: net.map(|n| n.name).unwrap_or_default(),
            network_id: e.network_id,
            ip: e.info.ip,
            prefix_len: e.info.prefix_len,
            gateway: e.gateway,
            mac: e.info.mac,
            aliases: e.info.aliases,
            interface: e.info.interface,
        })
    }

    /// CNI ADD of one network into the namespace, recorded so DEL can undo it.
    #[allow(clippy::too_many_arguments)]
    fn attach(
        &self,
        net: &NetworkRecord,
        container_id: &str,
        container_name: &str,
        netns: &Path,
        ifname: &str,
        aliases: &[String],
        ip: Option<IpAddr>,
        mac: Option<&str>,
        ports: &[PortMapping],
    ) -> Result<Attachment, NetworkError> {
        if let Some(ip) = ip {
            let sub = Cidr::parse(&net.subnet)?;
            let ok = matches!(ip, IpAddr::V4(v4) if sub.contains(v4));
            if !ok {
                return Err(NetworkError::InvalidOption(format!(
                    "invalid address {ip}: it does not belong to any of this network's subnets ({})",
                    net.subnet
                )));
            }
        }
        firewall::ensure(net)?;
        let list = self.read_conflist(net)?;
        let port_json: Vec<Value> = ports
            .iter()
            .map(|m| {
                json!({
                    "hostPort": m.host_port,
                    "containerPort": m.container_port,
                    "protocol": m.protocol,
                    "hostIP": m.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                })
            })
            .collect();
        let list = cni::per_attachment(&list, mac, &port_json);
        let mut args = String::from("IgnoreUnknown=1");
        if let Some(ip) = ip {
            args.push_str(&format!(";IP={ip}"));
        }
        let netns_str = netns.display().to_string();
        let inv = cni::Invocation {
            container_id,
            netns: &netns_str,
            ifname,
            args: &args,
        };
        let result = cni::add(&list, &inv)?;
        let undo = |e: NetworkError| {
            let _ = cni::del(&list, &inv, Some(&result));
            e
        };
        let (addr, prefix, gw, cni_mac) = cni::parse_result(&result, ifname).ok_or_else(|| {
            undo(NetworkError::Cni {
                plugin: "bridge".into(),
                command: "ADD".into(),
                network: net.name.clone(),
                message: format!("result has no address for {ifname}: {result}"),
            })
        })?;
        let mut all_aliases: Vec<String> = aliases.to_vec();
        let sid = short(container_id);
        if net.has_dns() && !all_aliases.contains(&sid) {
            all_aliases.push(sid);
        }
        let row = EndpointRow {
            container_id: container_id.to_string(),
            network_id: net.id.clone(),
            info: EndpointInfo {
                container_id: container_id.to_string(),
                name: container_name.to_string(),
                ip: addr,
                prefix_len: prefix,
                mac: mac.map(str::to_string).unwrap_or(cni_mac),
                aliases: all_aliases,
                interface: ifname.to_string(),
            },
            gateway: gw,
            cni_config: list.to_string(),
            cni_args: args.clone(),
            cni_result: result.to_string(),
        };
        store::insert_endpoint(&self.db(), &row).map_err(undo)?;
        if net.has_dns() {
            // The endpoint row exists now: a failure is cleaned up by detach/teardown.
            self.sync_dns(net)?;
        }
        Ok(Attachment {
            network: net.name.clone(),
            network_id: net.id.clone(),
            ip: addr,
            prefix_len: prefix,
            gateway: gw,
            mac: row.info.mac,
            aliases: row.info.aliases,
            interface: ifname.to_string(),
        })
    }

    /// `rename`: the container answers to its new name on its networks at once.
    pub fn rename_container(&self, container_id: &str, name: &str) -> Result<(), NetworkError> {
        store::rename_container(&self.db(), container_id, name)?;
        let eps = store::endpoints_of_container(&self.db(), container_id)?;
        for ep in eps {
            let net = self.find(&ep.network_id)?;
            if net.has_dns() {
                self.sync_dns(&net)?;
            }
        }
        Ok(())
    }

    fn sync_dns(&self, net: &NetworkRecord) -> Result<(), NetworkError> {
        let eps = store::endpoints_of_network(&self.db(), &net.id)?;
        dns::sync(&self.root, net, &eps, &self.dns_bin)
    }

    /// CNI DEL of one recorded endpoint; the row goes even if a plugin complains.
    fn detach(&self, ep: &EndpointRow, netns: &str) -> Result<(), NetworkError> {
        let list: Value = serde_json::from_str(&ep.cni_config).unwrap_or(Value::Null);
        let result: Option<Value> = serde_json::from_str(&ep.cni_result).ok();
        let inv = cni::Invocation {
            container_id: &ep.container_id,
            netns,
            ifname: &ep.info.interface,
            args: &ep.cni_args,
        };
        let res = cni::del(&list, &inv, result.as_ref());
        store::delete_endpoint(&self.db(), &ep.container_id, &ep.network_id)?;
        let net = store::find_network(&self.db(), &ep.network_id)?;
        if let Some(net) = net.filter(|n| n.has_dns()) {
            self.sync_dns(&net)?;
        }
        res
    }

    /// `network connect` of a running container (one with a namespace from `setup`).
    pub fn connect(
        &self,
        network: &str,
        container_id: &str,
        aliases: &[String],
    ) -> Result<Attachment, NetworkError> {
        let net = self.find(network)?;
        if net.driver != "bridge" {
            return Err(NetworkError::Unsupported {
                mode: net.name,
                what: "connecting a container after it was created".into(),
            });
        }
        let (name, path, existing) = {
            let conn = self.db();
            let (name, path) = store::sandbox(&conn, container_id)?
                .ok_or_else(|| NetworkError::NoSandbox(container_id.to_string()))?;
            (
                name,
                path,
                store::endpoints_of_container(&conn, container_id)?,
            )
        };
        if existing.iter().any(|e| e.network_id == net.id) {
            return Err(NetworkError::AlreadyConnected {
                container: name,
                network: net.name,
            });
        }
        let used: Vec<u32> = existing
            .iter()
            .filter_map(|e| e.info.interface.strip_prefix("eth")?.parse().ok())
            .collect();
        let idx = (0..).find(|i| !used.contains(i)).unwrap_or(0);
        self.attach(
            &net,
            container_id,
            &name,
            Path::new(&path),
            &format!("eth{idx}"),
            aliases,
            None,
            None,
            &[],
        )
    }

    /// `network disconnect`; with `force`, a container that is not connected is no error.
    pub fn disconnect(
        &self,
        network: &str,
        container_id: &str,
        force: bool,
    ) -> Result<(), NetworkError> {
        let net = self.find(network)?;
        let (ep, path) = {
            let conn = self.db();
            let ep = store::endpoints_of_container(&conn, container_id)?
                .into_iter()
                .find(|e| e.network_id == net.id);
            let path = store::sandbox(&conn, container_id)?
                .map(|(_, p)| p)
                .unwrap_or_else(|| netns::path_for(container_id).display().to_string());
            (ep, path)
        };
        match ep {
            Some(ep) => self.detach(&ep, &path),
            None if force => Ok(()),
            None => Err(NetworkError::NotConnected {
                container: container_id.to_string(),
                network: net.name,
            }),
        }
    }

    /// After the container stopped: CNI DEL of every attachment, published ports and DNS
    /// names released, namespace removed. Idempotent; on plugin errors it still removes
    /// everything it can and returns the first error.
    pub fn teardown(&self, container_id: &str) -> Result<(), NetworkError> {
        let (eps, path) = {
            let conn = self.db();
            let eps = store::endpoints_of_container(&conn, container_id)?;
            let path = store::sandbox(&conn, container_id)?
                .map(|(_, p)| PathBuf::from(p))
                .unwrap_or_else(|| netns::path_for(container_id));
            (eps, path)
        };
        let path_str = path.display().to_string();
        let mut first_err = None;
        for ep in eps.iter().rev() {
            if let Err(e) = self.detach(ep, &path_str) {
                tracing::warn!("network teardown of {container_id}: {e}");
                first_err.get_or_insert(e);
            }
        }
        {
            let conn = self.db();
            store::delete_ports(&conn, container_id)?;
            store::delete_sandbox(&conn, container_id)?;
        }
        if let Err(e) = netns::remove(&path) {
            first_err.get_or_insert(e);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After a crash or a reboot: tears down the network state of every container for
    /// which `is_running` says no. Returns the ids cleaned.
    pub fn reconcile(
        &self,
        is_running: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, NetworkError> {
        let ids = store::containers_with_state(&self.db())?;
        let mut cleaned = Vec::new();
        for id in ids {
            if is_running(&id) {
                continue;
            }
            if let Err(e) = self.teardown(&id) {
                tracing::warn!("reconcile network of {id}: {e}");
            }
            cleaned.push(id);
        }
        Ok(cleaned)
    }

    /// Published ports of a container (`berth port`).
    pub fn ports(&self, container_id: &str) -> Result<Vec<PortMapping>, NetworkError> {
        store::ports_of_container(&self.db(), container_id)
    }

    /// Current attachments of a container (for `inspect`'s NetworkSettings).
    pub fn attachments(&self, container_id: &str) -> Result<Vec<Attachment>, NetworkError> {
        let conn = self.db();
        store::endpoints_of_container(&conn, container_id)?
            .into_iter()
            .map(|e| self.attachment_of(&conn, e))
            .collect()
    }
}

/// Removes a Linux bridge if it exists (network removal).
fn delete_bridge(name: &str) {
    if name.is_empty() || !Path::new("/sys/class/net").join(name).exists() {
        return;
    }
    let _ = std::process::Command::new("ip")
        .args(["link", "delete", name, "type", "bridge"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
