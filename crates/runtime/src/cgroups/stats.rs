//! Usage statistics, shaped like runc's `events --stats` data so that tools which
//! read runc's JSON read ours.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::error::CgroupError;
use super::fsio::{self, parse_flat_keyed, parse_u64};
use super::{Cgroup, Place};

#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// Nanoseconds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// Times the OOM killer killed a task of this cgroup.
    pub oom_kill: u64,
    /// Times the cgroup hit its limit and reclaim or OOM followed (v2 "oom" event).
    pub oom: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 = unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// A number from a file that may be absent on this kernel: 0 then, "max" as 0
/// (runc reports unlimited as 0 in limits it cannot express).
fn num(d: &Path, f: &str) -> u64 {
    fsio::read_raw(&d.join(f))
        .ok()
        .and_then(|s| parse_u64(s.trim()))
        .unwrap_or(0)
}

fn keyed(d: &Path, f: &str) -> BTreeMap<String, u64> {
    fsio::read_raw(&d.join(f))
        .map(|s| {
            parse_flat_keyed(&s)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        })
        .unwrap_or_default()
}

fn list(d: &Path, f: &str) -> Vec<u64> {
    fsio::read_raw(&d.join(f))
        .map(|s| s.split_whitespace().filter_map(parse_u64).collect())
        .unwrap_or_default()
}

pub(crate) fn collect(cg: &Cgroup) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    match cg.place("cpu", "cpu") {
        Some(Place::V1(d)) => {
            let st = keyed(d, "cpu.stat");
            s.cpu.throttling = Throttling {
                periods: st.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
                throttled_time: st.get("throttled_time").copied().unwrap_or(0),
            };
        }
        Some(Place::V2(d)) => cpu_v2(d, &mut s.cpu),
        None => {}
    }
    if let Some(Place::V1(d)) = cg.place("cpuacct", "") {
        let u = &mut s.cpu.usage;
        u.total = num(d, "cpuacct.usage");
        u.percpu = list(d, "cpuacct.usage_percpu");
        u.percpu_kernel = list(d, "cpuacct.usage_percpu_sys");
        u.percpu_user = list(d, "cpuacct.usage_percpu_user");
        u.kernel = num(d, "cpuacct.usage_sys");
        u.user = num(d, "cpuacct.usage_user");
    } else if let (Some(u), None) = (cg.unified_dir(), cg.place("cpu", "cpu")) {
        // cpu.stat's usage lines exist on every cgroup2 dir, controller or not.
        cpu_v2(u, &mut s.cpu);
    }
    match cg.place("memory", "memory") {
        Some(Place::V1(d)) => {
            let m = &mut s.memory;
            m.raw = keyed(d, "memory.stat");
            m.cache = m
                .raw
                .get("total_cache")
                .or(m.raw.get("cache"))
                .copied()
                .unwrap_or(0);
            for (e, pre) in [
                (&mut m.usage, "memory."),
                (&mut m.swap, "memory.memsw."),
                (&mut m.kernel, "memory.kmem."),
                (&mut m.kernel_tcp, "memory.kmem.tcp."),
            ] {
                *e = MemoryEntry {
                    limit: num(d, &format!("{pre}limit_in_bytes")),
                    usage: num(d, &format!("{pre}usage_in_bytes")),
                    max: num(d, &format!("{pre}max_usage_in_bytes")),
                    failcnt: num(d, &format!("{pre}failcnt")),
                };
            }
            let oc = keyed(d, "memory.oom_control");
            m.oom_kill = oc.get("oom_kill").copied().unwrap_or(0);
            m.oom = m.usage.failcnt;
        }
        Some(Place::V2(d)) => {
            let m = &mut s.memory;
            m.raw = keyed(d, "memory.stat");
            m.cache = m.raw.get("file").copied().unwrap_or(0);
            let ev = keyed(d, "memory.events");
            m.usage = MemoryEntry {
                limit: num(d, "memory.max"),
                usage: num(d, "memory.current"),
                max: num(d, "memory.peak"),
                failcnt: ev.get("max").copied().unwrap_or(0),
            };
            m.swap = MemoryEntry {
                limit: num(d, "memory.swap.max"),
                usage: num(d, "memory.swap.current"),
                max: num(d, "memory.swap.peak"),
                failcnt: keyed(d, "memory.swap.events")
                    .get("max")
                    .copied()
                    .unwrap_or(0),
            };
            m.oom_kill = ev.get("oom_kill").copied().unwrap_or(0);
            m.oom = ev.get("oom").copied().unwrap_or(0);
        }
        None => {}
    }
    if let Some(Place::V1(d) | Place::V2(d)) = cg.place("pids", "pids") {
        s.pids.current = num(d, "pids.current");
        s.pids.limit = num(d, "pids.max");
        if s.pids.limit == u64::MAX {
            s.pids.limit = 0;
        }
    }
    match cg.place("blkio", "io") {
        Some(Place::V1(d)) => {
            s.blkio.io_service_bytes_recursive =
                blkio_v1(d, "blkio.throttle.io_service_bytes_recursive");
            s.blkio.io_serviced_recursive = blkio_v1(d, "blkio.throttle.io_serviced_recursive");
        }
        Some(Place::V2(d)) => io_v2(d, &mut s.blkio),
        None => {}
    }
    match cg.place("hugetlb", "hugetlb") {
        Some(Place::V1(d)) => {
            for size in hugetlb_sizes(d, ".limit_in_bytes") {
                let p = format!("hugetlb.{size}.");
                s.hugetlb.insert(
                    size,
                    Hugetlb {
                        usage: num(d, &format!("{p}usage_in_bytes")),
                        max: num(d, &format!("{p}max_usage_in_bytes")),
                        failcnt: num(d, &format!("{p}failcnt")),
                    },
                );
            }
        }
        Some(Place::V2(d)) => {
            for size in hugetlb_sizes(d, ".current") {
                let p = format!("hugetlb.{size}.");
                s.hugetlb.insert(
                    size,
                    Hugetlb {
                        usage: num(d, &format!("{p}current")),
                        // runc's "max" is peak usage, which cgroup2 does not keep.
                        max: 0,
                        failcnt: keyed(d, &format!("{p}events"))
                            .get("max")
                            .copied()
                            .unwrap_or(0),
                    },
                );
            }
        }
        None => {}
    }
    Ok(s)
}

fn cpu_v2(d: &Path, cpu: &mut Cpu) {
    let st = keyed(d, "cpu.stat");
    let g = |k: &str| st.get(k).copied().unwrap_or(0);
    cpu.usage.total = g("usage_usec") * 1000;
    cpu.usage.user = g("user_usec") * 1000;
    cpu.usage.kernel = g("system_usec") * 1000;
    cpu.throttling = Throttling {
        periods: g("nr_periods"),
        throttled_periods: g("nr_throttled"),
        throttled_time: g("throttled_usec") * 1000,
    };
}

/// "8:0 Read 4096" lines (the "Total" line has no device and is skipped).
fn blkio_v1(d: &Path, f: &str) -> Vec<BlkioEntry> {
    let Ok(s) = fsio::read_raw(&d.join(f)) else {
        return Vec::new();
    };
    s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (maj, min) = it.next()?.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: it.next()?.to_owned(),
                value: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
fn io_v2(d: &Path, b: &mut Blkio) {
    let Ok(s) = fsio::read_raw(&d.join("io.stat")) else {
        return;
    };
    for l in s.lines() {
        let mut it = l.split_whitespace();
        let Some((maj, min)) = it.next().and_then(|dv| dv.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut b.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut b.io_service_bytes_recursive, "Write"),
                "rios" => (&mut b.io_serviced_recursive, "Read"),
                "wios" => (&mut b.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
}

/// Page sizes ("2MB", "1GB") for which the dir has a `hugetlb.<size><suffix>` file.
fn hugetlb_sizes(d: &Path, suffix: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(d) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            let size = n.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_owned())
        })
        .collect();
    v.sort();
    v
}

pub(crate) fn oom_kill_count(cg: &Cgroup) -> Result<u64, CgroupError> {
    match cg.place("memory", "memory") {
        Some(Place::V1(d)) => field(d, "memory.oom_control", "oom_kill"),
        Some(Place::V2(d)) => field(d, "memory.events", "oom_kill"),
        None => Err(CgroupError::unsupported(
            "oom_kill",
            "the memory controller is not available on this host",
        )),
    }
}

fn field(d: &Path, file: &str, key: &str) -> Result<u64, CgroupError> {
    let s = fsio::read_file(d, file)?;
    Ok(parse_flat_keyed(&s)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map_or(0, |(_, v)| v))
}
