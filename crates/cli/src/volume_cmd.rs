//! `berth volume …`: create, ls, rm, inspect, prune, with Docker's flags, output and
//! error wording.

use crate::Globals;
use berth_engine::volume::{VolumeError, VolumeManager, VolumeRecord};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Manage volumes
    Volume {
        #[command(subcommand)]
        cmd: VolumeSub,
    },
}

#[derive(Debug, Subcommand)]
pub enum VolumeSub {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = "local")]
    driver: String,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opts: Vec<String>,
    /// Set metadata for a volume
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Volume name (random when omitted)
    name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
    /// Format output using a Go template (or "json", "table")
    #[arg(long)]
    format: Option<String>,
    /// Provide filter values (e.g. "dangling=true", "name=x", "label=k=v", "driver=local")
    #[arg(short, long = "filter")]
    filters: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the volume does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    volumes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    volumes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
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

/// `volume inspect`'s JSON, shaped like Docker's.
pub fn inspect_json(v: &VolumeRecord) -> Value {
    json!({
        "CreatedAt": v.created_at,
        "Driver": v.driver,
        "Labels": v.labels,
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": v.options,
        "Scope": v.scope,
    })
}

fn matches_filters(v: &VolumeRecord, filters: &[(String, String)]) -> anyhow::Result<bool> {
    let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    for key in keys {
        let mut any = false;
        for (_, val) in filters.iter().filter(|(k, _)| k == key) {
            any |= match key {
                "name" => v.name.contains(val.as_str()),
                "driver" => v.driver == *val,
                "dangling" => match val.as_str() {
                    "true" | "1" => v.containers.is_empty(),
                    "false" | "0" => !v.containers.is_empty(),
                    _ => anyhow::bail!("invalid filter 'dangling={val}'"),
                },
                "label" => match val.split_once('=') {
                    Some((k, x)) => v.labels.get(k).is_some_and(|l| l == x),
                    None => v.labels.contains_key(val.as_str()),
                },
                _ => anyhow::bail!("invalid filter '{key}'"),
            };
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Bytes used by a directory tree (symlinks not followed).
fn tree_size(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| tree_size(&e.path())).sum())
        .unwrap_or(0)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.3}{}", UNITS[i])
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

pub fn run(cmd: VolumeCommand, g: &Globals) -> anyhow::Result<i32> {
    let VolumeCommand::Volume { cmd } = cmd;
    let vm = VolumeManager::open(&g.root)?;
    let mut out = io::stdout().lock();
    match cmd {
        VolumeSub::Create(a) => {
            let v = vm.create(
                a.name.as_deref(),
                &a.driver,
                &key_values(&a.opts, "option")?,
                &key_values(&a.labels, "label")?,
            )?;
            writeln!(out, "{}", v.name)?;
            Ok(0)
        }
        VolumeSub::Ls(a) => {
            let filters = key_values(&a.filters, "filter")?;
            let mut vols = Vec::new();
            for v in vm.list()? {
                if matches_filters(&v, &filters)? {
                    vols.push(v);
                }
            }
            if a.quiet {
                for v in &vols {
                    writeln!(out, "{}", v.name)?;
                }
                return Ok(0);
            }
            let rows: Vec<Value> = vols
                .iter()
                .map(|v| {
                    let labels: Vec<String> =
                        v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect();
                    json!({
                        "Name": v.name, "Driver": v.driver, "Scope": v.scope,
                        "Mountpoint": v.mountpoint, "Labels": labels.join(","),
                        "CreatedAt": v.created_at, "Links": v.containers.len().to_string(),
                        "Size": "N/A",
                    })
                })
                .collect();
            let format = match a.format.as_deref() {
                None | Some("table") => "table {{.Driver}}\t{{.Name}}".to_string(),
                Some(f) => f.to_string(),
            };
            let titles = |f: &str| -> Option<String> {
                Some(match f {
                    "Name" => "VOLUME NAME".into(),
                    _ => return None,
                })
            };
            out.write_all(berth_template::render_rows(&format, &rows, &titles)?.as_bytes())?;
            Ok(0)
        }
        VolumeSub::Rm(a) => {
            let mut code = 0;
            for n in &a.volumes {
                match vm.remove(n, a.force) {
                    Ok(()) => writeln!(out, "{n}")?,
                    Err(e @ VolumeError::InUse { .. }) | Err(e @ VolumeError::NotFound(_)) => {
                        eprintln!("Error response from daemon: {e}");
                        code = 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(code)
        }
        VolumeSub::Inspect(a) => {
            let mut values = Vec::new();
            let mut code = 0;
            for n in &a.volumes {
                match vm.inspect(n) {
                    Ok(v) => values.push(inspect_json(&v)),
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
        VolumeSub::Prune(a) => {
            if !a.force {
                let what = if a.all {
                    "WARNING! This will remove all local volumes not used by at least one container."
                } else {
                    "WARNING! This will remove anonymous local volumes not used by at least one container."
                };
                eprint!("{what}\nAre you sure you want to continue? [y/N] ");
                io::stderr().flush()?;
                let mut answer = String::new();
                io::stdin().lock().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    return Ok(0);
                }
            }
            let sizes: std::collections::HashMap<String, u64> = vm
                .list()?
                .into_iter()
                .map(|v| (v.name.clone(), tree_size(Path::new(&v.mountpoint))))
                .collect();
            let removed = vm.prune(a.all)?;
            let mut total = 0;
            if !removed.is_empty() {
                writeln!(out, "Deleted Volumes:")?;
                for n in &removed {
                    total += sizes.get(n).copied().unwrap_or(0);
                    writeln!(out, "{n}")?;
                }
                writeln!(out)?;
            }
            writeln!(out, "Total reclaimed space: {}", human_size(total))?;
            Ok(0)
        }
    }
}
