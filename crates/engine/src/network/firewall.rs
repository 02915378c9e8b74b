//! Per-network iptables rules, installed once when the first container attaches and
//! removed with the network (as Docker does per bridge), instead of per-container rules
//! from the CNI firewall plugin and the bridge plugin's ipMasq: that saves several
//! iptables runs on every container start and stop.
//!
//! A marker under /run/berth/fw says the rules are in place; both the marker and the
//! rules are gone after a reboot.

use super::error::NetworkError;
use super::types::NetworkRecord;
use nix::fcntl::{Flock, FlockArg};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const MARKER_DIR: &str = "/run/berth/fw";

fn marker(bridge: &str) -> PathBuf {
    PathBuf::from(MARKER_DIR).join(bridge)
}

fn comment(net: &NetworkRecord) -> String {
    format!("berth:{}", net.bridge)
}

/// (table, chain, rule) triples for a network.
fn rules(net: &NetworkRecord) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let c = comment(net);
    let br = net.bridge.clone();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    if net.internal {
        // Only traffic within the bridge.
        out.push((
            "filter",
            "FORWARD",
            s(&[
                "-i",
                &br,
                "-o",
                &br,
                "-m",
                "comment",
                "--comment",
                &c,
                "-j",
                "ACCEPT",
            ]),
        ));
    } else {
        out.push((
            "nat",
            "POSTROUTING",
            s(&[
                "-s",
                &net.subnet,
                "!",
                "-o",
                &br,
                "-m",
                "comment",
                "--comment",
                &c,
                "-j",
                "MASQUERADE",
            ]),
        ));
        out.push((
            "filter",
            "FORWARD",
            s(&["-i", &br, "-m", "comment", "--comment", &c, "-j", "ACCEPT"]),
        ));
        out.push((
            "filter",
            "FORWARD",
            s(&[
                "-o",
                &br,
                "-m",
                "conntrack",
                "--ctstate",
                "RELATED,ESTABLISHED",
                "-m",
                "comment",
                "--comment",
                &c,
                "-j",
                "ACCEPT",
            ]),
        ));
    }
    out
}

fn iptables(table: &str, op: &str, chain: &str, rule: &[String]) -> std::io::Result<bool> {
    let st = Command::new("iptables")
        .args(["-w", "-t", table, op, chain])
        .args(rule)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(st.success())
}

fn fw_err(net: &NetworkRecord, message: String) -> NetworkError {
    NetworkError::Cni {
        plugin: "iptables".into(),
        command: "ADD".into(),
        network: net.name.clone(),
        message,
    }
}

/// Installs the network's rules unless the marker says they are there.
pub fn ensure(net: &NetworkRecord) -> Result<(), NetworkError> {
    let m = marker(&net.bridge);
    if m.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(MARKER_DIR).map_err(|e| NetworkError::io(MARKER_DIR, e))?;
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(MARKER_DIR).join(".lock"))
        .map_err(|e| NetworkError::io(MARKER_DIR, e))?;
    let _lock = Flock::lock(lock_file, FlockArg::LockExclusive)
        .map_err(|(_, e)| NetworkError::io(MARKER_DIR, e.into()))?;
    if m.exists() {
        return Ok(());
    }
    for (table, chain, rule) in rules(net) {
        let present =
            iptables(table, "-C", chain, &rule).map_err(|e| fw_err(net, e.to_string()))?;
        if !present {
            let op = if table == "filter" { "-I" } else { "-A" };
            if !iptables(table, op, chain, &rule).map_err(|e| fw_err(net, e.to_string()))? {
                return Err(fw_err(
                    net,
                    format!("iptables -t {table} {op} {chain} {} failed", rule.join(" ")),
                ));
            }
        }
    }
    std::fs::write(&m, b"").map_err(|e| NetworkError::io(m.display().to_string(), e))
}

/// Removes the network's rules (every copy) and its marker.
pub fn remove(net: &NetworkRecord) {
    if net.bridge.is_empty() {
        return;
    }
    for (table, chain, rule) in rules(net) {
        for _ in 0..8 {
            if !iptables(table, "-D", chain, &rule).unwrap_or(false) {
                break;
            }
        }
    }
    let _ = std::fs::remove_file(marker(&net.bridge));
}
