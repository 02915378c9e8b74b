//! Facts about the host that change the spec: cgroup version, swap accounting, CPUs,
//! rlimit ceilings, the capability bounding set. Detected once per build; tests pass
//! their own.

use std::collections::BTreeMap;

use super::capabilities::host_bounding_mask;
use super::seccomp;

#[derive(Debug, Clone)]
pub struct HostInfo {
    /// /sys/fs/cgroup is a pure cgroup2 mount (else v1 or hybrid).
    pub cgroup2: bool,
    /// The memory controller can limit swap (memory.memsw.* on v1, memory.swap.max on v2).
    pub swap_accounting: bool,
    /// Online CPU ids, e.g. [0, 1].
    pub cpus: Vec<u32>,
    /// Online memory nodes.
    pub mems: Vec<u32>,
    /// Hard rlimits of this process by Docker ulimit name (nofile, nproc...).
    pub rlimit_hard: BTreeMap<String, u64>,
    /// Whether we hold CAP_SYS_RESOURCE (needed to raise an rlimit above its hard value).
    pub can_raise_rlimits: bool,
    /// Our capability bounding set: what `--privileged` can give.
    pub bounding_mask: u64,
    /// The host's hostname (for `--network host`).
    pub hostname: String,
    pub seccomp: seccomp::Host,
}

/// Parses a kernel cpu list ("0-3,5").
pub fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().ok()?),
        }
    }
    Some(out)
}

impl HostInfo {
    /// This machine, as seen from this process.
    pub fn detect() -> HostInfo {
        let cgroup2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
        let swap_accounting = if cgroup2 {
            std::fs::read_dir("/sys/fs/cgroup")
                .map(|d| {
                    d.flatten()
                        .any(|e| e.path().is_dir() && e.path().join("memory.swap.max").exists())
                })
                .unwrap_or(false)
        } else {
            std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        };
        let read_list = |p: &str| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|s| parse_cpu_list(&s))
                .unwrap_or_default()
        };
        let mut cpus = read_list("/sys/devices/system/cpu/online");
        if cpus.is_empty() {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
            cpus = (0..n).collect();
        }
        let mut mems = read_list("/sys/devices/system/node/online");
        if mems.is_empty() {
            mems = vec![0];
        }
        let mut rlimit_hard = BTreeMap::new();
        for name in [
            "core",
            "cpu",
            "data",
            "fsize",
            "locks",
            "memlock",
            "msgqueue",
            "nice",
            "nofile",
            "nproc",
            "rss",
            "rtprio",
            "rttime",
            "sigpending",
            "stack",
        ] {
            if let Some(r) = rlimit_resource(name) {
                if let Ok((_, hard)) = nix::sys::resource::getrlimit(r) {
                    rlimit_hard.insert(name.to_string(), hard);
                }
            }
        }
        let eff = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapEff:"))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .unwrap_or(0);
        HostInfo {
            cgroup2,
            swap_accounting,
            cpus,
            mems,
            rlimit_hard,
            can_raise_rlimits: eff & (1 << 24) != 0,
            bounding_mask: host_bounding_mask(),
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            seccomp: seccomp::Host::current(),
        }
    }
}

fn rlimit_resource(name: &str) -> Option<nix::sys::resource::Resource> {
    use nix::sys::resource::Resource as R;
    Some(match name {
        "core" => R::RLIMIT_CORE,
        "cpu" => R::RLIMIT_CPU,
        "data" => R::RLIMIT_DATA,
        "fsize" => R::RLIMIT_FSIZE,
        "locks" => R::RLIMIT_LOCKS,
        "memlock" => R::RLIMIT_MEMLOCK,
        "msgqueue" => R::RLIMIT_MSGQUEUE,
        "nice" => R::RLIMIT_NICE,
        "nofile" => R::RLIMIT_NOFILE,
        "nproc" => R::RLIMIT_NPROC,
        "rss" => R::RLIMIT_RSS,
        "rtprio" => R::RLIMIT_RTPRIO,
        "rttime" => R::RLIMIT_RTTIME,
        "sigpending" => R::RLIMIT_SIGPENDING,
        "stack" => R::RLIMIT_STACK,
        _ => return None,
    })
}
