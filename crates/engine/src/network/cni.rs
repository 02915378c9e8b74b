//! CNI: the configuration list of each network and running its plugins per the CNI spec
//! (ADD in order with prevResult chaining, DEL in reverse order with the cached result).

use super::error::NetworkError;
use super::subnet::Cidr;
use super::types::NetworkRecord;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub const CNI_VERSION: &str = "1.0.0";

/// Where plugin binaries are looked for (Debian's containernetworking-plugins, then upstream's).
pub fn plugin_path() -> String {
    std::env::var("BERTH_CNI_PATH").unwrap_or_else(|_| "/usr/lib/cni:/opt/cni/bin".to_string())
}

/// The configuration list for a bridge network.
pub fn conflist(net: &NetworkRecord, ipam_dir: &Path) -> Result<Value, NetworkError> {
    let subnet = Cidr::parse(&net.subnet)?;
    let mut range = json!({ "subnet": subnet.to_string(), "gateway": net.gateway });
    if let Some(r) = &net.ip_range {
        let r = Cidr::parse(r)?;
        let start = std::cmp::max(u32::from(r.first_host()), u32::from(subnet.first_host()));
        let end = std::cmp::min(u32::from(r.last_host()), u32::from(subnet.last_host()));
        range["rangeStart"] = json!(std::net::Ipv4Addr::from(start).to_string());
        range["rangeEnd"] = json!(std::net::Ipv4Addr::from(end).to_string());
    }
    let mut ipam = json!({
        "type": "host-local",
        "dataDir": ipam_dir.display().to_string(),
        "ranges": [[range]],
    });
    if !net.internal {
        ipam["routes"] = json!([{ "dst": "0.0.0.0/0" }]);
    }
    let mut bridge = json!({
        "type": "bridge",
        "bridge": net.bridge,
        "isGateway": true,
        // Masquerading and forwarding are per-network rules (firewall.rs), not per container.
        "ipMasq": false,
        "hairpinMode": true,
        "ipam": ipam,
    });
    if let Some(mtu) = net.options.get("com.docker.network.driver.mtu") {
        let mtu: u32 = mtu
            .parse()
            .map_err(|_| NetworkError::InvalidOption(format!("invalid MTU {mtu:?}")))?;
        bridge["mtu"] = json!(mtu);
    }
    let mut plugins = vec![bridge];
    if !net.internal {
        plugins.push(
            json!({ "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }),
        );
        // Not on internal networks: the plugin's source-address accept would open the
        // egress they close.
        if let Some(backend) = firewall_backend(net, firewalld_running())? {
            plugins.push(json!({ "type": "firewall", "backend": backend }));
        }
    }
    plugins.push(json!({ "type": "tuning" }));
    Ok(json!({ "cniVersion": CNI_VERSION, "name": net.name, "plugins": plugins }))
}

/// The network option that chains the CNI firewall plugin: "iptables", "firewalld" or
/// "none".
pub const FIREWALL_OPTION: &str = "com.berth.network.firewall";

/// Which backend, if any, the CNI firewall plugin gets on a bridge network. Forwarding is
/// already accepted by the per-network iptables rules (firewall.rs), so per-container
/// rules only add work on every start and stop (about 45 ms here) unless firewalld
/// runs: its zones drop forwarded traffic whatever iptables accepts, and the plugin's
/// firewalld backend puts each container into the trusted zone. The option overrides.
pub fn firewall_backend(
    net: &NetworkRecord,
    firewalld: bool,
) -> Result<Option<&'static str>, NetworkError> {
    match net.options.get(FIREWALL_OPTION).map(String::as_str) {
        None => Ok(firewalld.then_some("firewalld")),
        Some("iptables") => Ok(Some("iptables")),
        Some("firewalld") => Ok(Some("firewalld")),
        Some("none") => Ok(None),
        Some(other) => Err(NetworkError::InvalidOption(format!(
            "invalid {FIREWALL_OPTION} {other:?}: want iptables, firewalld or none"
        ))),
    }
}

/// Whether firewalld runs: its pid file names a live process.
fn firewalld_running() -> bool {
    ["/run/firewalld.pid", "/var/run/firewalld.pid"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|s| s.trim().parse::<u32>().ok())
        .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// Tailors a network's list to one attachment: the MAC address goes to the tuning plugin
/// (which is dropped when no MAC is asked for) and port mappings into runtimeConfig.
pub fn per_attachment(list: &Value, mac: Option<&str>, ports: &[Value]) -> Value {
    let mut list = list.clone();
    let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
    let plugins: Vec<Value> = plugins
        .into_iter()
        .filter_map(|mut p| {
            match p["type"].as_str() {
                Some("tuning") => {
                    let mac = mac?;
                    p["mac"] = json!(mac);
                }
                Some("portmap") => {
                    if ports.is_empty() {
                        return None;
                    }
                    p["runtimeConfig"] = json!({ "portMappings": ports });
                }
                _ => {}
            }
            Some(p)
        })
        .collect();
    list["plugins"] = Value::Array(plugins);
    list
}

/// Checks that the installed plugins exist and speak [`CNI_VERSION`] (CNI_COMMAND=VERSION).
pub fn check_plugins(kinds: &[&str]) -> Result<(), NetworkError> {
    for kind in kinds {
        let fail = |message: String| NetworkError::Plugin {
            plugin: kind.to_string(),
            message,
        };
        let bin = find_plugin(kind).ok_or_else(|| {
            fail(format!(
                "plugin binary not found in {} (install containernetworking-plugins)",
                plugin_path()
            ))
        })?;
        let out = Command::new(&bin)
            .env("CNI_COMMAND", "VERSION")
            .env("CNI_PATH", plugin_path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| fail(format!("exec {}: {e}", bin.display())))?;
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| fail(format!("{}: bad VERSION output: {e}", bin.display())))?;
        let supported = v["supportedVersions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == CNI_VERSION));
        if !supported {
            return Err(fail(format!(
                "{} does not support cniVersion {CNI_VERSION} (supports {})",
                bin.display(),
                v["supportedVersions"]
            )));
        }
    }
    Ok(())
}

/// What identifies one attachment to the plugins.
pub struct Invocation<'a> {
    pub container_id: &'a str,
    pub netns: &'a str,
    pub ifname: &'a str,
    /// CNI_ARGS, e.g. "IgnoreUnknown=1;IP=10.1.0.5".
    pub args: &'a str,
}

fn plugin_config(list: &Value, plugin: &Value, prev: Option<&Value>) -> Value {
    let mut conf = plugin.clone();
    conf["cniVersion"] = list["cniVersion"].clone();
    conf["name"] = list["name"].clone();
    if let Some(prev) = prev {
        conf["prevResult"] = prev.clone();
    }
    conf
}

fn find_plugin(kind: &str) -> Option<std::path::PathBuf> {
    plugin_path()
        .split(':')
        .map(|d| Path::new(d).join(kind))
        .find(|p| p.is_file())
}

/// Runs one plugin; returns its stdout parsed as JSON (Null when empty).
fn exec(command: &str, conf: &Value, inv: &Invocation<'_>) -> Result<Value, NetworkError> {
    let kind = conf["type"].as_str().unwrap_or_default().to_string();
    let network = conf["name"].as_str().unwrap_or_default().to_string();
    let fail = |message: String| NetworkError::Cni {
        plugin: kind.clone(),
        command: command.to_string(),
        network: network.clone(),
        message,
    };
    let bin = find_plugin(&kind)
        .ok_or_else(|| fail(format!("plugin binary not found in {}", plugin_path())))?;
    let mut child = Command::new(&bin)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", inv.container_id)
        .env("CNI_NETNS", inv.netns)
        .env("CNI_IFNAME", inv.ifname)
        .env("CNI_ARGS", inv.args)
        .env("CNI_PATH", plugin_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("exec {}: {e}", bin.display())))?;
    let input = serde_json::to_vec(conf).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("wait: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // Errors come as {"code":..,"msg":..,"details":..} on stdout.
        let msg = serde_json::from_str::<Value>(&stdout)
            .ok()
            .and_then(|v| {
                let msg = v["msg"].as_str()?.to_string();
                Some(match v["details"].as_str() {
                    Some(d) if !d.is_empty() => format!("{msg}: {d}"),
                    _ => msg,
                })
            })
            .unwrap_or_else(|| {
                format!(
                    "{} {}",
                    stdout.trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            });
        return Err(fail(msg));
    }
    if stdout.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&stdout).map_err(|e| fail(format!("bad result JSON: {e}")))
}

/// ADD through the whole list; on failure the list is deleted again and the error returned.
pub fn add(list: &Value, inv: &Invocation<'_>) -> Result<Value, NetworkError> {
    let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
    let mut prev: Option<Value> = None;
    for p in &plugins {
        match exec("ADD", &plugin_config(list, p, prev.as_ref()), inv) {
            Ok(v) if !v.is_null() => prev = Some(v),
            Ok(_) => {}
            Err(e) => {
                let _ = del(list, inv, prev.as_ref());
                return Err(e);
            }
        }
    }
    prev.ok_or_else(|| NetworkError::Cni {
        plugin: "list".into(),
        command: "ADD".into(),
        network: list["name"].as_str().unwrap_or_default().into(),
        message: "no plugin returned a result".into(),
    })
}

/// DEL in reverse order; every plugin runs even if one fails, the first error is returned.
pub fn del(list: &Value, inv: &Invocation<'_>, prev: Option<&Value>) -> Result<(), NetworkError> {
    let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
    let mut first_err = None;
    for p in plugins.iter().rev() {
        if let Err(e) = exec("DEL", &plugin_config(list, p, prev), inv) {
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The container-side interface's address, prefix, gateway and MAC from a CNI 1.0 result.
pub fn parse_result(
    result: &Value,
    ifname: &str,
) -> Option<(std::net::IpAddr, u8, Option<std::net::IpAddr>, String)> {
    let ifaces = result["interfaces"].as_array()?;
    let idx = ifaces
        .iter()
        .position(|i| i["name"] == ifname && i["sandbox"].is_string());
    let ips = result["ips"].as_array()?;
    let ip = ips
        .iter()
        .find(|ip| match (idx, ip["interface"].as_u64()) {
            (Some(i), Some(j)) => i as u64 == j,
            _ => true,
        })
        .or_else(|| ips.first())?;
    let (addr, prefix) = ip["address"].as_str()?.split_once('/')?;
    let mac = idx
        .and_then(|i| ifaces[i]["mac"].as_str())
        .unwrap_or_default()
        .to_string();
    Some((
        addr.parse().ok()?,
        prefix.parse().ok()?,
        ip["gateway"].as_str().and_then(|g| g.parse().ok()),
        mac,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn bridge_net(options: &[(&str, &str)]) -> NetworkRecord {
        NetworkRecord {
            id: "0123456789ab".into(),
            name: "n".into(),
            driver: "bridge".into(),
            subnet: "10.77.0.0/24".into(),
            gateway: "10.77.0.1".into(),
            ip_range: None,
            internal: false,
            bridge: "br-test".into(),
            labels: BTreeMap::new(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            created: String::new(),
            containers: BTreeMap::new(),
        }
    }

    #[test]
    fn firewall_plugin_only_where_it_adds_something() {
        assert_eq!(firewall_backend(&bridge_net(&[]), false).unwrap(), None);
        assert_eq!(
            firewall_backend(&bridge_net(&[]), true).unwrap(),
            Some("firewalld")
        );
        for (v, want) in [
            ("iptables", Some("iptables")),
            ("firewalld", Some("firewalld")),
            ("none", None),
        ] {
            let net = bridge_net(&[(FIREWALL_OPTION, v)]);
            assert_eq!(firewall_backend(&net, false).unwrap(), want, "{v}");
            assert_eq!(firewall_backend(&net, true).unwrap(), want, "{v}");
        }
        let err = firewall_backend(&bridge_net(&[(FIREWALL_OPTION, "pf")]), false).unwrap_err();
        assert!(err.to_string().contains(FIREWALL_OPTION), "{err}");
    }

    #[test]
    fn conflist_chains_the_firewall_plugin_when_asked() {
        let kinds = |net: &NetworkRecord| -> Vec<String> {
            conflist(net, Path::new("/tmp/ipam")).unwrap()["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["type"].as_str().unwrap().to_string())
                .collect()
        };
        let with = kinds(&bridge_net(&[(FIREWALL_OPTION, "iptables")]));
        assert_eq!(with, ["bridge", "portmap", "firewall", "tuning"]);
        let without = kinds(&bridge_net(&[(FIREWALL_OPTION, "none")]));
        assert_eq!(without, ["bridge", "portmap", "tuning"]);
        let mut internal = bridge_net(&[(FIREWALL_OPTION, "iptables")]);
        internal.internal = true;
        assert_eq!(kinds(&internal), ["bridge", "tuning"]);
        let bad = conflist(
            &bridge_net(&[(FIREWALL_OPTION, "x")]),
            Path::new("/tmp/ipam"),
        );
        assert!(bad.is_err());
    }
}
