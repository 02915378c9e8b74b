//! Resolving the program inside the container (PATH lookup as execvp does) and execve.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{msg, Result};
use crate::sys;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A program ready to execve: resolved path, argv and envp as C strings.
pub struct Executable {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn cstr(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| msg(format!("{what}: contains a NUL byte")))
}

impl Executable {
    /// Resolves `args[0]` in the current root (call after pivot_root and chdir to cwd).
    pub fn resolve(args: &[String], env: &[String]) -> Result<Self> {
        let name = args
            .first()
            .ok_or_else(|| msg("process.args: must not be empty"))?;
        let path: PathBuf = if name.contains('/') {
            if !Path::new(name).exists() {
                return Err(msg(format!(
                    "exec: {name:?}: stat {name}: no such file or directory"
                )));
            }
            PathBuf::from(name)
        } else {
            let search = env
                .iter()
                .rev()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or(DEFAULT_PATH);
            search
                .split(':')
                .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(name))
                .find(|p| is_executable(p))
                .ok_or_else(|| {
                    msg(format!(
                        "exec: {name:?}: executable file not found in $PATH"
                    ))
                })?
        };
        Ok(Self {
            path: CString::new(path.as_os_str().as_bytes())
                .map_err(|_| msg("process.args[0]: contains a NUL byte"))?,
            argv: args
                .iter()
                .enumerate()
                .map(|(i, a)| cstr(a, &format!("process.args[{i}]")))
                .collect::<Result<_>>()?,
            envp: env
                .iter()
                .enumerate()
                .map(|(i, e)| cstr(e, &format!("process.env[{i}]")))
                .collect::<Result<_>>()?,
        })
    }

    /// execve; returns the error only if it fails.
    pub fn exec(&self) -> crate::error::Error {
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.envp.iter().map(|a| a.as_ptr()).collect();
        envp.push(std::ptr::null());
        let errno = sys::execve(&self.path, &argv, &envp);
        msg(format!(
            "exec {:?}: {}",
            self.path.to_string_lossy(),
            errno.desc()
        ))
    }
}

/// process.env with HOME added when missing (as runc does), using /etc/passwd of the
/// container if it names the user.
pub fn env_with_home(env: &[String], uid: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|p| {
                p.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
                })
            })
            .unwrap_or_else(|| "/".to_string());
        env.push(format!("HOME={home}"));
    }
    env
}
