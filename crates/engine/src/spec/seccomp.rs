//! Seccomp profiles in Docker's format (per-rule capability and architecture conditions,
//! an architecture map) and their compilation into the OCI `linux.seccomp` for one
//! container. `default_profile()` is Docker's default profile, written as data here.

use serde::{Deserialize, Serialize};

use super::error::SpecError;

/// A Docker-format seccomp profile (what `--security-opt seccomp=FILE` takes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Plain OCI-style list, used when `archMap` is absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMapEntry>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ArchMapEntry {
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Option<Vec<String>>,
}

/// One rule: `names` get `action` if the conditions hold for this container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub names: Vec<String>,
    /// Old single-name form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub includes: Filter,
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub excludes: Filter,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// Conditions on the container: its capabilities, the host's architecture (Go names:
/// amd64, arm64, ...), the kernel version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// The syscalls every Docker container may make regardless of capabilities.
const ALWAYS_ALLOWED: &str = "
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl
fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv
futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list
getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32
getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl
io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup
io_submit io_uring_enter io_uring_register io_uring_setup ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen
listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier
memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2
mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall
munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl
pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64
recvmsg remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid
setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid
setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit
set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr
shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync
sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit
umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid
waitpid write writev
";

/// Syscalls allowed only when the container holds the given capability.
const BY_CAPABILITY: [(&str, &str); 14] = [
    ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    (
        "CAP_SYS_ADMIN",
        "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount \
         mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname \
         sethostname setns syslog umount umount2 unshare",
    ),
    ("CAP_SYS_BOOT", "reboot"),
    ("CAP_SYS_CHROOT", "chroot"),
    ("CAP_SYS_MODULE", "delete_module init_module finit_module"),
    ("CAP_SYS_PACCT", "acct"),
    (
        "CAP_SYS_PTRACE",
        "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    ),
    ("CAP_SYS_RAWIO", "iopl ioperm"),
    (
        "CAP_SYS_TIME",
        "settimeofday stime clock_settime clock_settime64",
    ),
    ("CAP_SYS_TTY_CONFIG", "vhangup"),
    (
        "CAP_SYS_NICE",
        "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    ),
    ("CAP_SYSLOG", "syslog"),
    ("CAP_BPF", "bpf"),
    ("CAP_PERFMON", "perf_event_open"),
];

/// Syscalls allowed only on some architectures (Go names).
const BY_ARCH: [(&[&str], &str); 6] = [
    (&["ppc64le"], "sync_file_range2 swapcontext"),
    (
        &["arm", "arm64"],
        "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
    ),
    (&["amd64", "x32"], "arch_prctl"),
    (&["amd64", "x32", "x86"], "modify_ldt"),
    (
        &["s390", "s390x"],
        "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
    ),
    (&["riscv64"], "riscv_flush_icache"),
];

/// personality(2) values a container may set: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and 0xffffffff (query).
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// The clone(2) namespace flags (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET)
/// a container without CAP_SYS_ADMIN may not pass.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// AF_VSOCK: sockets of this family are refused.
const AF_VSOCK: u64 = 40;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn allow(names: Vec<String>) -> Rule {
    Rule {
        names,
        action: "SCMP_ACT_ALLOW".into(),
        ..Rule::default()
    }
}

fn arch_entry(arch: &str, subs: &[&str]) -> ArchMapEntry {
    ArchMapEntry {
        architecture: arch.into(),
        sub_architectures: Some(subs.iter().map(|s| s.to_string()).collect()),
    }
}

/// Docker's default seccomp profile: everything refused with EPERM except the syscalls
/// above, with capability-, architecture- and argument-conditional rules.
pub fn default_profile() -> Profile {
    let mut rules = vec![allow(words(ALWAYS_ALLOWED))];
    rules.push(Rule {
        includes: Filter {
            min_kernel: Some("4.8".into()),
            ..Filter::default()
        },
        ..allow(words("process_vm_readv process_vm_writev ptrace"))
    });
    rules.push(Rule {
        args: vec![Arg {
            index: 0,
            value: AF_VSOCK,
            value_two: 0,
            op: "SCMP_CMP_NE".into(),
        }],
        ..allow(words("socket"))
    });
    for p in PERSONALITIES {
        rules.push(Rule {
            args: vec![Arg {
                index: 0,
                value: p,
                value_two: 0,
                op: "SCMP_CMP_EQ".into(),
            }],
            ..allow(words("personality"))
        });
    }
    for (arches, names) in BY_ARCH {
        rules.push(Rule {
            includes: Filter {
                arches: arches.iter().map(|s| s.to_string()).collect(),
                ..Filter::default()
            },
            ..allow(words(names))
        });
    }
    for (cap, names) in BY_CAPABILITY {
        rules.push(Rule {
            includes: Filter {
                caps: vec![cap.into()],
                ..Filter::default()
            },
            ..allow(words(names))
        });
    }
    // Without CAP_SYS_ADMIN, clone may not create namespaces (argument 0 holds the flags,
    // argument 1 on s390), and clone3 (whose flags seccomp cannot see) reports ENOSYS so
    // that libcs fall back to clone.
    for (index, on_s390) in [(0u32, false), (1u32, true)] {
        let arches: Vec<String> = vec!["s390".into(), "s390x".into()];
        rules.push(Rule {
            args: vec![Arg {
                index,
                value: CLONE_NAMESPACE_FLAGS,
                value_two: 0,
                op: "SCMP_CMP_MASKED_EQ".into(),
            }],
            includes: Filter {
                arches: if on_s390 { arches.clone() } else { vec![] },
                ..Filter::default()
            },
            excludes: Filter {
                caps: vec!["CAP_SYS_ADMIN".into()],
                arches: if on_s390 { vec![] } else { arches },
                ..Filter::default()
            },
            ..allow(words("clone"))
        });
    }
    rules.push(Rule {
        names: words("clone3"),
        action: "SCMP_ACT_ERRNO".into(),
        errno_ret: Some(libc::ENOSYS as u32),
        excludes: Filter {
            caps: vec!["CAP_SYS_ADMIN".into()],
            ..Filter::default()
        },
        ..Rule::default()
    });
    Profile {
        default_action: "SCMP_ACT_ERRNO".into(),
        default_errno_ret: Some(libc::EPERM as u32),
        architectures: vec![],
        arch_map: vec![
            arch_entry("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            arch_entry("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
            arch_entry(
                "SCMP_ARCH_MIPS64",
                &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
            ),
            arch_entry(
                "SCMP_ARCH_MIPS64N32",
                &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
            ),
            arch_entry(
                "SCMP_ARCH_MIPSEL64",
                &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
            ),
            arch_entry(
                "SCMP_ARCH_MIPSEL64N32",
                &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
            ),
            arch_entry("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
            arch_entry("SCMP_ARCH_RISCV64", &[]),
        ],
        syscalls: rules,
    }
}

/// The host as a seccomp profile sees it.
#[derive(Debug, Clone)]
pub struct Host {
    /// Go architecture name: amd64, arm64, 386, arm, ppc64le, s390x, riscv64...
    pub go_arch: String,
    /// Kernel (major, minor).
    pub kernel: (u32, u32),
}

impl Host {
    /// This machine.
    pub fn current() -> Host {
        let go_arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        }
        .to_string();
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut parts = release
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|p| p.parse::<u32>().ok());
        let kernel = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        Host { go_arch, kernel }
    }

    /// The libseccomp name of the native architecture.
    fn scmp_arch(&self) -> &'static str {
        match self.go_arch.as_str() {
            "amd64" => "SCMP_ARCH_X86_64",
            "386" => "SCMP_ARCH_X86",
            "arm64" => "SCMP_ARCH_AARCH64",
            "arm" => "SCMP_ARCH_ARM",
            "ppc64le" => "SCMP_ARCH_PPC64LE",
            "ppc64" => "SCMP_ARCH_PPC64",
            "s390x" => "SCMP_ARCH_S390X",
            "riscv64" => "SCMP_ARCH_RISCV64",
            "mips64" => "SCMP_ARCH_MIPS64",
            "mips64le" => "SCMP_ARCH_MIPSEL64",
            "loong64" => "SCMP_ARCH_LOONGARCH64",
            _ => "SCMP_ARCH_NATIVE",
        }
    }
}

fn kernel_at_least(host: (u32, u32), min: &str) -> bool {
    let mut it = min.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let want = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    host >= want
}

/// Whether `rule` applies to a container with `caps` on `host`.
fn applies(rule: &Rule, caps: &[String], host: &Host) -> bool {
    let has_cap = |c: &String| caps.iter().any(|x| x == c);
    let inc = &rule.includes;
    if !inc.caps.is_empty() && !inc.caps.iter().all(has_cap) {
        return false;
    }
    if !inc.arches.is_empty() && !inc.arches.contains(&host.go_arch) {
        return false;
    }
    if let Some(min) = &inc.min_kernel {
        if !kernel_at_least(host.kernel, min) {
            return false;
        }
    }
    let exc = &rule.excludes;
    if exc.caps.iter().any(has_cap) || exc.arches.contains(&host.go_arch) {
        return false;
    }
    if let Some(min) = &exc.min_kernel {
        if kernel_at_least(host.kernel, min) {
            return false;
        }
    }
    true
}

/// The OCI `linux.seccomp` for a container holding `caps` on `host`.
pub fn compile(
    profile: &Profile,
    caps: &[String],
    host: &Host,
) -> Result<oci_spec::runtime::LinuxSeccomp, SpecError> {
    let architectures: Vec<String> = if profile.arch_map.is_empty() {
        profile.architectures.clone()
    } else {
        let native = host.scmp_arch();
        profile
            .arch_map
            .iter()
            .filter(|e| e.architecture == native)
            .flat_map(|e| {
                std::iter::once(e.architecture.clone())
                    .chain(e.sub_architectures.clone().unwrap_or_default())
            })
            .collect()
    };
    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        if !applies(rule, caps, host) {
            continue;
        }
        let mut names = rule.names.clone();
        if let Some(n) = &rule.name {
            names.push(n.clone());
        }
        if names.is_empty() {
            continue;
        }
        let mut entry = serde_json::json!({ "names": names, "action": rule.action });
        if let Some(e) = rule.errno_ret {
            entry["errnoRet"] = e.into();
        }
        if !rule.args.is_empty() {
            entry["args"] = serde_json::to_value(&rule.args)
                .map_err(|e| SpecError::Oci(format!("seccomp args: {e}")))?;
        }
        syscalls.push(entry);
    }
    let mut v = serde_json::json!({
        "defaultAction": profile.default_action,
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(e) = profile.default_errno_ret {
        v["defaultErrnoRet"] = e.into();
    }
    serde_json::from_value(v).map_err(|e| SpecError::Invalid(format!("seccomp profile: {e}")))
}

/// Reads a Docker-format profile from a file (`--security-opt seccomp=PATH`).
pub fn load_profile(path: &std::path::Path) -> Result<Profile, SpecError> {
    let data = std::fs::read(path).map_err(|e| SpecError::io(path, e))?;
    serde_json::from_slice(&data).map_err(|e| {
        SpecError::Invalid(format!(
            "opening seccomp profile ({}) failed: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::capabilities::DEFAULT_CAPABILITIES;

    fn amd64() -> Host {
        Host {
            go_arch: "amd64".into(),
            kernel: (6, 18),
        }
    }

    fn default_caps() -> Vec<String> {
        DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect()
    }

    /// (action, errno, has args) for each rule naming `name`.
    fn rules_for(s: &oci_spec::runtime::LinuxSeccomp, name: &str) -> Vec<String> {
        s.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|r| r.names().iter().any(|n| n == name))
            .map(|r| {
                format!(
                    "{:?}/{:?}/{}",
                    r.action(),
                    r.errno_ret(),
                    r.args().as_ref().map_or(0, |a| a.len())
                )
            })
            .collect()
    }

    fn allowed_unconditionally(s: &oci_spec::runtime::LinuxSeccomp, name: &str) -> bool {
        rules_for(s, name)
            .iter()
            .any(|r| r.starts_with("ScmpActAllow/None/0"))
    }

    #[test]
    fn default_profile_refuses_with_eperm_on_x86_64() {
        let s = compile(&default_profile(), &default_caps(), &amd64()).unwrap();
        assert_eq!(
            s.default_action(),
            oci_spec::runtime::LinuxSeccompAction::ScmpActErrno
        );
        assert_eq!(s.default_errno_ret(), Some(1));
        let arches = serde_json::to_value(s.architectures()).unwrap();
        assert_eq!(
            arches,
            serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        for n in [
            "read",
            "write",
            "execve",
            "openat",
            "arch_prctl",
            "modify_ldt",
            "ptrace",
        ] {
            assert!(allowed_unconditionally(&s, n), "{n} should be allowed");
        }
        for n in ["riscv_flush_icache", "s390_runtime_instr", "set_tls"] {
            assert!(rules_for(&s, n).is_empty(), "{n} is for another arch");
        }
    }

    #[test]
    fn mount_and_unshare_need_cap_sys_admin() {
        let s = compile(&default_profile(), &default_caps(), &amd64()).unwrap();
        for n in ["mount", "umount2", "unshare", "setns", "sethostname", "bpf"] {
            assert!(
                rules_for(&s, n).is_empty(),
                "{n} must be refused by default"
            );
        }
        // clone only without namespace flags; clone3 reports ENOSYS.
        assert_eq!(rules_for(&s, "clone"), vec!["ScmpActAllow/None/1"]);
        assert_eq!(rules_for(&s, "clone3"), vec!["ScmpActErrno/Some(38)/0"]);

        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN".into());
        let s = compile(&default_profile(), &caps, &amd64()).unwrap();
        for n in ["mount", "umount2", "unshare", "setns", "clone", "clone3"] {
            assert!(allowed_unconditionally(&s, n), "{n} with CAP_SYS_ADMIN");
        }
        assert!(rules_for(&s, "clone3").iter().all(|r| !r.contains("Errno")));
    }

    #[test]
    fn capability_conditional_rules() {
        let s = compile(&default_profile(), &default_caps(), &amd64()).unwrap();
        // CAP_SYS_CHROOT is a default capability, CAP_SYS_PTRACE and CAP_SYS_TIME are not.
        assert!(allowed_unconditionally(&s, "chroot"));
        assert!(rules_for(&s, "kcmp").is_empty());
        assert!(rules_for(&s, "settimeofday").is_empty());
        let s = compile(&default_profile(), &["CAP_SYS_TIME".to_string()], &amd64()).unwrap();
        assert!(allowed_unconditionally(&s, "settimeofday"));
        assert!(rules_for(&s, "chroot").is_empty());
    }

    #[test]
    fn personality_and_socket_argument_rules() {
        let s = compile(&default_profile(), &default_caps(), &amd64()).unwrap();
        assert_eq!(rules_for(&s, "personality").len(), 5);
        assert!(!allowed_unconditionally(&s, "personality"));
        assert_eq!(rules_for(&s, "socket"), vec!["ScmpActAllow/None/1"]);
    }

    #[test]
    fn min_kernel_and_other_arches() {
        let old = Host {
            go_arch: "amd64".into(),
            kernel: (4, 4),
        };
        let s = compile(&default_profile(), &default_caps(), &old).unwrap();
        assert!(rules_for(&s, "ptrace").is_empty());
        let s390 = Host {
            go_arch: "s390x".into(),
            kernel: (6, 1),
        };
        let s = compile(&default_profile(), &default_caps(), &s390).unwrap();
        let clone = s
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|r| r.names().iter().any(|n| n == "clone"))
            .unwrap();
        assert_eq!(clone.args().as_ref().unwrap()[0].index(), 1);
    }

    #[test]
    fn profile_round_trips_as_oci_seccomp_and_docker_json() {
        let s = compile(&default_profile(), &default_caps(), &Host::current()).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let docker = serde_json::to_string(&default_profile()).unwrap();
        let p: Profile = serde_json::from_str(&docker).unwrap();
        assert_eq!(p, default_profile());
    }

    #[test]
    fn loads_a_docker_format_profile_file() {
        let dir = std::env::temp_dir().join(format!("berth-seccomp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.json");
        std::fs::write(
            &f,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
               "syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO"},
                           {"names":["chmod"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#,
        )
        .unwrap();
        let p = load_profile(&f).unwrap();
        let s = compile(&p, &default_caps(), &amd64()).unwrap();
        assert_eq!(rules_for(&s, "mkdir"), vec!["ScmpActErrno/None/0"]);
        assert!(rules_for(&s, "chmod").is_empty());
        std::fs::write(&f, "{not json").unwrap();
        let e = load_profile(&f).unwrap_err();
        assert!(e.to_string().contains("seccomp profile"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
