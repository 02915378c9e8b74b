//! Image config + run options → OCI spec, used until the full Docker-defaults builder
//! (`crate::spec`) is wired in: oci-spec's runc-like defaults plus the process, root,
//! hostname, cgroup path, resource limits and the files Berth bind-mounts in /etc.

use crate::error::{EngineError, Result};
use crate::spec::{RunOptions, SpecContext};
use oci_spec::image::ImageConfiguration;
use serde_json::{json, Value};

/// The process Docker would run: entrypoint + cmd merged as `docker run` does.
pub fn command(img: &ImageConfiguration, opts: &RunOptions) -> Result<Vec<String>> {
    let cfg = img.config().as_ref();
    let (entry, cmd) = match &opts.entrypoint {
        Some(e) => (e.clone(), opts.cmd.clone()),
        None => {
            let entry = cfg.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
            let cmd = if opts.cmd.is_empty() {
                cfg.and_then(|c| c.cmd().clone()).unwrap_or_default()
            } else {
                opts.cmd.clone()
            };
            (entry, cmd)
        }
    };
    let args: Vec<String> = entry.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(EngineError::Invalid("No command specified".into()));
    }
    Ok(args)
}

/// Image env overridden by `-e`, plus PATH, HOSTNAME (and TERM with a tty) as Docker sets.
pub fn environment(img: &ImageConfiguration, opts: &RunOptions, hostname: &str) -> Vec<String> {
    let mut env: Vec<String> = vec![format!("HOSTNAME={hostname}")];
    let image_env = img
        .config()
        .as_ref()
        .and_then(|c| c.env().clone())
        .unwrap_or_default();
    for e in image_env.into_iter().chain(opts.env.iter().cloned()) {
        let key = e.split('=').next().unwrap_or("").to_string();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(e);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    env
}

/// Builds config.json's content.
pub fn build(img: &ImageConfiguration, opts: &RunOptions, ctx: &SpecContext) -> Result<Value> {
    let mut spec = serde_json::to_value(oci_spec::runtime::Spec::default())
        .map_err(|e| EngineError::Other(e.to_string()))?;
    let hostname = opts
        .hostname
        .clone()
        .unwrap_or_else(|| ctx.container_id[..12].to_string());
    let args = command(img, opts)?;
    let env = environment(img, opts, &hostname);
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| img.config().as_ref().and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let user = opts
        .user
        .clone()
        .or_else(|| img.config().as_ref().and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let (uid, gid) = numeric_user(&user, &ctx.rootfs)?;
    spec["process"]["args"] = json!(args);
    spec["process"]["env"] = json!(env);
    spec["process"]["cwd"] = json!(cwd);
    spec["process"]["terminal"] = json!(opts.tty);
    spec["process"]["user"] = json!({"uid": uid, "gid": gid});
    spec["root"] = json!({"path": ctx.rootfs, "readonly": opts.read_only});
    spec["hostname"] = json!(hostname);
    spec["linux"]["cgroupsPath"] = json!(ctx.cgroups_path);
    let mut resources = json!({});
    if let Some(m) = opts.memory {
        resources["memory"] = json!({"limit": m, "swap": opts.memory_swap.unwrap_or(m * 2)});
    }
    if let Some(p) = opts.pids_limit.filter(|p| *p > 0) {
        resources["pids"] = json!({"limit": p});
    }
    if let Some(c) = opts.cpus {
        resources["cpu"] = json!({"quota": (c * 100_000.0) as i64, "period": 100_000});
    }
    spec["linux"]["resources"] = resources;
    if ctx.host_network {
        if let Some(ns) = spec["linux"]["namespaces"].as_array_mut() {
            ns.retain(|n| n["type"] != "network");
        }
    }
    let mounts = spec["mounts"].as_array_mut().expect("default mounts");
    for (file, dest) in [
        (&ctx.hosts_file, "/etc/hosts"),
        (&ctx.resolv_conf, "/etc/resolv.conf"),
        (&ctx.hostname_file, "/etc/hostname"),
    ] {
        if let Some(f) = file {
            mounts.push(json!({"destination": dest, "type": "bind", "source": f, "options": ["rbind", "rprivate"]}));
        }
    }
    mounts.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}));
    for m in &ctx.extra_mounts {
        mounts.push(serde_json::to_value(m).map_err(|e| EngineError::Other(e.to_string()))?);
    }
    Ok(spec)
}

/// `user[:group]` → numeric ids, names looked up in the rootfs's /etc/passwd and /etc/group.
fn numeric_user(user: &str, rootfs: &std::path::Path) -> Result<(u32, u32)> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let (uid, pgid) = match u.parse::<u32>() {
        Ok(n) => (
            n,
            passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 3 && f[2] == u)
                .and_then(|f| f[3].parse().ok())
                .unwrap_or(0),
        ),
        Err(_) => passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[0] == u)
            .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .ok_or_else(|| {
                EngineError::Invalid(format!(
                    "unable to find user {u}: no matching entries in passwd file"
                ))
            })?,
    };
    let gid = match g {
        None => pgid,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => std::fs::read_to_string(rootfs.join("etc/group"))
                .unwrap_or_default()
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 2 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        },
    };
    Ok((uid, gid))
}
