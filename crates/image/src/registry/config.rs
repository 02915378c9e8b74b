//! Registries configuration: mirrors and insecure (plain HTTP) registries.
//!
//! Read from `<root>/registries.json` (or a path given explicitly):
//!
//! ```json
//! { "mirrors": { "docker.io": ["mirror.example.com:5000"] },
//!   "insecure_registries": ["registry.lan:5000", "10.0.0.0/8"] }
//! ```
//!
//! As in Docker, registries on 127.0.0.0/8, `::1` and `localhost` are insecure by
//! default: Berth talks plain HTTP to them. Every other registry is HTTPS unless listed.

use super::RegistryError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// File name of the registries config under the data root.
pub const REGISTRIES_FILE: &str = "registries.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistriesConfig {
    /// Registry host (as in a reference, e.g. `docker.io`) -> mirror hosts tried first, in order.
    #[serde(default)]
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// Hosts (`host[:port]`) or CIDR ranges (`10.0.0.0/8`) reached over plain HTTP.
    #[serde(default)]
    pub insecure_registries: Vec<String>,
}

impl RegistriesConfig {
    /// `<root>/registries.json`.
    pub fn default_path(root: &Path) -> PathBuf {
        root.join(REGISTRIES_FILE)
    }

    /// Reads the config; a missing file is the empty config.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        match std::fs::read(path) {
            Ok(data) => serde_json::from_slice(&data)
                .map_err(|e| RegistryError::Config(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RegistryError::Config(format!("{}: {e}", path.display()))),
        }
    }

    /// Adds insecure registries given on the command line (`--insecure-registry`).
    pub fn with_insecure<I: IntoIterator<Item = String>>(mut self, extra: I) -> Self {
        self.insecure_registries.extend(extra);
        self
    }

    /// Whether `host` (`name[:port]`, `[v6]:port`) is spoken to over plain HTTP.
    pub fn is_insecure(&self, host: &str) -> bool {
        let name = host_without_port(host);
        if name == "localhost" {
            return true;
        }
        let ip = name.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure_registries.iter().any(|entry| {
            if entry == host || entry == name {
                return true;
            }
            match (ip, entry.split_once('/')) {
                (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
                _ => false,
            }
        })
    }

    /// Endpoints to try for `registry`, mirrors first, the registry itself last.
    pub fn endpoints(&self, registry: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .mirrors
            .get(registry)
            .map(|m| m.iter().map(|s| strip_scheme(s).to_string()).collect())
            .unwrap_or_default();
        v.push(registry.to_string());
        v
    }
}

/// Mirrors may be written as URLs; the client wants `host[:port]`.
fn strip_scheme(s: &str) -> &str {
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.trim_end_matches('/')
}

fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn cidr_contains(net: &str, bits: &str, ip: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_localhost_are_insecure_by_default() {
        let c = RegistriesConfig::default();
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("127.4.5.6"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("localhost"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(!c.is_insecure("docker.io"));
        assert!(!c.is_insecure("10.1.2.3:5000"));
        assert!(!c.is_insecure("128.0.0.1"));
    }

    #[test]
    fn listed_hosts_and_cidrs_are_insecure() {
        let c = RegistriesConfig::default().with_insecure([
            "registry.lan:5000".to_string(),
            "10.0.0.0/8".to_string(),
            "plain.example".to_string(),
        ]);
        assert!(c.is_insecure("registry.lan:5000"));
        assert!(!c.is_insecure("registry.lan:5001"));
        assert!(c.is_insecure("10.200.0.1:443"));
        assert!(!c.is_insecure("11.0.0.1"));
        assert!(c.is_insecure("plain.example:8080"));
    }

    #[test]
    fn mirrors_come_first() {
        let c: RegistriesConfig = serde_json::from_str(
            r#"{"mirrors":{"docker.io":["https://m1.example/","m2.example:5000"]}}"#,
        )
        .unwrap();
        assert_eq!(
            c.endpoints("docker.io"),
            ["m1.example", "m2.example:5000", "docker.io"]
        );
        assert_eq!(c.endpoints("ghcr.io"), ["ghcr.io"]);
    }

    #[test]
    fn load_missing_is_default_and_bad_json_names_file() {
        let dir = std::env::temp_dir().join(format!("berth-regcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(REGISTRIES_FILE);
        assert_eq!(
            RegistriesConfig::load(&p).unwrap(),
            RegistriesConfig::default()
        );
        std::fs::write(&p, r#"{"mirors":{}}"#).unwrap();
        let e = RegistriesConfig::load(&p).unwrap_err().to_string();
        assert!(e.contains("registries.json") && e.contains("mirors"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
