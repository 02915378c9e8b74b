//! `build_for_host`: the whole spec for representative `docker run` command lines, checked
//! against what Docker writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_engine::spec::capabilities::capability_mask;
use berth_engine::spec::{
    build, build_for_host, HostInfo, NamespaceKind, NamespaceMode, RunOptions, SeccompOpt,
    SpecContext, Ulimit,
};
use berth_testutil::TempDir;
use oci_spec::image::{ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder};
use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType, Spec};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn host() -> HostInfo {
    HostInfo {
        cgroup2: false,
        swap_accounting: true,
        cpus: vec![0, 1],
        mems: vec![0],
        rlimit_hard: [
            ("nofile".to_string(), 20000u64),
            ("nproc".to_string(), 100_000),
        ]
        .into_iter()
        .collect(),
        can_raise_rlimits: false,
        bounding_mask: (1u64 << 41) - 1,
        hostname: "thehost".into(),
        seccomp: berth_engine::spec::seccomp::Host {
            go_arch: "amd64".into(),
            kernel: (6, 18),
        },
    }
}

fn image() -> ImageConfiguration {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    ImageConfigurationBuilder::default()
        .config(
            ConfigBuilder::default()
                .cmd(v(&["sh"]))
                .env(v(&["PATH=/usr/bin:/bin", "IMG=1"]))
                .stop_signal("SIGQUIT")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn rootfs() -> TempDir {
    let d = TempDir::new("berth-spec-build").unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::write(
        d.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n",
    )
    .unwrap();
    std::fs::write(d.path().join("etc/group"), "root:x:0:\nwww:x:33:\n").unwrap();
    d
}

fn ctx(root: &Path) -> SpecContext {
    SpecContext {
        container_id: ID.into(),
        rootfs: root.to_path_buf(),
        cgroups_path: "/berth/abc".into(),
        ..Default::default()
    }
}

fn spec(opts: &RunOptions) -> Spec {
    let r = rootfs();
    build_for_host(&image(), opts, &ctx(r.path()), &host()).unwrap()
}

fn mount_dests(s: &Spec) -> Vec<String> {
    s.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect()
}

fn namespaces(s: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    s.linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| (n.typ(), n.path().clone()))
        .collect()
}

fn caps(s: &Spec) -> u64 {
    let c = s
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    let names: Vec<String> = c
        .effective()
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    capability_mask(&names)
}

#[test]
fn defaults_match_docker_run_image() {
    let s = spec(&RunOptions::default());
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &["sh"]);
    assert_eq!(
        p.env().as_ref().unwrap(),
        &[
            "PATH=/usr/bin:/bin",
            "HOSTNAME=0123456789ab",
            "IMG=1",
            "HOME=/root"
        ]
    );
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(caps(&s), 0xa80425fb);
    let nofile = p
        .rlimits()
        .as_ref()
        .unwrap()
        .iter()
        .find(|r| r.typ() == PosixRlimitType::RlimitNofile)
        .unwrap();
    assert_eq!((nofile.soft(), nofile.hard()), (1024, 20000));
    assert_eq!(s.hostname().as_deref(), Some("0123456789ab"));
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));
    assert_eq!(
        mount_dests(&s),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    let l = s.linux().as_ref().unwrap();
    assert_eq!(l.masked_paths().as_ref().unwrap().len(), 11);
    assert!(l
        .masked_paths()
        .as_ref()
        .unwrap()
        .contains(&"/proc/kcore".to_string()));
    assert_eq!(l.readonly_paths().as_ref().unwrap().len(), 5);
    assert!(l.seccomp().is_some());
    assert_eq!(l.cgroups_path().as_deref(), Some(Path::new("/berth/abc")));
    let ns: Vec<_> = namespaces(&s).into_iter().map(|(t, _)| t).collect();
    use LinuxNamespaceType as T;
    // cgroup v1/hybrid host: Docker shares the host's cgroup namespace.
    assert_eq!(ns, [T::Mount, T::Network, T::Uts, T::Pid, T::Ipc]);
    let dev = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert!(!dev[0].allow());
    assert_eq!(
        s.annotations()
            .as_ref()
            .unwrap()
            .get("org.opencontainers.image.stopSignal")
            .map(String::as_str),
        Some("SIGQUIT")
    );
    // The spec round-trips through config.json.
    let json = serde_json::to_string(&s).unwrap();
    let back: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn cgroup_v2_host_gets_private_cgroupns() {
    let r = rootfs();
    let h = HostInfo {
        cgroup2: true,
        ..host()
    };
    let s = build_for_host(&image(), &RunOptions::default(), &ctx(r.path()), &h).unwrap();
    assert!(namespaces(&s)
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::Cgroup));
    let o = RunOptions {
        cgroupns: NamespaceMode::Host,
        ..Default::default()
    };
    let s = build_for_host(&image(), &o, &ctx(r.path()), &h).unwrap();
    assert!(!namespaces(&s)
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::Cgroup));
}

#[test]
fn tty_user_workdir_env_hostname() {
    let s = spec(&RunOptions {
        tty: true,
        user: Some("www".into()),
        workdir: Some("/srv/app".into()),
        env: vec!["IMG=2".into(), "NEW=x".into()],
        hostname: Some("web".into()),
        ..Default::default()
    });
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.terminal(), Some(true));
    assert_eq!((p.user().uid(), p.user().gid()), (33, 33));
    assert_eq!(p.cwd(), Path::new("/srv/app"));
    assert_eq!(
        p.env().as_ref().unwrap(),
        &[
            "PATH=/usr/bin:/bin",
            "HOSTNAME=web",
            "TERM=xterm",
            "IMG=2",
            "NEW=x",
            "HOME=/var/www"
        ]
    );
    assert_eq!(s.hostname().as_deref(), Some("web"));
}

#[test]
fn dotted_hostname_splits_off_the_domain() {
    let s = spec(&RunOptions {
        hostname: Some("web.example.com".into()),
        ..Default::default()
    });
    assert_eq!(s.hostname().as_deref(), Some("web"));
    assert_eq!(s.domainname().as_deref(), Some("example.com"));
    let env = s.process().as_ref().unwrap().env().as_ref().unwrap();
    assert!(env.contains(&"HOSTNAME=web".to_string()));
    let s = spec(&RunOptions {
        hostname: Some("a.b".into()),
        domainname: Some("corp".into()),
        ..Default::default()
    });
    assert_eq!(s.hostname().as_deref(), Some("a.b"));
    assert_eq!(s.domainname().as_deref(), Some("corp"));
}

#[test]
fn unknown_user_is_dockers_error() {
    let r = rootfs();
    let o = RunOptions {
        user: Some("ghost".into()),
        ..Default::default()
    };
    let e = build_for_host(&image(), &o, &ctx(r.path()), &host()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
}

#[test]
fn privileged_has_everything_and_no_confinement() {
    let s = spec(&RunOptions {
        privileged: true,
        ..Default::default()
    });
    assert_eq!(caps(&s), (1u64 << 41) - 1);
    let l = s.linux().as_ref().unwrap();
    assert!(l.seccomp().is_none());
    assert!(l.masked_paths().as_ref().unwrap().is_empty());
    assert!(l.readonly_paths().as_ref().unwrap().is_empty());
    let dev = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert_eq!(dev.len(), 1);
    assert!(dev[0].allow());
    assert!(l
        .devices()
        .as_ref()
        .unwrap()
        .iter()
        .any(|d| d.path() == Path::new("/dev/null")));
    let sys = &s.mounts().as_ref().unwrap()[3];
    assert!(sys.options().as_ref().unwrap().contains(&"rw".to_string()));
}

#[test]
fn cap_flags_and_seccomp_follow_capabilities() {
    let s = spec(&RunOptions {
        cap_add: vec!["sys_admin".into()],
        cap_drop: vec!["NET_RAW".into()],
        ..Default::default()
    });
    assert_eq!(caps(&s), (0xa80425fb | (1 << 21)) & !(1 << 13));
    let sc = s.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    assert!(sc
        .syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .any(|r| r.names().contains(&"mount".to_string())));
    let s = spec(&RunOptions {
        security_opt: berth_engine::spec::SecurityOpts {
            seccomp: SeccompOpt::Unconfined,
            no_new_privileges: true,
            ..Default::default()
        },
        ..Default::default()
    });
    assert!(s.linux().as_ref().unwrap().seccomp().is_none());
    assert_eq!(
        s.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
}

#[test]
fn entrypoint_init_and_mounts() {
    let r = rootfs();
    let mut c = ctx(r.path());
    c.init_path = Some("/var/lib/berth/bin/berth-init".into());
    c.hosts_file = Some("/run/berth/c/hosts".into());
    c.resolv_conf = Some("/run/berth/c/resolv.conf".into());
    c.hostname_file = Some("/run/berth/c/hostname".into());
    let o = RunOptions {
        init: true,
        entrypoint: Some(vec!["/bin/echo".into()]),
        cmd: vec!["hi".into()],
        tmpfs: vec![
            ("/run".into(), "size=1m".into()),
            ("/dev/shm".into(), String::new()),
        ],
        read_only: true,
        shm_size: Some(1 << 20),
        ..Default::default()
    };
    let s = build_for_host(&image(), &o, &c, &host()).unwrap();
    assert_eq!(
        s.process().as_ref().unwrap().args().as_ref().unwrap(),
        &["/sbin/docker-init", "--", "/bin/echo", "hi"]
    );
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    let d = mount_dests(&s);
    // The user's /dev/shm tmpfs replaces the default one; parents before children.
    assert_eq!(
        d,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/run",
            "/sbin/docker-init",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts"
        ]
    );
    let m = s.mounts().as_ref().unwrap();
    assert_eq!(
        m[6].options().as_ref().unwrap(),
        &["noexec", "nosuid", "nodev", "size=1m"]
    );
    assert_eq!(
        m[7].source().as_deref(),
        Some(Path::new("/var/lib/berth/bin/berth-init"))
    );
    assert_eq!(m[7].options().as_ref().unwrap(), &["bind", "ro"]);
    // --init without a binary is refused clearly.
    let e = build_for_host(&image(), &o, &ctx(r.path()), &host()).unwrap_err();
    assert!(e.to_string().contains("--init"), "{e}");
}

#[test]
fn namespaces_host_none_and_joined() {
    let r = rootfs();
    let mut c = ctx(r.path());
    c.host_network = true;
    let o = RunOptions {
        pid: NamespaceMode::Host,
        ipc: NamespaceMode::Container("other".into()),
        ..Default::default()
    };
    c.join_namespaces = vec![(NamespaceKind::Ipc, "/proc/42/ns/ipc".into())];
    let s = build_for_host(&image(), &o, &c, &host()).unwrap();
    use LinuxNamespaceType as T;
    assert_eq!(
        namespaces(&s),
        [
            (T::Mount, None),
            (T::Uts, None),
            (T::Ipc, Some("/proc/42/ns/ipc".into()))
        ]
    );
    // Host network: the host's hostname, no /dev/shm of our own with a joined IPC ns.
    assert_eq!(s.hostname().as_deref(), Some("thehost"));
    assert!(!mount_dests(&s).contains(&"/dev/shm".to_string()));
    // container:X without a path from the engine is an error, not a silent private ns.
    c.join_namespaces.clear();
    let e = build_for_host(&image(), &o, &c, &host()).unwrap_err();
    assert!(e.to_string().contains("--ipc container:other"), "{e}");
    // A network namespace path from the network code.
    let mut c = ctx(r.path());
    c.netns_path = Some("/run/netns/berth-x".into());
    let s = build_for_host(&image(), &RunOptions::default(), &c, &host()).unwrap();
    assert!(namespaces(&s).contains(&(T::Network, Some("/run/netns/berth-x".into()))));
    // --uts host with -h conflicts.
    let o = RunOptions {
        uts: NamespaceMode::Host,
        hostname: Some("x".into()),
        ..Default::default()
    };
    let e = build_for_host(&image(), &o, &ctx(r.path()), &host()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Conflicting options: hostname and the UTS mode"
    );
}

#[test]
fn resources_ulimits_sysctls() {
    let mut sysctls = BTreeMap::new();
    sysctls.insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    let s = spec(&RunOptions {
        memory: Some(256 << 20),
        cpus: Some(0.5),
        pids_limit: Some(64),
        ulimits: vec![Ulimit {
            name: "nproc".into(),
            soft: 50,
            hard: 100,
        }],
        sysctls: sysctls.clone(),
        oom_score_adj: Some(500),
        ..Default::default()
    });
    let res = s.linux().as_ref().unwrap().resources().as_ref().unwrap();
    assert_eq!(res.memory().as_ref().unwrap().limit(), Some(256 << 20));
    assert_eq!(res.memory().as_ref().unwrap().swap(), Some(512 << 20));
    assert_eq!(res.cpu().as_ref().unwrap().quota(), Some(50_000));
    assert_eq!(res.pids().as_ref().unwrap().limit(), 64);
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.oom_score_adj(), Some(500));
    let rl = p.rlimits().as_ref().unwrap();
    assert!(rl
        .iter()
        .any(|r| r.typ() == PosixRlimitType::RlimitNproc && r.hard() == 100));
    assert_eq!(
        s.linux()
            .as_ref()
            .unwrap()
            .sysctl()
            .as_ref()
            .unwrap()
            .get("net.ipv4.ip_forward")
            .map(String::as_str),
        Some("1")
    );
    // Above the host's hard limit, without CAP_SYS_RESOURCE: refused up front.
    let r = rootfs();
    let o = RunOptions {
        ulimits: vec![Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 1 << 20,
        }],
        ..Default::default()
    };
    let e = build_for_host(&image(), &o, &ctx(r.path()), &host()).unwrap_err();
    assert!(e.to_string().contains("\"--ulimit\""), "{e}");
    // net.* sysctls need a private network namespace.
    let mut c = ctx(r.path());
    c.host_network = true;
    let o = RunOptions {
        sysctls,
        ..Default::default()
    };
    let e = build_for_host(&image(), &o, &c, &host()).unwrap_err();
    assert!(
        e.to_string()
            .contains("not allowed in host network namespace"),
        "{e}"
    );
}

#[test]
fn build_creates_the_workdir_inside_the_rootfs_only() {
    let r = rootfs();
    let outside = TempDir::new("berth-spec-outside").unwrap();
    // /escape in the image points at a host directory: nothing may be created there
    // (pathrs refuses the dangling in-root path).
    std::os::unix::fs::symlink(outside.path(), r.path().join("escape")).unwrap();
    let o = RunOptions {
        workdir: Some("/escape/work".into()),
        ..Default::default()
    };
    let _ = build(&image(), &o, &ctx(r.path()));
    assert!(
        !outside.path().join("work").exists(),
        "workdir created on the host"
    );
    // `..` cannot climb out either: it stops at the container's root.
    std::fs::create_dir(r.path().join("data")).unwrap();
    std::os::unix::fs::symlink("../../../../../data", r.path().join("up")).unwrap();
    let o = RunOptions {
        workdir: Some("/up/work".into()),
        ..Default::default()
    };
    build(&image(), &o, &ctx(r.path())).unwrap();
    assert!(r.path().join("data/work").is_dir());
    // A plain missing workdir is created, as Docker does.
    let o = RunOptions {
        workdir: Some("/srv/app".into()),
        ..Default::default()
    };
    build(&image(), &o, &ctx(r.path())).unwrap();
    assert!(r.path().join("srv/app").is_dir());
}
