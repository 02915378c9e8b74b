//! `exec`: another process in a running container, through `<runtime> exec`.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::state::status::{LiveState, Status};
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
        self.check_executable(rec, &st, req)?;
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

    /// Docker's exit codes for an exec that cannot start: 127 when the command is not
    /// found, 126 when it is not executable. Looked up in the container's own mount
    /// namespace (/proc/PID/root: volumes included), confined to it.
    fn check_executable(
        &self,
        rec: &ContainerRecord,
        st: &LiveState,
        req: &ExecRequest,
    ) -> Result<()> {
        let root = std::path::PathBuf::from(format!("/proc/{}/root", st.pid));
        let cmd = &req.cmd[0];
        let env_path = req
            .env
            .iter()
            .rev()
            .chain(rec.config.env.iter().rev())
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .to_string();
        let workdir = req
            .workdir
            .clone()
            .filter(|w| !w.is_empty())
            .or_else(|| Some(rec.config.working_dir.clone()).filter(|w| !w.is_empty()))
            .unwrap_or_else(|| "/".into());
        let candidates: Vec<String> = if cmd.contains('/') {
            vec![if cmd.starts_with('/') {
                cmd.clone()
            } else {
                format!("{}/{cmd}", workdir.trim_end_matches('/'))
            }]
        } else {
            env_path
                .split(':')
                .filter(|d| !d.is_empty())
                .map(|d| format!("{}/{cmd}", d.trim_end_matches('/')))
                .collect()
        };
        let mut denied = false;
        for c in &candidates {
            // An unreadable /proc/PID/root (the process just ended) is left to the runtime.
            let Ok(mode) = crate::spec::in_root::mode_of(&root, c) else {
                return Ok(());
            };
            match mode {
                Some(m) if m & libc::S_IFMT == libc::S_IFREG && m & 0o111 != 0 => return Ok(()),
                Some(_) => denied = true,
                None => {}
            }
        }
        let (code, why) = if denied {
            (126, "permission denied")
        } else if cmd.contains('/') {
            (127, "no such file or directory")
        } else {
            (127, "executable file not found in $PATH")
        };
        Err(EngineError::Start {
            msg: format!("exec: \"{cmd}\": {why}"),
            code,
        })
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
