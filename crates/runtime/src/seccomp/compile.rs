//! linux.seccomp → libseccomp rules → BPF program, all in the parent.

use std::io::Read;
use std::os::fd::AsFd;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::errno::Errno;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};

use super::{SeccompError, SeccompFilter};

/// Seccomp filter flags (linux/seccomp.h).
pub(crate) const FLAG_TSYNC: libc::c_ulong = 1;
pub(crate) const FLAG_LOG: libc::c_ulong = 1 << 1;
pub(crate) const FLAG_SPEC_ALLOW: libc::c_ulong = 1 << 2;
pub(crate) const FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
pub(crate) const FLAG_TSYNC_ESRCH: libc::c_ulong = 1 << 4;
pub(crate) const FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SeccompError {
    SeccompError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn lib(what: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    let what = what.into();
    move |source| SeccompError::Libseccomp { what, source }
}

/// The libseccomp action for a spec action; `errno_field` names where errno came from.
fn action(
    a: LinuxSeccompAction,
    errno: Option<u32>,
    errno_field: &str,
) -> Result<ScmpAction, SeccompError> {
    use LinuxSeccompAction as A;
    let ret = |default: u32| -> Result<u16, SeccompError> {
        let v = errno.unwrap_or(default);
        u16::try_from(v).map_err(|_| invalid(errno_field, format!("{v} does not fit in 16 bits")))
    };
    if errno.is_some() && !matches!(a, A::ScmpActErrno | A::ScmpActTrace) {
        return Err(invalid(
            errno_field,
            format!("only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {a}"),
        ));
    }
    Ok(match a {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(i32::from(ret(libc::EPERM as u32)?)),
        A::ScmpActTrace => ScmpAction::Trace(ret(libc::EPERM as u32)?),
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    })
}

fn arch(a: Arch) -> Option<ScmpArch> {
    Some(match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        _ => return None,
    })
}

fn condition(a: &LinuxSeccompArg, field: &str) -> Result<ScmpArgCompare, SeccompError> {
    if a.index() > 5 {
        return Err(invalid(
            format!("{field}.index"),
            format!(
                "{} is out of range (a syscall has 6 arguments, 0-5)",
                a.index()
            ),
        ));
    }
    use LinuxSeccompOperator as O;
    let (op, datum) = match a.op() {
        O::ScmpCmpNe => (ScmpCompareOp::NotEqual, a.value()),
        O::ScmpCmpLt => (ScmpCompareOp::Less, a.value()),
        O::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, a.value()),
        O::ScmpCmpEq => (ScmpCompareOp::Equal, a.value()),
        O::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, a.value()),
        O::ScmpCmpGt => (ScmpCompareOp::Greater, a.value()),
        // The spec's value is the mask, valueTwo what the masked argument must equal.
        O::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(a.value()),
            a.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
}

fn flag(f: LinuxSeccompFilterFlag) -> libc::c_ulong {
    match f {
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
    }
}

impl SeccompFilter {
    /// Validates linux.seccomp and builds the BPF program. Errors name the field, e.g.
    /// "linux.seccomp.syscalls[3].errnoRet: ...".
    pub fn compile(s: &LinuxSeccomp) -> Result<SeccompFilter, SeccompError> {
        let default = action(
            s.default_action(),
            s.default_errno_ret(),
            "linux.seccomp.defaultErrnoRet",
        )?;
        if default == ScmpAction::Notify {
            return Err(invalid(
                "linux.seccomp.defaultAction",
                "SCMP_ACT_NOTIFY cannot be the default action (the container could not even exec)",
            ));
        }
        let mut warnings = Vec::new();
        let mut ctx = ScmpFilterContext::new(default).map_err(lib("create seccomp filter"))?;
        for (i, a) in s.architectures().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.architectures[{i}]");
            let Some(sa) = arch(*a) else {
                return Err(invalid(
                    field,
                    format!("{a:?} is not supported by libseccomp"),
                ));
            };
            match ctx.add_arch(sa) {
                Ok(_) => {}
                Err(e) if e.errno() == Some(libseccomp::error::SeccompErrno::EEXIST) => {}
                Err(e) => return Err(lib(field)(e)),
            }
        }
        let mut flags = 0;
        for f in s.flags().iter().flatten() {
            flags |= flag(*f);
        }
        let mut notify = false;
        for (i, sc) in s.syscalls().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            let act = action(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
            if sc.names().is_empty() {
                return Err(invalid(format!("{field}.names"), "must not be empty"));
            }
            let args = sc.args().as_deref().unwrap_or(&[]);
            let conds = args
                .iter()
                .enumerate()
                .map(|(j, a)| condition(a, &format!("{field}.args[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            // libseccomp refuses rules that repeat the default action; they change nothing.
            if act == default {
                continue;
            }
            notify |= act == ScmpAction::Notify;
            // Several conditions on the same argument can never all hold at once; runc
            // (and the profiles written for it) mean them as alternatives.
            let same_index = conds.len() > 1 && args.iter().all(|a| a.index() == args[0].index());
            for (k, name) in sc.names().iter().enumerate() {
                let sys = match ScmpSyscall::from_name(name) {
                    Ok(s) => s,
                    Err(_) => {
                        warnings.push(format!(
                            "{field}.names[{k}]: unknown syscall {name:?} ignored"
                        ));
                        continue;
                    }
                };
                let what = || format!("{field}.names[{k}] ({name})");
                if same_index {
                    for c in &conds {
                        ctx.add_rule_conditional(act, sys, std::slice::from_ref(c))
                            .map_err(lib(what()))?;
                    }
                } else {
                    ctx.add_rule_conditional(act, sys, &conds)
                        .map_err(lib(what()))?;
                }
            }
        }
        if notify && s.listener_path().is_none() {
            return Err(invalid(
                "linux.seccomp.listenerPath",
                "required when a rule uses SCMP_ACT_NOTIFY",
            ));
        }
        let program = export_bpf(&ctx)?;
        Ok(SeccompFilter {
            program,
            flags,
            notify,
            warnings,
        })
    }
}

/// libseccomp's BPF for `ctx`, read back through a memfd (Debian's libseccomp 2.5 has no
/// in-memory export).
fn export_bpf(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let sys = |what: &str| {
        let what = what.to_owned();
        move |source: Errno| SeccompError::Sys { what, source }
    };
    let fd =
        nix::sys::memfd::memfd_create(c"berth-seccomp-bpf", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(sys("memfd_create"))?;
    ctx.export_bpf(fd.as_fd())
        .map_err(lib("export seccomp BPF"))?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut file)
        .map_err(|e| sys("rewind BPF memfd")(Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
    file.read_to_end(&mut bytes)
        .map_err(|e| sys("read BPF memfd")(Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
    const INSN: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.is_empty() || bytes.len() % INSN != 0 {
        return Err(sys("exported BPF has a bad length")(Errno::EINVAL));
    }
    Ok(bytes
        .chunks_exact(INSN)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}
