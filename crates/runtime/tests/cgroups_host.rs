//! Real-host tests of berth_runtime::cgroups: run as root against the kernel's
//! cgroup trees (v1, hybrid or v2, whatever the machine has).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_runtime::cgroups::{host_layout, Cgroup, Hierarchies, Layout};
use berth_testutil::{is_root, unique_name};
use oci_spec::runtime::LinuxResources;

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("resources json")
}

/// A top-level cgroup /<unique> (no shared parent left behind) that is killed and removed when dropped.
struct TestCgroup(Cgroup);

impl TestCgroup {
    fn new(tag: &str) -> TestCgroup {
        let name = unique_name(tag);
        let cg = Cgroup::new(Some(&format!("/{name}")), &name).unwrap();
        cg.create().unwrap();
        TestCgroup(cg)
    }
    fn on(h: &Hierarchies, tag: &str) -> TestCgroup {
        let name = unique_name(tag);
        let cg = Cgroup::with_hierarchies(h, Some(&format!("/{name}")), &name, None).unwrap();
        cg.create().unwrap();
        TestCgroup(cg)
    }
    /// Directory of the hierarchy whose name contains `ctrl` ("" = the cgroup2 dir).
    fn dir(&self, ctrl: &str) -> PathBuf {
        self.0
            .hierarchy_dirs()
            .into_iter()
            .find(|(n, _)| {
                if ctrl.is_empty() {
                    n.is_empty()
                } else {
                    n.split(',').any(|c| c == ctrl)
                }
            })
            .unwrap_or_else(|| panic!("no hierarchy for {ctrl}"))
            .1
    }
    fn read(&self, ctrl: &str, file: &str) -> String {
        std::fs::read_to_string(self.dir(ctrl).join(file))
            .unwrap_or_else(|e| panic!("{ctrl}/{file}: {e}"))
            .trim()
            .to_owned()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = self.0.kill_all(libc::SIGKILL);
        let _ = self.0.destroy();
    }
}

/// A `sh -c script` child that blocks on a line of stdin before running `script`,
/// so the test can move it into a cgroup first.
struct Gated(Child);

impl Gated {
    fn spawn(script: &str) -> Gated {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read _go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Gated(child)
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    fn go(&mut self) {
        self.0.stdin.take().unwrap().write_all(b"\n").unwrap();
    }
    /// Waits for exit: (status, stdout, stderr).
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let mut out = String::new();
        let mut err = String::new();
        self.0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        self.0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let st = self.0.wait().unwrap();
        (st, out, err)
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn expected_layout() -> Layout {
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        Layout::V2
    } else if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        Layout::Hybrid
    } else {
        Layout::V1
    }
}

#[test]
fn cgroups_host_layout_matches_mounts() {
    assert_eq!(host_layout().unwrap(), expected_layout());
}

#[test]
fn cgroups_create_apply_reads_back_and_destroy_leaves_nothing() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    if host_layout().unwrap() == Layout::V2 {
        eprintln!("skipped: v1 file names checked here; v2 is covered on the unified tree");
        return;
    }
    let cg = TestCgroup::new("cg-apply");
    let dirs = cg.0.hierarchy_dirs();
    for (_, d) in &dirs {
        assert!(d.is_dir(), "{} missing after create", d.display());
    }
    // Idempotent.
    cg.0.create().unwrap();
    // blkio weights need a proportional-weight scheduler (BFQ, or CFQ on old kernels);
    // without one the kernel has no weight file and asking for a weight is an error.
    let broot = Hierarchies::host()
        .unwrap()
        .v1_with("blkio")
        .unwrap()
        .mount_point
        .clone();
    let weight_supported = ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .any(|f| broot.join(f).exists());
    if !weight_supported {
        let err =
            cg.0.apply(&resources(r#"{"blockIO": {"weight": 500}}"#))
                .unwrap_err()
                .to_string();
        assert!(err.contains("linux.resources.blockIO.weight"), "{err}");
    }
    let weight_json = if weight_supported {
        r#""weight": 500,"#
    } else {
        ""
    };
    let r = resources(
        &r#"{
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200,
                   "kernel": 209715200, "kernelTCP": 209715200, "swappiness": 10,
                   "disableOOMKiller": true},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0",
                "idle": 0},
        "pids": {"limit": 64},
        "blockIO": {WEIGHT
                    "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 200}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "devices": [{"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]
    }"#
        .replace("WEIGHT", weight_json),
    );
    cg.0.apply(&r).unwrap();
    assert_eq!(cg.read("memory", "memory.limit_in_bytes"), "104857600");
    assert_eq!(
        cg.read("memory", "memory.memsw.limit_in_bytes"),
        "209715200"
    );
    assert_eq!(cg.read("memory", "memory.soft_limit_in_bytes"), "52428800");
    assert_eq!(cg.read("memory", "memory.swappiness"), "10");
    assert!(cg
        .read("memory", "memory.oom_control")
        .contains("oom_kill_disable 1"));
    assert_eq!(cg.read("cpu", "cpu.shares"), "512");
    assert_eq!(cg.read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(cg.read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(cg.read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(cg.read("cpuset", "cpuset.mems"), "0");
    assert_eq!(cg.read("pids", "pids.max"), "64");
    if weight_supported {
        let bdir = cg.dir("blkio");
        let weight = ["blkio.weight", "blkio.bfq.weight"]
            .iter()
            .find_map(|f| std::fs::read_to_string(bdir.join(f)).ok())
            .unwrap();
        assert!(weight.contains("500"), "weight {weight:?}");
    }
    assert_eq!(
        cg.read("blkio", "blkio.throttle.read_bps_device"),
        "254:0 1048576"
    );
    assert_eq!(
        cg.read("blkio", "blkio.throttle.write_iops_device"),
        "254:0 200"
    );
    // hugetlb: in a v1 hierarchy if the host has one, else in the cgroup2 tree (hybrid).
    let huge = if Hierarchies::host().unwrap().v1_with("hugetlb").is_some() {
        cg.read("hugetlb", "hugetlb.2MB.limit_in_bytes")
    } else {
        cg.read("", "hugetlb.2MB.max")
    };
    assert_eq!(huge, "4194304");
    // Devices: deny all, the spec's allow of /dev/kmsg for read, then the defaults.
    let list = cg.read("devices", "devices.list");
    assert!(list.lines().any(|l| l == "c 1:11 r"), "{list}");
    assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
    assert!(!list.contains("a *:*"), "{list}");

    // update touches only what it is given.
    cg.0.update(&resources(r#"{"pids": {"limit": 10}}"#))
        .unwrap();
    assert_eq!(cg.read("pids", "pids.max"), "10");
    assert_eq!(cg.read("memory", "memory.limit_in_bytes"), "104857600");
    assert!(cg.read("devices", "devices.list").contains("c 1:11 r"));

    let st = cg.0.stats().unwrap();
    assert_eq!(st.memory.usage.limit, 104857600);
    // Lifting the memory limit lifts the memory+swap limit with it.
    cg.0.update(&resources(r#"{"memory": {"limit": -1}}"#))
        .unwrap();
    let unlimited = cg.read("memory", "memory.limit_in_bytes");
    assert!(unlimited.parse::<u64>().unwrap() > 1 << 60, "{unlimited}");
    assert_eq!(cg.read("memory", "memory.memsw.limit_in_bytes"), unlimited);
    assert_eq!(st.pids.limit, 10);
    let json = serde_json::to_value(&st).unwrap();
    assert!(json["memory"]["usage"]["limit"].is_u64());

    cg.0.destroy().unwrap();
    for (_, d) in &dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    cg.0.destroy().unwrap();
}

#[test]
fn cgroups_task_joins_is_listed_frozen_thawed_and_killed() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let cg = TestCgroup::new("cg-freeze");
    let mut child = Gated::spawn("while :; do :; done");
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    assert_eq!(cg.0.pids().unwrap(), vec![child.pid()]);
    assert!(!cg.0.is_frozen().unwrap());

    cg.0.freeze().unwrap();
    assert!(cg.0.is_frozen().unwrap());
    let t0 = cpu_ticks(child.pid());
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(cpu_ticks(child.pid()), t0, "a frozen task used CPU");
    // Signalling a paused container leaves it paused.
    cg.0.kill_all(0).unwrap();
    assert!(cg.0.is_frozen().unwrap());

    cg.0.thaw().unwrap();
    assert!(!cg.0.is_frozen().unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while cpu_ticks(child.pid()) == t0 {
        assert!(Instant::now() < deadline, "thawed task never ran");
        std::thread::sleep(Duration::from_millis(20));
    }

    let st = cg.0.stats().unwrap();
    assert!(st.cpu.usage.total > 0, "{st:?}");
    assert_eq!(st.pids.current, 1);
    if host_layout().unwrap() == Layout::Hybrid {
        // hugetlb lives only in the cgroup2 tree here.
        assert!(st.hugetlb.contains_key("2MB"), "{:?}", st.hugetlb);
    }
    let json = serde_json::to_value(&st).unwrap();
    assert!(json["cpu"]["usage"]["total"].as_u64().unwrap() > 0);

    cg.0.kill_all(libc::SIGTERM).unwrap();
    let (st, _, _) = child.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGTERM));
    cg.0.destroy().unwrap();
}

#[test]
fn cgroups_memory_limit_oom_kills_and_is_counted() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let cg = TestCgroup::new("cg-oom");
    cg.0.apply(&resources(
        r#"{"memory": {"limit": 16777216, "swap": 16777216}}"#,
    ))
    .unwrap();
    assert_eq!(cg.0.oom_kill_count().unwrap(), 0);
    // Command substitution keeps 64 MiB in the shell's memory.
    let mut child = Gated::spawn(r#"a=$(head -c 67108864 /dev/zero | tr '\0' x); echo ${#a}"#);
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    let (st, out, _) = child.finish();
    // The OOM killer may pick the shell (no output) or a pipeline member (the shell
    // then reports a short string); either way the 64 MiB never fit.
    let full = out.trim().parse::<u64>().is_ok_and(|n| n >= 67108864);
    assert!(!full, "allocation beyond the limit succeeded: {st:?} {out}");
    assert!(cg.0.oom_kill_count().unwrap() >= 1);
    assert!(cg.0.stats().unwrap().memory.oom_kill >= 1);
}

#[test]
fn cgroups_pids_limit_stops_forks() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let cg = TestCgroup::new("cg-pids");
    cg.0.apply(&resources(r#"{"pids": {"limit": 4}}"#)).unwrap();
    let mut child = Gated::spawn("for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo forked");
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    // Wait until the shell has tried all its forks (it exits or prints).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = cg.0.pids().unwrap().len();
        assert!(n <= 4, "{n} tasks despite pids.limit 4");
        let events = std::fs::read_to_string(cg.dir("pids").join("pids.events"))
            .or_else(|_| std::fs::read_to_string(cg.dir("").join("pids.events")))
            .unwrap();
        if events
            .lines()
            .any(|l| l.starts_with("max ") && l != "max 0")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no fork was refused: {events}");
        std::thread::sleep(Duration::from_millis(20));
    }
    cg.0.kill_all(libc::SIGKILL).unwrap();
    drop(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cg.0.pids().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "tasks survived kill_all");
        std::thread::sleep(Duration::from_millis(10));
    }
    cg.0.destroy().unwrap();
}

/// Opens /dev/null for writing and /dev/kmsg for reading from inside the cgroup;
/// returns the shell's combined report.
fn probe_devices(cg: &Cgroup) -> String {
    let mut child = Gated::spawn(
        "if echo x > /dev/null; then echo null-ok; else echo null-denied; fi; \
         if (exec 3</dev/kmsg); then echo kmsg-ok; else echo kmsg-denied; fi",
    );
    cg.add_task(child.pid()).unwrap();
    child.go();
    let (_, out, err) = child.finish();
    format!("{out}{err}")
}

#[test]
fn cgroups_v1_device_rules_are_enforced() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    if Hierarchies::host().unwrap().v1_with("devices").is_none() {
        eprintln!("skipped: no v1 devices controller");
        return;
    }
    let cg = TestCgroup::new("cg-dev");
    cg.0.apply(&resources(
        r#"{"devices": [{"allow": false, "access": "rwm"}]}"#,
    ))
    .unwrap();
    let out = probe_devices(&cg.0);
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("kmsg-denied"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");

    cg.0.update(&resources(
        r#"{"devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]}"#,
    ))
    .unwrap();
    let out = probe_devices(&cg.0);
    assert!(out.contains("kmsg-ok"), "{out}");
}

/// The cgroup2 tree of a hybrid host (or the whole tree on v2) treated as a pure v2
/// host: devices through the eBPF filter, the v2 freezer and cgroup.kill.
fn unified_only() -> Option<Hierarchies> {
    let u = Hierarchies::host().unwrap().unified.clone()?;
    Some(Hierarchies::v2_at(&u.mount_point))
}

#[test]
fn cgroups_v2_device_filter_is_enforced_and_replaced() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let Some(h) = unified_only() else {
        eprintln!("skipped: no cgroup2 tree");
        return;
    };
    let cg = TestCgroup::on(&h, "cg-bpf");
    // apply() on a real cgroup2 dir: hugetlb and unified keys (the controllers this
    // tree has) plus the eBPF device filter (deny all but the defaults).
    cg.0.apply(&resources(
        r#"{"devices": [{"allow": false, "access": "rwm"}],
            "hugepageLimits": [{"pageSize": "2MB", "limit": 6291456}],
            "unified": {"hugetlb.1GB.max": "0"}}"#,
    ))
    .unwrap();
    assert_eq!(cg.read("", "hugetlb.2MB.max"), "6291456");
    assert_eq!(cg.read("", "hugetlb.1GB.max"), "0");
    let out = probe_devices(&cg.0);
    assert!(out.contains("null-ok"), "{out}");
    assert!(out.contains("kmsg-denied"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");

    // The old filter must be gone: with both attached, kmsg would stay denied.
    cg.0.update(&resources(
        r#"{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]}"#,
    ))
    .unwrap();
    let out = probe_devices(&cg.0);
    assert!(out.contains("kmsg-ok"), "{out}");
    assert!(out.contains("null-ok"), "{out}");
}

#[test]
fn cgroups_v2_freezer_and_cgroup_kill() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let Some(h) = unified_only() else {
        eprintln!("skipped: no cgroup2 tree");
        return;
    };
    let cg = TestCgroup::on(&h, "cg-v2frz");
    let mut child = Gated::spawn("while :; do :; done");
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    assert_eq!(cg.0.pids().unwrap(), vec![child.pid()]);
    cg.0.freeze().unwrap();
    assert!(cg.0.is_frozen().unwrap());
    let t0 = cpu_ticks(child.pid());
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(cpu_ticks(child.pid()), t0, "a frozen task used CPU");
    cg.0.thaw().unwrap();
    assert!(!cg.0.is_frozen().unwrap());
    cg.0.kill_all(libc::SIGKILL).unwrap();
    let (st, _, _) = child.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    cg.0.destroy().unwrap();
    assert!(!cg.dir("").exists());
}

#[test]
fn cgroups_errors_name_the_spec_field() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let cg = TestCgroup::new("cg-err");
    let err = |json: &str| cg.0.apply(&resources(json)).unwrap_err().to_string();
    let e = err(r#"{"cpu": {"quota": -5}}"#);
    assert!(e.contains("linux.resources.cpu.quota"), "{e}");
    let e = err(r#"{"memory": {"swappiness": 150}}"#);
    assert!(e.contains("linux.resources.memory.swappiness"), "{e}");
    let e = err(r#"{"hugepageLimits": [{"pageSize": "3XB", "limit": 1}]}"#);
    assert!(e.contains("linux.resources.hugepageLimits[0]"), "{e}");
    let e = err(r#"{"devices": [{"allow": true, "access": "rwx"}]}"#);
    assert!(e.contains("linux.resources.devices[0]"), "{e}");
    let e = err(r#"{"unified": {"no.such.file": "1"}}"#);
    assert!(e.contains("linux.resources.unified.no.such.file"), "{e}");
    if Hierarchies::host().unwrap().v1_with("net_cls").is_none()
        && host_layout().unwrap() != Layout::V2
    {
        let e = err(r#"{"network": {"classID": 1048577}}"#);
        assert!(e.contains("linux.resources.network.classID"), "{e}");
    }
    // A too-small memory limit for a running task fails naming the field and file.
    let e = Cgroup::new(Some("/"), "x").unwrap_err().to_string();
    assert!(e.contains("linux.cgroupsPath"), "{e}");
}

/// Prints what create + apply + destroy cost on this host (no threshold: performance
/// is measured, not asserted). Run: cargo test -p berth-runtime --test cgroups_host
/// -- --ignored --nocapture cgroups_measure
#[test]
#[ignore]
fn cgroups_measure_create_apply_destroy() {
    if !is_root() {
        return;
    }
    let r = resources(
        r#"{"memory": {"limit": 268435456}, "pids": {"limit": 1024},
            "cpu": {"shares": 1024},
            "devices": [{"allow": false, "access": "rwm"}]}"#,
    );
    let n = 200;
    let (mut tc, mut ta, mut td) = (Vec::new(), Vec::new(), Vec::new());
    let _warm = Cgroup::new(Some("/berth-measure/warm"), "warm").unwrap();
    for _ in 0..n {
        let name = unique_name("m");
        let t0 = Instant::now();
        let cg = Cgroup::new(Some(&format!("/berth-measure/{name}")), &name).unwrap();
        cg.create().unwrap();
        let t1 = Instant::now();
        cg.apply(&r).unwrap();
        let t2 = Instant::now();
        cg.destroy().unwrap();
        let t3 = Instant::now();
        tc.push(t1 - t0);
        ta.push(t2 - t1);
        td.push(t3 - t2);
    }
    for (what, v) in [
        ("new+create", &mut tc),
        ("apply", &mut ta),
        ("destroy", &mut td),
    ] {
        v.sort();
        eprintln!(
            "{what}: median {:?} p90 {:?} (n={n}, layout {:?})",
            v[n / 2],
            v[n * 9 / 10],
            host_layout().unwrap()
        );
    }
    for (_, d) in _warm.hierarchy_dirs() {
        let _ = std::fs::remove_dir(d.parent().unwrap());
    }
}

#[test]
fn cgroups_relative_path_nests_under_our_own_cgroup_and_state_round_trips() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let name = unique_name("cg-rel");
    let cg = Cgroup::new(Some(&name), &name).unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let h = Hierarchies::host().unwrap();
    for (hier, dir) in cg.hierarchy_dirs() {
        let mine = own
            .lines()
            .find_map(|l| {
                let mut it = l.splitn(3, ':');
                let _ = it.next();
                (it.next()? == hier).then(|| it.next().unwrap().to_owned())
            })
            .unwrap();
        let mount = if hier.is_empty() {
            h.unified.as_ref().unwrap().mount_point.clone()
        } else {
            h.v1.iter()
                .find(|m| m.name == hier)
                .unwrap()
                .mount_point
                .clone()
        };
        let want = mount.join(mine.trim_start_matches('/')).join(&name);
        assert_eq!(dir, want, "hierarchy {hier:?}");
    }
    cg.create().unwrap();
    let cg = TestCgroup(cg);
    // What a runtime stores in its state file is enough to find the cgroup again.
    let again = Cgroup::from_hierarchy_dirs(cg.0.cgroups_path(), &cg.0.hierarchy_dirs()).unwrap();
    assert_eq!(again.hierarchy_dirs(), cg.0.hierarchy_dirs());
    let mut child = Gated::spawn("sleep 30");
    again.add_task(child.pid()).unwrap();
    // Checked before `go`: after it the shell may already have forked `sleep` (2 pids).
    assert_eq!(cg.0.pids().unwrap(), vec![child.pid()]);
    child.go();
    again.kill_all(libc::SIGKILL).unwrap();
    let _ = child.finish();
    again.destroy().unwrap();
    for (_, d) in cg.0.hierarchy_dirs() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn cgroups_v1_device_update_never_blocks_allowed_devices() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    if Hierarchies::host().unwrap().v1_with("devices").is_none() {
        eprintln!("skipped: no v1 devices controller");
        return;
    }
    let cg = TestCgroup::new("cg-devupd");
    let with_kmsg = resources(
        r#"{"devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rw"}]}"#,
    );
    let kmsg_read_only = resources(
        r#"{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]}"#,
    );
    cg.0.apply(&with_kmsg).unwrap();
    // A task hammering /dev/null while the rules are rewritten must never be refused.
    let mut child =
        Gated::spawn("echo start; while :; do echo x > /dev/null || echo REFUSED; done");
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    for i in 0..400 {
        let r = if i % 2 == 0 {
            &kmsg_read_only
        } else {
            &with_kmsg
        };
        cg.0.update(r).unwrap();
    }
    cg.0.update(&kmsg_read_only).unwrap();
    cg.0.kill_all(libc::SIGKILL).unwrap();
    let (_, out, err) = child.finish();
    assert!(out.contains("start"), "{out}{err}");
    assert!(
        !out.contains("REFUSED"),
        "/dev/null refused during update: {err}"
    );
    let list = cg.read("devices", "devices.list");
    assert!(list.lines().any(|l| l == "c 1:11 r"), "{list}");
    assert!(
        !list
            .lines()
            .any(|l| l.starts_with("c 1:11 ") && l != "c 1:11 r"),
        "{list}"
    );
    assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
}

#[test]
fn cgroups_destroy_kills_leftover_frozen_tasks_and_nested_cgroups() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let cg = TestCgroup::new("cg-leftover");
    let mut child = Gated::spawn("sleep 30");
    cg.0.add_task(child.pid()).unwrap();
    child.go();
    // A sub-cgroup with a task of its own, as a container with cgroupns could make.
    let mut nested_child = Gated::spawn("sleep 30");
    for (_, d) in cg.0.hierarchy_dirs() {
        let n = d.join("inner");
        std::fs::create_dir(&n).unwrap();
        if d.join("cpuset.cpus").exists() {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = std::fs::read_to_string(d.join(f)).unwrap();
                std::fs::write(n.join(f), v.trim()).unwrap();
            }
        }
        std::fs::write(n.join("cgroup.procs"), nested_child.pid().to_string()).unwrap();
    }
    nested_child.go();
    cg.0.freeze().unwrap();
    cg.0.destroy().unwrap();
    for (_, d) in cg.0.hierarchy_dirs() {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.finish().0.signal(), Some(libc::SIGKILL));
    assert_eq!(nested_child.finish().0.signal(), Some(libc::SIGKILL));
}
