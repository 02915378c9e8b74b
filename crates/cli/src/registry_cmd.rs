//! `berth` registry commands: pull, push, login, logout — Docker's wording and exit codes.
//!
//! Registries config: `<root>/registries.json` (mirrors, insecure registries), plus
//! `--insecure-registry HOST` on each command. Credentials: Docker's
//! `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`).

use crate::Globals;
use anyhow::Context;
use berth_image::reference::Reference;
use berth_image::registry::sources::BlobSources;
use berth_image::registry::{
    self, credentials, Credentials, DockerConfig, Platform, ProgressMode, PullOptions, PushOptions,
    RegistriesConfig,
};
use berth_image::Store;
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Log in to a registry
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct RegistryFlags {
    /// Talk plain HTTP to this registry (host[:port] or CIDR); repeatable.
    /// 127.0.0.0/8 and localhost always are.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    insecure: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    platform: Option<String>,
    #[command(flatten)]
    flags: RegistryFlags,
    /// Image: NAME[:TAG|@DIGEST]
    name: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    flags: RegistryFlags,
    /// Image: NAME[:TAG]
    name: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password
    #[arg(short, long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    flags: RegistryFlags,
    /// Registry server (default: Docker Hub)
    server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry server (default: Docker Hub)
    server: Option<String>,
}

pub fn run(cmd: RegistryCommand, g: &Globals) -> anyhow::Result<i32> {
    match cmd {
        RegistryCommand::Pull(a) => pull(a, g),
        RegistryCommand::Push(a) => push(a, g),
        RegistryCommand::Login(a) => login(a, g),
        RegistryCommand::Logout(a) => logout(a),
    }
}

fn registries(g: &Globals, flags: &RegistryFlags) -> anyhow::Result<RegistriesConfig> {
    Ok(
        RegistriesConfig::load(&RegistriesConfig::default_path(&g.root))?
            .with_insecure(flags.insecure.iter().cloned()),
    )
}

/// Docker prints registry failures as `Error response from daemon: …` and exits 1.
fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("Error response from daemon: {e}");
    1
}

fn pull(a: PullArgs, g: &Globals) -> anyhow::Result<i32> {
    let reference = match Reference::parse(&a.name) {
        Ok(r) => r,
        Err(e) => return Ok(fail(e)),
    };
    let platform = match a.platform.as_deref().map(Platform::parse).transpose() {
        Ok(p) => p,
        Err(e) => return Ok(fail(e)),
    };
    let store =
        Arc::new(Store::open(&g.root).with_context(|| format!("open store {}", g.root.display()))?);
    let opts = PullOptions {
        platform,
        progress: if a.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        registries: registries(g, &a.flags)?,
        docker_config: Some(DockerConfig::default_location()?),
        sources: Some(BlobSources::under(&g.root)),
        ..Default::default()
    };
    let implied_tag = reference.digest().is_none() && !name_has_tag(&a.name);
    if implied_tag && !a.quiet {
        println!("Using default tag: {}", berth_image::reference::DEFAULT_TAG);
    }
    match registry::pull(store, &reference, &opts) {
        Ok(out) => {
            if !a.quiet {
                println!("Digest: {}", out.repo_digest);
                let status = if out.up_to_date {
                    "Image is up to date for"
                } else {
                    "Downloaded newer image for"
                };
                println!("Status: {status} {}", reference.familiar());
            }
            println!("{reference}");
            Ok(0)
        }
        Err(e) => Ok(fail(e)),
    }
}

/// Whether the last path component carries `:tag` (a port is in the first component).
fn name_has_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split('@').next().unwrap_or(last).contains(':')
}

fn push(a: PushArgs, g: &Globals) -> anyhow::Result<i32> {
    let reference = match Reference::parse(&a.name) {
        Ok(r) => r,
        Err(e) => return Ok(fail(e)),
    };
    if reference.digest().is_some() {
        return Ok(fail(format!(
            "cannot push a digest reference {}: tag the image and push the tag",
            a.name
        )));
    }
    let store =
        Arc::new(Store::open(&g.root).with_context(|| format!("open store {}", g.root.display()))?);
    if let Err(e) = store.resolve(&a.name) {
        // Docker: `An image does not exist locally with the tag: NAME`
        tracing::debug!("resolve {}: {e}", a.name);
        eprintln!(
            "Error response from daemon: An image does not exist locally with the tag: {}",
            reference.familiar_name()
        );
        return Ok(1);
    }
    let opts = PushOptions {
        progress: if a.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        registries: registries(g, &a.flags)?,
        docker_config: Some(DockerConfig::default_location()?),
        sources: Some(BlobSources::under(&g.root)),
    };
    match registry::push(store, &a.name, &reference, &opts) {
        Ok(out) => {
            if a.quiet {
                println!("{reference}");
            }
            tracing::debug!(
                "pushed {}: {} uploaded, {} mounted, {} already there",
                out.digest,
                out.uploaded,
                out.mounted,
                out.skipped
            );
            Ok(0)
        }
        Err(e) => Ok(fail(e)),
    }
}

fn server_or_hub(s: Option<String>) -> String {
    s.unwrap_or_else(|| "docker.io".to_string())
}

fn login(a: LoginArgs, g: &Globals) -> anyhow::Result<i32> {
    let server = server_or_hub(a.server);
    let stdin = std::io::stdin();
    let username = match a.username {
        Some(u) => u,
        None => {
            print!("Username: ");
            std::io::stdout().flush()?;
            let mut u = String::new();
            stdin.lock().read_line(&mut u)?;
            u.trim().to_string()
        }
    };
    let password = if a.password_stdin {
        let mut p = String::new();
        stdin.lock().read_line(&mut p)?;
        p.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = a.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else {
        if stdin.is_terminal() {
            eprintln!("(the password will be echoed; use --password-stdin to avoid it)");
        }
        print!("Password: ");
        std::io::stdout().flush()?;
        let mut p = String::new();
        stdin.lock().read_line(&mut p)?;
        p.trim_end_matches(['\n', '\r']).to_string()
    };
    if username.is_empty() {
        eprintln!("Error: Cannot perform an interactive login from a non TTY device");
        return Ok(1);
    }
    if password.is_empty() {
        eprintln!("Error: Password Required");
        return Ok(1);
    }
    let creds = Credentials { username, password };
    let config = registries(g, &a.flags)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Err(e) = rt.block_on(registry::login::check_credentials(&server, &config, &creds)) {
        return Ok(fail(format!("login to {server}: {e}")));
    }
    let dc = DockerConfig::default_location()?;
    dc.store(&server, &creds)?;
    println!("Login Succeeded");
    Ok(0)
}

fn logout(a: LogoutArgs) -> anyhow::Result<i32> {
    let server = server_or_hub(a.server);
    let dc = DockerConfig::default_location()?;
    let key = credentials::auth_key(&server);
    if dc.remove(&server)? {
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(0)
}
