//! One function per command; each returns the exit code.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use super::{spec_cmd, Cli, Command, CreateArgs, ExecArgs, Logger, UpdateArgs};
use crate::container::{self, exec::ExecOpts, run::RunOpts, Container, CreateOpts};
use crate::error::{msg, Context, Error, Result};
use crate::state::{self, Status};

pub fn dispatch(cli: &Cli, log: &Logger) -> Result<i32> {
    if cli.systemd_cgroup {
        log.warn("--systemd-cgroup: systemd is not used; cgroups are managed through cgroupfs");
    }
    let root = cli.root.as_path();
    match &cli.command {
        Command::Create(a) => {
            crate::selfexe::protect()?;
            let opts = create_opts(root, a, true);
            container::create(&opts)?;
            Ok(0)
        }
        Command::Run {
            create,
            detach,
            keep,
            ..
        } => {
            crate::selfexe::protect()?;
            container::run::run(RunOpts {
                create: create_opts(root, create, false),
                detach: *detach,
                keep: *keep,
            })
        }
        Command::Start { ids } => {
            for id in ids {
                let c = Container::open(root, id)?;
                container::start::start(&c)?;
            }
            Ok(0)
        }
        Command::State { id } => {
            let c = Container::open(root, id)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&c.state_json()).unwrap_or_default()
            );
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            let sig = container::kill::parse_signal(signal.as_deref().unwrap_or("SIGTERM"))?;
            let c = Container::open(root, id)?;
            container::kill::kill(&c, sig, *all)?;
            Ok(0)
        }
        Command::Delete { force, ids } => {
            let mut failed = None;
            for id in ids {
                let r = match remove_half_created(root, id) {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        Container::open(root, id).and_then(|c| container::delete::delete(c, *force))
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok(()) => {}
                    // runc: delete --force of a missing container succeeds silently.
                    Err(Error::NotFound(_)) if *force => {}
                    Err(e) => failed = Some(e),
                }
            }
            failed.map_or(Ok(0), Err)
        }
        Command::Exec(a) => {
            crate::selfexe::protect()?;
            exec(root, a)
        }
        Command::Ps {
            format,
            id,
            ps_args,
        } => ps(root, id, format, ps_args),
        Command::List { format, quiet } => list(root, format, *quiet),
        Command::Pause { id } => {
            let c = Container::open(root, id)?;
            if c.status != Status::Running {
                return Err(msg(format!("container {id} is not running: {}", c.status)));
            }
            c.cgroup()?.freeze()?;
            Ok(0)
        }
        Command::Resume { id } => {
            let c = Container::open(root, id)?;
            if c.status != Status::Paused {
                return Err(msg(format!("container {id} is not paused: {}", c.status)));
            }
            c.cgroup()?.thaw()?;
            Ok(0)
        }
        Command::Events {
            interval,
            stats,
            id,
        } => events(root, id, interval, *stats),
        Command::Update(a) => update(root, a),
        Command::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&spec_cmd::features()).unwrap_or_default()
            );
            Ok(0)
        }
        Command::Spec { bundle, rootless } => {
            let dir = bundle.clone().unwrap_or_else(|| ".".into());
            let path = dir.join("config.json");
            if path.exists() {
                return Err(msg(format!(
                    "File {} exists. Remove it first",
                    path.display()
                )));
            }
            let data = serde_json::to_string_pretty(&spec_cmd::default_spec(*rootless))
                .unwrap_or_default();
            std::fs::write(&path, data).with_ctx(|| format!("write {}", path.display()))?;
            Ok(0)
        }
        Command::Checkpoint { .. } => Err(msg("checkpoint is not supported yet")),
        Command::Restore { .. } => Err(msg("restore is not supported yet")),
    }
}

/// A state dir without state.json whose lock we hold was left by a `create` that died
/// (it holds the lock until the state is written): remove it and its default cgroup.
fn remove_half_created(root: &Path, id: &str) -> Result<bool> {
    let dir = match crate::state::ContainerDir::open(root, id) {
        Ok(d) => d,
        Err(Error::NotFound(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    if dir.load()?.is_some() {
        return Ok(false);
    }
    if let Ok(cg) = container::ContainerCgroup::new(None, id) {
        let _ = cg.kill_all(libc::SIGKILL);
        let _ = cg.destroy();
    }
    dir.remove()?;
    Ok(true)
}

fn create_opts(root: &Path, a: &CreateArgs, wait_for_start: bool) -> CreateOpts {
    CreateOpts {
        root: root.to_path_buf(),
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        wait_for_start,
        foreground: false,
    }
}

fn exec(root: &Path, a: &ExecArgs) -> Result<i32> {
    if a.process_label.as_deref().is_some_and(|l| !l.is_empty())
        && !Path::new("/sys/fs/selinux/enforce").exists()
    {
        return Err(msg(
            "--process-label given but SELinux is not enabled on this host",
        ));
    }
    container::exec::exec(&ExecOpts {
        root: root.to_path_buf(),
        id: a.id.clone(),
        process_file: a.process.clone(),
        args: a.command.clone(),
        env: a.env.clone(),
        cwd: a.cwd.clone(),
        user: a.user.clone(),
        additional_gids: a.additional_gids.clone(),
        tty: a.tty,
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        preserve_fds: a.preserve_fds,
        apparmor: a.apparmor.clone(),
        ignore_paused: a.ignore_paused,
    })
}

fn ps(root: &Path, id: &str, format: &str, ps_args: &[String]) -> Result<i32> {
    let c = Container::open(root, id)?;
    let mut pids = c.cgroup()?.pids()?;
    if pids.is_empty() && c.status != Status::Stopped {
        pids.push(c.saved.pid);
    }
    pids.sort_unstable();
    if format == "json" {
        println!("{}", serde_json::to_string(&pids).unwrap_or_default());
        return Ok(0);
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .ctx("run ps")?;
    if !out.status.success() {
        return Err(msg(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| msg("ps output has no PID column"))?;
    println!("{header}");
    for l in lines {
        if let Some(p) = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
        {
            if pids.contains(&p) {
                println!("{l}");
            }
        }
    }
    Ok(0)
}

fn list(root: &Path, format: &str, quiet: bool) -> Result<i32> {
    let mut rows = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if id.starts_with('.') || state::check_id(&id).is_err() || !e.path().is_dir() {
                continue;
            }
            let Ok(c) = Container::open(root, &id) else {
                continue;
            };
            let (saved, status) = (c.saved, c.status);
            rows.push((saved, status));
        }
    }
    rows.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    if quiet {
        for (s, _) in &rows {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    if format == "json" {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(s, st)| {
                serde_json::json!({
                    "ociVersion": s.oci_version, "id": s.id,
                    "pid": if *st == Status::Stopped { 0 } else { s.pid },
                    "status": st.to_string(), "bundle": s.bundle, "rootfs": s.rootfs,
                    "created": s.created, "owner": s.owner,
                    "annotations": s.annotations,
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
        return Ok(0);
    }
    let table: Vec<[String; 6]> = std::iter::once([
        "ID".into(),
        "PID".into(),
        "STATUS".into(),
        "BUNDLE".into(),
        "CREATED".into(),
        "OWNER".into(),
    ])
    .chain(rows.iter().map(|(s, st)| {
        [
            s.id.clone(),
            if *st == Status::Stopped { 0 } else { s.pid }.to_string(),
            st.to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            if s.owner.is_empty() {
                "root".into()
            } else {
                s.owner.clone()
            },
        ]
    }))
    .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| table.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &table {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = w + 3))
            .collect();
        println!("{}", line.concat().trim_end());
    }
    Ok(0)
}

fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || {
        msg(format!(
            "--interval {s:?}: expected a duration like 5s, 500ms, 1m"
        ))
    };
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn events(root: &Path, id: &str, interval: &str, once: bool) -> Result<i32> {
    let every = parse_duration(interval)?;
    loop {
        let c = Container::open(root, id)?;
        if c.status == Status::Stopped {
            if once {
                return Err(msg(format!("container {id} is not running")));
            }
            return Ok(0);
        }
        let stats = c.cgroup()?.stats()?;
        drop(c);
        println!(
            "{}",
            serde_json::json!({"type": "stats", "id": id, "data": stats})
        );
        if once {
            return Ok(0);
        }
        std::thread::sleep(every);
    }
}

fn parse_bytes(s: &str, flag: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let (num, mult) = match lower.trim_end_matches('b').chars().last() {
        Some('k') => (&lower[..lower.trim_end_matches('b').len() - 1], 1i64 << 10),
        Some('m') => (&lower[..lower.trim_end_matches('b').len() - 1], 1 << 20),
        Some('g') => (&lower[..lower.trim_end_matches('b').len() - 1], 1 << 30),
        _ => (lower.trim_end_matches('b'), 1),
    };
    num.trim()
        .parse::<i64>()
        .map(|n| n * mult)
        .map_err(|_| msg(format!("--{flag} {s:?}: not a size in bytes")))
}

fn update(root: &Path, a: &UpdateArgs) -> Result<i32> {
    let c = Container::open(root, &a.id)?;
    if c.status == Status::Stopped {
        return Err(msg(format!("container {} is not running", a.id)));
    }
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        return Err(msg("Intel RDT is not supported"));
    }
    let res: LinuxResources = match &a.resources {
        Some(src) => {
            let mut data = Vec::new();
            if src == "-" {
                std::io::stdin()
                    .read_to_end(&mut data)
                    .ctx("read resources from stdin")?;
            } else {
                data = std::fs::read(src).with_ctx(|| format!("--resources {src}"))?;
            }
            serde_json::from_slice(&data)
                .map_err(|e| msg(format!("--resources {src}: invalid resources JSON: {e}")))?
        }
        None => {
            let mut v = serde_json::json!({});
            let mut mem = serde_json::Map::new();
            if let Some(m) = &a.memory {
                mem.insert("limit".into(), parse_bytes(m, "memory")?.into());
            }
            if let Some(m) = &a.memory_reservation {
                mem.insert(
                    "reservation".into(),
                    parse_bytes(m, "memory-reservation")?.into(),
                );
            }
            if let Some(m) = &a.memory_swap {
                mem.insert("swap".into(), parse_bytes(m, "memory-swap")?.into());
            }
            if !mem.is_empty() {
                v["memory"] = mem.into();
            }
            let mut cpu = serde_json::Map::new();
            if let Some(x) = a.cpu_share {
                cpu.insert("shares".into(), x.into());
            }
            if let Some(x) = a.cpu_quota {
                cpu.insert("quota".into(), x.into());
            }
            if let Some(x) = a.cpu_period {
                cpu.insert("period".into(), x.into());
            }
            if let Some(x) = a.cpu_rt_period {
                cpu.insert("realtimePeriod".into(), x.into());
            }
            if let Some(x) = a.cpu_rt_runtime {
                cpu.insert("realtimeRuntime".into(), x.into());
            }
            if let Some(x) = &a.cpuset_cpus {
                cpu.insert("cpus".into(), x.clone().into());
            }
            if let Some(x) = &a.cpuset_mems {
                cpu.insert("mems".into(), x.clone().into());
            }
            if !cpu.is_empty() {
                v["cpu"] = cpu.into();
            }
            if let Some(w) = a.blkio_weight {
                v["blockIO"] = serde_json::json!({"weight": w});
            }
            if let Some(p) = a.pids_limit {
                v["pids"] = serde_json::json!({"limit": p});
            }
            serde_json::from_value(v).map_err(|e| msg(format!("update: {e}")))?
        }
    };
    c.cgroup()?.update(&res)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("x").is_err());
        assert_eq!(parse_bytes("1048576", "memory").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("10m", "memory").unwrap(), 10 << 20);
        assert_eq!(parse_bytes("-1", "memory-swap").unwrap(), -1);
        assert!(parse_bytes("lots", "memory").is_err());
    }
}
