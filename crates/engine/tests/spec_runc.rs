//! Real containers from built specs: a busybox rootfs, our config.json, `runc run`.
//! Checks what a process inside sees: Docker's capability set, seccomp refusing what it
//! should, masked and read-only /proc paths, rlimits, the user, and berth-init as PID 1.

use std::path::Path;
use std::process::Command;

use berth_engine::spec::{build, install_init, RunOptions, SeccompOpt, SecurityOpts, SpecContext};
use berth_testutil::{busybox_rootfs, is_root, unique_name, TempDir};
use oci_spec::image::{ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder};

fn image() -> ImageConfiguration {
    ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .cmd(vec!["sh".to_string()])
                .env(vec!["PATH=/usr/sbin:/usr/bin:/sbin:/bin".to_string()])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Builds the spec for `script` under `opts` and runs it with runc; runc deletes the
/// container (and its cgroup) when the process exits.
fn run(script: &str, mut opts: RunOptions, with_init: bool) -> Output {
    let dir = TempDir::new("berth-spec-runc").unwrap();
    let rootfs = dir.path().join("rootfs");
    busybox_rootfs(&rootfs).unwrap();
    let id = unique_name("berth-spec");
    let init_dir = dir.path().join("bin");
    let ctx = SpecContext {
        container_id: format!("{id}-0123456789abcdef"),
        rootfs: rootfs.clone(),
        // Relative: below our own cgroup; runc removes it with the container.
        cgroups_path: id.clone(),
        init_path: with_init.then(|| install_init(&init_dir).unwrap()),
        ..Default::default()
    };
    opts.entrypoint = Some(vec!["sh".into(), "-c".into()]);
    opts.cmd = vec![script.to_string()];
    opts.init = with_init;
    let spec = build(&image(), &opts, &ctx).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .unwrap();
    let state = dir.path().join("runc-state");
    let out = Command::new(runtime())
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(dir.path())
        .arg(&id)
        .output()
        .expect("run runc");
    // If runc was interrupted, make sure nothing is left running.
    let _ = Command::new(runtime())
        .arg("--root")
        .arg(&state)
        .args(["delete", "--force", &id])
        .output();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// runc by default; BERTH_SPEC_TEST_RUNTIME=/path/to/berth-oci runs the same checks
/// against another OCI runtime.
fn runtime() -> String {
    std::env::var("BERTH_SPEC_TEST_RUNTIME").unwrap_or_else(|_| "/usr/sbin/runc".into())
}

fn usable() -> bool {
    if !is_root() || !Path::new(&runtime()).exists() {
        eprintln!("skipping: needs root and {}", runtime());
        return false;
    }
    true
}

fn line<'a>(out: &'a Output, key: &str) -> &'a str {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| {
            panic!(
                "no {key} in output:\n{}\nstderr:\n{}",
                out.stdout, out.stderr
            )
        })
        .trim()
}

#[test]
fn default_container_is_confined_like_docker() {
    if !usable() {
        return;
    }
    let script = "\
        grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; \
        unshare -U true 2>/dev/null; echo unshare=$?; \
        mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?; \
        echo timer_list=$(cat /proc/timer_list | wc -c); echo firmware=$(ls /sys/firmware | wc -l); \
        (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null; echo procsys=$?; \
        echo nofile=$(ulimit -n):$(ulimit -Hn); echo pid=$$; echo uid=$(id -u); \
        echo host=$(hostname); echo home=$HOME; exit 7";
    let out = run(script, RunOptions::default(), false);
    assert_eq!(
        out.code, 7,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(line(&out, "CapEff:"), "00000000a80425fb");
    assert_eq!(line(&out, "Seccomp:"), "2");
    assert_ne!(
        line(&out, "unshare="),
        "0",
        "user namespaces must be refused"
    );
    assert_ne!(line(&out, "mount="), "0");
    assert_eq!(line(&out, "timer_list="), "0", "masked: {}", out.stdout);
    assert_eq!(line(&out, "firmware="), "0");
    assert_ne!(line(&out, "procsys="), "0", "/proc/sys must be read-only");
    let hard: u64 = line(&out, "nofile=")
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(line(&out, "nofile=").split(':').next(), Some("1024"));
    assert!((1024..=524_288).contains(&hard), "{hard}");
    assert_eq!(line(&out, "pid="), "1");
    assert_eq!(line(&out, "uid="), "0");
    assert_eq!(line(&out, "home="), "/root");
    assert_eq!(line(&out, "host=").len(), 12);
}

#[test]
fn seccomp_unconfined_allows_what_the_profile_refuses() {
    if !usable() {
        return;
    }
    // The same unshare(CLONE_NEWUSER), which needs no capability, succeeds without the
    // profile: the refusal above is seccomp's doing.
    let opts = RunOptions {
        security_opt: SecurityOpts {
            seccomp: SeccompOpt::Unconfined,
            ..Default::default()
        },
        ..Default::default()
    };
    let out = run(
        "grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?",
        opts,
        false,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(line(&out, "Seccomp:"), "0");
    assert_eq!(line(&out, "unshare="), "0", "{}", out.stdout);
}

#[test]
fn systempaths_unconfined_unmasks_proc() {
    if !usable() {
        return;
    }
    let opts = RunOptions {
        security_opt: SecurityOpts {
            systempaths_unconfined: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let out = run(
        "echo timer_list=$(cat /proc/timer_list | wc -c)",
        opts,
        false,
    );
    let n: u64 = line(&out, "timer_list=").parse().unwrap();
    assert!(
        n > 0,
        "the unmasked file has content, so the 0 above is the mask"
    );
}

#[test]
fn cap_add_sys_admin_allows_mount_and_cap_drop_all_empties() {
    if !usable() {
        return;
    }
    let opts = RunOptions {
        cap_add: vec!["SYS_ADMIN".into()],
        ..Default::default()
    };
    let out = run("mount -t tmpfs none /tmp; echo mount=$?", opts, false);
    assert_eq!(line(&out, "mount="), "0", "{}", out.stderr);
    let opts = RunOptions {
        cap_drop: vec!["all".into()],
        ..Default::default()
    };
    let out = run(
        "grep CapEff /proc/self/status; chown 1 /tmp; echo chown=$?",
        opts,
        false,
    );
    assert_eq!(line(&out, "CapEff:"), "0000000000000000");
    assert_ne!(line(&out, "chown="), "0");
}

#[test]
fn user_readonly_root_and_init() {
    if !usable() {
        return;
    }
    let opts = RunOptions {
        user: Some("nobody".into()),
        read_only: true,
        workdir: Some("/work/dir".into()),
        ..Default::default()
    };
    let out = run(
        "echo uid=$(id -u):$(id -g); echo cwd=$(pwd); touch /x 2>/dev/null; echo touch=$?; \
         echo init=$(cat /proc/1/cmdline | tr '\\0' ' '); echo pid=$$",
        opts,
        true,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(line(&out, "uid="), "65534:65534");
    assert_eq!(line(&out, "cwd="), "/work/dir");
    assert_ne!(line(&out, "touch="), "0");
    assert!(
        line(&out, "init=").starts_with("/sbin/docker-init -- sh -c"),
        "{}",
        out.stdout
    );
    assert_ne!(line(&out, "pid="), "1");
}

#[test]
fn init_forwards_exit_codes_inside_a_container() {
    if !usable() {
        return;
    }
    let out = run("kill -9 $$", RunOptions::default(), true);
    assert_eq!(out.code, 137, "{}", out.stderr);
    let out = run("exit 3", RunOptions::default(), true);
    assert_eq!(out.code, 3, "{}", out.stderr);
}

#[test]
fn resources_devices_tmpfs_and_sysctls_reach_the_kernel() {
    if !usable() {
        return;
    }
    let mut sysctls = std::collections::BTreeMap::new();
    sysctls.insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    let opts = RunOptions {
        memory: Some(64 << 20),
        cpus: Some(0.5),
        pids_limit: Some(50),
        ulimits: vec![berth_engine::spec::Ulimit {
            name: "nproc".into(),
            soft: 77,
            hard: 88,
        }],
        devices: vec![berth_engine::spec::parse::parse_device("/dev/null:/dev/mynull").unwrap()],
        tmpfs: vec![("/scratch".into(), "size=2m".into())],
        shm_size: Some(8 << 20),
        sysctls,
        ..Default::default()
    };
    // On this cgroup v1/hybrid host the container sees its own cgroup at each hierarchy root.
    let script = "\
        echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max); \
        echo memsw=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none); \
        echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max); \
        echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max); \
        echo nproc=$(ulimit -u):$(ulimit -Hu); \
        echo hi > /dev/mynull; echo dev=$?; \
        echo scratch=$(grep ' /scratch ' /proc/mounts); \
        echo shm=$(grep ' /dev/shm ' /proc/mounts); \
        echo fwd=$(cat /proc/sys/net/ipv4/ip_forward)";
    let out = run(script, opts, false);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mem = line(&out, "mem=");
    assert!(mem == "67108864" || mem == "67108864\n", "{}", out.stdout);
    let memsw = line(&out, "memsw=");
    assert!(
        memsw == "134217728" || memsw == "none",
        "swap is twice the memory: {memsw}"
    );
    assert_eq!(line(&out, "pids="), "50");
    let quota = line(&out, "quota=");
    assert!(quota == "50000" || quota == "50000 100000", "{quota}");
    assert_eq!(line(&out, "nproc="), "77:88");
    assert_eq!(line(&out, "dev="), "0");
    let scratch = line(&out, "scratch=");
    assert!(
        scratch.contains("tmpfs") && scratch.contains("size=2048k"),
        "{scratch}"
    );
    assert!(
        scratch.contains("nosuid") && scratch.contains("nodev") && scratch.contains("noexec"),
        "{scratch}"
    );
    assert!(line(&out, "shm=").contains("size=8192k"), "{}", out.stdout);
    assert_eq!(line(&out, "fwd="), "1");
}

#[test]
fn privileged_gets_all_our_capabilities_devices_and_no_filter() {
    if !usable() {
        return;
    }
    let opts = RunOptions {
        privileged: true,
        ..Default::default()
    };
    let out = run(
        "grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; \
         mount -t tmpfs none /tmp; echo mount=$?; echo timer_list=$(cat /proc/timer_list | wc -c); \
         echo null=$(ls /dev/null)",
        opts,
        false,
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let want = format!(
        "{:016x}",
        berth_engine::spec::capabilities::host_bounding_mask()
            & ((1u64 << berth_engine::spec::capabilities::KNOWN_CAPABILITIES.len()) - 1)
    );
    assert_eq!(line(&out, "CapEff:"), want);
    assert_eq!(line(&out, "Seccomp:"), "0");
    assert_eq!(line(&out, "mount="), "0");
    let n: u64 = line(&out, "timer_list=").parse().unwrap();
    assert!(n > 0, "no masked paths when privileged");
    assert_eq!(line(&out, "null="), "/dev/null");
}

#[test]
fn custom_seccomp_profile_and_no_new_privileges() {
    if !usable() {
        return;
    }
    let dir = TempDir::new("berth-spec-profile").unwrap();
    let profile = dir.path().join("profile.json");
    // Docker's format: allow everything except mkdir/mkdirat, which fail with EPERM.
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},
                       {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],
            "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    let mut sec = SecurityOpts::default();
    berth_engine::spec::parse::parse_security_opt(
        &mut sec,
        &format!("seccomp={}", profile.display()),
    )
    .unwrap();
    berth_engine::spec::parse::parse_security_opt(&mut sec, "no-new-privileges").unwrap();
    let opts = RunOptions {
        security_opt: sec,
        ..Default::default()
    };
    let out = run(
        "grep NoNewPrivs /proc/self/status; mkdir /tmp/d; echo mkdir=$?; touch /tmp/f; echo touch=$?",
        opts,
        false,
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(line(&out, "NoNewPrivs:"), "1");
    assert_ne!(line(&out, "mkdir="), "0");
    assert_eq!(line(&out, "touch="), "0");
}
