//! `linux.resources` from `-m`, `--memory-swap`, `--cpus`, `--cpu-*`, `--cpuset-*`,
//! `--pids-limit`, `--blkio-weight`, with Docker's validation and defaults.

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
};

use super::error::SpecError;
use super::host::{parse_cpu_list, HostInfo};
use super::options::RunOptions;

/// Docker refuses memory limits below 6 MiB.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// CFS period used for `--cpus`.
pub const CPU_PERIOD: u64 = 100_000;

/// The memory+swap limit Docker applies: unset swap with a memory limit → twice the memory;
/// `-1` → unlimited; nothing when the kernel cannot account swap.
pub fn effective_swap(
    memory: Option<i64>,
    swap: Option<i64>,
    swap_accounting: bool,
) -> Option<i64> {
    if !swap_accounting {
        return None;
    }
    match (memory.filter(|m| *m > 0), swap.filter(|s| *s != 0)) {
        (_, Some(-1)) => Some(-1),
        (Some(m), None) => Some(m * 2),
        (_, s) => s,
    }
}

fn check_cpuset(flag: &'static str, value: &str, available: &[u32]) -> Result<(), SpecError> {
    let list = parse_cpu_list(value)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| SpecError::flag(flag, value, format!("invalid value {value:?}")))?;
    if let Some(bad) = list.iter().find(|c| !available.contains(c)) {
        let avail: Vec<String> = available.iter().map(u32::to_string).collect();
        let what = if flag == "--cpuset-cpus" {
            "CPUs"
        } else {
            "memory nodes"
        };
        return Err(SpecError::Invalid(format!(
            "Requested {what} are not available - requested {value}, available: {} (e.g. {bad} is not)",
            avail.join(",")
        )));
    }
    Ok(())
}

/// The resources block (memory, cpu, pids, blkio; devices are added by the caller).
pub fn resources(opts: &RunOptions, host: &HostInfo) -> Result<LinuxResources, SpecError> {
    let memory = opts.memory.filter(|m| *m > 0);
    if let Some(m) = memory {
        if m < MIN_MEMORY {
            return Err(SpecError::Invalid(
                "Minimum memory limit allowed is 6MB".into(),
            ));
        }
    }
    if let Some(s) = opts.memory_swap.filter(|s| *s > 0) {
        match memory {
            None => {
                return Err(SpecError::Invalid(
                    "You should always set the Memory limit when using Memoryswap limit, see usage"
                        .into(),
                ))
            }
            Some(m) if s < m => {
                return Err(SpecError::Invalid(
                    "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
                ))
            }
            _ => {}
        }
    }
    if let Some(r) = opts.memory_reservation.filter(|r| *r > 0) {
        if let Some(m) = memory {
            if m < r {
                return Err(SpecError::Invalid(
                    "Minimum memory limit can not be less than memory reservation limit, see usage"
                        .into(),
                ));
            }
        }
        if r < MIN_MEMORY {
            return Err(SpecError::Invalid(
                "Minimum memory reservation allowed is 6MB".into(),
            ));
        }
    }
    if let Some(sw) = opts.memory_swappiness {
        if sw > 100 {
            return Err(SpecError::Invalid(format!(
                "Invalid value: {sw}, valid memory swappiness range is 0-100"
            )));
        }
    }
    let mut mem = LinuxMemoryBuilder::default();
    let mut any_mem = false;
    if let Some(m) = memory {
        mem = mem.limit(m);
        any_mem = true;
    }
    if let Some(s) = effective_swap(memory, opts.memory_swap, host.swap_accounting) {
        mem = mem.swap(s);
        any_mem = true;
    }
    if let Some(r) = opts.memory_reservation.filter(|r| *r > 0) {
        mem = mem.reservation(r);
        any_mem = true;
    }
    if let Some(sw) = opts.memory_swappiness {
        if !host.cgroup2 {
            mem = mem.swappiness(sw);
            any_mem = true;
        }
    }
    if opts.oom_kill_disable {
        mem = mem.disable_oom_killer(true);
        any_mem = true;
    }

    let ncpu = host.cpus.len().max(1);
    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(c) = opts.cpus.filter(|c| *c != 0.0) {
        if opts.cpu_period.is_some() {
            return Err(SpecError::Invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set".into(),
            ));
        }
        if opts.cpu_quota.is_some() {
            return Err(SpecError::Invalid(
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set".into(),
            ));
        }
        let nano = (c * 1e9).round() as i64;
        if nano < 10_000_000 || nano > ncpu as i64 * 1_000_000_000 {
            return Err(SpecError::Invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        cpu = cpu
            .period(CPU_PERIOD)
            .quota(nano * CPU_PERIOD as i64 / 1_000_000_000);
        any_cpu = true;
    }
    if let Some(p) = opts.cpu_period.filter(|p| *p != 0) {
        if !(1000..=1_000_000).contains(&p) {
            return Err(SpecError::Invalid(
                "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)".into(),
            ));
        }
        cpu = cpu.period(p);
        any_cpu = true;
    }
    if let Some(q) = opts.cpu_quota.filter(|q| *q != 0) {
        if q > 0 && q < 1000 {
            return Err(SpecError::Invalid(
                "CPU cfs quota can not be less than 1ms (i.e. 1000)".into(),
            ));
        }
        cpu = cpu.quota(q);
        any_cpu = true;
    }
    if let Some(s) = opts.cpu_shares.filter(|s| *s != 0) {
        // The kernel's bounds; Docker clamps rather than refusing.
        cpu = cpu.shares(s.clamp(2, 262_144));
        any_cpu = true;
    }
    if let Some(p) = opts.cpu_rt_period.filter(|p| *p != 0) {
        cpu = cpu.realtime_period(p);
        any_cpu = true;
    }
    if let Some(r) = opts.cpu_rt_runtime.filter(|r| *r != 0) {
        cpu = cpu.realtime_runtime(r);
        any_cpu = true;
    }
    if let Some(c) = opts.cpuset_cpus.as_deref().filter(|c| !c.is_empty()) {
        check_cpuset("--cpuset-cpus", c, &host.cpus)?;
        cpu = cpu.cpus(c);
        any_cpu = true;
    }
    if let Some(m) = opts.cpuset_mems.as_deref().filter(|c| !c.is_empty()) {
        check_cpuset("--cpuset-mems", m, &host.mems)?;
        cpu = cpu.mems(m);
        any_cpu = true;
    }

    let mut res = oci_spec::runtime::LinuxResourcesBuilder::default();
    if any_mem {
        res = res.memory(mem.build()?);
    }
    if any_cpu {
        res = res.cpu(cpu.build()?);
    }
    if let Some(p) = opts.pids_limit.filter(|p| *p > 0) {
        res = res.pids(LinuxPidsBuilder::default().limit(p).build()?);
    }
    if let Some(w) = opts.blkio_weight.filter(|w| *w != 0) {
        if !(10..=1000).contains(&w) {
            return Err(SpecError::Invalid(
                "Range of blkio weight is from 10 to 1000".into(),
            ));
        }
        res = res.block_io(LinuxBlockIoBuilder::default().weight(w).build()?);
    }
    if opts.kernel_memory.is_some_and(|k| k > 0) {
        tracing::warn!("--kernel-memory is deprecated and ignored, as in Docker");
    }
    Ok(res.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn test_host() -> HostInfo {
        HostInfo {
            cgroup2: false,
            swap_accounting: true,
            cpus: vec![0, 1],
            mems: vec![0],
            rlimit_hard: [("nofile".to_string(), 20000u64)].into_iter().collect(),
            can_raise_rlimits: false,
            bounding_mask: (1u64 << 41) - 1,
            hostname: "testhost".into(),
            seccomp: crate::spec::seccomp::Host {
                go_arch: "amd64".into(),
                kernel: (6, 18),
            },
        }
    }

    const MB: i64 = 1024 * 1024;

    #[test]
    fn swap_math() {
        assert_eq!(effective_swap(Some(512 * MB), None, true), Some(1024 * MB));
        assert_eq!(
            effective_swap(Some(512 * MB), Some(0), true),
            Some(1024 * MB)
        );
        assert_eq!(effective_swap(Some(512 * MB), Some(-1), true), Some(-1));
        assert_eq!(
            effective_swap(Some(512 * MB), Some(600 * MB), true),
            Some(600 * MB)
        );
        assert_eq!(effective_swap(None, None, true), None);
        assert_eq!(effective_swap(Some(512 * MB), None, false), None);
    }

    #[test]
    fn memory_limits_and_errors() {
        let h = test_host();
        let o = RunOptions {
            memory: Some(512 * MB),
            ..RunOptions::default()
        };
        let r = resources(&o, &h).unwrap();
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), Some(512 * MB));
        assert_eq!(m.swap(), Some(1024 * MB));
        let e = |o: RunOptions| resources(&o, &h).unwrap_err().to_string();
        assert_eq!(
            e(RunOptions {
                memory: Some(MB),
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert!(e(RunOptions {
            memory_swap: Some(100 * MB),
            ..Default::default()
        })
        .contains("always set the Memory limit"));
        assert!(e(RunOptions {
            memory: Some(100 * MB),
            memory_swap: Some(50 * MB),
            ..Default::default()
        })
        .contains("larger than memory limit"));
        assert!(e(RunOptions {
            memory_swappiness: Some(101),
            ..Default::default()
        })
        .contains("0-100"));
        assert!(e(RunOptions {
            memory: Some(10 * MB),
            memory_reservation: Some(20 * MB),
            ..Default::default()
        })
        .contains("reservation"));
    }

    #[test]
    fn cpus_to_quota_and_validation() {
        let h = test_host();
        let r = resources(
            &RunOptions {
                cpus: Some(1.5),
                ..Default::default()
            },
            &h,
        )
        .unwrap();
        let c = r.cpu().as_ref().unwrap();
        assert_eq!((c.period(), c.quota()), (Some(100_000), Some(150_000)));
        let e = resources(
            &RunOptions {
                cpus: Some(3.0),
                ..Default::default()
            },
            &h,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        let e = resources(
            &RunOptions {
                cpus: Some(1.0),
                cpu_quota: Some(5000),
                ..Default::default()
            },
            &h,
        )
        .unwrap_err();
        assert!(e.to_string().contains("Conflicting options"), "{e}");
        let r = resources(
            &RunOptions {
                cpu_shares: Some(1),
                cpuset_cpus: Some("0-1".into()),
                ..Default::default()
            },
            &h,
        )
        .unwrap();
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.shares(), Some(2));
        assert_eq!(c.cpus().as_deref(), Some("0-1"));
        let e = resources(
            &RunOptions {
                cpuset_cpus: Some("0-7".into()),
                ..Default::default()
            },
            &h,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("Requested CPUs are not available"),
            "{e}"
        );
    }

    #[test]
    fn pids_blkio_oom() {
        let h = test_host();
        let r = resources(
            &RunOptions {
                pids_limit: Some(100),
                blkio_weight: Some(300),
                oom_kill_disable: true,
                ..Default::default()
            },
            &h,
        )
        .unwrap();
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        assert_eq!(
            r.memory().as_ref().unwrap().disable_oom_killer(),
            Some(true)
        );
        let r = resources(
            &RunOptions {
                pids_limit: Some(-1),
                ..Default::default()
            },
            &h,
        )
        .unwrap();
        assert!(r.pids().is_none());
        let e = resources(
            &RunOptions {
                blkio_weight: Some(5),
                ..Default::default()
            },
            &h,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "Range of blkio weight is from 10 to 1000");
    }
}
