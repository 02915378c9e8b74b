//! The command and environment Docker records for a container (`Path`, `Args`,
//! `Config.Env`); the OCI spec itself comes from `crate::spec::build`.

use crate::error::{EngineError, Result};
use crate::spec::RunOptions;
use oci_spec::image::ImageConfiguration;

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
