//! Name resolution on user-defined networks: the records file each network's responder
//! serves, and starting/stopping that responder (`berth-dns`) on demand.

use super::error::NetworkError;
use super::store::EndpointRow;
use super::types::NetworkRecord;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct DnsPaths {
    pub dir: PathBuf,
    pub records: PathBuf,
    pub pidfile: PathBuf,
    pub lock: PathBuf,
}

pub fn paths(root: &Path, network_id: &str) -> DnsPaths {
    let dir = root.join("dns").join(network_id);
    DnsPaths {
        records: dir.join("records"),
        pidfile: dir.join("pid"),
        lock: dir.join("lock"),
        dir,
    }
}

fn dns_err(net: &NetworkRecord, message: impl Into<String>) -> NetworkError {
    NetworkError::Dns {
        network: net.name.clone(),
        message: message.into(),
    }
}

/// One line per endpoint: "IP name alias... shortid", written atomically.
pub fn records_text(endpoints: &[EndpointRow]) -> String {
    let mut s = String::new();
    for e in endpoints {
        let mut names = vec![e.info.name.clone()];
        for a in &e.info.aliases {
            if !names.contains(a) {
                names.push(a.clone());
            }
        }
        s.push_str(&format!("{} {}\n", e.info.ip, names.join(" ")));
    }
    s
}

fn lock(p: &DnsPaths, net: &NetworkRecord) -> Result<Flock<std::fs::File>, NetworkError> {
    std::fs::create_dir_all(&p.dir)
        .map_err(|e| dns_err(net, format!("{}: {e}", p.dir.display())))?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p.lock)
        .map_err(|e| dns_err(net, format!("{}: {e}", p.lock.display())))?;
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| dns_err(net, format!("lock: {e}")))
}

/// The responder's pid if it is running for this records file.
fn running_pid(p: &DnsPaths) -> Option<Pid> {
    let pid: i32 = std::fs::read_to_string(&p.pidfile)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let needle = p.records.to_string_lossy();
    let has = String::from_utf8_lossy(&cmdline).contains(needle.as_ref());
    has.then_some(Pid::from_raw(pid))
}

/// Writes the records and makes sure a responder serves them on the gateway address;
/// stops the responder when no endpoint is left.
pub fn sync(
    root: &Path,
    net: &NetworkRecord,
    endpoints: &[EndpointRow],
    dns_bin: &Path,
) -> Result<(), NetworkError> {
    let p = paths(root, &net.id);
    let _guard = lock(&p, net)?;
    if endpoints.is_empty() {
        stop_locked(&p);
        let _ = std::fs::remove_file(&p.records);
        return Ok(());
    }
    let tmp = p.dir.join("records.tmp");
    std::fs::write(&tmp, records_text(endpoints))
        .and_then(|_| std::fs::rename(&tmp, &p.records))
        .map_err(|e| dns_err(net, format!("write {}: {e}", p.records.display())))?;
    if running_pid(&p).is_some() {
        return Ok(());
    }
    let out = Command::new(dns_bin)
        .arg("--listen")
        .arg(&net.gateway)
        .arg("--records")
        .arg(&p.records)
        .arg("--pidfile")
        .arg(&p.pidfile)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| dns_err(net, format!("start {}: {e}", dns_bin.display())))?;
    if !out.status.success() {
        return Err(dns_err(
            net,
            format!(
                "{} failed: {}",
                dns_bin.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

fn stop_locked(p: &DnsPaths) {
    if let Some(pid) = running_pid(p) {
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        // The responder is not our child (it double-forks), so poll until it is gone or a
        // zombie: a zombie's cmdline is empty, which `running_pid` treats as not running.
        while running_pid(p) == Some(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let _ = std::fs::remove_file(&p.pidfile);
}

/// Stops the responder and removes its directory (network removal).
pub fn remove(root: &Path, net: &NetworkRecord) {
    let p = paths(root, &net.id);
    if p.dir.exists() {
        if let Ok(_guard) = lock(&p, net) {
            stop_locked(&p);
        }
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}

/// Finds the `berth-dns` binary: next to the running executable, one level up (test
/// binaries live in target/<profile>/deps), then the usual install locations.
pub fn default_binary() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_DNS_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            for cand in [dir.join("berth-dns"), dir.join("../berth-dns")] {
                if cand.is_file() {
                    return cand;
                }
            }
        }
    }
    for cand in [
        "/usr/local/bin/berth-dns",
        "/usr/bin/berth-dns",
        "/usr/libexec/berth/berth-dns",
    ] {
        if Path::new(cand).is_file() {
            return PathBuf::from(cand);
        }
    }
    PathBuf::from("berth-dns")
}
