//! cgroup v2 control files for each resource group (conversions in convert.rs).

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory};

use super::convert::{
    blkio_weight_to_io_weight, checked_mem, cpu_max, dev, hugetlb_file_prefix, io_max_line, mem_v2,
    memory_swap_v2, shares_to_weight,
};
use super::error::CgroupError;
use super::fsio::{self, write_field};

pub(crate) fn memory(d: &Path, m: &LinuxMemory, _update: bool) -> Result<(), CgroupError> {
    let limit = checked_mem(m.limit(), "linux.resources.memory.limit")?;
    let mut swap = checked_mem(m.swap(), "linux.resources.memory.swap")?;
    // An unlimited memory limit with swap unset means both unlimited (as runc does);
    // a limited swap would otherwise stay behind (or, on v1, block the write).
    if limit == Some(-1) && swap.is_none() {
        swap = Some(-1);
    }
    if let Some(l) = limit {
        write_field(d, "memory.max", &mem_v2(l), "linux.resources.memory.limit")?;
    }
    if let Some(s) = swap {
        let v = match limit {
            Some(_) => memory_swap_v2(s, limit)?,
            // An update of swap alone: the limit in force is the one to subtract.
            None if s == -1 => "max".into(),
            None => {
                let cur = fsio::read_u64(d, "memory.max")?;
                let cur = if cur == u64::MAX { -1 } else { cur as i64 };
                memory_swap_v2(s, Some(cur))?
            }
        };
        let path = d.join("memory.swap.max");
        if let Err(e) = fsio::write_raw(&path, &v) {
            if !(s == -1 && e.raw_os_error() == Some(libc::ENOENT)) {
                return Err(CgroupError::Write {
                    field: "linux.resources.memory.swap".into(),
                    path,
                    source: e,
                });
            }
        }
    }
    if let Some(r) = checked_mem(m.reservation(), "linux.resources.memory.reservation")? {
        write_field(
            d,
            "memory.low",
            &mem_v2(r),
            "linux.resources.memory.reservation",
        )?;
    }
    // kernel, kernelTCP, swappiness, disableOOMKiller and useHierarchy have no cgroup v2
    // counterpart; runc ignores them there too. Only validate what can be validated.
    if let Some(sw) = m.swappiness().filter(|&s| s != u64::MAX) {
        if sw > 100 {
            return Err(CgroupError::invalid(
                "linux.resources.memory.swappiness",
                format!("{sw} is not in 0..=100"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn cpu(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        write_field(
            d,
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            "linux.resources.cpu.shares",
        )?;
    }
    let quota = c.quota().filter(|&q| q != 0);
    let period = c.period().filter(|&p| p != 0);
    if quota.is_some() || period.is_some() {
        let field = if quota.is_some() {
            "linux.resources.cpu.quota"
        } else {
            "linux.resources.cpu.period"
        };
        // cpu.max holds both; keep the half the spec does not give.
        let (cur_quota, cur_period) = if quota.is_none() || period.is_none() {
            let cur = fsio::read_file(d, "cpu.max")?;
            let mut it = cur.split_whitespace();
            let q = match it.next() {
                Some("max") | None => None,
                Some(q) => q.parse::<i64>().ok(),
            };
            (q, it.next().and_then(|p| p.parse::<u64>().ok()))
        } else {
            (None, None)
        };
        let line = cpu_max(
            quota.or(cur_quota),
            period.or(cur_period).unwrap_or(100_000),
        )?;
        write_field(d, "cpu.max", &line, field)?;
    }
    if let Some(b) = c.burst() {
        write_field(
            d,
            "cpu.max.burst",
            &b.to_string(),
            "linux.resources.cpu.burst",
        )?;
    }
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(CgroupError::unsupported(
            "linux.resources.cpu.realtimeRuntime",
            "cgroup v2 has no real-time CPU bandwidth controls",
        ));
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

pub(crate) fn io(d: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // With BFQ the kernel takes v1-range weights in io.bfq.weight; otherwise io.weight
    // takes the converted 1..=10000 value.
    // 0 means "not set" (as runc reads it).
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        check_weight(w, "linux.resources.blockIO.weight")?;
        let bfq = d.join("io.bfq.weight");
        if fsio::write_raw(&bfq, &w.to_string()).is_err() {
            write_field(
                d,
                "io.weight",
                &blkio_weight_to_io_weight(w).to_string(),
                "linux.resources.blockIO.weight",
            )?;
        }
    }
    if b.leaf_weight().is_some_and(|w| w != 0) {
        return Err(CgroupError::unsupported(
            "linux.resources.blockIO.leafWeight",
            "cgroup v2 has no leaf weights",
        ));
    }
    for (i, wd) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        let dv = dev(wd.major(), wd.minor(), &field)?;
        if wd.leaf_weight().is_some_and(|w| w != 0) {
            return Err(CgroupError::unsupported(
                field,
                "cgroup v2 has no leaf weights",
            ));
        }
        if let Some(w) = wd.weight() {
            // 0 resets the device to the cgroup's default weight.
            let (bfq_v, io_v) = if w == 0 {
                ("default".to_owned(), "default".to_owned())
            } else {
                check_weight(w, &field)?;
                (w.to_string(), blkio_weight_to_io_weight(w).to_string())
            };
            let bfq = d.join("io.bfq.weight");
            if fsio::write_raw(&bfq, &format!("{dv} {bfq_v}")).is_err() {
                write_field(d, "io.weight", &format!("{dv} {io_v}"), &field)?;
            }
        }
    }
    for (list, key, name) in [
        (
            b.throttle_read_bps_device(),
            "rbps",
            "throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "wbps",
            "throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "riops",
            "throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "wiops",
            "throttleWriteIOPSDevice",
        ),
    ] {
        for (i, t) in list.iter().flatten().enumerate() {
            let field = format!("linux.resources.blockIO.{name}[{i}]");
            write_field(
                d,
                "io.max",
                &io_max_line(t.major(), t.minor(), key, t.rate(), &field)?,
                &field,
            )?;
        }
    }
    Ok(())
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

/// hugetlb.<size>.max, plus the reservation limit (.rsvd.max) where the kernel has it,
/// since the spec prefers reservation limits.
pub(crate) fn hugetlb(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for (i, l) in limits.iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let prefix = hugetlb_file_prefix(l.page_size(), &field)?;
        let v = mem_v2(l.limit());
        write_field(d, &format!("{prefix}.max"), &v, &field)?;
        let rsvd = d.join(format!("{prefix}.rsvd.max"));
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
