//! The public data types of the network API.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// How a container is networked (`--network`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// The default "bridge" network.
    Default,
    /// Only a loopback interface.
    None,
    /// The host's network namespace.
    Host,
    /// Join another container's network namespace (the container id, resolved by the caller).
    Container(String),
    /// A named (user-defined or predefined) network.
    Named(String),
}

impl NetworkMode {
    /// Parses the `--network` value; `container:NAME` keeps NAME unresolved.
    pub fn parse(s: &str) -> NetworkMode {
        match s {
            "" | "default" | "bridge" => NetworkMode::Default,
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            _ => match s.strip_prefix("container:") {
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Named(s.to_string()),
            },
        }
    }
}

/// Options of `network create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreateOptions {
    /// Only "bridge" is supported (the default when empty).
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub labels: Vec<(String, String)>,
    /// Driver options (`-o`), e.g. com.docker.network.bridge.name, com.docker.network.driver.mtu.
    pub options: Vec<(String, String)>,
}

/// A container attached to a network, as shown by `network inspect`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointInfo {
    pub container_id: String,
    pub name: String,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub mac: String,
    pub aliases: Vec<String>,
    pub interface: String,
}

/// A network as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    /// "bridge", "host" or "null".
    pub driver: String,
    /// CIDR, empty for host/none.
    pub subnet: String,
    pub gateway: String,
    pub ip_range: Option<String>,
    pub internal: bool,
    /// Linux bridge device name (bridge driver only).
    pub bridge: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// RFC 3339.
    pub created: String,
    /// Attached containers, keyed by container id.
    pub containers: BTreeMap<String, EndpointInfo>,
}

impl NetworkRecord {
    /// Predefined networks cannot be removed and have no name resolution.
    pub fn is_predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
    /// User-defined bridge networks get Berth's DNS responder.
    pub fn has_dns(&self) -> bool {
        self.driver == "bridge" && !self.is_predefined()
    }
}

/// One `-p` mapping. `host_port` 0 means "pick a free port".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    /// "tcp" or "udp".
    pub protocol: String,
}

/// Everything `setup` needs to network one container.
#[derive(Debug, Clone)]
pub struct AttachRequest {
    pub container_id: String,
    pub container_name: String,
    pub hostname: String,
    pub domainname: Option<String>,
    pub mode: NetworkMode,
    /// Extra named networks besides the one `mode` names.
    pub networks: Vec<String>,
    /// `--network-alias`, registered on user-defined networks.
    pub aliases: Vec<String>,
    pub ports: Vec<PortMapping>,
    /// `-P`: publish every exposed port on a random host port.
    pub publish_all: bool,
    /// The image's ExposedPorts: (port, protocol).
    pub exposed_ports: Vec<(u16, String)>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--add-host` entries (name, ip), "host-gateway" already resolved.
    pub extra_hosts: Vec<(String, String)>,
    pub ip: Option<IpAddr>,
    pub mac: Option<String>,
}

impl AttachRequest {
    /// A request with the given id/name/mode and everything else empty.
    pub fn new(container_id: &str, container_name: &str, mode: NetworkMode) -> Self {
        AttachRequest {
            container_id: container_id.to_string(),
            container_name: container_name.to_string(),
            hostname: container_id.chars().take(12).collect(),
            domainname: None,
            mode,
            networks: Vec::new(),
            aliases: Vec::new(),
            ports: Vec::new(),
            publish_all: false,
            exposed_ports: Vec::new(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            extra_hosts: Vec::new(),
            ip: None,
            mac: None,
        }
    }
}

/// A container's interface on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: String,
    pub network_id: String,
    pub ip: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub mac: String,
    pub aliases: Vec<String>,
    /// Interface name inside the container (eth0, eth1...).
    pub interface: String,
}

/// The result of `setup`: what the spec and the container's /etc files need.
#[derive(Debug, Clone)]
pub struct NetworkSetup {
    /// None: host network (no namespace of its own).
    pub netns_path: Option<PathBuf>,
    pub hosts: String,
    pub resolv_conf: String,
    pub hostname: String,
    pub attachments: Vec<Attachment>,
    /// Published ports with the real host ports.
    pub ports: Vec<PortMapping>,
}
