//! `berth network …`: create, ls, rm, inspect, connect, disconnect, prune, with Docker's
//! flags, output and error wording.

use crate::Globals;
use berth_engine::network::{NetworkCreateOptions, NetworkError, NetworkManager, NetworkRecord};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Manage networks
    Network {
        #[command(subcommand)]
        cmd: NetworkSub,
    },
}

#[derive(Debug, Subcommand)]
pub enum NetworkSub {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Option<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Set metadata on a network
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opts: Vec<String>,
    name: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Pretty-print networks using a Go template (or "json", "table")
    #[arg(long)]
    format: Option<String>,
    /// Provide filter values (e.g. "driver=bridge", "name=x", "id=x", "label=k=v", "type=custom")
    #[arg(short, long = "filter")]
    filters: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias")]
    aliases: Vec<String>,
    network: String,
    container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

fn key_values(items: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !s.is_empty() && what == "label" => Ok((s.clone(), String::new())),
            _ => Err(anyhow::anyhow!("invalid {what} {s:?}: expected key=value")),
        })
        .collect()
}

/// `network inspect`'s JSON, shaped like Docker's.
pub fn inspect_json(n: &NetworkRecord) -> Value {
    let mut containers = serde_json::Map::new();
    for (id, e) in &n.containers {
        containers.insert(
            id.clone(),
            json!({
                "Name": e.name,
                "EndpointID": format!("{}{}", &n.id[..32.min(n.id.len())], &id[..32.min(id.len())]),
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ip, e.prefix_len),
                "IPv6Address": "",
            }),
        );
    }
    let config: Vec<Value> = if n.subnet.is_empty() {
        Vec::new()
    } else {
        let mut c = json!({ "Subnet": n.subnet, "Gateway": n.gateway });
        if let Some(r) = &n.ip_range {
            c["IPRange"] = json!(r);
        }
        vec![c]
    };
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": {}, "Config": config },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

fn ls_row(n: &NetworkRecord, no_trunc: bool) -> Value {
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    json!({
        "ID": if no_trunc { n.id.clone() } else { n.id.chars().take(12).collect() },
        "Name": n.name,
        "Driver": n.driver,
        "Scope": "local",
        "IPv6": "false",
        "Internal": n.internal.to_string(),
        "Labels": labels.join(","),
        "CreatedAt": n.created,
    })
}

fn matches_filters(n: &NetworkRecord, filters: &[(String, String)]) -> anyhow::Result<bool> {
    // Values of one key are OR-ed, different keys AND-ed, as in Docker.
    let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    for key in keys {
        let vals = filters
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        let mut any = false;
        for v in vals {
            any |= match key {
                "name" => n.name.contains(v),
                "id" => n.id.starts_with(v),
                "driver" => n.driver == v,
                "label" => match v.split_once('=') {
                    Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                    None => n.labels.contains_key(v),
                },
                "type" => match v {
                    "custom" => !n.is_predefined(),
                    "builtin" => n.is_predefined(),
                    _ => anyhow::bail!("invalid filter 'type={v}'"),
                },
                "dangling" => (v == "true") == (n.containers.is_empty() && !n.is_predefined()),
                _ => anyhow::bail!("invalid filter '{key}'"),
            };
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

fn confirm(prompt: &str) -> anyhow::Result<bool> {
    eprint!("{prompt}\nAre you sure you want to continue? [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

pub fn run(cmd: NetworkCommand, g: &Globals) -> anyhow::Result<i32> {
    let NetworkCommand::Network { cmd } = cmd;
    let nm = NetworkManager::open(&g.root)?;
    let mut out = io::stdout().lock();
    match cmd {
        NetworkSub::Create(a) => {
            let opts = NetworkCreateOptions {
                driver: a.driver,
                subnet: a.subnet,
                gateway: a.gateway,
                ip_range: a.ip_range,
                internal: a.internal,
                labels: key_values(&a.labels, "label")?,
                options: key_values(&a.opts, "option")?,
            };
            let rec = nm.create(&a.name, &opts)?;
            writeln!(out, "{}", rec.id)?;
            Ok(0)
        }
        NetworkSub::Ls(a) => {
            let filters = key_values(&a.filters, "filter")?;
            let mut nets = Vec::new();
            for n in nm.list()? {
                if matches_filters(&n, &filters)? {
                    nets.push(n);
                }
            }
            if a.quiet {
                for n in &nets {
                    let id: String = if a.no_trunc {
                        n.id.clone()
                    } else {
                        n.id.chars().take(12).collect()
                    };
                    writeln!(out, "{id}")?;
                }
                return Ok(0);
            }
            let rows: Vec<Value> = nets.iter().map(|n| ls_row(n, a.no_trunc)).collect();
            let format = match a.format.as_deref() {
                None | Some("table") => {
                    "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}".to_string()
                }
                Some(f) => f.to_string(),
            };
            let titles = |f: &str| -> Option<String> {
                Some(match f {
                    "ID" => "NETWORK ID".into(),
                    _ => return None,
                })
            };
            out.write_all(berth_template::render_rows(&format, &rows, &titles)?.as_bytes())?;
            Ok(0)
        }
        NetworkSub::Rm(a) => {
            let mut code = 0;
            for n in &a.networks {
                match nm.remove(n) {
                    Ok(()) => writeln!(out, "{n}")?,
                    Err(NetworkError::NotFound(_)) if a.force => {}
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        NetworkSub::Inspect(a) => {
            let mut values = Vec::new();
            let mut code = 0;
            for n in &a.networks {
                match nm.inspect(n) {
                    Ok(rec) => values.push(inspect_json(&rec)),
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
                        code = 1;
                    }
                }
            }
            match a.format.as_deref() {
                None => {
                    serde_json::to_writer_pretty(&mut out, &values)?;
                    writeln!(out)?;
                }
                Some(f) => {
                    for v in &values {
                        writeln!(out, "{}", berth_template::render(f, v)?)?;
                    }
                }
            }
            Ok(code)
        }
        NetworkSub::Connect(a) => {
            let engine = berth_engine::container::Engine::open(&g.root)?;
            let rec = engine.find(&a.container)?;
            engine.connect_network(&rec, &a.network, &a.aliases)?;
            Ok(0)
        }
        NetworkSub::Disconnect(a) => {
            let engine = berth_engine::container::Engine::open(&g.root)?;
            let rec = engine.find(&a.container)?;
            engine.disconnect_network(&rec, &a.network, a.force)?;
            Ok(0)
        }
        NetworkSub::Prune(a) => {
            if !a.force
                && !confirm("WARNING! This will remove all custom networks not used by at least one container.")?
            {
                return Ok(0);
            }
            let removed = nm.prune()?;
            if !removed.is_empty() {
                writeln!(out, "Deleted Networks:")?;
                for n in removed {
                    writeln!(out, "{n}")?;
                }
            }
            Ok(0)
        }
    }
}
