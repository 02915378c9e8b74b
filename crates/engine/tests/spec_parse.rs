//! The `docker run` flag parsers: Docker's syntax and error wording.

use std::time::Duration;

use berth_engine::spec::parse::*;
use berth_engine::spec::{NamespaceMode, SeccompOpt, SecurityOpts, Ulimit};

#[test]
fn memory_sizes_in_dockers_units() {
    assert_eq!(parse_memory("512m").unwrap(), 512 * 1024 * 1024);
    assert_eq!(parse_memory("1g").unwrap(), 1024 * 1024 * 1024);
    assert_eq!(parse_memory("1GB").unwrap(), 1024 * 1024 * 1024);
    assert_eq!(parse_memory("1.5k").unwrap(), 1536);
    assert_eq!(parse_memory("100").unwrap(), 100);
    assert_eq!(parse_memory("100b").unwrap(), 100);
    assert_eq!(parse_memory("2KiB").unwrap(), 2048);
    assert_eq!(
        parse_memory("abc").unwrap_err().to_string(),
        "invalid argument \"abc\" for \"-m, --memory\" flag: invalid size: 'abc'"
    );
    assert!(parse_memory("12x").is_err());
    assert!(parse_memory("-5m").is_err());
    assert_eq!(parse_memory_swap("-1").unwrap(), -1);
    assert!(parse_memory_swap("x")
        .unwrap_err()
        .to_string()
        .contains("\"--memory-swap\""));
    assert!(parse_shm_size("0").is_err());
    assert_eq!(parse_shm_size("128m").unwrap(), 128 << 20);
}

#[test]
fn cpus() {
    assert_eq!(parse_cpus("1.5").unwrap(), 1.5);
    assert_eq!(
        parse_cpus("abc").unwrap_err().to_string(),
        "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
    );
    assert!(parse_cpus("-1").is_err());
}

#[test]
fn ulimits() {
    assert_eq!(
        parse_ulimit("nofile=1024:2048").unwrap(),
        Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048
        }
    );
    assert_eq!(parse_ulimit("nproc=100").unwrap().hard, 100);
    assert_eq!(parse_ulimit("core=-1").unwrap().soft, u64::MAX);
    assert_eq!(
        parse_ulimit("nofile").unwrap_err().to_string(),
        "invalid argument \"nofile\" for \"--ulimit\" flag: invalid ulimit argument: nofile"
    );
    assert!(parse_ulimit("bogus=1")
        .unwrap_err()
        .to_string()
        .contains("invalid ulimit type: bogus"));
    assert!(parse_ulimit("nofile=2048:1024")
        .unwrap_err()
        .to_string()
        .contains("soft limit must be less than or equal to hard limit"));
    assert!(parse_ulimit("nofile=x").is_err());
}

#[test]
fn devices() {
    let d = parse_device("/dev/fuse").unwrap();
    assert_eq!(
        (
            d.path_on_host.as_str(),
            d.path_in_container.as_str(),
            d.cgroup_permissions.as_str()
        ),
        ("/dev/fuse", "/dev/fuse", "rwm")
    );
    let d = parse_device("/dev/sda:/dev/xvda:r").unwrap();
    assert_eq!(
        (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
        ("/dev/xvda", "r")
    );
    let d = parse_device("/dev/null:rw").unwrap();
    assert_eq!(
        (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
        ("/dev/null", "rw")
    );
    assert!(parse_device("/dev/a:/dev/b:xyz")
        .unwrap_err()
        .to_string()
        .contains("invalid device mode"));
    assert!(parse_device("/dev/a:rel")
        .unwrap_err()
        .to_string()
        .contains("not an absolute path"));
    assert!(parse_device("a:b:c:d")
        .unwrap_err()
        .to_string()
        .contains("--device"));
}

#[test]
fn security_opts() {
    let mut o = SecurityOpts::default();
    parse_security_opt(&mut o, "no-new-privileges").unwrap();
    assert!(o.no_new_privileges);
    parse_security_opt(&mut o, "no-new-privileges:false").unwrap();
    assert!(!o.no_new_privileges);
    parse_security_opt(&mut o, "no-new-privileges=true").unwrap();
    assert!(o.no_new_privileges);
    parse_security_opt(&mut o, "seccomp=unconfined").unwrap();
    assert_eq!(o.seccomp, SeccompOpt::Unconfined);
    parse_security_opt(&mut o, "seccomp=/tmp/p.json").unwrap();
    assert_eq!(o.seccomp, SeccompOpt::Profile("/tmp/p.json".into()));
    parse_security_opt(&mut o, "apparmor=unconfined").unwrap();
    assert_eq!(o.apparmor.as_deref(), Some("unconfined"));
    parse_security_opt(&mut o, "label=disable").unwrap();
    assert_eq!(o.labels, ["disable"]);
    parse_security_opt(&mut o, "systempaths=unconfined").unwrap();
    assert!(o.systempaths_unconfined);
    let e = parse_security_opt(&mut o, "bogus").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid argument \"bogus\" for \"--security-opt\" flag: Invalid --security-opt: \"bogus\""
    );
    assert!(parse_security_opt(&mut o, "no-new-privileges=maybe").is_err());
}

#[test]
fn sysctls_only_namespaced() {
    assert_eq!(
        parse_sysctl("net.ipv4.ip_forward=1").unwrap(),
        ("net.ipv4.ip_forward".into(), "1".into())
    );
    assert!(parse_sysctl("kernel.shmmax=1000").is_ok());
    assert!(parse_sysctl("fs.mqueue.msg_max=20").is_ok());
    assert_eq!(
        parse_sysctl("kernel.panic=1").unwrap_err().to_string(),
        "invalid argument \"kernel.panic=1\" for \"--sysctl\" flag: sysctl 'kernel.panic=1' is not allowed"
    );
    assert!(parse_sysctl("vm.swappiness=1").is_err());
    assert!(parse_sysctl("net.ipv4.ip_forward").is_err());
}

#[test]
fn tmpfs_env_labels() {
    assert_eq!(
        parse_tmpfs("/run:size=1m").unwrap(),
        ("/run".into(), "size=1m".into())
    );
    assert_eq!(parse_tmpfs("/run").unwrap(), ("/run".into(), "".into()));
    assert!(parse_tmpfs("run").is_err());
    let look = |k: &str| (k == "FROMHOST").then(|| "v".to_string());
    assert_eq!(parse_env("A=1", look).unwrap().as_deref(), Some("A=1"));
    assert_eq!(
        parse_env("FROMHOST", look).unwrap().as_deref(),
        Some("FROMHOST=v")
    );
    assert_eq!(parse_env("UNSET", look).unwrap(), None);
    assert!(parse_env("=x", look).is_err());
    let labels = parse_labels(["a=1", "b", "a=2"]).unwrap();
    assert_eq!(labels.get("a").map(String::as_str), Some("2"));
    assert_eq!(labels.get("b").map(String::as_str), Some(""));
}

#[test]
fn env_files() {
    let look = |k: &str| (k == "FROMHOST").then(|| "h".to_string());
    let v = parse_env_file_content(
        "# comment\n\nA=1\n  B=two words \nFROMHOST\nMISSING\nQ=\"quoted\"\n",
        look,
    )
    .unwrap();
    assert_eq!(v, ["A=1", "B=two words ", "FROMHOST=h", "Q=\"quoted\""]);
    let e = parse_env_file_content("BAD NAME=1\n", look).unwrap_err();
    assert!(e.to_string().contains("contains whitespaces"), "{e}");
    let e = parse_env_file_content("=1\n", look).unwrap_err();
    assert!(e.to_string().contains("no variable name"), "{e}");
    let e = parse_env_file(std::path::Path::new("/nonexistent/berth.env")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/berth.env"), "{e}");
}

#[test]
fn namespace_modes() {
    assert_eq!(
        parse_namespace_mode("--ipc", "shareable").unwrap(),
        NamespaceMode::Shareable
    );
    assert_eq!(
        parse_namespace_mode("--pid", "host").unwrap(),
        NamespaceMode::Host
    );
    assert_eq!(
        parse_namespace_mode("--pid", "container:abc").unwrap(),
        NamespaceMode::Container("abc".into())
    );
    assert_eq!(
        parse_namespace_mode("--cgroupns", "private").unwrap(),
        NamespaceMode::Private
    );
    assert!(parse_namespace_mode("--uts", "private").is_err());
    assert!(parse_namespace_mode("--pid", "shareable").is_err());
    assert_eq!(
        parse_namespace_mode("--ipc", "bogus")
            .unwrap_err()
            .to_string(),
        "invalid argument \"bogus\" for \"--ipc\" flag: invalid ipc mode"
    );
}

#[test]
fn go_durations() {
    assert_eq!(
        parse_duration("--health-interval", "30s").unwrap(),
        Duration::from_secs(30)
    );
    assert_eq!(
        parse_duration("--health-interval", "1m30s").unwrap(),
        Duration::from_secs(90)
    );
    assert_eq!(
        parse_duration("--health-interval", "500ms").unwrap(),
        Duration::from_millis(500)
    );
    assert_eq!(
        parse_duration("--health-interval", "1.5h").unwrap(),
        Duration::from_secs(5400)
    );
    assert_eq!(
        parse_duration("--health-interval", "0").unwrap(),
        Duration::ZERO
    );
    assert_eq!(
        parse_duration("--health-timeout", "10")
            .unwrap_err()
            .to_string(),
        "invalid argument \"10\" for \"--health-timeout\" flag: time: invalid duration \"10\""
    );
    assert!(parse_duration("--health-timeout", "").is_err());
    assert!(parse_duration("--health-timeout", "5x").is_err());
}
