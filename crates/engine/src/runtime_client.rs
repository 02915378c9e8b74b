//! An OCI runtime driven as a binary with runc's command line, so any runtime works
//! (berth-oci by default, runc, crun, or a path).

use crate::error::{EngineError, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Default runtime binary name.
pub const DEFAULT_RUNTIME: &str = "berth-oci";

/// Finds a runtime: a path as given; a bare name next to the running executable first
/// (berth-oci ships beside berth), then on PATH.
pub fn resolve_runtime(name: &str) -> Result<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(EngineError::Invalid(format!(
                "runtime {name:?}: no such file"
            )))
        };
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    for dir in
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
    {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(EngineError::Invalid(format!(
        "unknown or invalid runtime name: {name}"
    )))
}

/// A runtime binary and the state root it keeps its containers under.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub binary: PathBuf,
    pub root: PathBuf,
}

impl Runtime {
    pub fn new(binary: PathBuf, root: PathBuf) -> Self {
        Runtime { binary, root }
    }

    /// A command for the runtime with `--root` set.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root").arg(&self.root);
        c
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| EngineError::io(format!("run {}", self.binary.display()), e))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(EngineError::Runtime(format!(
                "{} {}: {}",
                self.binary.display(),
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// `kill ID SIGNAL` (`--all` for every process in the container).
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<()> {
        let mut args = vec!["kill"];
        if all {
            args.push("--all");
        }
        args.extend([id, signal]);
        self.run(&args).map(|_| ())
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        if force {
            self.run(&["delete", "--force", id]).map(|_| ())
        } else {
            self.run(&["delete", id]).map(|_| ())
        }
    }

    /// The runtime-spec state JSON.
    pub fn state(&self, id: &str) -> Result<serde_json::Value> {
        let s = self.run(&["state", id])?;
        serde_json::from_str(&s).map_err(|e| EngineError::Runtime(format!("state {id}: {e}")))
    }

    pub fn pause(&self, id: &str) -> Result<()> {
        self.run(&["pause", id]).map(|_| ())
    }

    pub fn resume(&self, id: &str) -> Result<()> {
        self.run(&["resume", id]).map(|_| ())
    }

    /// Host pids of the container's processes (`ps --format json`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let s = self.run(&["ps", "--format", "json", id])?;
        serde_json::from_str(&s).map_err(|e| EngineError::Runtime(format!("ps {id}: {e}")))
    }

    /// `update --resources FILE` with an OCI LinuxResources JSON.
    pub fn update(&self, id: &str, resources: &serde_json::Value, dir: &Path) -> Result<()> {
        let f = dir.join("update-resources.json");
        std::fs::write(&f, resources.to_string())
            .map_err(|e| EngineError::io(format!("write {}", f.display()), e))?;
        let r = self.run(&["update", "--resources", &f.to_string_lossy(), id]);
        let _ = std::fs::remove_file(&f);
        r.map(|_| ())
    }
}
