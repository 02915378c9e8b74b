//! `exec`: another process in a running container, through `<runtime> exec`.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::state::status::Status;
use crate::state::ContainerRecord;
use std::process::Stdio;

#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub detach: bool,
}

impl Engine {
    /// Runs the process with our stdio; returns its exit code.
    pub fn exec(&self, rec: &ContainerRecord, req: &ExecRequest) -> Result<i32> {
        let st = self.live_state(rec);
        match st.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    rec.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    rec.id
                )))
            }
        }
        if req.cmd.is_empty() {
            return Err(EngineError::Invalid("No exec command specified".into()));
        }
        let mut c = self.runtime_for(rec).command();
        c.arg("exec");
        if req.tty {
            c.arg("--tty");
        }
        if req.detach {
            c.arg("--detach");
        }
        for e in &req.env {
            c.arg("--env").arg(e);
        }
        if let Some(w) = &req.workdir {
            c.arg("--cwd").arg(w);
        }
        if let Some(u) = &req.user {
            c.arg("--user").arg(self.numeric_user(rec, u)?);
        }
        c.arg(&rec.id).args(&req.cmd);
        if !req.interactive && !req.tty {
            c.stdin(Stdio::null());
        }
        if req.detach {
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        let status = c
            .status()
            .map_err(|e| EngineError::io(format!("run {}", rec.config.runtime.display()), e))?;
        Ok(status.code().unwrap_or(126))
    }

    /// `-u name[:group]` → `uid:gid` using the container's /etc/passwd and /etc/group.
    fn numeric_user(&self, rec: &ContainerRecord, user: &str) -> Result<String> {
        let (u, g) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user, None),
        };
        if u.parse::<u32>().is_ok() && g.is_none_or(|g| g.parse::<u32>().is_ok()) {
            return Ok(user.to_string());
        }
        let rootfs = self.rootfs_path(rec)?;
        let field = |file: &str, name: &str, idx: usize| -> Option<String> {
            std::fs::read_to_string(rootfs.join(file))
                .ok()?
                .lines()
                .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
                .find(|f| f.first().map(String::as_str) == Some(name))
                .and_then(|f| f.get(idx).cloned())
        };
        let uid = match u.parse::<u32>() {
            Ok(n) => n.to_string(),
            Err(_) => field("etc/passwd", u, 2).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "unable to find user {u}: no matching entries in passwd file"
                ))
            })?,
        };
        let gid = match g {
            None => field("etc/passwd", u, 3).unwrap_or_else(|| "0".into()),
            Some(g) if g.parse::<u32>().is_ok() => g.to_string(),
            Some(g) => field("etc/group", g, 2).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "unable to find group {g}: no matching entries in group file"
                ))
            })?,
        };
        Ok(format!("{uid}:{gid}"))
    }
}
