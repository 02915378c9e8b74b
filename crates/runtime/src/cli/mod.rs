//! `berth-oci`'s command line: runc's, flag for flag (global flags before the command).

mod commands;
mod log;
mod spec_cmd;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use log::Logger;

#[derive(Parser, Debug)]
#[command(
    name = "berth-oci",
    version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0"),
    about = "Berth's OCI runtime: runs containers from OCI bundles (runc's command line)",
    disable_version_flag = true
)]
pub struct Cli {
    /// root directory for storage of container state (this should be located in tmpfs)
    #[arg(long, default_value = "/run/berth-oci", value_name = "DIR")]
    pub root: PathBuf,
    /// set the log file to write berth-oci logs to (default is stderr)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// accepted for compatibility; without systemd, cgroupfs is used
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, value_name = "VALUE", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// path to the criu binary (accepted for compatibility; checkpoint is not supported)
    #[arg(long, hide = true)]
    pub criu: Option<String>,
    /// print the version
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct CreateArgs {
    /// path to the root of the bundle directory, defaults to the current directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// container id
    pub id: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// create a container
    Create(CreateArgs),
    /// executes the user defined process in a created container
    Start {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// create and run a container
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// detach from the container's process
        #[arg(short = 'd', long)]
        detach: bool,
        /// do not delete the container after it exits
        #[arg(long)]
        keep: bool,
        /// accepted for compatibility (berth-oci is always a subreaper while it waits)
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
    },
    /// output the state of a container
    State { id: String },
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill {
        /// send the specified signal to all processes inside the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// delete any resources held by the container often used with detached container
    Delete {
        /// Forcibly deletes the container if it is still running (uses SIGKILL)
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// execute new process inside the container
    Exec(Box<ExecArgs>),
    /// ps displays the processes running inside a container
    Ps {
        /// select one of: table or json
        #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        id: String,
        /// options passed to ps (table format)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// lists containers started by berth-oci with the given root
    List {
        /// select one of: table or json
        #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// display only container IDs
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// pause suspends all processes inside the container
    Pause { id: String },
    /// resumes all processes that have been previously paused
    Resume { id: String },
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events {
        /// set the stats collection interval
        #[arg(long, default_value = "5s")]
        interval: String,
        /// display the container's stats then exit
        #[arg(long)]
        stats: bool,
        id: String,
    },
    /// update container resource constraints
    Update(Box<UpdateArgs>),
    /// show the enabled features
    Features,
    /// create a new specification file
    Spec {
        /// path to the root of the bundle directory
        #[arg(short = 'b', long)]
        bundle: Option<PathBuf>,
        /// generate a configuration for a rootless container
        #[arg(long)]
        rootless: bool,
    },
    /// checkpoint a running container (not supported yet)
    Checkpoint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// restore a container from a previous checkpoint (not supported yet)
    Restore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// path to the process.json
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// add a capability to the bounding set for the process
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// run the process in an (existing) sub-cgroup(s) (accepted; the container's cgroup is used)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// container id
    pub id: String,
    /// command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(short = 'r', long)]
    pub resources: Option<String>,
    /// Specifies per cgroup weight, range is from 10 to 1000
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period to be used for hardcapping (in usecs)
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit (in usecs)
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU(s) to use
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory node(s) to use
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (in bytes)
    #[arg(long)]
    pub memory: Option<String>,
    /// Memory reservation or soft_limit (in bytes)
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Total memory usage (memory + swap); set '-1' to enable unlimited swap
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    /// Maximum number of pids allowed in the container
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    /// The string of Intel RDT/CAT L3 cache schema (not supported)
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// The string of Intel RDT/MBA memory bandwidth schema (not supported)
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
    /// container id
    pub id: String,
}

/// Entry point of the binary: returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let logger = Logger::new(cli.log.as_deref(), &cli.log_format, cli.debug);
    match commands::dispatch(&cli, &logger) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&e.to_string());
            1
        }
    }
}
