//! berth-oci end to end with real containers (root): run, the create/start/kill/delete
//! state machine, config errors, exec, the console socket, hooks, process settings,
//! fd hygiene and the runtime-binary protection.

mod lifecycle_support;

use std::os::fd::AsRawFd;

use lifecycle_support::{skip_unless_root, stderr, stdout, Bundle};
use serde_json::json;

#[test]
fn run_prints_output_and_returns_exit_status() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "echo hello from $(hostname); exit 3"], |_| {});
    let out = b.run();
    assert_eq!(
        stdout(&out),
        "hello from berth\n",
        "stderr: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(3));
    // run removes the container afterwards.
    assert!(!b.root.join(&b.id).exists());

    // Not pid 1 of a pid namespace (which ignores signals from inside): no pid ns.
    let b = Bundle::new(&["sh", "-c", "kill -9 $$"], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    assert_eq!(b.run().status.code(), Some(128 + 9));
}

#[test]
fn create_start_state_kill_delete() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(
        &["sh", "-c", "echo started > /tmp/marker; sleep 1000"],
        |c| {
            c["root"]["readonly"] = json!(false);
        },
    );
    b.create();
    let st = b.state();
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], b.id.as_str());
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    // The program has not run yet.
    assert!(!b.path().join("rootfs/tmp/marker").exists());

    // A second create with the same id is refused and leaves the first alone.
    let (code, err) = b.oci_detached(&["create", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    let out = b.oci(&["start", &b.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    b.wait_status("running");
    for _ in 0..500 {
        if b.path().join("rootfs/tmp/marker").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(b.path().join("rootfs/tmp/marker").exists());
    // start twice is an error.
    assert_eq!(b.oci(&["start", &b.id]).status.code(), Some(1));
    // delete of a running container without --force is refused.
    let out = b.oci(&["delete", &b.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not stopped"), "{}", stderr(&out));

    let out = b.oci(&["kill", &b.id, "KILL"]);
    assert!(out.status.success(), "kill: {}", stderr(&out));
    b.wait_status("stopped");
    let out = b.oci(&["delete", &b.id]);
    assert!(out.status.success(), "delete: {}", stderr(&out));
    assert!(!b.root.join(&b.id).exists());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            // pid may have been reused by an unrelated process; it is not our sleep.
            !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .contains("sleep")
        }
    );

    let out = b.oci(&["state", &b.id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("container {} does not exist", b.id)));
}

#[test]
fn invalid_config_names_the_field_and_leaves_nothing() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["true"], |c| c["process"]["args"] = json!([]));
    let out = b.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("process.args: must not be empty"),
        "{}",
        stderr(&out)
    );
    assert!(!b.root.join(&b.id).exists());

    let b = Bundle::new(&["true"], |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .insert(2, json!({"type": "foo"}))
    });
    let out = b.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(r#"linux.namespaces[2].type: unknown namespace "foo""#),
        "{}",
        stderr(&out)
    );
    assert!(!b.root.join(&b.id).exists());

    // A program that does not exist fails create, with no container left behind.
    let b = Bundle::new(&["/no/such/program"], |_| {});
    let (code, err) = b.oci_detached(&["create", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(code, 1);
    assert!(err.contains("/no/such/program"), "{err}");
    assert!(!b.root.join(&b.id).exists());
    let cg = format!("/sys/fs/cgroup/memory/berth-oci/{}", b.id);
    assert!(!std::path::Path::new(&cg).exists(), "{cg} left behind");
}

#[test]
fn exec_joins_the_container_and_returns_status() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["sleep", "1000"], |_| {});
    let (code, err) = b.oci_detached(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(code, 0, "{err}");
    let out = b.oci(&[
        "exec",
        "-e",
        "FOO=bar",
        "--cwd",
        "/tmp",
        &b.id,
        "sh",
        "-c",
        "echo $FOO $(pwd) $(hostname); exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "stderr: {}", stderr(&out));
    let s = stdout(&out);
    assert!(s.starts_with("bar /tmp berth\n"), "{s}");

    // -e replaces a KEY the config already sets (PATH) instead of adding a second one.
    let out = b.oci(&["exec", "-e", "PATH=/bin:/usr/bin", &b.id, "env"]);
    let env_out = stdout(&out);
    let paths: Vec<&str> = env_out.lines().filter(|l| l.starts_with("PATH=")).collect();
    assert_eq!(paths, ["PATH=/bin:/usr/bin"], "{}", stderr(&out));

    let out = b.oci(&["exec", "-u", "65534:65534", &b.id, "id"]);
    assert_eq!(
        stdout(&out).trim(),
        "uid=65534(nobody) gid=65534(nobody)",
        "{}",
        stderr(&out)
    );

    // The exec'd process is in the container's pid namespace: the init is pid 1.
    let out = b.oci(&["exec", &b.id, "cat", "/proc/1/cmdline"]);
    assert_eq!(stdout(&out).replace('\0', " ").trim(), "sleep 1000");

    let out = b.oci(&["exec", &b.id, "no-such-command"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );

    let ps = b.oci(&["ps", "--format", "json", &b.id]);
    let pids: Vec<i32> = serde_json::from_slice(&ps.stdout).unwrap();
    assert_eq!(pids, vec![b.state()["pid"].as_i64().unwrap() as i32]);
    let out = b.oci(&["delete", "--force", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn terminal_master_goes_to_console_socket() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "tty; stty size; echo done"], |c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    });
    let master = b.create_with_console();
    assert!(b.oci(&["start", &b.id]).status.success());
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    // Read until the slave side closes (EIO) after the process exits.
    while let Ok(n) = nix::unistd::read(&master, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains("done") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out).replace('\r', "");
    assert!(text.contains("/dev/pts/0\n"), "{text}");
    assert!(text.contains("30 100\n"), "{text}");
    assert!(text.contains("done"), "{text}");
}

#[test]
fn hooks_get_state_and_failures_fail_create() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["true"], |_| {});
    let log = b.path().join("hooks.log");
    let hook = |name: &str| {
        json!({"path": "/bin/sh",
               "args": ["sh", "-c", format!("read s; echo \"{name} $HOOKVAR $s\" >> {}", log.display())],
               "env": ["HOOKVAR=v"]})
    };
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("config.json")).unwrap()).unwrap();
    cfg["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    std::fs::write(b.path().join("config.json"), cfg.to_string()).unwrap();
    let out = b.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        ["prestart", "createRuntime", "poststart", "poststop"],
        "{text}"
    );
    for l in &lines {
        assert!(l.contains(" v {"), "hook env or state missing: {l}");
        assert!(l.contains(&format!("\"id\":\"{}\"", b.id)), "{l}");
    }

    // A failing createRuntime hook fails the operation; nothing is left behind.
    cfg["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
    std::fs::write(b.path().join("config.json"), cfg.to_string()).unwrap();
    let out = b.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("hooks.createRuntime[0]"),
        "{}",
        stderr(&out)
    );
    assert!(!b.root.join(&b.id).exists());

    // Failing poststart/poststop hooks only warn: the run succeeds and the hooks after
    // the failing one still run.
    cfg["hooks"] = json!({
        "poststart": [{"path": "/bin/false"}, hook("poststart")],
        "poststop": [{"path": "/bin/false"}, hook("poststop")],
    });
    std::fs::write(b.path().join("config.json"), cfg.to_string()).unwrap();
    std::fs::remove_file(&log).unwrap();
    let out = b.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: hooks.poststart[0]"), "{err}");
    assert!(err.contains("warning: hooks.poststop[0]"), "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    let kinds: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(kinds, ["poststart", "poststop"], "{text}");
    assert!(!b.root.join(&b.id).exists());

    // A hook that outlives its timeout is killed and fails.
    cfg["hooks"] =
        json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    std::fs::write(b.path().join("config.json"), cfg.to_string()).unwrap();
    let out = b.run();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
}

#[test]
fn user_caps_rlimits_and_no_new_privs_apply() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(
        &[
            "sh",
            "-c",
            "id; ulimit -n; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; umask",
        ],
        |c| {
            c["process"]["user"] =
                json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 63});
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 432}]);
            c["process"]["noNewPrivileges"] = json!(true);
            let caps = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps,
                "permitted": caps, "inheritable": caps, "ambient": caps});
        },
    );
    let out = b.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("uid=1000 gid=1000 groups=5,6"), "{s}");
    assert!(s.contains("\n321\n"), "{s}");
    // CAP_KILL (5) and CAP_NET_BIND_SERVICE (10): 0x420, effective through ambient.
    assert!(s.contains("CapEff:\t0000000000000420"), "{s}");
    assert!(s.contains("CapBnd:\t0000000000000420"), "{s}");
    assert!(s.contains("NoNewPrivs:\t1"), "{s}");
    assert!(s.trim_end().ends_with("0077"), "{s}");
}

#[test]
fn no_host_fds_leak_but_preserved_ones_pass() {
    if skip_unless_root() {
        return;
    }
    // The init is `sleep`, which opens nothing: its fd table is exactly what it was given.
    let f = std::fs::File::open("/etc/hostname").unwrap();
    // SAFETY: dup of a valid fd; the copy is not close-on-exec, so berth-oci inherits it
    // (as from a careless caller) and must not pass it on.
    let leaked = unsafe { libc::dup(f.as_raw_fd()) };
    assert!(leaked > 2);
    for preserve in [0, 1] {
        let b = Bundle::new(&["sleep", "1000"], |_| {});
        let mut cmd = std::process::Command::new(lifecycle_support::BIN);
        cmd.arg("--root")
            .arg(&b.root)
            .args(["run", "-d", "--preserve-fds"]);
        cmd.arg(preserve.to_string())
            .arg("--bundle")
            .arg(b.path())
            .arg(&b.id);
        let fd3 = f.as_raw_fd();
        // SAFETY: in the forked child before exec; dup2/fcntl are async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                let r = if fd3 == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd3, 3)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let st = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let out = b.oci(&["exec", &b.id, "ls", "/proc/1/fd"]);
        let fds = stdout(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let want = if preserve == 0 { "0 1 2" } else { "0 1 2 3" };
        assert_eq!(fds, want, "--preserve-fds {preserve}: {}", stderr(&out));
    }
    // SAFETY: closing the fd we dup'ed above.
    unsafe { libc::close(leaked) };
}

#[test]
fn cwd_outside_the_root_is_refused() {
    if skip_unless_root() {
        return;
    }
    // A cwd through /proc/self/fd would reach a leaked host directory (CVE-2024-21626).
    let b = Bundle::new(&["pwd"], |c| c["process"]["cwd"] = json!("/proc/self/fd/3"));
    let out = b.run();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("process.cwd"), "{}", stderr(&out));
    assert!(!b.root.join(&b.id).exists());
}

#[test]
fn runtime_binary_cannot_be_reopened_for_writing() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["true"], |_| {});
    b.create();
    // The created container's init is still the runtime's image: the attacker's handle.
    let pid = b.state()["pid"].as_i64().unwrap();
    let exe = nix::fcntl::open(
        format!("/proc/{pid}/exe").as_str(),
        nix::fcntl::OFlag::O_PATH,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    // It is on a read-only mount, so no reopen through it can ever write...
    let vfs = nix::sys::statvfs::fstatvfs(&exe).unwrap();
    assert!(vfs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    assert!(b.oci(&["delete", "--force", &b.id]).status.success());
    // ...also once the process is gone (the CVE-2019-5736 sequence).
    let r = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/proc/self/fd/{}", exe.as_raw_fd()));
    let e = r.expect_err("runtime binary reopened for writing");
    assert!(
        matches!(e.raw_os_error(), Some(libc::EROFS) | Some(libc::ETXTBSY)),
        "{e}"
    );
}

#[test]
fn delete_leaves_no_cgroup_or_process() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000"], |c| {
        c["linux"]["resources"]["memory"] = json!({"limit": 64 * 1024 * 1024});
    });
    let (code, err) = b.oci_detached(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(code, 0, "{err}");
    let cg = format!("/sys/fs/cgroup/memory/berth-oci/{}", b.id);
    let limit = std::fs::read_to_string(format!("{cg}/memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (64 * 1024 * 1024).to_string());
    let mut pids: Vec<i32> = Vec::new();
    for _ in 0..500 {
        let out = b.oci(&["ps", "--format", "json", &b.id]);
        pids = serde_json::from_slice(&out.stdout).unwrap();
        if pids.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(pids.len() >= 2, "{pids:?}");
    assert!(b.oci(&["delete", "--force", &b.id]).status.success());
    assert!(!std::path::Path::new(&cg).exists(), "cgroup left behind");
    assert!(!b.root.join(&b.id).exists());
    for p in pids {
        let cmd = std::fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
        assert!(!cmd.starts_with("sleep\x001000"), "process {p} survived");
    }
}

#[test]
fn starts_under_a_one_mib_memory_limit() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo ok",
        ],
        |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 1024 * 1024});
        },
    );
    let out = b.run();
    assert_eq!(stdout(&out), "1048576\nok\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn pause_resume_update_events_and_kill_all() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000"], |_| {});
    let (code, err) = b.oci_detached(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(code, 0, "{err}");
    let out = b.oci(&["pause", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(b.status(), "paused");
    let out = b.oci(&["resume", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(b.status(), "running");

    let out = b.oci(&["update", "--memory", "100m", "--pids-limit", "77", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cg = format!("/sys/fs/cgroup/memory/berth-oci/{}", b.id);
    let limit = std::fs::read_to_string(format!("{cg}/memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (100u64 << 20).to_string());
    let pids = std::fs::read_to_string(format!("/sys/fs/cgroup/pids/berth-oci/{}/pids.max", b.id));
    assert_eq!(pids.unwrap().trim(), "77");

    let out = b.oci(&["events", "--stats", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert!(ev["data"]["memory"].is_object(), "{ev}");

    let out = b.oci(&["kill", "--all", &b.id, "9"]);
    assert!(out.status.success(), "{}", stderr(&out));
    b.wait_status("stopped");
    assert!(b.oci(&["delete", &b.id]).status.success());
    let out = b.oci(&["kill", &b.id]);
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn seccomp_filter_applies() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(
        &["sh", "-c", "mkdir /tmp/d && echo made || echo refused"],
        |c| {
            c["root"]["readonly"] = json!(false);
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat", "no_such_syscall_x"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            });
        },
    );
    let out = b.run();
    assert_eq!(stdout(&out), "refused\n", "{}", stderr(&out));
    // The unknown name is skipped with a warning on stderr, not silently.
    assert!(
        stderr(&out).contains("unknown syscall \"no_such_syscall_x\" ignored"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn delete_cleans_up_after_a_create_that_died() {
    if skip_unless_root() {
        return;
    }
    let b = Bundle::new(&["true"], |_| {});
    // What a `create` killed before writing its state leaves: a bare state dir.
    std::fs::create_dir_all(b.root.join(&b.id)).unwrap();
    let out = b.oci(&["delete", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!b.root.join(&b.id).exists());
    // The id is usable again.
    let out = b.run();
    assert!(out.status.success(), "{}", stderr(&out));
}
