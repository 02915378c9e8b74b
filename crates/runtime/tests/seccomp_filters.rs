//! Real-kernel tests of seccomp: compile in the parent, install in a forked child, and
//! observe what the filtered syscalls do.

use std::ffi::CString;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use berth_runtime::seccomp::{send_listener, SeccompFilter};
use berth_testutil::{is_root, TempDir};
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::LinuxSeccomp;

fn seccomp(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).expect("seccomp JSON parses")
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Forks; the child sets no_new_privs, installs `f`, runs `body` and exits with the
/// code it returns (an errno, or 0). The child does no allocation after install.
fn run_filtered(f: &SeccompFilter, body: impl FnOnce(Option<OwnedFd>) -> i32) -> WaitStatus {
    // SAFETY: the child installs the filter, runs `body` and leaves with _exit.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // No core files from the SIGSYS deaths some tests provoke.
            let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
            // SAFETY: plain prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                // SAFETY: _exit never returns and runs nothing of the parent's.
                unsafe { libc::_exit(200) }
            }
            let code = match f.install() {
                Ok(l) => body(l),
                Err(_) => 201,
            };
            // SAFETY: as above.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
    }
}

fn mkdir_errno(path: &CString, mode: libc::mode_t) -> i32 {
    // SAFETY: NUL-terminated path.
    if unsafe { libc::mkdir(path.as_ptr(), mode) } == 0 {
        0
    } else {
        errno()
    }
}

#[test]
fn errno_rule_makes_mkdir_fail_with_the_given_errno() {
    if !is_root() {
        return;
    }
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}"#,
    ))
    .unwrap();
    assert!(!f.uses_notify());
    let dir = TempDir::new("berth-seccomp").unwrap();
    let p = CString::new(dir.path().join("x").to_str().unwrap()).unwrap();
    let st = run_filtered(&f, |_| mkdir_errno(&p, 0o755));
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::EXDEV));
    assert!(!dir.path().join("x").exists());
    // Without errnoRet, ERRNO means EPERM.
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    let st = run_filtered(&f, |_| mkdir_errno(&p, 0o755));
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::EPERM));
}

#[test]
fn kill_and_trap_actions_end_the_process_with_sigsys() {
    if !is_root() {
        return;
    }
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
    ] {
        let f = SeccompFilter::compile(&seccomp(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{{"names": ["getppid"], "action": "{action}"}}]}}"#
        )))
        .unwrap();
        let st = run_filtered(&f, |_| {
            // SAFETY: no arguments.
            unsafe { libc::getppid() };
            0
        });
        assert!(
            matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "{action}: {st:?}"
        );
    }
}

#[test]
fn trace_without_a_tracer_fails_the_syscall_with_enosys() {
    if !is_root() {
        return;
    }
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]}"#,
    ))
    .unwrap();
    let dir = TempDir::new("berth-seccomp").unwrap();
    let p = CString::new(dir.path().join("t").to_str().unwrap()).unwrap();
    let st = run_filtered(&f, |_| mkdir_errno(&p, 0o755));
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::ENOSYS));
    assert!(!dir.path().join("t").exists());
}

#[test]
fn default_errno_action_with_an_allow_list() {
    if !is_root() {
        return;
    }
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["exit_group", "exit", "getpid", "no_such_syscall_xyz"],
                          "action": "SCMP_ACT_ALLOW"},
                         {"names": ["getuid"], "action": "SCMP_ACT_LOG"}]}"#,
    ))
    .unwrap();
    assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
    assert!(f.warnings()[0].contains("syscalls[0].names[3]"));
    let st = run_filtered(&f, |_| {
        // SAFETY: no arguments.
        let pid = unsafe { libc::getpid() };
        // SAFETY: no arguments.
        let uid = unsafe { libc::getuid() };
        if pid <= 0 {
            return 97;
        }
        if uid != 0 {
            return 98;
        }
        // glibc's getppid() returns raw results (it "cannot fail"); syscall(2) sets errno.
        // SAFETY: no arguments.
        if unsafe { libc::syscall(libc::SYS_getppid) } != -1 {
            return 99;
        }
        errno()
    });
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::ENOSYS));
}

#[test]
fn argument_conditions() {
    if !is_root() {
        return;
    }
    // Two conditions on one argument are alternatives; masked equality checks bits.
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
              {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
               "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                        {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
              {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
               "args": [{"index": 1, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]},
              {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
               "args": [{"index": 2, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]}"#,
    ))
    .unwrap();
    let dir = TempDir::new("berth-seccomp").unwrap();
    let a = CString::new(dir.path().join("a").to_str().unwrap()).unwrap();
    let b = CString::new(dir.path().join("b").to_str().unwrap()).unwrap();
    let st = run_filtered(&f, |_| {
        // SAFETY: integer arguments only.
        let ok = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        if errno() == 13 && ok == -1 {
            return 1;
        }
        for which in [libc::PRIO_PGRP, libc::PRIO_USER] {
            // SAFETY: integer arguments only.
            if unsafe { libc::getpriority(which, 0) } != -1 || errno() != 13 {
                return 2;
            }
        }
        // Mode 0700 has the 0100 bit: refused; 0600 has not: allowed.
        if mkdir_errno(&a, 0o700) != libc::EXDEV {
            return 3;
        }
        if mkdir_errno(&b, 0o600) != 0 {
            return 4;
        }
        0
    });
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), 0));
    assert!(!dir.path().join("a").exists());
    assert!(dir.path().join("b").is_dir());
}

#[test]
fn notify_delivers_the_listener_and_state_to_the_agent() {
    if !is_root() {
        return;
    }
    let dir = TempDir::new("berth-seccomp-agent").unwrap();
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let f = SeccompFilter::compile(&seccomp(&format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "{}",
            "listenerMetadata": "meta-1",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}}]}}"#,
        sock.display()
    )))
    .unwrap();
    assert!(f.uses_notify());
    // The agent: take the fd and state, then answer the one notification with EXDEV.
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (n, fd) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            )
            .unwrap();
            let fd = msg
                .cmsgs()
                .unwrap()
                .find_map(|c| match c {
                    ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                    _ => None,
                })
                .expect("an fd with the message");
            (msg.bytes, fd)
        };
        // SAFETY: the fd just arrived via SCM_RIGHTS and is ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let state: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        let req = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd()).unwrap();
        libseccomp::ScmpNotifResp::new_error(
            req.id,
            -libc::EXDEV,
            libseccomp::ScmpNotifRespFlags::empty(),
        )
        .respond(fd.as_raw_fd())
        .unwrap();
        (state, req.pid)
    });
    let target = CString::new(dir.path().join("d").to_str().unwrap()).unwrap();
    let sock_s = sock.to_str().unwrap().to_owned();
    let st = run_filtered(&f, |l| {
        let Some(l) = l else { return 90 };
        // SAFETY: no arguments.
        let pid = unsafe { libc::getpid() };
        let state = format!(
            r#"{{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":{pid},"bundle":"/b"}}"#
        );
        if send_listener(&sock_s, Some("meta-1"), l.as_fd(), state.as_bytes()).is_err() {
            return 91;
        }
        drop(l);
        mkdir_errno(&target, 0o755)
    });
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::EXDEV));
    let (state, req_pid) = agent.join().unwrap();
    let child = st.pid().unwrap().as_raw();
    assert_eq!(state["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(state["metadata"], "meta-1");
    assert_eq!(state["pid"], child);
    assert_eq!(state["state"]["id"], "c1");
    assert_eq!(req_pid as i32, child);
    assert!(!dir.path().join("d").exists());
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["write"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}"#,
            "linux.seccomp.syscalls[1].errnoRet",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                          {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
            "linux.seccomp.syscalls[0].args[1].index",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
            "linux.seccomp.listenerPath",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}"#,
            "linux.seccomp.defaultAction",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": [], "action": "SCMP_ACT_ERRNO"}]}"#,
            "linux.seccomp.syscalls[0].names",
        ),
        (
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}"#,
            "linux.seccomp.syscalls[0].errnoRet",
        ),
    ];
    for (json, field) in cases {
        let err = SeccompFilter::compile(&seccomp(json))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(field), "{field}: got {err:?}");
    }
}

#[test]
fn rules_repeating_the_default_action_are_accepted() {
    let f = SeccompFilter::compile(&seccomp(
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    assert!(f.instructions() > 0);
}

#[test]
fn cached_compile_reuses_the_program_and_it_still_works() {
    if !is_root() {
        return;
    }
    let cache = TempDir::new("berth-seccomp-cache").unwrap();
    let dir = cache.path().join("c");
    let s = seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["mkdir", "mkdirat", "bogus_name_1"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}"#,
    );
    let first = SeccompFilter::compile_cached(&s, &dir).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let second = SeccompFilter::compile_cached(&s, &dir).unwrap();
    assert_eq!(first.instructions(), second.instructions());
    assert_eq!(second.warnings(), first.warnings());
    let p = CString::new(cache.path().join("x").to_str().unwrap()).unwrap();
    let st = run_filtered(&second, |_| mkdir_errno(&p, 0o755));
    assert_eq!(st, WaitStatus::Exited(st.pid().unwrap(), libc::EXDEV));
    // A damaged cache entry is ignored and rewritten.
    std::fs::write(&files[0], b"garbage").unwrap();
    let third = SeccompFilter::compile_cached(&s, &dir).unwrap();
    assert_eq!(third.instructions(), first.instructions());
    assert!(std::fs::read(&files[0]).unwrap().len() > 100);
    // A different profile gets its own entry.
    let other = seccomp(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL"}]}"#,
    );
    SeccompFilter::compile_cached(&other, &dir).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}
