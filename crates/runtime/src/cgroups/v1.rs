//! cgroup v1 control files for each resource group.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxInterfacePriority, LinuxMemory, LinuxRdma,
};

use super::convert::{checked_mem, dev, hugetlb_file_prefix, mem_v1};
use super::error::CgroupError;
use super::fsio::{self, is_missing_knob, write_field};

pub(crate) fn memory(d: &Path, m: &LinuxMemory, update: bool) -> Result<(), CgroupError> {
    let limit = checked_mem(m.limit(), "linux.resources.memory.limit")?;
    let mut swap = checked_mem(m.swap(), "linux.resources.memory.swap")?;
    // An unlimited memory limit with swap unset means both unlimited (as runc does);
    // a limited swap would otherwise stay behind (or, on v1, block the write).
    if limit == Some(-1) && swap.is_none() {
        swap = Some(-1);
    }
    if let (Some(l), Some(s)) = (limit, swap) {
        if l > 0 && s >= 0 && s < l {
            return Err(CgroupError::invalid(
                "linux.resources.memory.swap",
                format!("memory+swap {s} is below linux.resources.memory.limit {l}"),
            ));
        }
    }
    match (limit, swap) {
        (Some(l), Some(s)) => limit_and_swap(d, l, s)?,
        (Some(l), None) => write_field(
            d,
            "memory.limit_in_bytes",
            &mem_v1(l),
            "linux.resources.memory.limit",
        )?,
        (None, Some(s)) => memsw(d, s)?,
        (None, None) => {}
    }
    if let Some(r) = checked_mem(m.reservation(), "linux.resources.memory.reservation")? {
        write_field(
            d,
            "memory.soft_limit_in_bytes",
            &mem_v1(r),
            "linux.resources.memory.reservation",
        )?;
    }
    // Kernel memory limits are gone from newer kernels; their absence is not an error.
    for (v, file, field) in [
        (
            m.kernel(),
            "memory.kmem.limit_in_bytes",
            "linux.resources.memory.kernel",
        ),
        (
            m.kernel_tcp(),
            "memory.kmem.tcp.limit_in_bytes",
            "linux.resources.memory.kernelTCP",
        ),
    ] {
        if let Some(v) = checked_mem(v, field)? {
            if let Err(e) = fsio::write_raw(&d.join(file), &mem_v1(v)) {
                if !is_missing_knob(&e) {
                    return Err(CgroupError::Write {
                        field: field.into(),
                        path: d.join(file),
                        source: e,
                    });
                }
            }
        }
    }
    // u64::MAX is how -1 ("not set") arrives through an unsigned field.
    if let Some(sw) = m.swappiness().filter(|&s| s != u64::MAX) {
        if sw > 100 {
            return Err(CgroupError::invalid(
                "linux.resources.memory.swappiness",
                format!("{sw} is not in 0..=100"),
            ));
        }
        write_field(
            d,
            "memory.swappiness",
            &sw.to_string(),
            "linux.resources.memory.swappiness",
        )?;
    }
    match m.disable_oom_killer() {
        Some(true) => write_field(
            d,
            "memory.oom_control",
            "1",
            "linux.resources.memory.disableOOMKiller",
        )?,
        Some(false) if update => write_field(
            d,
            "memory.oom_control",
            "0",
            "linux.resources.memory.disableOOMKiller",
        )?,
        _ => {}
    }
    if let Some(h) = m.use_hierarchy() {
        write_field(
            d,
            "memory.use_hierarchy",
            if h { "1" } else { "0" },
            "linux.resources.memory.useHierarchy",
        )?;
    }
    Ok(())
}

/// The kernel keeps limit <= memsw at every step: raise memsw first when growing,
/// the limit first when shrinking. Trying the limit first and retrying in the
/// other order on EINVAL covers both without reading the current values.
fn limit_and_swap(d: &Path, limit: i64, swap: i64) -> Result<(), CgroupError> {
    let lim_path = d.join("memory.limit_in_bytes");
    match fsio::write_raw(&lim_path, &mem_v1(limit)) {
        Ok(()) => memsw(d, swap),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            memsw(d, swap)?;
            write_field(
                d,
                "memory.limit_in_bytes",
                &mem_v1(limit),
                "linux.resources.memory.limit",
            )
        }
        Err(e) => Err(CgroupError::Write {
            field: "linux.resources.memory.limit".into(),
            path: lim_path,
            source: e,
        }),
    }
}

fn memsw(d: &Path, swap: i64) -> Result<(), CgroupError> {
    let path = d.join("memory.memsw.limit_in_bytes");
    match fsio::write_raw(&path, &mem_v1(swap)) {
        Ok(()) => Ok(()),
        // Without swap accounting, "unlimited" is what we already have.
        Err(e) if swap == -1 && e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Err(CgroupError::unsupported(
            "linux.resources.memory.swap",
            "the kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)",
        )),
        Err(source) => Err(CgroupError::Write {
            field: "linux.resources.memory.swap".into(),
            path,
            source,
        }),
    }
}

pub(crate) fn cpu(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        write_field(
            d,
            "cpu.shares",
            &s.to_string(),
            "linux.resources.cpu.shares",
        )?;
    }
    if let Some(p) = c.period().filter(|&p| p != 0) {
        write_field(
            d,
            "cpu.cfs_period_us",
            &p.to_string(),
            "linux.resources.cpu.period",
        )?;
    }
    match c.quota() {
        None | Some(0) => {}
        Some(q) if q == -1 || q > 0 => write_field(
            d,
            "cpu.cfs_quota_us",
            &q.to_string(),
            "linux.resources.cpu.quota",
        )?,
        Some(q) => {
            return Err(CgroupError::invalid(
                "linux.resources.cpu.quota",
                format!("{q} is neither -1 (unlimited) nor positive"),
            ))
        }
    }
    if let Some(b) = c.burst() {
        write_field(
            d,
            "cpu.cfs_burst_us",
            &b.to_string(),
            "linux.resources.cpu.burst",
        )?;
    }
    // The period bounds the runtime, so it goes first.
    if let Some(p) = c.realtime_period().filter(|&p| p != 0) {
        write_field(
            d,
            "cpu.rt_period_us",
            &p.to_string(),
            "linux.resources.cpu.realtimePeriod",
        )?;
    }
    if let Some(r) = c.realtime_runtime().filter(|&r| r != 0) {
        if r < -1 {
            return Err(CgroupError::invalid(
                "linux.resources.cpu.realtimeRuntime",
                format!("{r} is below -1"),
            ));
        }
        write_field(
            d,
            "cpu.rt_runtime_us",
            &r.to_string(),
            "linux.resources.cpu.realtimeRuntime",
        )?;
    }
    if let Some(i) = c.idle() {
        if !(0..=1).contains(&i) {
            return Err(CgroupError::invalid(
                "linux.resources.cpu.idle",
                format!("{i} is not 0 or 1"),
            ));
        }
        write_field(d, "cpu.idle", &i.to_string(), "linux.resources.cpu.idle")?;
    }
    Ok(())
}

pub(crate) fn blkio_is_set(b: &LinuxBlockIo) -> bool {
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || b.throttle_read_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_write_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_read_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        || b.throttle_write_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
}

fn check_weight(w: u16, field: &str) -> Result<(), CgroupError> {
    if !(10..=1000).contains(&w) {
        return Err(CgroupError::invalid(
            field,
            format!("{w} is not in 10..=1000"),
        ));
    }
    Ok(())
}

/// Writes to the CFQ file, or to its BFQ twin when the kernel only has BFQ.
fn write_weight_file(
    d: &Path,
    cfq: &str,
    bfq: &str,
    v: &str,
    field: &str,
) -> Result<(), CgroupError> {
    match fsio::write_raw(&d.join(cfq), v) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => write_field(d, bfq, v, field),
        r => r.map_err(|source| CgroupError::Write {
            field: field.into(),
            path: d.join(cfq),
            source,
        }),
    }
}

pub(crate) fn blkio(d: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // 0 means "not set" (as runc reads it).
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        check_weight(w, "linux.resources.blockIO.weight")?;
        write_weight_file(
            d,
            "blkio.weight",
            "blkio.bfq.weight",
            &w.to_string(),
            "linux.resources.blockIO.weight",
        )?;
    }
    if let Some(w) = b.leaf_weight().filter(|&w| w != 0) {
        check_weight(w, "linux.resources.blockIO.leafWeight")?;
        write_field(
            d,
            "blkio.leaf_weight",
            &w.to_string(),
            "linux.resources.blockIO.leafWeight",
        )?;
    }
    for (i, wd) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        let dv = dev(wd.major(), wd.minor(), &field)?;
        // A per-device weight of 0 removes the device's entry.
        if let Some(w) = wd.weight() {
            if w != 0 {
                check_weight(w, &field)?;
            }
            write_weight_file(
                d,
                "blkio.weight_device",
                "blkio.bfq.weight_device",
                &format!("{dv} {w}"),
                &field,
            )?;
        }
        if let Some(w) = wd.leaf_weight() {
            if w != 0 {
                check_weight(w, &field)?;
            }
            write_field(d, "blkio.leaf_weight_device", &format!("{dv} {w}"), &field)?;
        }
    }
    for (list, file, name) in [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "throttleWriteIOPSDevice",
        ),
    ] {
        for (i, t) in list.iter().flatten().enumerate() {
            let field = format!("linux.resources.blockIO.{name}[{i}]");
            let dv = dev(t.major(), t.minor(), &field)?;
            write_field(d, file, &format!("{dv} {}", t.rate()), &field)?;
        }
    }
    Ok(())
}

pub(crate) fn hugetlb(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for (i, l) in limits.iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let prefix = hugetlb_file_prefix(l.page_size(), &field)?;
        let v = l.limit().to_string();
        write_field(d, &format!("{prefix}.limit_in_bytes"), &v, &field)?;
        // The spec prefers reservation limits where the kernel has them (5.7+).
        let rsvd = d.join(format!("{prefix}.rsvd.limit_in_bytes"));
        if let Err(e) = fsio::write_raw(&rsvd, &v) {
            if e.raw_os_error() != Some(libc::ENOENT) {
                return Err(CgroupError::Write {
                    field,
                    path: rsvd,
                    source: e,
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn net_prio(d: &Path, prios: &[LinuxInterfacePriority]) -> Result<(), CgroupError> {
    for (i, p) in prios.iter().enumerate() {
        let field = format!("linux.resources.network.priorities[{i}]");
        if p.name().is_empty() || p.name().contains(char::is_whitespace) {
            return Err(CgroupError::invalid(
                field,
                format!("bad interface name {:?}", p.name()),
            ));
        }
        write_field(
            d,
            "net_prio.ifpriomap",
            &format!("{} {}", p.name(), p.priority()),
            &field,
        )?;
    }
    Ok(())
}

/// rdma.max has the same format on v1 and v2.
pub(crate) fn rdma(d: &Path, rdma: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    let mut names: Vec<&String> = rdma.keys().collect();
    names.sort();
    for name in names {
        let field = format!("linux.resources.rdma.{name}");
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(CgroupError::invalid(field, "bad device name"));
        }
        let r = &rdma[name];
        let num = |v: Option<u32>| v.map_or_else(|| "max".to_owned(), |v| v.to_string());
        let line = format!(
            "{name} hca_handle={} hca_object={}",
            num(r.hca_handles()),
            num(r.hca_objects())
        );
        write_field(d, "rdma.max", &line, &field)?;
    }
    Ok(())
}
