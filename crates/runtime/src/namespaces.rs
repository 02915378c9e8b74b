//! Which namespaces a container gets: new ones (clone flags) and joined ones (by path),
//! and the order they must be entered in.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{msg, Context, Error, Result};
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

/// The clocks a time namespace offsets, as `linux.timeOffsets` and
/// /proc/<pid>/timens_offsets name them.
pub const TIME_CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// New namespaces the init makes itself rather than getting them from clone (or from
/// the intermediate's unshare): the cgroup namespace once the init sits in its cgroup,
/// and the time namespace, whose offsets must be written before anyone is in it (see
/// `enter_new_time`).
pub const MADE_BY_INIT: libc::c_int = libc::CLONE_NEWCGROUP | libc::CLONE_NEWTIME;

/// Namespaces to create and to join, resolved from the spec.
#[derive(Default)]
pub struct Plan {
    /// CLONE_NEW* flags of namespaces to create.
    pub new_flags: libc::c_int,
    /// Namespaces to join: (type, opened ns file). Opened in the parent, so a bad path
    /// fails before anything is started. User first, then the rest, pid last.
    pub join: Vec<(LinuxNamespaceType, File)>,
    /// linux.timeOffsets as the text for /proc/self/timens_offsets ("<clock> <secs>
    /// <nanosecs>" lines); None when there are none. config.rs has checked the clock
    /// names and that a new time namespace is made.
    pub time_offsets: Option<String>,
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
        plan.time_offsets = spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().as_ref())
            .and_then(|offsets| {
                let text: String = TIME_CLOCKS
                    .iter()
                    .filter_map(|c| offsets.get(*c).map(|o| (c, o)))
                    .map(|(c, o)| {
                        let (s, ns) = (o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0));
                        format!("{c} {s} {ns}\n")
                    })
                    .collect();
                (!text.is_empty()).then_some(text)
            });
        Ok(plan)
    }

    /// CLONE_NEW* flags of the new namespaces the init makes itself: [`MADE_BY_INIT`],
    /// and in a new or joined user namespace also the IPC namespace, made once the init
    /// is the user namespace's root (see `process::user::become_userns_root`): its
    /// mqueue filesystem exists from the namespace's creation on, with a root directory
    /// owned by the creator, which must be an id the user namespace maps (runc likewise
    /// unshares the other namespaces after setresuid(0)).
    pub fn made_by_init(&self) -> libc::c_int {
        let mut f = MADE_BY_INIT;
        if self.has_new(LinuxNamespaceType::User) || self.joins(LinuxNamespaceType::User) {
            f |= libc::CLONE_NEWIPC;
        }
        self.new_flags & f
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

/// Opens /proc/self/timens_offsets for `enter_new_time`. The init does this while it is
/// still dumpable: a non-dumpable process's /proc/self files belong to host root, and a
/// rootless runtime's init (another owner, host root unmapped in its user namespace, so
/// no CAP_DAC_OVERRIDE over the file) could not open it for writing. The file acts on the
/// namespace the process's children get at the time of the write, so opening it before
/// the unshare is fine.
pub fn open_timens_offsets() -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/timens_offsets")
        .ctx("linux.timeOffsets: open /proc/self/timens_offsets (does the kernel have time namespaces?)")
}

/// Makes the container's new time namespace and moves the calling process (the init,
/// single-threaded) into it. Offsets can only be written while no process is in the
/// namespace, so it does not come from clone(CLONE_NEWTIME): unshare makes it the
/// namespace of our future children only, the offsets go to `offsets_file` (from
/// `open_timens_offsets`), and then we setns into it ourselves, so the init (and
/// `exec`, which joins /proc/<init>/ns/time) is in it already before its execve.
pub fn enter_new_time(offsets: Option<&str>, offsets_file: Option<&File>) -> Result<()> {
    // nix has no CLONE_NEWTIME constant; the bit is passed through as is.
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
        libc::CLONE_NEWTIME,
    ))
    .ctx("create time namespace")?;
    if let Some(text) = offsets {
        let mut f =
            offsets_file.ok_or_else(|| msg("linux.timeOffsets: timens_offsets not open"))?;
        // One write: the kernel parses (and applies) the whole buffer at once.
        let n = f.write(text.as_bytes()).with_ctx(|| {
            format!(
                "linux.timeOffsets: write {:?} to /proc/self/timens_offsets",
                text.trim_end()
            )
        })?;
        if n != text.len() {
            return Err(msg(format!(
                "linux.timeOffsets: short write to /proc/self/timens_offsets ({n} of {} bytes)",
                text.len()
            )));
        }
    }
    let ns = File::open("/proc/self/ns/time_for_children")
        .ctx("open /proc/self/ns/time_for_children")?;
    sys::setns(ns.as_fd(), libc::CLONE_NEWTIME).ctx("enter the new time namespace")?;
    Ok(())
}

/// Path of a process's namespace file.
pub fn proc_path(pid: i32, t: LinuxNamespaceType) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{}", proc_name(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(linux: serde_json::Value) -> Plan {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "linux": linux,
        }))
        .unwrap();
        Plan::from_spec(&spec).unwrap()
    }

    #[test]
    fn time_offsets_become_timens_offsets_lines() {
        let p = plan(serde_json::json!({
            "namespaces": [{"type": "mount"}, {"type": "time"}],
            "timeOffsets": {
                "boottime": {"secs": -20, "nanosecs": 5},
                "monotonic": {"secs": 31536000},
            },
        }));
        assert!(p.has_new(LinuxNamespaceType::Time));
        // Clock order is fixed (not the map's), missing fields are 0.
        assert_eq!(
            p.time_offsets.as_deref(),
            Some("monotonic 31536000 0\nboottime -20 5\n")
        );

        let p = plan(serde_json::json!({"namespaces": [{"type": "time"}], "timeOffsets": {}}));
        assert_eq!(p.time_offsets, None);
        let p = plan(serde_json::json!({"namespaces": [{"type": "time"}]}));
        assert_eq!(p.time_offsets, None);
    }
}
