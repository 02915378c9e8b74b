//! `berth` system commands: info, version, system info/df/prune.

use crate::Globals;
use anyhow::Context;
use berth_engine::container::stats::human_bytes;
use berth_engine::container::Engine;
use berth_engine::state::status::Status;
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Display system-wide information
    Info {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Show the Berth version information
    Version {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Manage Berth
    System {
        #[command(subcommand)]
        cmd: SystemSub,
    },
}

#[derive(Debug, Subcommand)]
pub enum SystemSub {
    /// Display system-wide information
    Info {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Show disk usage
    Df {
        #[arg(long)]
        format: Option<String>,
    },
    /// Remove unused data: stopped containers, unused networks, dangling images (-a: all
    /// unused images), with --volumes anonymous volumes
    Prune {
        /// Remove all unused images not just dangling ones
        #[arg(short = 'a', long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short = 'f', long)]
        force: bool,
        /// Prune anonymous volumes
        #[arg(long)]
        volumes: bool,
    },
}

pub fn run(cmd: SystemCommand, g: &Globals) -> anyhow::Result<i32> {
    match cmd {
        SystemCommand::Info { format }
        | SystemCommand::System {
            cmd: SystemSub::Info { format },
        } => info(g, format),
        SystemCommand::Version { format } => version(format),
        SystemCommand::System {
            cmd: SystemSub::Df { format },
        } => df(g, format),
        SystemCommand::System {
            cmd:
                SystemSub::Prune {
                    all,
                    force,
                    volumes,
                },
        } => prune(g, all, force, volumes),
    }
}

fn print_value(
    format: Option<String>,
    v: &Value,
    text: impl FnOnce() -> String,
) -> anyhow::Result<i32> {
    match format {
        Some(f) => println!("{}", berth_template::render(&f, v)?),
        None => print!("{}", text()),
    }
    Ok(0)
}

fn runtime_version(name: &str) -> String {
    berth_engine::runtime_client::resolve_runtime(name)
        .ok()
        .and_then(|p| std::process::Command::new(p).arg("--version").output().ok())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}

fn version(format: Option<String>) -> anyhow::Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    let arch = docker_arch();
    let oci = runtime_version("berth-oci");
    let val = json!({
        "Client": {"Version": v, "Os": "linux", "Arch": arch, "Platform": {"Name": "Berth"}},
        "Server": {
            "Version": v,
            "Os": "linux",
            "Arch": arch,
            "Components": [
                {"Name": "Engine", "Version": v, "Details": {"Daemonless": "true"}},
                {"Name": "berth-oci", "Version": oci},
            ],
        },
    });
    print_value(format, &val, || {
        format!(
            "Client: Berth\n Version:           {v}\n OS/Arch:           linux/{arch}\n\nServer: Berth Engine (daemonless)\n Engine:\n  Version:          {v}\n  OS/Arch:          linux/{arch}\n berth-oci:\n  Version:          {oci}\n"
        )
    })
}

fn info(g: &Globals, format: Option<String>) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let (mut running, mut paused, mut stopped) = (0, 0, 0);
    let recs = e.db.list()?;
    for r in &recs {
        match e.live_state(r).status {
            Status::Running | Status::Restarting => running += 1,
            Status::Paused => paused += 1,
            _ => stopped += 1,
        }
    }
    let images = berth_image::Store::open(&g.root)
        .and_then(|s| s.list())
        .map(|l| l.len())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|s| s.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    let cgroup_version = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let runtimes: Vec<&str> = ["berth-oci", "runc", "crun"]
        .into_iter()
        .filter(|r| berth_engine::runtime_client::resolve_runtime(r).is_ok())
        .collect();
    let root = std::path::absolute(&g.root).context("data root")?;
    let v = json!({
        "ID": "",
        "Containers": recs.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay",
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version,
        "KernelVersion": kernel,
        "OperatingSystem": os,
        "OSType": "linux",
        "Architecture": docker_arch(),
        "NCPU": ncpu,
        "MemTotal": mem,
        "DockerRootDir": root,
        "Name": hostname,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": runtimes.iter().map(|r| (r.to_string(), json!({"path": r}))).collect::<serde_json::Map<_, _>>(),
        "DefaultRuntime": "berth-oci",
    });
    print_value(format, &v, || {
        format!(
            "Server:\n Containers: {}\n  Running: {running}\n  Paused: {paused}\n  Stopped: {stopped}\n Images: {images}\n Server Version: {}\n Storage Driver: overlay\n Logging Driver: json-file\n Cgroup Driver: cgroupfs\n Cgroup Version: {cgroup_version}\n Runtimes: {}\n Default Runtime: berth-oci\n Kernel Version: {kernel}\n Operating System: {os}\n OSType: linux\n Architecture: {}\n CPUs: {ncpu}\n Total Memory: {}\n Name: {hostname}\n Berth Root Dir: {}\n Daemonless: true\n",
            recs.len(),
            env!("CARGO_PKG_VERSION"),
            runtimes.join(" "),
            docker_arch(),
            human_bytes(mem, true),
            root.display(),
        )
    })
}

fn df(g: &Globals, format: Option<String>) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let store = berth_image::Store::open(&g.root)?;
    let images = store.list()?;
    let recs = e.db.list()?;
    let used_images: std::collections::BTreeSet<String> =
        recs.iter().map(|r| r.image_id.clone()).collect();
    let img_size: u64 = images.iter().map(|i| i.size).sum();
    let img_active = images
        .iter()
        .filter(|i| used_images.contains(&i.id.to_string()))
        .count();
    let img_reclaim: u64 = images
        .iter()
        .filter(|i| !used_images.contains(&i.id.to_string()))
        .map(|i| i.size)
        .sum();
    let mut c_active = 0;
    let mut c_size = 0;
    let mut c_reclaim = 0;
    for r in &recs {
        let st = e.live_state(r);
        let size = e.rw_size(r);
        c_size += size;
        if st.status.is_live() {
            c_active += 1;
        } else {
            c_reclaim += size;
        }
    }
    let vols = berth_engine::volume::VolumeManager::open(&g.root)
        .and_then(|v| v.list())
        .unwrap_or_default();
    let v_size: u64 = vols
        .iter()
        .map(|v| berth_engine::container::stats::dir_size(std::path::Path::new(&v.mountpoint)))
        .sum();
    let v_active = vols.iter().filter(|v| !v.containers.is_empty()).count();
    let v_reclaim: u64 = vols
        .iter()
        .filter(|v| v.containers.is_empty())
        .map(|v| berth_engine::container::stats::dir_size(std::path::Path::new(&v.mountpoint)))
        .sum();
    let row = |t: &str, total: usize, active: usize, size: u64, rec: u64| {
        json!({
            "Type": t,
            "TotalCount": total.to_string(),
            "Active": active.to_string(),
            "Size": human_bytes(size, false),
            "Reclaimable": human_bytes(rec, false),
        })
    };
    let rows = vec![
        row("Images", images.len(), img_active, img_size, img_reclaim),
        row("Containers", recs.len(), c_active, c_size, c_reclaim),
        row("Local Volumes", vols.len(), v_active, v_size, v_reclaim),
        row("Build Cache", 0, 0, 0, 0),
    ];
    let fmt = format.unwrap_or_else(|| {
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}".into()
    });
    let out = berth_template::render_rows(&fmt, &rows, &|f| match f {
        "TotalCount" => Some("TOTAL".into()),
        _ => None,
    })?;
    print!("{out}");
    Ok(0)
}

/// `system prune`: stopped containers, unused networks, dangling images (every unused
/// one with -a), and with --volumes the unused anonymous volumes, as Docker does.
fn prune(g: &Globals, all: bool, force: bool, volumes: bool) -> anyhow::Result<i32> {
    if !force {
        let mut what = vec![
            "all stopped containers",
            "all networks not used by at least one container",
        ];
        if volumes {
            what.push("all anonymous volumes not used by at least one container");
        }
        what.push(if all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        });
        eprint!(
            "WARNING! This will remove:\n  - {}\n\nAre you sure you want to continue? [y/N] ",
            what.join("\n  - ")
        );
        std::io::Write::flush(&mut std::io::stderr())?;
        let mut answer = String::new();
        std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let e = Engine::open(&g.root)?;
    let mut removed = Vec::new();
    let mut reclaimed = 0u64;
    for rec in e.db.list()? {
        let st = e.live_state(&rec);
        if st.status.is_live() {
            continue;
        }
        let size = e.rw_size(&rec);
        if e.remove(&rec, false, false).is_ok() {
            removed.push(rec.id);
            reclaimed += size;
        }
    }
    if !removed.is_empty() {
        println!("Deleted Containers:\n{}\n", removed.join("\n"));
    }
    let nets = berth_engine::network::NetworkManager::open(&g.root)
        .and_then(|n| n.prune())
        .unwrap_or_default();
    if !nets.is_empty() {
        println!("Deleted Networks:\n{}\n", nets.join("\n"));
    }
    if volumes {
        let vm = berth_engine::volume::VolumeManager::open(&g.root)?;
        let sizes: std::collections::BTreeMap<String, u64> = vm
            .list()
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let size =
                    berth_engine::container::stats::dir_size(std::path::Path::new(&v.mountpoint));
                (v.name, size)
            })
            .collect();
        let vols = vm.prune(false).unwrap_or_default();
        reclaimed += vols.iter().filter_map(|v| sizes.get(v)).sum::<u64>();
        if !vols.is_empty() {
            println!("Deleted Volumes:\n{}\n", vols.join("\n"));
        }
    }
    let store = berth_image::Store::open(&g.root)?;
    let (images, bytes) = crate::image_cmd::remove_unused(&store, all)?;
    reclaimed += bytes;
    if !images.is_empty() {
        println!("Deleted Images:");
        crate::image_cmd::print_removed_images(&images);
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        berth_engine::container::stats::human_bytes(reclaimed, false)
    );
    Ok(0)
}

/// Go's GOARCH names, as Docker prints them.
fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
