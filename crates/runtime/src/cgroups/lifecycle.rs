//! Creating, joining, listing, signalling and removing a container's cgroup.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use super::error::CgroupError;
use super::fsio;
use super::{Cgroup, UnifiedDir};

impl Cgroup {
    /// mkdir -p in every hierarchy (idempotent). On v1 makes the cpuset dir usable;
    /// on cgroup2 enables the root's controllers in every ancestor's
    /// cgroup.subtree_control. On failure removes the leaf dirs it made.
    pub fn create(&self) -> Result<(), CgroupError> {
        let r = self.create_inner();
        if r.is_err() {
            let _ = self.destroy();
        }
        r
    }

    fn create_inner(&self) -> Result<(), CgroupError> {
        for d in &self.v1 {
            mkdir_p(&d.dir)?;
            if d.controllers.iter().any(|c| c == "cpuset") {
                ensure_cpuset(&d.mount_point, &d.dir, true)?;
            }
        }
        if let Some(u) = &self.unified {
            // Controllers must be enabled top-down before the leaf exists with them.
            enable_controllers(u)?;
            mkdir_p(&u.dir)?;
        }
        Ok(())
    }

    /// Moves process `pid` (and its threads) into the cgroup in every hierarchy.
    pub fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        let s = pid.to_string();
        for dir in self.dirs() {
            let path = dir.join("cgroup.procs");
            fsio::write_raw(&path, &s).map_err(|e| CgroupError::io("writing", path, e))?;
        }
        Ok(())
    }

    /// Pids of every process in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = self.tracking_dir().ok_or_else(|| {
            CgroupError::Discovery("the cgroup has no hierarchy to list processes from".into())
        })?;
        let s = fsio::read_file(dir, "cgroup.procs")?;
        Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect())
    }

    /// Sends `signal` to every process: cgroup.kill for SIGKILL where cgroup2 has it,
    /// else freeze, signal each pid, thaw (so that none can fork away meanwhile).
    /// A cgroup that was paused stays paused, except after SIGKILL (frozen tasks
    /// could not die).
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        if signal == libc::SIGKILL {
            if let Some(u) = &self.unified {
                match fsio::write_raw(&u.dir.join("cgroup.kill"), "1") {
                    Ok(()) => {
                        // On hybrid hosts a v1 freezer may still hold the killed tasks.
                        if self.is_frozen().unwrap_or(false) {
                            self.thaw()?;
                        }
                        return Ok(());
                    }
                    Err(e) if !u.dir.exists() => {
                        return Err(CgroupError::io("killing", u.dir.clone(), e))
                    }
                    Err(_) => {} // kernel without cgroup.kill: fall through
                }
            }
        }
        let was_frozen = self.is_frozen().unwrap_or(false);
        if !was_frozen {
            self.freeze()?;
        }
        let mut first_err = None;
        match self.pids() {
            Ok(pids) => {
                for pid in pids {
                    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
                    let rc = unsafe { libc::kill(pid, signal) };
                    if rc != 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::ESRCH) && first_err.is_none() {
                            first_err =
                                Some(CgroupError::io("signalling", format!("/proc/{pid}"), e));
                        }
                    }
                }
            }
            Err(e) => first_err = Some(e),
        }
        if !was_frozen || signal == libc::SIGKILL {
            self.thaw()?;
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Removes the cgroup's dir in every hierarchy (nested child cgroups first).
    /// Idempotent; retries briefly while exiting tasks still pin a dir (EBUSY). Tasks
    /// still inside after that are thawed and SIGKILLed first: no dir is left behind.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut busy = Vec::new();
        for dir in self.dirs() {
            if remove_cgroup_dir(dir, 4).is_err() {
                busy.push(dir);
            }
        }
        if busy.is_empty() {
            return Ok(());
        }
        // Frozen tasks cannot die: thaw before killing.
        if let Some(d) = self
            .v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == "freezer"))
        {
            let _ = fsio::write_raw(&d.dir.join("freezer.state"), "THAWED");
        }
        if let Some(u) = &self.unified {
            let _ = fsio::write_raw(&u.dir.join("cgroup.freeze"), "0");
        }
        for dir in &busy {
            kill_tree(dir);
        }
        let mut first_err = None;
        for dir in busy {
            if let Err(e) = remove_cgroup_dir(dir, 12) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Every directory of this cgroup: v1 hierarchies, then the cgroup2 one.
    pub(crate) fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.v1
            .iter()
            .map(|d| d.dir.as_path())
            .chain(self.unified.iter().map(|u| u.dir.as_path()))
    }

    /// The dir whose cgroup.procs lists the container's processes.
    fn tracking_dir(&self) -> Option<&Path> {
        if let Some(u) = &self.unified {
            return Some(&u.dir);
        }
        self.v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == "freezer"))
            .or(self.v1.first())
            .map(|d| d.dir.as_path())
    }
}

fn mkdir(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    if unsafe { libc::mkdir(c.as_ptr(), 0o755) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One mkdir(2) in the common case; creates missing parents only on ENOENT.
fn mkdir_p(dir: &Path) -> Result<(), CgroupError> {
    match mkdir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if let Some(parent) = dir.parent() {
                mkdir_p(parent)?;
            }
            match mkdir(dir) {
                Ok(()) => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
                Err(e) => Err(CgroupError::io("creating cgroup", dir, e)),
            }
        }
        Err(e) => Err(CgroupError::io("creating cgroup", dir, e)),
    }
}

/// A new v1 cpuset cgroup starts with empty cpus/mems and accepts no task until they
/// are set: copy them down from the nearest ancestor that has them. Ancestors we fill
/// get cgroup.clone_children=1 so that later siblings start filled (saves a copy).
fn ensure_cpuset(mount_point: &Path, dir: &Path, leaf: bool) -> Result<(), CgroupError> {
    if dir == mount_point {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(mount_point);
    let mut copied = false;
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if !fsio::read_file(dir, file)?.trim().is_empty() {
            continue;
        }
        ensure_cpuset(mount_point, parent, false)?;
        let v = fsio::read_file(parent, file)?;
        let path = dir.join(file);
        fsio::write_raw(&path, v.trim()).map_err(|e| CgroupError::io("writing", path, e))?;
        copied = true;
    }
    if copied && !leaf {
        let _ = fsio::write_raw(&dir.join("cgroup.clone_children"), "1");
    }
    Ok(())
}

/// Enables the cgroup2 root's controllers in the subtree_control of every ancestor
/// of the container's dir, top-down. Falls back to one controller at a time when
/// the kernel rejects the batch (e.g. cpu while real-time tasks exist).
fn enable_controllers(u: &UnifiedDir) -> Result<(), CgroupError> {
    if u.controllers.is_empty() {
        return Ok(());
    }
    let all: String = u
        .controllers
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    let Ok(rel) = u.dir.strip_prefix(&u.mount_point) else {
        return Ok(());
    };
    let mut cur = u.mount_point.clone();
    let comps: Vec<_> = rel.components().collect();
    for i in 0..comps.len() {
        if i > 0 {
            cur.push(comps[i - 1]);
            // Ancestors below the root may not exist yet.
            mkdir_p(&cur)?;
        }
        let path = cur.join("cgroup.subtree_control");
        if fsio::write_raw(&path, &all).is_err() {
            for c in &u.controllers {
                // Best effort: a controller that cannot be enabled surfaces later as
                // a missing file, with the spec field named.
                let _ = fsio::write_raw(&path, &format!("+{c}"));
            }
        }
    }
    Ok(())
}

/// rmdir with brief retries on EBUSY; removes nested child cgroups first.
fn remove_cgroup_dir(dir: &Path, attempts: u32) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(1);
    for attempt in 0..attempts {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) => {
                if attempt + 1 == attempts {
                    return Err(CgroupError::io("removing cgroup", dir, e));
                }
                remove_children(dir);
                if attempt == 0 {
                    continue;
                }
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(CgroupError::io("removing cgroup", dir, e)),
        }
    }
    Ok(())
}

/// SIGKILLs every task in `dir` and in its sub-cgroups.
fn kill_tree(dir: &Path) {
    if let Ok(procs) = fsio::read_raw(&dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                kill_tree(&e.path());
            }
        }
    }
}

/// Removes sub-cgroups (e.g. made by the container in its cgroup namespace).
fn remove_children(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = remove_cgroup_dir(&e.path(), 2);
            }
        }
    }
}
