//! Writes linux.resources to whichever hierarchy holds each controller.

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use super::error::CgroupError;
use super::{devices, fsio, v1, v2, Cgroup, Layout, Place};

pub(crate) fn write(cg: &Cgroup, r: &LinuxResources, update: bool) -> Result<(), CgroupError> {
    if let Some(m) = r.memory() {
        if memory_is_set(m) {
            match cg.place("memory", "memory") {
                Some(Place::V1(d)) => v1::memory(d, m, update)?,
                Some(Place::V2(d)) => v2::memory(d, m, update)?,
                None => return Err(absent("linux.resources.memory", "memory")),
            }
        }
    }
    if let Some(c) = r.cpu() {
        if cpu_is_set(c) {
            match cg.place("cpu", "cpu") {
                Some(Place::V1(d)) => v1::cpu(d, c)?,
                Some(Place::V2(d)) => v2::cpu(d, c)?,
                None => return Err(absent("linux.resources.cpu", "cpu")),
            }
        }
        // Empty strings mean "not set" (writing "" would empty the cpuset).
        let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
        let mems = c.mems().as_deref().filter(|s| !s.is_empty());
        if cpus.is_some() || mems.is_some() {
            let d = match cg.place("cpuset", "cpuset") {
                Some(Place::V1(d) | Place::V2(d)) => d,
                None => return Err(absent("linux.resources.cpu.cpus", "cpuset")),
            };
            // Same file names on v1 and v2.
            if let Some(mems) = mems {
                fsio::write_field(d, "cpuset.mems", mems, "linux.resources.cpu.mems")?;
            }
            if let Some(cpus) = cpus {
                fsio::write_field(d, "cpuset.cpus", cpus, "linux.resources.cpu.cpus")?;
            }
        }
    }
    if let Some(p) = r.pids().filter(|p| p.limit() != 0) {
        // 0 means "not set" (as runc reads it); negative means unlimited.
        let d = match cg.place("pids", "pids") {
            Some(Place::V1(d) | Place::V2(d)) => d,
            None => return Err(absent("linux.resources.pids.limit", "pids")),
        };
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".to_owned()
        };
        fsio::write_field(d, "pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = r.block_io() {
        match cg.place("blkio", "io") {
            Some(Place::V1(d)) => v1::blkio(d, b)?,
            Some(Place::V2(d)) => v2::io(d, b)?,
            None => {
                if v1::blkio_is_set(b) {
                    return Err(absent("linux.resources.blockIO", "blkio/io"));
                }
            }
        }
    }
    if let Some(limits) = r.hugepage_limits() {
        if !limits.is_empty() {
            match cg.place("hugetlb", "hugetlb") {
                Some(Place::V1(d)) => v1::hugetlb(d, limits)?,
                Some(Place::V2(d)) => v2::hugetlb(d, limits)?,
                None => return Err(absent("linux.resources.hugepageLimits", "hugetlb")),
            }
        }
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            match cg.place("net_cls", "") {
                Some(Place::V1(d) | Place::V2(d)) => fsio::write_field(
                    d,
                    "net_cls.classid",
                    &id.to_string(),
                    "linux.resources.network.classID",
                )?,
                None => return Err(absent("linux.resources.network.classID", "net_cls")),
            }
        }
        if let Some(prios) = n.priorities() {
            if !prios.is_empty() {
                match cg.place("net_prio", "") {
                    Some(Place::V1(d) | Place::V2(d)) => v1::net_prio(d, prios)?,
                    None => return Err(absent("linux.resources.network.priorities", "net_prio")),
                }
            }
        }
    }
    if let Some(rdma) = r.rdma() {
        if !rdma.is_empty() {
            match cg.place("rdma", "rdma") {
                Some(Place::V1(d) | Place::V2(d)) => v1::rdma(d, rdma)?,
                None => return Err(absent("linux.resources.rdma", "rdma")),
            }
        }
    }
    if !update || r.devices().is_some() {
        devices::apply(cg, r.devices().as_deref().unwrap_or(&[]), update)?;
    }
    if let Some(u) = r.unified() {
        if !u.is_empty() {
            unified(cg, u)?;
        }
    }
    Ok(())
}

fn absent(field: &str, controller: &str) -> CgroupError {
    CgroupError::unsupported(
        field,
        format!("the {controller} controller is not available on this host"),
    )
}

fn memory_is_set(m: &LinuxMemory) -> bool {
    m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.use_hierarchy().is_some()
}

fn cpu_is_set(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
        || c.idle().is_some()
        || c.burst().is_some()
}

/// linux.resources.unified: each key is a file in the cgroup2 dir, written verbatim.
fn unified(cg: &Cgroup, u: &std::collections::HashMap<String, String>) -> Result<(), CgroupError> {
    let Some(dir) = cg.unified_dir().filter(|_| cg.layout() != Layout::V1) else {
        return Err(CgroupError::unsupported(
            "linux.resources.unified",
            "this host has no cgroup2 hierarchy",
        ));
    };
    // Sorted for a deterministic order of writes.
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        let field = format!("linux.resources.unified.{k}");
        if k.is_empty() || k.contains('/') || k.starts_with('.') || k.contains('\0') {
            return Err(CgroupError::invalid(field, "not a cgroup file name"));
        }
        let path = dir.join(k);
        if let Err(e) = fsio::write_raw(&path, &u[k]) {
            let reason = if e.raw_os_error() == Some(libc::ENOENT) {
                format!(
                    "{} does not exist (controller not enabled or not a cgroup2 file)",
                    path.display()
                )
            } else {
                format!("writing {}: {e}", path.display())
            };
            return Err(CgroupError::invalid(field, reason));
        }
    }
    Ok(())
}
