//! Container state under `--root`: `<root>/<id>/state.json` (written atomically) and the
//! `exec.fifo` that a created container's init blocks on until `start`.
//! The status is derived live from the init process, not trusted from the file.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What `state.json` holds: the runtime-spec state plus what later commands need.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// RFC 3339 UTC creation time.
    pub created: String,
    pub owner: String,
    /// Start time of the init process (field 22 of /proc/<pid>/stat), so a recycled
    /// pid is never mistaken for the container.
    pub init_start_time: u64,
    #[serde(default)]
    pub cgroups_path: Option<String>,
    #[serde(default)]
    pub rootless: bool,
    /// The config the container was created with (hooks, process defaults for exec).
    pub config: Spec,
}

impl Saved {
    /// The runtime-spec state document (what `berth-oci state` prints and hooks receive).
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status.to_string(),
            "pid": if matches!(status, Status::Stopped) { 0 } else { self.pid },
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::to_value(&self.annotations).unwrap_or_default();
        }
        v
    }
}

/// Rejects ids that could escape the state root or confuse tools.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Msg(format!(
            "invalid container id {id:?}: use letters, digits, '_', '+', '-', '.'"
        )))
    }
}

/// A container's state directory, locked (flock) for the lifetime of this value so
/// concurrent commands on one id serialize.
pub struct ContainerDir {
    pub path: PathBuf,
    pub id: String,
    lock: Flock<File>,
}

impl ContainerDir {
    /// Creates `<root>/<id>`; fails with "already exists" if it is there.
    pub fn create(root: &Path, id: &str) -> Result<Self> {
        check_id(id)?;
        fs::create_dir_all(root).with_ctx(|| format!("create state root {}", root.display()))?;
        let path = root.join(id);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Exists(id.to_string()))
            }
            Err(e) => return Err(e).with_ctx(|| format!("create {}", path.display())),
        }
        Self::lock(path, id)
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        check_id(id)?;
        let path = root.join(id);
        if !path.is_dir() {
            return Err(Error::NotFound(id.to_string()));
        }
        Self::lock(path, id)
    }

    fn lock(path: PathBuf, id: &str) -> Result<Self> {
        let lock = File::open(&path).with_ctx(|| format!("open {}", path.display()))?;
        let lock = Flock::lock(lock, FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .with_ctx(|| format!("lock {}", path.display()))?;
        Ok(Self {
            path,
            id: id.to_string(),
            lock,
        })
    }

    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Writes state.json atomically (temporary file, fsync-free rename: /run is tmpfs).
    pub fn save(&self, saved: &Saved) -> Result<()> {
        let tmp = self.path.join(".state.json.tmp");
        let data =
            serde_json::to_vec(saved).map_err(|e| Error::Msg(format!("encode state: {e}")))?;
        let mut f = File::create(&tmp).with_ctx(|| format!("write {}", tmp.display()))?;
        f.write_all(&data)
            .with_ctx(|| format!("write {}", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, self.path.join(STATE_FILE)).ctx("rename state file")?;
        Ok(())
    }

    /// Loads state.json; `None` while the container is still being created.
    pub fn load(&self) -> Result<Option<Saved>> {
        let p = self.path.join(STATE_FILE);
        match fs::read(&p) {
            Ok(d) => serde_json::from_slice(&d)
                .map(Some)
                .map_err(|e| Error::Msg(format!("corrupt state file {}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_ctx(|| format!("read {}", p.display())),
        }
    }

    /// Live status of the container from its init process and exec fifo.
    pub fn status(&self, saved: &Saved, frozen: impl FnOnce() -> bool) -> Status {
        if saved.pid <= 0 {
            return Status::Creating;
        }
        if !process_alive(saved.pid, saved.init_start_time) {
            return Status::Stopped;
        }
        if self.fifo_path().exists() {
            Status::Created
        } else if frozen() {
            Status::Paused
        } else {
            Status::Running
        }
    }

    /// Removes the directory (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.path).with_ctx(|| format!("remove {}", self.path.display()))
    }
}

/// (state char, start time) of a process from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parens; fields resume after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut it = rest.split(' ');
    let state = it.next()?.chars().next()?;
    // Field 3 is the state; the start time is field 22, i.e. 19 further on.
    let start = it.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Whether `pid` is still the process that started at `start_time` and not a zombie.
pub fn process_alive(pid: i32, start_time: u64) -> bool {
    match proc_stat(pid) {
        Some((st, t)) => t == start_time && st != 'Z' && st != 'X',
        None => false,
    }
}

/// The current time as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil-from-days (Howard Hinnant's algorithm, public domain description).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let dd = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("abc-1_2.x").is_ok());
        assert!(check_id("../x").is_err());
        assert!(check_id("..").is_err());
        assert!(check_id("").is_err());
    }

    #[test]
    fn own_stat_parses() {
        let (st, t) = proc_stat(std::process::id() as i32).unwrap();
        assert!(st == 'R' || st == 'S');
        assert!(process_alive(std::process::id() as i32, t));
        assert!(!process_alive(std::process::id() as i32, t + 1));
    }

    #[test]
    fn time_format() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 30);
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
