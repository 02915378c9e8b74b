//! `build`: image config + run options + what the engine prepared → the OCI runtime spec,
//! the way Docker writes it.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{
    LinuxBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, PosixRlimit,
    PosixRlimitBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use super::capabilities::{container_capabilities, oci_capabilities};
use super::context::SpecContext;
use super::devices;
use super::error::SpecError;
use super::host::HostInfo;
use super::in_root;
use super::mounts::{self, DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS};
use super::options::{NamespaceMode, RunOptions, SeccompOpt};
use super::parse::{is_ipc_sysctl, is_namespaced_sysctl, rlimit_type};
use super::process;
use super::resources::resources;
use super::seccomp;
use super::user::resolve_user_with_groups;

/// Where `--init` puts the init binary in the container (Docker's path).
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";
/// Annotation carrying the stop signal for the engine and runtimes.
pub const STOP_SIGNAL_ANNOTATION: &str = "org.opencontainers.image.stopSignal";
/// Docker's soft RLIMIT_NOFILE inside containers and the hard one it inherits from a
/// systemd-started daemon; the hard one is lowered to what this host allows.
pub const DEFAULT_NOFILE: (u64, u64) = (1024, 524_288);

/// The signal `docker stop` sends: `--stop-signal`, else the image's StopSignal, else SIGTERM.
pub fn stop_signal(img: &ImageConfiguration, opts: &RunOptions) -> String {
    opts.stop_signal
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| img.config().as_ref().and_then(|c| c.stop_signal().clone()))
        .unwrap_or_else(|| "SIGTERM".into())
}

/// The hostname Docker gives the container: `-h` (up to its first dot, see `domainname`),
/// the host's with `--network host`, else the first 12 characters of the id.
pub fn hostname(opts: &RunOptions, ctx: &SpecContext, host: &HostInfo) -> String {
    if let Some(h) = opts.hostname.as_ref().filter(|h| !h.is_empty()) {
        if opts.domainname.as_ref().is_none_or(|d| d.is_empty()) {
            if let Some((short, _)) = h.split_once('.') {
                return short.to_string();
            }
        }
        return h.clone();
    }
    if ctx.host_network || opts.uts == NamespaceMode::Host {
        return host.hostname.clone();
    }
    ctx.container_id.chars().take(12).collect()
}

/// The NIS domain name: `--domainname`, else what follows the first dot of `-h`
/// (`-h web.example.com` → hostname `web`, domain `example.com`, as the docker CLI splits it).
pub fn domainname(opts: &RunOptions) -> Option<String> {
    if let Some(d) = opts.domainname.as_ref().filter(|d| !d.is_empty()) {
        return Some(d.clone());
    }
    opts.hostname
        .as_ref()
        .and_then(|h| h.split_once('.'))
        .map(|(_, d)| d.to_string())
        .filter(|d| !d.is_empty())
}

/// Builds the spec for this machine (see `build_for_host`). Also creates the working
/// directory inside `ctx.rootfs` (confined to it) when the rootfs exists, as Docker does.
pub fn build(
    img: &ImageConfiguration,
    opts: &RunOptions,
    ctx: &SpecContext,
) -> Result<Spec, SpecError> {
    let spec = build_for_host(img, opts, ctx, &HostInfo::detect())?;
    if ctx.rootfs.is_dir() {
        let cwd = spec
            .process()
            .as_ref()
            .map(|p| p.cwd().display().to_string())
            .unwrap_or_else(|| "/".into());
        in_root::mkdir_all(&ctx.rootfs, &cwd)?;
    }
    Ok(spec)
}

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, SpecError> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    Ok(b.build()?)
}

fn namespaces(
    opts: &RunOptions,
    ctx: &SpecContext,
    host: &HostInfo,
) -> Result<Vec<LinuxNamespace>, SpecError> {
    use LinuxNamespaceType as T;
    let joined = |t: T| {
        ctx.join_namespaces
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, p)| p.as_path())
    };
    let mut out = Vec::new();
    let add = |out: &mut Vec<LinuxNamespace>,
               t: T,
               mode: &NamespaceMode,
               flag: &str,
               default_new: bool|
     -> Result<(), SpecError> {
        if let Some(p) = joined(t) {
            out.push(namespace(t, Some(p))?);
            return Ok(());
        }
        match mode {
            NamespaceMode::Host => {}
            NamespaceMode::Container(c) => {
                return Err(SpecError::Invalid(format!(
                    "{flag} container:{c}: the engine did not pass the namespace path to join"
                )))
            }
            NamespaceMode::Default if !default_new => {}
            _ => out.push(namespace(t, None)?),
        }
        Ok(())
    };
    add(&mut out, T::Mount, &NamespaceMode::Private, "", true)?;
    if let Some(p) = joined(T::Network).or(ctx.netns_path.as_deref()) {
        out.push(namespace(T::Network, Some(p))?);
    } else if !ctx.host_network {
        out.push(namespace(T::Network, None)?);
    }
    add(&mut out, T::Uts, &opts.uts, "--uts", true)?;
    add(&mut out, T::Pid, &opts.pid, "--pid", true)?;
    add(&mut out, T::Ipc, &opts.ipc, "--ipc", true)?;
    // Docker's default cgroupns is private on cgroup v2 and the host's on v1.
    add(
        &mut out,
        T::Cgroup,
        &opts.cgroupns,
        "--cgroupns",
        host.cgroup2,
    )?;
    if let Some(p) = joined(T::User) {
        out.push(namespace(T::User, Some(p))?);
    }
    Ok(out)
}

fn rlimits(opts: &RunOptions, host: &HostInfo) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut limits: Vec<(String, u64, u64)> = Vec::new();
    if !opts.ulimits.iter().any(|u| u.name == "nofile") {
        let hard = host
            .rlimit_hard
            .get("nofile")
            .copied()
            .unwrap_or(DEFAULT_NOFILE.1)
            .min(DEFAULT_NOFILE.1);
        limits.push(("nofile".into(), DEFAULT_NOFILE.0.min(hard), hard));
    }
    for u in &opts.ulimits {
        if let Some(h) = host.rlimit_hard.get(&u.name) {
            if !host.can_raise_rlimits && u.hard > *h {
                return Err(SpecError::flag(
                    "--ulimit",
                    &format!("{}={}:{}", u.name, u.soft, u.hard),
                    format!(
                        "hard limit {} exceeds this host's hard limit {h} for {} (raising it needs CAP_SYS_RESOURCE)",
                        u.hard, u.name
                    ),
                ));
            }
        }
        limits.retain(|(n, _, _)| *n != u.name);
        limits.push((u.name.clone(), u.soft, u.hard));
    }
    limits
        .into_iter()
        .map(|(name, soft, hard)| {
            let typ = rlimit_type(&name).ok_or_else(|| {
                SpecError::flag("--ulimit", &name, format!("invalid ulimit type: {name}"))
            })?;
            Ok(PosixRlimitBuilder::default()
                .typ(typ)
                .soft(soft)
                .hard(hard)
                .build()?)
        })
        .collect()
}

fn check_sysctls(
    opts: &RunOptions,
    ctx: &SpecContext,
) -> Result<HashMap<String, String>, SpecError> {
    let mut out = HashMap::new();
    for (k, v) in &opts.sysctls {
        let shown = format!("{k}={v}");
        if !is_namespaced_sysctl(k) {
            return Err(SpecError::flag(
                "--sysctl",
                &shown,
                format!("sysctl '{k}' is not allowed"),
            ));
        }
        if k.starts_with("net.") && ctx.host_network {
            return Err(SpecError::flag(
                "--sysctl",
                &shown,
                format!("sysctl '{k}' is not allowed in host network namespace"),
            ));
        }
        if is_ipc_sysctl(k) && opts.ipc == NamespaceMode::Host {
            return Err(SpecError::flag(
                "--sysctl",
                &shown,
                format!("sysctl '{k}' is not allowed in host IPC namespace"),
            ));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// Component count of a mount destination, to mount parents before children.
fn depth(m: &Mount) -> usize {
    m.destination().components().count()
}

/// Builds the spec with explicit host facts (pure apart from reading the image's
/// /etc/passwd and /etc/group under `ctx.rootfs`, and host device nodes for
/// `--privileged`/`--device`).
pub fn build_for_host(
    img: &ImageConfiguration,
    opts: &RunOptions,
    ctx: &SpecContext,
    host: &HostInfo,
) -> Result<Spec, SpecError> {
    let config = img.config().as_ref();
    if opts.uts == NamespaceMode::Host && opts.hostname.as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(SpecError::Invalid(
            "Conflicting options: hostname and the UTS mode".into(),
        ));
    }
    let hostname = hostname(opts, ctx, host);

    // Who and what runs.
    let user_spec = opts
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| config.and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let user = resolve_user_with_groups(&ctx.rootfs, &user_spec, &opts.group_add)?;
    let mut args = process::command(config, opts)?;
    let mut extra: Vec<Mount> = Vec::new();
    if opts.init {
        let init = ctx.init_path.as_ref().ok_or_else(|| {
            SpecError::Invalid("--init: no init binary available (berth-init not found)".into())
        })?;
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
        extra.push(
            oci_spec::runtime::MountBuilder::default()
                .destination(INIT_PATH_IN_CONTAINER)
                .typ("bind")
                .source(init)
                .options(vec!["bind".to_string(), "ro".to_string()])
                .build()?,
        );
    }
    let env = process::environment(config, opts, &hostname, &user.home);
    let cwd = process::working_dir(config, opts)?;
    let caps = container_capabilities(
        opts.privileged,
        &opts.cap_add,
        &opts.cap_drop,
        host.bounding_mask,
    )?;

    let mut pb = ProcessBuilder::default()
        .terminal(opts.tty)
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids.clone())
                .build()?,
        )
        .args(args)
        .env(env)
        .cwd(cwd)
        .capabilities(oci_capabilities(&caps)?)
        .rlimits(rlimits(opts, host)?)
        .no_new_privileges(opts.security_opt.no_new_privileges);
    if let Some(a) = opts
        .security_opt
        .apparmor
        .as_ref()
        .filter(|a| a.as_str() != "unconfined")
    {
        pb = pb.apparmor_profile(a.clone());
    }
    if let Some(adj) = opts.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(SpecError::flag(
                "--oom-score-adj",
                &adj.to_string(),
                "Invalid value, range is from -1000 to 1000",
            ));
        }
        pb = pb.oom_score_adj(adj);
    }
    let process = pb.build()?;

    // Mounts: Docker's defaults, then user mounts and the engine's files, parents first.
    let shm = match opts.ipc {
        NamespaceMode::None | NamespaceMode::Host | NamespaceMode::Container(_) => None,
        _ => Some(opts.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE)),
    };
    let mut defaults = mounts::default_mounts(opts.privileged, shm)?;
    if opts.ipc == NamespaceMode::Host {
        extra.push(mounts::bind_file("/dev/shm", Path::new("/dev/shm"))?);
    }
    for (path, o) in &opts.tmpfs {
        extra.push(mounts::tmpfs_mount(path, o)?);
    }
    extra.extend(ctx.extra_mounts.iter().cloned());
    for (dest, src) in [
        ("/etc/resolv.conf", &ctx.resolv_conf),
        ("/etc/hostname", &ctx.hostname_file),
        ("/etc/hosts", &ctx.hosts_file),
    ] {
        if let Some(s) = src {
            extra.push(mounts::bind_file(dest, s)?);
        }
    }
    extra.sort_by_key(depth);
    defaults.retain(|d| !extra.iter().any(|u| u.destination() == d.destination()));
    let all_mounts: Vec<Mount> = defaults.into_iter().chain(extra).collect();

    // Devices and resources.
    let mut res = resources(opts, host)?;
    let mut dev_rules = if opts.privileged {
        vec![devices::allow_all_rule()?]
    } else {
        devices::default_device_rules()?
    };
    let mut devs = if opts.privileged {
        devices::host_devices()?
    } else {
        Vec::new()
    };
    for m in &opts.devices {
        let (d, r) = devices::mapped_devices(m)?;
        devs.retain(|x| !d.iter().any(|y| y.path() == x.path()));
        devs.extend(d);
        if !opts.privileged {
            dev_rules.extend(r);
        }
    }
    if !opts.privileged {
        for r in &opts.device_cgroup_rules {
            dev_rules.push(devices::parse_device_cgroup_rule(r)?);
        }
    }
    res.set_devices(Some(dev_rules));

    let confined_paths = !opts.privileged && !opts.security_opt.systempaths_unconfined;
    let seccomp = match (&opts.security_opt.seccomp, opts.privileged) {
        (SeccompOpt::Unconfined, _) | (SeccompOpt::Default, true) => None,
        (SeccompOpt::Default, false) => Some(seccomp::compile(
            &seccomp::default_profile(),
            &caps,
            &host.seccomp,
        )?),
        (SeccompOpt::Profile(p), _) => Some(seccomp::compile(
            &seccomp::load_profile(p)?,
            &caps,
            &host.seccomp,
        )?),
    };

    let mut lb = LinuxBuilder::default()
        .namespaces(namespaces(opts, ctx, host)?)
        .resources(res)
        .devices(devs)
        .sysctl(check_sysctls(opts, ctx)?)
        .masked_paths(if confined_paths {
            MASKED_PATHS.iter().map(|s| s.to_string()).collect()
        } else {
            vec![]
        })
        .readonly_paths(if confined_paths {
            READONLY_PATHS.iter().map(|s| s.to_string()).collect()
        } else {
            vec![]
        });
    if !ctx.cgroups_path.is_empty() {
        lb = lb.cgroups_path(ctx.cgroups_path.clone());
    }
    if let Some(s) = seccomp {
        lb = lb.seccomp(s);
    }
    let linux = lb.build()?;

    let mut annotations: HashMap<String, String> = opts
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.insert(STOP_SIGNAL_ANNOTATION.into(), stop_signal(img, opts));

    let mut sb = SpecBuilder::default()
        .version(oci_spec::runtime::VERSION)
        .root(
            RootBuilder::default()
                .path(&ctx.rootfs)
                .readonly(opts.read_only)
                .build()?,
        )
        .process(process)
        .mounts(all_mounts)
        .annotations(annotations)
        .linux(linux);
    if opts.uts != NamespaceMode::Host {
        sb = sb.hostname(hostname);
        if let Some(d) = domainname(opts) {
            sb = sb.domainname(d);
        }
    }
    Ok(sb.build()?)
}
