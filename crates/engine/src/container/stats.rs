//! `stats`, `port`, `diff` and `update`: reading a container's cgroup, published ports and
//! upper directory, and changing its limits.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::network::PortMapping;
use crate::state::status::Status;
use crate::state::ContainerRecord;
use serde_json::{json, Value};
use std::path::Path;

/// One sample of a container's resource use.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub cpu_ns: u64,
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub pids: u64,
    /// Bytes received and sent on the container's interfaces (loopback excluded).
    pub net_rx: u64,
    pub net_tx: u64,
    /// Bytes read from and written to block devices.
    pub blk_read: u64,
    pub blk_write: u64,
}

/// Received and sent bytes in a /proc/PID/net/dev table, loopback excluded.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// Read and written bytes from v1 `blkio.throttle.io_service_bytes_recursive`
/// ("8:0 Read 4096") or v2 `io.stat` ("8:0 rbytes=4096 wbytes=0 ...").
pub fn parse_block_io(text: &str) -> (u64, u64) {
    let mut r = 0;
    let mut w = 0;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let _dev = f.next();
        let rest: Vec<&str> = f.collect();
        match rest.as_slice() {
            ["Read", n] => r += n.parse::<u64>().unwrap_or(0),
            ["Write", n] => w += n.parse::<u64>().unwrap_or(0),
            kv => {
                for item in kv {
                    if let Some(n) = item.strip_prefix("rbytes=") {
                        r += n.parse::<u64>().unwrap_or(0);
                    } else if let Some(n) = item.strip_prefix("wbytes=") {
                        w += n.parse::<u64>().unwrap_or(0);
                    }
                }
            }
        }
    }
    (r, w)
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// `docker stats` size style: `1.5MiB`, `12kB`.
pub fn human_bytes(n: u64, binary: bool) -> String {
    let (base, units): (f64, &[&str]) = if binary {
        (1024.0, &["B", "KiB", "MiB", "GiB", "TiB"])
    } else {
        (1000.0, &["B", "kB", "MB", "GB", "TB"])
    };
    let mut v = n as f64;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    if i == 0 {
        return format!("{n}{}", units[0]);
    }
    // Go's %.4g: four significant digits, trailing zeros dropped.
    let int_digits = (v.log10().floor() as i32 + 1).max(1);
    let decimals = (4 - int_digits).max(0) as usize;
    let mut t = format!("{v:.decimals$}");
    if t.contains('.') {
        t = t.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    t + units[i]
}

/// Bytes of the files under `p` (symlinks not followed).
pub fn dir_size(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

impl Engine {
    /// Size of what the container wrote (its upper directory): Docker's SizeRw.
    pub fn rw_size(&self, rec: &ContainerRecord) -> u64 {
        if rec.config.rootfs.is_some() {
            return 0;
        }
        self.image_store()
            .ok()
            .and_then(|s| s.rootfs_layout(&rec.id).ok())
            .map(|l| dir_size(&l.upper))
            .unwrap_or(0)
    }

    /// Reads the container's cgroup (v1 controllers or a v2 unified tree).
    pub fn sample(&self, rec: &ContainerRecord) -> Sample {
        let rel = rec.config.cgroup_path.trim_start_matches('/');
        let v1 = |ctrl: &str, f: &str| {
            read_u64(&Path::new("/sys/fs/cgroup").join(ctrl).join(rel).join(f))
        };
        let v2 = |f: &str| read_u64(&Path::new("/sys/fs/cgroup").join(rel).join(f));
        let host_mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map(|k| k * 1024)
            .unwrap_or(0);
        let mut s = Sample {
            cpu_ns: v1("cpuacct", "cpuacct.usage").unwrap_or(0),
            mem_usage: v1("memory", "memory.usage_in_bytes")
                .or_else(|| v2("memory.current"))
                .unwrap_or(0),
            mem_limit: v1("memory", "memory.limit_in_bytes")
                .or_else(|| v2("memory.max"))
                .unwrap_or(host_mem),
            pids: v1("pids", "pids.current")
                .or_else(|| v2("pids.current"))
                .unwrap_or(0),
            ..Sample::default()
        };
        let st = self.live_state(rec);
        if st.pid > 0 && rec.config.network_mode != "host" {
            if let Ok(t) = std::fs::read_to_string(format!("/proc/{}/net/dev", st.pid)) {
                (s.net_rx, s.net_tx) = parse_net_dev(&t);
            }
        }
        let blk = std::fs::read_to_string(
            Path::new("/sys/fs/cgroup/blkio")
                .join(rel)
                .join("blkio.throttle.io_service_bytes_recursive"),
        )
        .or_else(|_| {
            std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(rel).join("io.stat"))
        });
        if let Ok(t) = blk {
            (s.blk_read, s.blk_write) = parse_block_io(&t);
        }
        if s.cpu_ns == 0 {
            s.cpu_ns =
                std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(rel).join("cpu.stat"))
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .find_map(|l| l.strip_prefix("usage_usec "))
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    })
                    .map(|us| us * 1000)
                    .unwrap_or(0);
        }
        if s.mem_limit == 0 || s.mem_limit > host_mem && host_mem > 0 {
            s.mem_limit = host_mem;
        }
        s
    }

    /// Published ports recorded when the container started.
    pub fn ports(&self, rec: &ContainerRecord) -> Vec<PortMapping> {
        std::fs::read(self.layout.container(&rec.id).join("ports.json"))
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default()
    }

    /// `diff`: changes in the container's upper directory, Docker's `A`/`C`/`D` lines.
    pub fn diff(&self, rec: &ContainerRecord) -> Result<Vec<(char, String)>> {
        if rec.config.rootfs.is_some() {
            return Err(EngineError::Invalid(
                "diff needs an image-based container (no layers under --rootfs)".into(),
            ));
        }
        let layout = self
            .image_store()?
            .rootfs_layout(&rec.id)
            .map_err(|e| EngineError::Other(e.to_string()))?;
        let mut out = Vec::new();
        walk_upper(&layout.upper, &layout.upper, &layout.lowers, &mut out);
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// `update`: new limits through `<runtime> update` (running) and the record.
    pub fn update(&self, rec: &ContainerRecord, resources: &Value) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if matches!(st.status, Status::Running | Status::Paused) {
            self.runtime_for(rec)
                .update(&rec.id, resources, &self.layout.container(&rec.id))?;
        }
        // Keep config.json in step so the next start has the same limits.
        let cfg_path = self.layout.bundle(&rec.id).join("config.json");
        if let Ok(text) = std::fs::read(&cfg_path) {
            if let Ok(mut spec) = serde_json::from_slice::<Value>(&text) {
                merge(&mut spec["linux"]["resources"], resources);
                let _ = std::fs::write(&cfg_path, serde_json::to_vec_pretty(&spec).expect("json"));
            }
        }
        Ok(())
    }
}

impl Engine {
    /// `update --restart`: recorded for later starts, and handed to a running monitor
    /// (it re-reads its policy each time the container exits).
    pub fn set_restart_policy(
        &self,
        rec: &ContainerRecord,
        policy: crate::monitor::RestartPolicy,
    ) -> Result<()> {
        use crate::monitor::config::{MonitorConfig, MONITOR_CONFIG_FILE};
        let _lock = self.lock(&rec.id)?;
        let rec = self.db.find(&rec.id)?;
        if policy != crate::monitor::RestartPolicy::No && rec.config.auto_remove {
            return Err(EngineError::Invalid(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            ));
        }
        let mut cfg = rec.config.clone();
        cfg.restart = policy;
        cfg.host_config["RestartPolicy"] = serde_json::to_value(policy).unwrap_or(Value::Null);
        self.db.update_config(&rec.id, &cfg)?;
        let path = self.layout.container(&rec.id).join(MONITOR_CONFIG_FILE);
        if let Some(mut m) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<MonitorConfig>(&b).ok())
        {
            m.restart = policy;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, serde_json::to_vec(&m).expect("json"))
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| EngineError::io(format!("write {}", path.display()), e))?;
        }
        Ok(())
    }
}

fn merge(dst: &mut Value, src: &Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                merge(d.entry(k.clone()).or_insert(json!(null)), v);
            }
        }
        (d, s) => *d = s.clone(),
    }
}

fn walk_upper(
    base: &Path,
    dir: &Path,
    lowers: &[std::path::PathBuf],
    out: &mut Vec<(char, String)>,
) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(base).unwrap_or(&p);
        let name = format!("/{}", rel.display());
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        // What the engine and runtime put there themselves, as Docker leaves it out.
        if matches!(
            name.as_str(),
            "/etc/hostname" | "/etc/hosts" | "/etc/resolv.conf" | "/dev" | "/proc" | "/sys"
        ) && (meta.is_file() && meta.len() == 0 || meta.is_dir() && is_empty_dir(&p))
        {
            continue;
        }
        let whiteout = meta.file_type().is_char_device() && meta.rdev() == 0;
        let in_lower = lowers
            .iter()
            .any(|l| std::fs::symlink_metadata(l.join(rel)).is_ok());
        if whiteout {
            out.push(('D', name));
            continue;
        }
        out.push((if in_lower { 'C' } else { 'A' }, name));
        if meta.is_dir() {
            walk_upper(base, &p, lowers, out);
        }
    }
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_sums_all_but_loopback() {
        let t = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  \
eth0:    1500      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0\n  \
eth1:      10       1    0    0    0     0          0         0       20       1    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(t), (1510, 720));
    }

    #[test]
    fn block_io_reads_v1_and_v2_formats() {
        let v1 =
            "254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 0\n254:0 Total 12288\nTotal 12288\n";
        assert_eq!(parse_block_io(v1), (4096, 8192));
        let v2 =
            "254:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n8:0 rbytes=1 wbytes=2\n";
        assert_eq!(parse_block_io(v2), (101, 202));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512, true), "512B");
        assert_eq!(human_bytes(1536 * 1024, true), "1.5MiB");
        assert_eq!(human_bytes(8 * 1024 * 1024, true), "8MiB");
        assert_eq!(human_bytes(2_129_900, false), "2.13MB");
        assert_eq!(human_bytes(25_275_000_000, true), "23.54GiB");
        assert_eq!(human_bytes(1500, false), "1.5kB");
    }
}
