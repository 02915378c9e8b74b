//! Which namespaces a container gets: new ones (clone flags) and joined ones (by path),
//! and the order they must be entered in.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Error, Result};
use crate::sys;

pub fn flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// The /proc/<pid>/ns/ name of a namespace type.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

pub const ALL: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Time,
];

/// Namespaces to create and to join, resolved from the spec.
#[derive(Default)]
pub struct Plan {
    /// CLONE_NEW* flags of namespaces to create.
    pub new_flags: libc::c_int,
    /// Namespaces to join: (type, opened ns file). Opened in the parent, so a bad path
    /// fails before anything is started. User first, then the rest, pid last.
    pub join: Vec<(LinuxNamespaceType, File)>,
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Self> {
        let mut plan = Plan::default();
        let nss = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        for (i, ns) in nss.iter().enumerate() {
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => {
                    let f = File::open(p).map_err(|e| {
                        Error::Config(format!(
                            "linux.namespaces[{i}].path: cannot open {}: {e}",
                            p.display()
                        ))
                    })?;
                    plan.join.push((ns.typ(), f));
                }
                _ => plan.new_flags |= flag(ns.typ()),
            }
        }
        let rank = |t: LinuxNamespaceType| match t {
            LinuxNamespaceType::User => 0,
            LinuxNamespaceType::Pid => 2,
            _ => 1,
        };
        plan.join.sort_by_key(|(t, _)| rank(*t));
        Ok(plan)
    }

    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        self.new_flags & flag(t) != 0
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(x, _)| *x == t)
    }

    /// Whether one clone with all new-namespace flags can make the init directly: true
    /// unless a user or pid namespace is joined, or a new user namespace would have to
    /// own namespaces joined by path (those must be entered before it exists).
    pub fn single_clone(&self) -> bool {
        !self.joins(LinuxNamespaceType::User)
            && !self.joins(LinuxNamespaceType::Pid)
            && (!self.has_new(LinuxNamespaceType::User) || self.join.is_empty())
    }

    /// Joins the namespaces given by path, except `skip` (e.g. pid, handled by the caller).
    pub fn enter_joined(&self, skip_pid: bool) -> Result<()> {
        for (t, f) in &self.join {
            if skip_pid && *t == LinuxNamespaceType::Pid {
                continue;
            }
            sys::setns(f.as_fd(), flag(*t))
                .with_ctx(|| format!("join {} namespace", proc_name(*t)))?;
        }
        Ok(())
    }
}

/// Path of a process's namespace file.
pub fn proc_path(pid: i32, t: LinuxNamespaceType) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{}", proc_name(t)))
}
