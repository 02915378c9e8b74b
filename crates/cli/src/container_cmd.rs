//! `berth` container commands: Docker's names, flags, output and error wording.

use crate::Globals;
use anyhow::{anyhow, bail, Context};
use berth_engine::container::exec::ExecRequest;
use berth_engine::container::{CreateRequest, Engine, ImageInfo};
use berth_engine::logs::reader;
use berth_engine::monitor::RestartPolicy;
use berth_engine::spec::{parse, RunOptions};
use berth_engine::state::status::Status;
use berth_engine::state::ContainerRecord;
use berth_engine::EngineError;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// `docker run`/`create` flags.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Print help (-h is --hostname, as in Docker).
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Run in the background and print the container id.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    #[arg(long)]
    name: Option<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to take it from here).
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    #[arg(long = "env-file")]
    env_file: Vec<PathBuf>,
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// user[:group], names or numbers.
    #[arg(short = 'u', long)]
    user: Option<String>,
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    #[arg(long)]
    mount: Vec<String>,
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    #[arg(short = 'P', long = "publish-all")]
    publish_all: bool,
    #[arg(long, visible_alias = "net")]
    network: Option<String>,
    #[arg(long = "network-alias")]
    network_alias: Vec<String>,
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    #[arg(long)]
    dns: Vec<String>,
    #[arg(long)]
    entrypoint: Option<String>,
    /// Keep STDIN open.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    tty: bool,
    #[arg(long)]
    init: bool,
    #[arg(short = 'm', long)]
    memory: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long)]
    cpus: Option<String>,
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<u64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    #[arg(long)]
    ulimit: Vec<String>,
    #[arg(long = "read-only")]
    read_only: bool,
    #[arg(long)]
    tmpfs: Vec<String>,
    #[arg(long = "cap-add")]
    cap_add: Vec<String>,
    #[arg(long = "cap-drop")]
    cap_drop: Vec<String>,
    #[arg(long)]
    privileged: bool,
    #[arg(long)]
    device: Vec<String>,
    #[arg(long = "security-opt")]
    security_opt: Vec<String>,
    #[arg(long)]
    sysctl: Vec<String>,
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    /// no, on-failure[:max-retries], always, unless-stopped.
    #[arg(long, default_value = "no")]
    restart: String,
    #[arg(long = "stop-signal")]
    stop_signal: Option<String>,
    #[arg(long = "stop-timeout", allow_hyphen_values = true)]
    stop_timeout: Option<i64>,
    #[arg(long = "health-cmd")]
    health_cmd: Option<String>,
    #[arg(long = "health-interval")]
    health_interval: Option<String>,
    #[arg(long = "health-timeout")]
    health_timeout: Option<String>,
    #[arg(long = "health-retries")]
    health_retries: Option<u32>,
    #[arg(long = "health-start-period")]
    health_start_period: Option<String>,
    #[arg(long = "no-healthcheck")]
    no_healthcheck: bool,
    #[arg(short = 'l', long = "label")]
    label: Vec<String>,
    /// always, missing, never.
    #[arg(long, default_value = "missing")]
    pull: String,
    /// OCI runtime: berth-oci (default), runc, crun, or a path.
    #[arg(long, env = "BERTH_RUNTIME", default_value = "berth-oci")]
    runtime: String,
    /// json-file options: max-size=10m, max-file=3.
    #[arg(long = "log-opt")]
    log_opt: Vec<String>,
    /// The first argument is a root filesystem directory, not an image.
    #[arg(long)]
    rootfs: bool,
    /// Image, then the command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, num_args = 1..)]
    image_and_command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    #[command(flatten)]
    Core(ContainerCore),
    /// Manage containers
    Container {
        #[command(subcommand)]
        cmd: ContainerSub,
    },
}

/// `berth container ...`: the same commands, plus `ls` and `prune`.
// Parsed once per process: the variants' size difference costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ContainerSub {
    #[command(flatten)]
    Core(ContainerCore),
    /// List containers
    #[command(visible_alias = "list")]
    Ls {
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(short = 'q', long)]
        quiet: bool,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        #[arg(long)]
        format: Option<String>,
        #[arg(short = 'f', long)]
        filter: Vec<String>,
    },
    /// Remove all stopped containers
    Prune {
        /// Do not prompt for confirmation.
        #[arg(short = 'f', long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContainerCore {
    /// Create and run a new container from an image.
    #[command(disable_help_flag = true)]
    Run(Box<RunArgs>),
    /// Create a new container.
    #[command(disable_help_flag = true)]
    Create(Box<RunArgs>),
    /// Start one or more stopped containers.
    Start {
        /// Attach STDOUT/STDERR and forward signals.
        #[arg(short = 'a', long)]
        attach: bool,
        #[arg(short = 'i', long)]
        interactive: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop one or more running containers.
    Stop {
        #[arg(
            short = 't',
            long = "time",
            visible_alias = "timeout",
            allow_hyphen_values = true
        )]
        time: Option<i64>,
        #[arg(short = 's', long)]
        signal: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Restart one or more containers.
    Restart {
        #[arg(
            short = 't',
            long = "time",
            visible_alias = "timeout",
            allow_hyphen_values = true
        )]
        time: Option<i64>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Kill one or more running containers.
    Kill {
        #[arg(short = 's', long, default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove one or more containers.
    Rm {
        #[arg(short = 'f', long)]
        force: bool,
        /// Remove anonymous volumes too.
        #[arg(short = 'v', long)]
        volumes: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List containers.
    #[command(visible_alias = "container-ls")]
    Ps {
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(short = 'q', long)]
        quiet: bool,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        #[arg(short = 'l', long)]
        latest: bool,
        #[arg(short = 'n', long = "last")]
        last: Option<usize>,
        #[arg(long)]
        format: Option<String>,
        /// status=, name=, label=, id=, ancestor=, exited=
        #[arg(short = 'f', long)]
        filter: Vec<String>,
    },
    /// Fetch the logs of a container.
    Logs {
        #[arg(short = 'f', long)]
        follow: bool,
        #[arg(short = 'n', long, default_value = "all")]
        tail: String,
        #[arg(short = 't', long)]
        timestamps: bool,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        container: String,
    },
    /// Execute a command in a running container.
    Exec {
        #[arg(short = 'd', long)]
        detach: bool,
        #[arg(short = 'i', long)]
        interactive: bool,
        #[arg(short = 't', long)]
        tty: bool,
        #[arg(short = 'e', long = "env")]
        env: Vec<String>,
        #[arg(short = 'w', long)]
        workdir: Option<String>,
        #[arg(short = 'u', long)]
        user: Option<String>,
        container: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Block until one or more containers stop, then print their exit codes.
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Pause all processes within one or more containers.
    Pause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause all processes within one or more containers.
    Unpause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Rename a container.
    Rename { container: String, new_name: String },
    /// Display the running processes of a container.
    Top {
        container: String,
        /// Options for ps (default -ef), as `docker top CONTAINER [ps OPTIONS]`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Return low-level information on containers (and images).
    Inspect {
        #[arg(short = 'f', long)]
        format: Option<String>,
        #[arg(short = 's', long)]
        size: bool,
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Attach local standard input, output, and error streams to a running container
    Attach {
        /// Do not attach STDIN
        #[arg(long = "no-stdin")]
        no_stdin: bool,
        /// Override the key sequence for detaching a container
        #[arg(long = "detach-keys", default_value = "ctrl-p,ctrl-q")]
        detach_keys: String,
        /// Accepted for Docker compatibility; signals to `berth attach` are not proxied
        /// (with a tty, ^C reaches the container through it).
        #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set)]
        sig_proxy: bool,
        container: String,
    },
    /// Create a new image from a container's changes (flattened: one layer).
    Commit {
        /// Author
        #[arg(short = 'a', long)]
        author: Option<String>,
        /// Apply Dockerfile instruction to the created image
        #[arg(short = 'c', long = "change")]
        change: Vec<String>,
        /// Commit message
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Pause the container during commit
        #[arg(short = 'p', long, default_value_t = true, action = clap::ArgAction::Set)]
        pause: bool,
        container: String,
        /// REPOSITORY[:TAG]
        reference: Option<String>,
    },
    /// Copy files/folders between a container and the local filesystem.
    Cp {
        /// Archive mode (uid/gid kept; always on here).
        #[arg(short = 'a', long)]
        archive: bool,
        /// Follow symbolic links in SRC_PATH (host side).
        #[arg(short = 'L', long = "follow-link")]
        follow_link: bool,
        src: String,
        dest: String,
    },
    /// List port mappings or a specific mapping for the container.
    Port {
        container: String,
        /// PRIVATE_PORT[/PROTO]
        private_port: Option<String>,
    },
    /// Display a live stream of container(s) resource usage statistics.
    Stats {
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(long = "no-stream")]
        no_stream: bool,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        #[arg(long)]
        format: Option<String>,
        containers: Vec<String>,
    },
    /// Export a container's filesystem as a tar archive.
    Export {
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        container: String,
    },
    /// Inspect changes to files or directories on a container's filesystem.
    Diff { container: String },
    /// Update configuration of one or more containers.
    Update {
        #[arg(short = 'm', long)]
        memory: Option<String>,
        #[arg(long = "memory-swap")]
        memory_swap: Option<String>,
        #[arg(long)]
        cpus: Option<String>,
        #[arg(short = 'c', long = "cpu-shares")]
        cpu_shares: Option<u64>,
        #[arg(long = "pids-limit", allow_hyphen_values = true)]
        pids_limit: Option<i64>,
        /// CPUs in which to allow execution (0-3, 0,1)
        #[arg(long = "cpuset-cpus")]
        cpuset_cpus: Option<String>,
        /// MEMs in which to allow execution (0-3, 0,1)
        #[arg(long = "cpuset-mems")]
        cpuset_mems: Option<String>,
        /// Limit CPU CFS (Completely Fair Scheduler) period
        #[arg(long = "cpu-period")]
        cpu_period: Option<u64>,
        /// Limit CPU CFS (Completely Fair Scheduler) quota
        #[arg(long = "cpu-quota", allow_hyphen_values = true)]
        cpu_quota: Option<i64>,
        /// Memory soft limit
        #[arg(long = "memory-reservation")]
        memory_reservation: Option<String>,
        /// Block IO (relative weight), between 10 and 1000, or 0 to disable
        #[arg(long = "blkio-weight")]
        blkio_weight: Option<u16>,
        /// Restart policy to apply when a container exits
        #[arg(long)]
        restart: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Helper for cp/export (chrooted into a container's root filesystem).
    #[command(hide = true, name = "container-fs-helper")]
    ContainerFsHelper {
        mode: String,
        rootfs: PathBuf,
        path: String,
    },
    /// Run by a container's monitor when the container ends: release its mounts and
    /// network; `--remove` also deletes it (for `--rm`).
    #[command(hide = true)]
    ContainerCleanup {
        #[arg(long)]
        remove: bool,
        id: String,
    },
}

pub fn run(cmd: ContainerCommand, g: &Globals) -> anyhow::Result<i32> {
    match cmd {
        ContainerCommand::Core(c) => run_core(c, g),
        ContainerCommand::Container { cmd } => match cmd {
            ContainerSub::Core(c) => run_core(c, g),
            ContainerSub::Ls {
                all,
                quiet,
                no_trunc,
                format,
                filter,
            } => ps(g, all, quiet, no_trunc, false, None, format, filter),
            ContainerSub::Prune { force: _ } => prune(g),
        },
    }
}

fn run_core(cmd: ContainerCore, g: &Globals) -> anyhow::Result<i32> {
    match cmd {
        ContainerCore::Run(a) => run_container(*a, g, true),
        ContainerCore::Create(a) => run_container(*a, g, false),
        ContainerCore::Start {
            attach,
            interactive,
            containers,
        } => each(
            g,
            &containers,
            |e, rec| {
                let child = e.start(rec, attach || interactive)?;
                match child {
                    Some(mut c) => {
                        berth_engine::container::ignore_terminal_signals();
                        let code = c.wait().map(|s| s.code().unwrap_or(125)).unwrap_or(125);
                        Ok(Some(code))
                    }
                    None => Ok(None),
                }
            },
            true,
        ),
        ContainerCore::Stop {
            time,
            signal,
            containers,
        } => each(
            g,
            &containers,
            |e, rec| {
                e.stop_with_signal(rec, time, signal.as_deref())
                    .map(|_| None)
            },
            true,
        ),
        ContainerCore::Restart { time, containers } => each(
            g,
            &containers,
            |e, rec| {
                e.stop(rec, time)?;
                e.start(rec, false).map(|_| None)
            },
            true,
        ),
        ContainerCore::Kill { signal, containers } => each(
            g,
            &containers,
            |e, rec| e.kill(rec, &signal).map(|_| None),
            true,
        ),
        ContainerCore::Rm {
            force,
            volumes,
            containers,
        } => each(
            g,
            &containers,
            |e, rec| e.remove(rec, force, volumes).map(|_| None),
            true,
        ),
        ContainerCore::Ps {
            all,
            quiet,
            no_trunc,
            latest,
            last,
            format,
            filter,
        } => ps(g, all, quiet, no_trunc, latest, last, format, filter),
        ContainerCore::Logs {
            follow,
            tail,
            timestamps,
            since,
            until,
            container,
        } => logs(g, &container, follow, &tail, timestamps, since, until),
        ContainerCore::Exec {
            detach,
            interactive,
            tty,
            env,
            workdir,
            user,
            container,
            command,
        } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            let env = env
                .iter()
                .map(|s| parse::parse_env(s, |k| std::env::var(k).ok()))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            let req = ExecRequest {
                cmd: command,
                env,
                workdir,
                user,
                tty,
                interactive,
                detach,
            };
            match e.exec(&rec, &req) {
                Ok(code) => Ok(code),
                Err(err @ EngineError::Start { .. }) => {
                    eprintln!("Error response from daemon: {err}");
                    Ok(err.exit_code())
                }
                Err(err) => Err(daemon_error(err)),
            }
        }
        ContainerCore::Wait { containers } => each(
            g,
            &containers,
            |e, rec| {
                println!("{}", e.wait(rec));
                Ok(None)
            },
            false,
        ),
        ContainerCore::Pause { containers } => {
            each(g, &containers, |e, rec| e.pause(rec).map(|_| None), true)
        }
        ContainerCore::Unpause { containers } => {
            each(g, &containers, |e, rec| e.unpause(rec).map(|_| None), true)
        }
        ContainerCore::Rename {
            container,
            new_name,
        } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            let n = new_name.strip_prefix('/').unwrap_or(&new_name);
            if !berth_engine::names::valid_name(n) {
                return Err(daemon_error(EngineError::InvalidName(n.into())));
            }
            e.db.rename(&rec.id, n).map_err(daemon_error)?;
            if let Ok(nm) = berth_engine::network::NetworkManager::open(&e.layout.root) {
                if let Err(err) = nm.rename_container(&rec.id, n) {
                    eprintln!("warning: DNS name of {n} not updated: {err}");
                }
            }
            Ok(0)
        }
        ContainerCore::Top { container, ps_args } => top(g, &container, &ps_args),
        ContainerCore::Inspect {
            format,
            size: _,
            kind: _,
            names,
        } => inspect(g, format, &names),
        ContainerCore::Attach {
            no_stdin,
            detach_keys,
            sig_proxy: _,
            container,
        } => {
            use berth_engine::container::attach::{parse_detach_keys, AttachEnd, AttachOptions};
            let opts = AttachOptions {
                stdin: !no_stdin,
                detach_keys: parse_detach_keys(&detach_keys).map_err(daemon_error)?,
            };
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            match e.attach(&rec, &opts).map_err(daemon_error)? {
                AttachEnd::Exited(code) => Ok(code),
                AttachEnd::Detached => {
                    eprintln!("read escape sequence");
                    Ok(0)
                }
            }
        }
        ContainerCore::Commit {
            author,
            change,
            message,
            pause,
            container,
            reference,
        } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            // The container's own settings become the image's, then -c changes on top.
            let c = &rec.config;
            let mut changes = Vec::new();
            for env in &c.env {
                if let Some((k, v)) = env.split_once('=') {
                    if k != "HOSTNAME" {
                        changes.push(format!("ENV {k}={}", serde_json::to_string(v)?));
                    }
                }
            }
            if let Some(ep) = &c.entrypoint {
                changes.push(format!("ENTRYPOINT {}", serde_json::to_string(ep)?));
            }
            let cmd: Vec<String> = if c.entrypoint.is_some() {
                c.cmd.clone()
            } else {
                std::iter::once(c.path.clone())
                    .chain(c.args.iter().cloned())
                    .collect()
            };
            if !cmd.is_empty() {
                changes.push(format!("CMD {}", serde_json::to_string(&cmd)?));
            }
            if !c.working_dir.is_empty() {
                changes.push(format!("WORKDIR {}", c.working_dir));
            }
            if !c.user.is_empty() {
                changes.push(format!("USER {}", c.user));
            }
            changes.extend(change);
            // --pause (Docker's default): no writes land mid-snapshot of a running one.
            let paused = pause && e.live_state(&rec).status == Status::Running && {
                e.pause(&rec).map_err(daemon_error)?;
                true
            };
            let store = berth_image::Store::open(&g.root)?;
            let res = if c.rootfs.is_none() {
                // A layer of the container's changes on top of its image's layers.
                store.commit_rootfs(
                    &rec.id,
                    &berth_image::CommitOptions {
                        name: reference,
                        changes,
                        message,
                        author,
                    },
                )
            } else {
                // --rootfs containers have no image below: one flattened layer.
                let tmp = e.layout.container(&rec.id).join("commit.tar");
                let exported = std::fs::File::create(&tmp)
                    .with_context(|| format!("create {}", tmp.display()))
                    .and_then(|mut f| e.export(&rec, &mut f).map_err(daemon_error));
                let r = exported.and_then(|_| {
                    let file = std::fs::File::open(&tmp)?;
                    Ok(berth_image::import(
                        &store,
                        file,
                        &berth_image::ImportOptions {
                            name: reference,
                            changes,
                            message,
                        },
                    ))
                });
                let _ = std::fs::remove_file(&tmp);
                match r {
                    Ok(r) => r,
                    Err(err) => {
                        if paused {
                            let _ = e.unpause(&rec);
                        }
                        return Err(err);
                    }
                }
            };
            if paused {
                e.unpause(&rec).map_err(daemon_error)?;
            }
            let img = res.map_err(|e| anyhow!("Error response from daemon: {e}"))?;
            println!("{}", img.id);
            Ok(0)
        }
        ContainerCore::Cp {
            archive: _,
            follow_link: _,
            src,
            dest,
        } => {
            use berth_engine::container::copy::CopyEndpoint;
            let e = Engine::open(&g.root)?;
            match (CopyEndpoint::parse(&src), CopyEndpoint::parse(&dest)) {
                (CopyEndpoint::Container { container, path }, CopyEndpoint::Host(h)) => {
                    let rec = find(&e, &container)?;
                    e.copy_from(&rec, &path, &h).map_err(daemon_error)?;
                }
                (CopyEndpoint::Host(h), CopyEndpoint::Container { container, path }) => {
                    let rec = find(&e, &container)?;
                    e.copy_to(&rec, &h, &path).map_err(daemon_error)?;
                }
                (CopyEndpoint::Container { .. }, CopyEndpoint::Container { .. }) => {
                    bail!("copying between containers is not supported")
                }
                _ => bail!("must specify at least one container source"),
            }
            Ok(0)
        }
        ContainerCore::Port {
            container,
            private_port,
        } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            let want = private_port.map(|p| {
                if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                }
            });
            let mut found = false;
            for p in e.ports(&rec) {
                let key = format!("{}/{}", p.container_port, p.protocol);
                let host = format!(
                    "{}:{}",
                    p.host_ip
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    p.host_port
                );
                match &want {
                    Some(w) if *w == key => {
                        println!("{host}");
                        found = true;
                    }
                    Some(_) => {}
                    None => println!("{key} -> {host}"),
                }
            }
            if let (Some(w), false) = (&want, found) {
                bail!("Error: No public port '{w}' published for {container}");
            }
            Ok(0)
        }
        ContainerCore::Stats {
            all,
            no_stream,
            no_trunc,
            format,
            containers,
        } => {
            // Streams a fresh table about every second until interrupted, as Docker does;
            // on a terminal each one replaces the last.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
            loop {
                if !no_stream && tty {
                    print!("\x1b[2J\x1b[H");
                }
                stats(g, all, no_trunc, format.clone(), &containers)?;
                if no_stream {
                    return Ok(0);
                }
                std::io::Write::flush(&mut std::io::stdout())?;
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        ContainerCore::Export { output, container } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            match output {
                Some(p) => {
                    let mut f = std::fs::File::create(&p)
                        .with_context(|| format!("create {}", p.display()))?;
                    e.export(&rec, &mut f).map_err(daemon_error)?;
                }
                None => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                        bail!(
                            "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                        );
                    }
                    e.export(&rec, &mut std::io::stdout().lock())
                        .map_err(daemon_error)?;
                }
            }
            Ok(0)
        }
        ContainerCore::Diff { container } => {
            let e = Engine::open(&g.root)?;
            let rec = find(&e, &container)?;
            for (k, p) in e.diff(&rec).map_err(daemon_error)? {
                println!("{k} {p}");
            }
            Ok(0)
        }
        ContainerCore::Update {
            memory,
            memory_swap,
            cpus,
            cpu_shares,
            pids_limit,
            cpuset_cpus,
            cpuset_mems,
            cpu_period,
            cpu_quota,
            memory_reservation,
            blkio_weight,
            restart,
            containers,
        } => {
            let policy = restart
                .as_deref()
                .map(berth_engine::monitor::RestartPolicy::parse)
                .transpose()
                .map_err(|m| anyhow!("Error response from daemon: {m}"))?;
            let mut res = serde_json::json!({});
            if let Some(m) = memory.as_deref() {
                let m = parse::parse_memory(m)?;
                res["memory"]["limit"] = m.into();
                if memory_swap.is_none() {
                    res["memory"]["swap"] = (m * 2).into();
                }
            }
            if let Some(s) = memory_swap.as_deref() {
                res["memory"]["swap"] = parse::parse_memory_swap(s)?.into();
            }
            if let Some(c) = cpus.as_deref() {
                let c = parse::parse_cpus(c)?;
                res["cpu"]["quota"] = ((c * 100_000.0) as i64).into();
                res["cpu"]["period"] = 100_000.into();
            }
            if let Some(sh) = cpu_shares {
                res["cpu"]["shares"] = sh.into();
            }
            if let Some(p) = pids_limit {
                res["pids"]["limit"] = (if p <= 0 { -1 } else { p }).into();
            }
            if let Some(c) = cpuset_cpus {
                res["cpu"]["cpus"] = c.into();
            }
            if let Some(m) = cpuset_mems {
                res["cpu"]["mems"] = m.into();
            }
            if let Some(p) = cpu_period {
                res["cpu"]["period"] = p.into();
            }
            if let Some(q) = cpu_quota {
                res["cpu"]["quota"] = q.into();
            }
            if let Some(r) = memory_reservation.as_deref() {
                res["memory"]["reservation"] = parse::parse_memory(r)?.into();
            }
            if let Some(w) = blkio_weight {
                if w != 0 && !(10..=1000).contains(&w) {
                    bail!("Error response from daemon: Range of blkio weight is from 10 to 1000");
                }
                res["blockIO"]["weight"] = w.into();
            }
            let has_resources = res.as_object().is_some_and(|o| !o.is_empty());
            if !has_resources && policy.is_none() {
                bail!("You must provide one or more flags when using this command.");
            }
            each(
                g,
                &containers,
                |e, rec| {
                    if has_resources {
                        e.update(rec, &res)?;
                    }
                    if let Some(p) = policy {
                        e.set_restart_policy(rec, p)?;
                    }
                    Ok(None)
                },
                true,
            )
        }
        ContainerCore::ContainerFsHelper { mode, rootfs, path } => {
            match berth_engine::container::copy::helper_main(&mode, &rootfs, &path) {
                Ok(()) => Ok(0),
                Err(e) => {
                    eprintln!("{e}");
                    Ok(1)
                }
            }
        }
        ContainerCore::ContainerCleanup { remove, id } => {
            let e = Engine::open(&g.root)?;
            let rec = e.find(&id).map_err(daemon_error)?;
            e.cleanup(&rec, remove, remove).map_err(daemon_error)?;
            Ok(0)
        }
    }
}

/// Docker prefixes engine errors this way.
fn daemon_error(e: EngineError) -> anyhow::Error {
    anyhow!("Error response from daemon: {e}")
}

fn find(e: &Engine, r: &str) -> anyhow::Result<ContainerRecord> {
    e.find(r).map_err(daemon_error)
}

/// Runs `f` for each named container; prints the name as given (Docker does) when
/// `echo`; errors are printed and make the exit status 1, the rest still run.
fn each(
    g: &Globals,
    names: &[String],
    f: impl Fn(&Engine, &ContainerRecord) -> Result<Option<i32>, EngineError>,
    echo: bool,
) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let mut code = 0;
    for n in names {
        let r = e.find(n).and_then(|rec| f(&e, &rec));
        match r {
            Ok(Some(c)) => code = c,
            Ok(None) => {
                if echo {
                    println!("{n}");
                }
            }
            Err(err) => {
                eprintln!("Error response from daemon: {err}");
                code = 1;
            }
        }
    }
    Ok(code)
}

fn duration(flag: &'static str, s: &Option<String>) -> anyhow::Result<Option<Duration>> {
    s.as_deref()
        .map(|v| parse::parse_duration(flag, v))
        .transpose()
        .map_err(Into::into)
}

fn run_options(a: &RunArgs, cmd: Vec<String>) -> anyhow::Result<RunOptions> {
    let mut o = RunOptions {
        cmd,
        ..Default::default()
    };
    for f in &a.env_file {
        o.env.extend(parse::parse_env_file(f)?);
    }
    for s in &a.env {
        if let Some(v) = parse::parse_env(s, |k| std::env::var(k).ok())? {
            o.env.push(v);
        }
    }
    o.entrypoint = a.entrypoint.as_ref().map(|e| {
        if e.is_empty() {
            Vec::new()
        } else {
            vec![e.clone()]
        }
    });
    o.workdir = a.workdir.clone();
    o.user = a.user.clone();
    o.hostname = a.hostname.clone();
    o.privileged = a.privileged;
    o.read_only = a.read_only;
    o.cap_add = a.cap_add.clone();
    o.cap_drop = a.cap_drop.clone();
    for s in &a.security_opt {
        parse::parse_security_opt(&mut o.security_opt, s)?;
    }
    for d in &a.device {
        o.devices.push(parse::parse_device(d)?);
    }
    o.memory = a.memory.as_deref().map(parse::parse_memory).transpose()?;
    o.memory_swap = a
        .memory_swap
        .as_deref()
        .map(parse::parse_memory_swap)
        .transpose()?;
    o.cpus = a.cpus.as_deref().map(parse::parse_cpus).transpose()?;
    o.cpu_shares = a.cpu_shares;
    o.cpuset_cpus = a.cpuset_cpus.clone();
    o.pids_limit = a.pids_limit;
    for u in &a.ulimit {
        o.ulimits.push(parse::parse_ulimit(u)?);
    }
    o.shm_size = a
        .shm_size
        .as_deref()
        .map(parse::parse_shm_size)
        .transpose()?;
    for t in &a.tmpfs {
        o.tmpfs.push(parse::parse_tmpfs(t)?);
    }
    for s in &a.sysctl {
        let (k, v) = parse::parse_sysctl(s)?;
        o.sysctls.insert(k, v);
    }
    o.init = a.init;
    o.tty = a.tty;
    o.interactive = a.interactive;
    o.stop_signal = a.stop_signal.clone();
    o.stop_timeout = a.stop_timeout;
    o.labels = parse::parse_labels(a.label.iter().map(String::as_str))?;
    o.health.cmd = a.health_cmd.clone();
    o.health.interval = duration("--health-interval", &a.health_interval)?;
    o.health.timeout = duration("--health-timeout", &a.health_timeout)?;
    o.health.start_period = duration("--health-start-period", &a.health_start_period)?;
    o.health.retries = a.health_retries;
    o.health.no_healthcheck = a.no_healthcheck;
    Ok(o)
}

/// The image for `run`/`create`, from the image store.
fn resolve_image(g: &Globals, name: &str, pull: &str) -> anyhow::Result<ImageInfo> {
    let store = berth_image::Store::open(&g.root)?;
    if !matches!(pull, "missing" | "never" | "always") {
        bail!("invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"");
    }
    let found = if pull == "always" {
        None
    } else {
        match store.resolve(name) {
            Ok(r) => Some(r),
            Err(berth_image::ImageError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let rec = match found {
        Some(r) => r,
        None => {
            if pull != "always" {
                eprintln!("Unable to find image '{}' locally", familiar(name));
            }
            if pull == "never" {
                bail!(
                    "Error response from daemon: No such image: {}",
                    familiar(name)
                );
            }
            pull_image(g, &store, name)?;
            store.resolve(name)?
        }
    };
    let config = store.config(&rec)?;
    let raw_config = store.read_blob(&rec.id).unwrap_or_default();
    Ok(ImageInfo {
        reference: name.to_string(),
        id: rec.id.to_string(),
        config,
        record: Some(rec),
        raw_config,
    })
}

/// `run --pull`: fetches the image from its registry (progress on stderr).
fn pull_image(g: &Globals, store: &berth_image::Store, name: &str) -> anyhow::Result<()> {
    use berth_image::registry::{self, DockerConfig, ProgressMode, PullOptions, RegistriesConfig};
    let reference = berth_image::reference::Reference::parse(name)
        .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
    let opts = PullOptions {
        progress: ProgressMode::Auto,
        registries: RegistriesConfig::load(&RegistriesConfig::default_path(&g.root))?,
        docker_config: DockerConfig::default_location().ok(),
        ..Default::default()
    };
    let store = std::sync::Arc::new(berth_image::Store::open(store.root())?);
    let out = registry::pull(store, &reference, &opts)
        .map_err(|e| anyhow!("Error response from daemon: {e}"))?;
    eprintln!("Digest: {}", out.repo_digest);
    eprintln!(
        "Status: Downloaded newer image for {}",
        reference.familiar()
    );
    Ok(())
}

/// `busybox` → `busybox:latest` as Docker prints it in "Unable to find image".
fn familiar(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn run_container(a: RunArgs, g: &Globals, start: bool) -> anyhow::Result<i32> {
    let mut it = a.image_and_command.clone().into_iter();
    let image = it.next().context("image name missing")?;
    let cmd: Vec<String> = it.collect();
    if a.rm && !matches!(a.restart.as_str(), "no" | "") {
        bail!("Conflicting options: --restart and --rm");
    }
    let restart = RestartPolicy::parse(&a.restart).map_err(|e| anyhow!(e))?;
    let options = run_options(&a, cmd)?;
    let mut log_opts = BTreeMap::new();
    for o in &a.log_opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid --log-opt {o:?}: expected KEY=VALUE"))?;
        log_opts.insert(k.to_string(), v.to_string());
    }
    let (image_info, rootfs_dir) = if a.rootfs {
        let d = std::fs::canonicalize(&image)
            .with_context(|| format!("--rootfs {image}: no such directory"))?;
        (None, Some(d))
    } else {
        (Some(resolve_image(g, &image, &a.pull)?), None)
    };
    let mut mounts = Vec::new();
    for v in &a.volume {
        mounts.push(berth_engine::volume::parse_volume_flag(v)?);
    }
    for m in &a.mount {
        mounts.push(berth_engine::volume::parse_mount_flag(m)?);
    }
    let engine = Engine::open(&g.root)?;
    let req = CreateRequest {
        name: a.name.clone(),
        image: image_info,
        rootfs_dir,
        options,
        restart,
        auto_remove: a.rm,
        runtime: a.runtime.clone(),
        log_opts,
        network: a.network.clone().unwrap_or_default(),
        publish: a.publish.clone(),
        publish_all: a.publish_all,
        network_aliases: a.network_alias.clone(),
        dns: a.dns.clone(),
        add_hosts: a.add_host.clone(),
        mounts,
    };
    let rec = engine.create(req).map_err(daemon_error)?;
    if !start {
        println!("{}", rec.id);
        return Ok(0);
    }
    match engine.start(&rec, !a.detach) {
        Ok(None) => {
            println!("{}", rec.id);
            Ok(0)
        }
        Ok(Some(mut child)) => {
            berth_engine::container::ignore_terminal_signals();
            let st = child.wait().context("wait for berth-monitor")?;
            Ok(st.code().unwrap_or(125))
        }
        Err(e) => {
            let code = e.exit_code();
            eprintln!("berth: Error response from daemon: {e}");
            if a.rm {
                let _ = engine.remove(&rec, true, true);
            }
            Ok(code)
        }
    }
}

/// `--filter` for ps.
fn ps_filter(
    f: &[(String, String)],
    rec: &ContainerRecord,
    status: Status,
    exit_code: i32,
) -> bool {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in f {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    by_key.iter().all(|(k, vals)| {
        vals.iter().any(|v| match *k {
            "status" => status.as_str() == *v,
            "name" => rec.name.contains(v.trim_start_matches('/')),
            "id" => rec.id.starts_with(v),
            "ancestor" => rec.image == *v || rec.image_id.contains(v),
            "exited" => status == Status::Exited && v.parse() == Ok(exit_code),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => rec.config.labels.get(lk).is_some_and(|x| x == lv),
                None => rec.config.labels.contains_key(*v),
            },
            _ => false,
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn ps(
    g: &Globals,
    all: bool,
    quiet: bool,
    no_trunc: bool,
    latest: bool,
    last: Option<usize>,
    format: Option<String>,
    filter: Vec<String>,
) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let mut filters = Vec::new();
    for f in &filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("bad format of filter (expected name=value)"))?;
        if !["status", "name", "label", "id", "ancestor", "exited"].contains(&k) {
            bail!("Error response from daemon: invalid filter '{k}'");
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let show_all = all
        || latest
        || last.is_some()
        || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    let mut rows = Vec::new();
    for rec in e.db.list()? {
        let st = e.live_state(&rec);
        let running = matches!(
            st.status,
            Status::Running | Status::Paused | Status::Restarting
        );
        if !show_all && !running {
            continue;
        }
        if !ps_filter(&filters, &rec, st.status, st.exit_code) {
            continue;
        }
        rows.push(e.ps_row(&rec, &st, no_trunc));
    }
    if latest {
        rows.truncate(1);
    }
    if let Some(n) = last {
        rows.truncate(n);
    }
    if quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(0);
    }
    let fmt = match format.as_deref() {
        None | Some("table") => {
            "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
                .to_string()
        }
        Some(f) => f.to_string(),
    };
    let out = berth_template::render_rows(&fmt, &rows, &|f| match f {
        "ID" => Some("CONTAINER ID".into()),
        "RunningFor" => Some("CREATED".into()),
        _ => None,
    })?;
    print!("{out}");
    Ok(0)
}

fn logs(
    g: &Globals,
    container: &str,
    follow: bool,
    tail: &str,
    timestamps: bool,
    since: Option<String>,
    until: Option<String>,
) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let rec = find(&e, container)?;
    let since = since
        .as_deref()
        .map(berth_engine::logs::parse_time_bound)
        .transpose()?;
    let until = until
        .as_deref()
        .map(berth_engine::logs::parse_time_bound)
        .transpose()?;
    let path = e.layout.log(&rec.id);
    let mut offset = reader::current_len(&path);
    let mut recs = reader::read_all(&path)?;
    recs.retain(|r| {
        since.as_ref().is_none_or(|s| r.time.as_str() >= s.as_str())
            && until.as_ref().is_none_or(|u| r.time.as_str() <= u.as_str())
    });
    if tail != "all" {
        let n: usize = tail
            .parse()
            .map_err(|_| anyhow!("invalid value for --tail: {tail:?}"))?;
        let skip = recs.len().saturating_sub(n);
        recs.drain(..skip);
    }
    let emit = |r: &reader::LogRecord| {
        let line = if timestamps {
            format!("{} {}", r.time, r.log)
        } else {
            r.log.clone()
        };
        if r.stream == "stderr" {
            let mut o = std::io::stderr().lock();
            let _ = o.write_all(line.as_bytes());
        } else {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(line.as_bytes()).and_then(|_| o.flush());
        }
    };
    recs.iter().for_each(emit);
    if !follow || until.is_some() {
        return Ok(0);
    }
    loop {
        let (new, off) = reader::read_from(&path, offset)?;
        offset = off;
        new.iter().for_each(emit);
        if new.is_empty() {
            let st = e.live_state(&rec);
            let monitor = berth_engine::state::status::monitor_alive(&st);
            if !st.status.is_live() && !monitor {
                let (rest, _) = reader::read_from(&path, offset)?;
                rest.iter().for_each(emit);
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Docker's `top`: the host's `ps` (default `-ef`), keeping the header and the rows of
/// the container's processes (matched on the PID column).
fn top_with_ps(pids: &[i32], args: &[String]) -> anyhow::Result<Option<String>> {
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let o = match std::process::Command::new("ps").args(&args).output() {
        Ok(o) => o,
        Err(_) => return Ok(None), // no ps on this host
    };
    if !o.status.success() {
        bail!(
            "Error response from daemon: ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("Error response from daemon: Couldn't find PID field in ps output");
    };
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(Some(out))
}

fn top(g: &Globals, container: &str, ps_args: &[String]) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let rec = find(&e, container)?;
    let st = e.live_state(&rec);
    if !matches!(st.status, Status::Running | Status::Paused) {
        bail!(
            "Error response from daemon: container {} is not running",
            rec.id
        );
    }
    let pids = e.runtime_for(&rec).pids(&rec.id).map_err(daemon_error)?;
    if let Some(out) = top_with_ps(&pids, ps_args)? {
        print!("{out}");
        return Ok(0);
    }
    let mut out = String::from("UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD\n");
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |k: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
                .unwrap_or_default()
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{}\t{pid}\t{}\t0\t-\t?\t-\t{cmd}\n",
            field("Uid:"),
            field("PPid:")
        ));
    }
    for line in out.lines() {
        println!("{}", line.split('\t').collect::<Vec<_>>().join("    "));
    }
    Ok(0)
}

fn inspect(g: &Globals, format: Option<String>, names: &[String]) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let mut vals = Vec::new();
    let mut code = 0;
    for n in names {
        match e.find(n) {
            Ok(rec) => vals.push(e.inspect(&rec)),
            Err(_) => {
                eprintln!("Error: No such object: {n}");
                code = 1;
            }
        }
    }
    match format {
        Some(f) => {
            for v in &vals {
                println!("{}", berth_template::render(&f, v)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&vals)?),
    }
    Ok(code)
}

/// `container prune`: removes every container that is not running.
fn prune(g: &Globals) -> anyhow::Result<i32> {
    let e = Engine::open(&g.root)?;
    let mut removed = Vec::new();
    let mut reclaimed = 0u64;
    for rec in e.db.list()? {
        let st = e.live_state(&rec);
        if matches!(st.status, Status::Created | Status::Exited | Status::Dead) {
            let size = e.rw_size(&rec);
            match e.remove(&rec, false, false) {
                Ok(()) => {
                    removed.push(rec.id.clone());
                    reclaimed += size;
                }
                Err(err) => eprintln!("Error response from daemon: {err}"),
            }
        }
    }
    if !removed.is_empty() {
        println!("Deleted Containers:");
        for id in &removed {
            println!("{id}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        berth_engine::container::stats::human_bytes(reclaimed, false)
    );
    Ok(0)
}

/// `stats --no-stream`: one sample per container (CPU % over a short interval).
fn stats(
    g: &Globals,
    all: bool,
    no_trunc: bool,
    format: Option<String>,
    names: &[String],
) -> anyhow::Result<i32> {
    use berth_engine::container::stats::human_bytes;
    let e = Engine::open(&g.root)?;
    let recs: Vec<ContainerRecord> = if names.is_empty() {
        e.db.list()?
            .into_iter()
            .filter(|r| all || e.live_state(r).status == Status::Running)
            .collect()
    } else {
        names
            .iter()
            .map(|n| find(&e, n))
            .collect::<anyhow::Result<_>>()?
    };
    let first: Vec<_> = recs.iter().map(|r| e.sample(r)).collect();
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let dt = t0.elapsed().as_nanos() as f64;
    let mut rows = Vec::new();
    for (r, a) in recs.iter().zip(first) {
        let b = e.sample(r);
        let cpu = (b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / dt * 100.0;
        let mem_pct = if b.mem_limit > 0 {
            b.mem_usage as f64 / b.mem_limit as f64 * 100.0
        } else {
            0.0
        };
        rows.push(serde_json::json!({
            "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
            "Container": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
            "Name": r.name,
            "CPUPerc": format!("{cpu:.2}%"),
            "MemUsage": format!("{} / {}", human_bytes(b.mem_usage, true), human_bytes(b.mem_limit, true)),
            "MemPerc": format!("{mem_pct:.2}%"),
            "NetIO": format!("{} / {}", human_bytes(b.net_rx, false), human_bytes(b.net_tx, false)),
            "BlockIO": format!("{} / {}", human_bytes(b.blk_read, false), human_bytes(b.blk_write, false)),
            "PIDs": b.pids.to_string(),
        }));
    }
    let fmt = format.unwrap_or_else(|| {
        "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}".into()
    });
    let out = berth_template::render_rows(&fmt, &rows, &|f| match f {
        "ID" => Some("CONTAINER ID".into()),
        "CPUPerc" => Some("CPU %".into()),
        "MemUsage" => Some("MEM USAGE / LIMIT".into()),
        "MemPerc" => Some("MEM %".into()),
        "NetIO" => Some("NET I/O".into()),
        "BlockIO" => Some("BLOCK I/O".into()),
        "PIDs" => Some("PIDS".into()),
        _ => None,
    })?;
    print!("{out}");
    Ok(0)
}
