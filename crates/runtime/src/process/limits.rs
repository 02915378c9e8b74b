//! rlimits, oom_score_adj, I/O priority, scheduler and personality.

use nix::sys::resource::{setrlimit, Resource};
use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, PosixRlimitType, Process,
};

use crate::error::{msg, Context, Result};
use crate::sys;

fn resource(t: PosixRlimitType) -> Resource {
    match t {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// process.rlimits, each with its index in errors (raising above the hard limit needs
/// CAP_SYS_RESOURCE, which some hosts' root lacks).
pub fn apply_rlimits(p: &Process) -> Result<()> {
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        setrlimit(resource(r.typ()), r.soft(), r.hard()).with_ctx(|| {
            format!(
                "process.rlimits[{i}] ({:?} soft {} hard {})",
                r.typ(),
                r.soft(),
                r.hard()
            )
        })?;
    }
    Ok(())
}

/// Writes /proc/self/oom_score_adj.
pub fn apply_oom_score_adj(p: &Process) -> Result<()> {
    if let Some(v) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", v.to_string())
            .with_ctx(|| format!("process.oomScoreAdj: set {v}"))?;
    }
    Ok(())
}

pub fn apply_io_priority(p: &Process) -> Result<()> {
    if let Some(io) = p.io_priority() {
        let class = match io.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        if !(0..=7).contains(&io.priority()) {
            return Err(msg(format!(
                "process.ioPriority.priority: {} is not in 0..=7",
                io.priority()
            )));
        }
        sys::ioprio_set_self(class, io.priority() as i32).ctx("process.ioPriority")?;
    }
    Ok(())
}

pub fn apply_scheduler(p: &Process) -> Result<()> {
    let Some(s) = p.scheduler() else {
        return Ok(());
    };
    let mut attr = sys::SchedAttr {
        sched_policy: match s.policy() {
            LinuxSchedulerPolicy::SchedOther => 0,
            LinuxSchedulerPolicy::SchedFifo => 1,
            LinuxSchedulerPolicy::SchedRr => 2,
            LinuxSchedulerPolicy::SchedBatch => 3,
            LinuxSchedulerPolicy::SchedIso => 4,
            LinuxSchedulerPolicy::SchedIdle => 5,
            LinuxSchedulerPolicy::SchedDeadline => 6,
        },
        sched_nice: s.nice().unwrap_or(0),
        sched_priority: s.priority().unwrap_or(0) as u32,
        sched_runtime: s.runtime().unwrap_or(0),
        sched_deadline: s.deadline().unwrap_or(0),
        sched_period: s.period().unwrap_or(0),
        ..Default::default()
    };
    for f in s.flags().iter().flatten() {
        attr.sched_flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    sys::sched_setattr_self(&mut attr).ctx("process.scheduler")
}

pub fn apply_personality(p: Option<&LinuxPersonality>) -> Result<()> {
    if let Some(p) = p {
        let persona = match p.domain() {
            LinuxPersonalityDomain::PerLinux => 0x0000,
            LinuxPersonalityDomain::PerLinux32 => 0x0008,
        };
        sys::personality(persona).ctx("linux.personality")?;
    }
    Ok(())
}

/// AppArmor / SELinux: applied where the host has them, a clear error where it does not.
pub fn apply_lsm(p: &Process) -> Result<()> {
    if let Some(prof) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        if !std::path::Path::new("/sys/kernel/security/apparmor").exists() {
            return Err(msg(format!(
                "process.apparmorProfile: {prof:?} requested but AppArmor is not enabled on this host"
            )));
        }
        std::fs::write("/proc/self/attr/apparmor/exec", format!("exec {prof}"))
            .or_else(|_| std::fs::write("/proc/self/attr/exec", format!("exec {prof}")))
            .with_ctx(|| format!("process.apparmorProfile: apply {prof:?}"))?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(msg(format!(
                "process.selinuxLabel: {label:?} requested but SELinux is not enabled on this host"
            )));
        }
        std::fs::write("/proc/self/attr/exec", label)
            .with_ctx(|| format!("process.selinuxLabel: apply {label:?}"))?;
    }
    Ok(())
}

/// Checks in the runtime (before anything starts) that requested LSMs exist.
pub fn check_lsm(p: &Process) -> Result<()> {
    if p.apparmor_profile()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && !std::path::Path::new("/sys/kernel/security/apparmor").exists()
    {
        return Err(msg(format!(
            "process.apparmorProfile: {:?} requested but AppArmor is not enabled on this host",
            p.apparmor_profile().as_deref().unwrap_or_default()
        )));
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty())
        && !std::path::Path::new("/sys/fs/selinux/enforce").exists()
    {
        return Err(msg(format!(
            "process.selinuxLabel: {:?} requested but SELinux is not enabled on this host",
            p.selinux_label().as_deref().unwrap_or_default()
        )));
    }
    Ok(())
}
