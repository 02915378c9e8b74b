//! `berth`: the Docker-compatible command line, daemonless.
//!
//! Each command group lives in its own module with its own clap enum, flattened here,
//! so that image, container, network and volume commands evolve independently.

mod container_cmd;
mod image_cmd;
mod network_cmd;
mod registry_cmd;
mod system_cmd;
mod volume_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Options every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Data root: image store, state database, container files.
    #[arg(
        long,
        global = true,
        env = "BERTH_ROOT",
        default_value = "/var/lib/berth"
    )]
    pub root: PathBuf,
    /// Verbose logging (same as --log-level debug).
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
}

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Berth: Linux containers, daemonless, on open standards"
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Image(image_cmd::ImageCommand),
    #[command(flatten)]
    Registry(registry_cmd::RegistryCommand),
    #[command(flatten)]
    Container(container_cmd::ContainerCommand),
    #[command(flatten)]
    Network(network_cmd::NetworkCommand),
    #[command(flatten)]
    Volume(volume_cmd::VolumeCommand),
    #[command(flatten)]
    System(system_cmd::SystemCommand),
}

fn main() {
    let cli = Cli::parse();
    let level = if cli.globals.debug {
        "debug"
    } else {
        cli.globals.log_level.as_str()
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "berth={level},berth_image={level},berth_engine={level}"
        )))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Image(c) => image_cmd::run(c, &cli.globals),
        Command::Registry(c) => registry_cmd::run(c, &cli.globals),
        Command::Container(c) => container_cmd::run(c, &cli.globals),
        Command::Network(c) => network_cmd::run(c, &cli.globals),
        Command::Volume(c) => volume_cmd::run(c, &cli.globals),
        Command::System(c) => system_cmd::run(c, &cli.globals),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("{}", error_line(&e));
            std::process::exit(125);
        }
    }
}

/// Docker's wording: what the engine refused is an "Error response from daemon" (said
/// once, however the error was wrapped); the CLI's own errors are "Error: ...".
fn error_line(e: &anyhow::Error) -> String {
    let msg = format!("{e:#}");
    let from_engine = e.chain().any(|c| {
        c.is::<berth_engine::EngineError>()
            || c.is::<berth_engine::network::NetworkError>()
            || c.is::<berth_engine::volume::VolumeError>()
    });
    if msg.starts_with("Error response from daemon") || msg.starts_with("berth: ") {
        msg
    } else if from_engine {
        format!("Error response from daemon: {msg}")
    } else {
        format!("Error: {msg}")
    }
}
