//! berth_runtime::cgroups against fake cgroup trees in a temp dir: which files a
//! given linux.resources writes, with which values, on v2, v1 and hybrid layouts.
//! Control files are pre-created empty (the module never creates files, as on
//! cgroupfs), so "written" = "non-empty afterwards".

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use berth_runtime::cgroups::{
    device_program, load_device_program, BpfInsn, Cgroup, Hierarchies, Layout,
};
use berth_testutil::{is_root, TempDir};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("resources json")
}

fn touch(dir: &Path, files: &[&str]) {
    fs::create_dir_all(dir).unwrap();
    for f in files {
        fs::write(dir.join(f), "").unwrap();
    }
}

/// Every non-empty regular file under `dir` (one level), name -> content.
fn written(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .filter_map(|e| {
            let c = fs::read_to_string(e.path()).unwrap();
            (!c.is_empty()).then(|| (e.file_name().into_string().unwrap(), c))
        })
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const V2_FILES: &[&str] = &[
    "cgroup.procs",
    "cgroup.subtree_control",
    "cgroup.freeze",
    "memory.max",
    "memory.low",
    "memory.high",
    "memory.swap.max",
    "memory.oom.group",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
    "hugetlb.1GB.max",
    "rdma.max",
];

/// A fake pure-v2 tree: root with cgroup.controllers, /berth as parent.
fn v2_tree(tmp: &TempDir) -> (Hierarchies, Cgroup, PathBuf) {
    let root = tmp.path().join("v2");
    touch(&root, &["cgroup.subtree_control"]);
    fs::write(
        root.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids rdma\n",
    )
    .unwrap();
    touch(&root.join("berth"), &["cgroup.subtree_control"]);
    let h = Hierarchies::v2_at(&root);
    let cg = Cgroup::with_hierarchies(&h, Some("/berth/c1"), "c1", None).unwrap();
    let leaf = root.join("berth/c1");
    (h, cg, leaf)
}

#[test]
fn cgroups_fake_v2_create_enables_controllers_top_down() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (h, cg, leaf) = v2_tree(&tmp);
    assert_eq!(h.layout, Layout::V2);
    cg.create().unwrap();
    assert!(leaf.is_dir());
    let root = leaf.parent().unwrap().parent().unwrap();
    let all = "+cpuset +cpu +io +memory +hugetlb +pids +rdma";
    assert_eq!(
        fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
        all
    );
    assert_eq!(
        fs::read_to_string(root.join("berth/cgroup.subtree_control")).unwrap(),
        all
    );
    assert_eq!(
        cg.hierarchy_dirs(),
        vec![(String::new(), leaf.clone())],
        "one cgroup2 dir"
    );
    assert_eq!(cg.cgroups_path(), "/berth/c1");
}

#[test]
fn cgroups_fake_v2_full_update_writes_exactly_the_converted_files() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg, leaf) = v2_tree(&tmp);
    cg.create().unwrap();
    touch(&leaf, V2_FILES);
    // update() = the fields given only; apply() would also attach the eBPF device
    // filter, which needs a real cgroup2 dir (covered in cgroups_host).
    cg.update(&resources(
        r#"{
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 314572800,
                   "swappiness": 10, "kernel": 1, "disableOOMKiller": true},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 1,
                "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 32},
        "blockIO": {"weight": 500,
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 1000}},
        "unified": {"memory.high": "90000000"}
    }"#,
    ))
    .unwrap();
    assert_eq!(
        written(&leaf),
        map(&[
            ("memory.max", "104857600"),
            ("memory.low", "52428800"),
            ("memory.swap.max", "209715200"),
            ("memory.high", "90000000"),
            ("cpu.weight", "100"),
            ("cpu.max", "50000 100000"),
            ("cpu.max.burst", "1000"),
            ("cpu.idle", "1"),
            ("cpuset.cpus", "0-1"),
            ("cpuset.mems", "0"),
            ("pids.max", "32"),
            ("io.weight", "4950"),
            ("io.max", "8:0 rbps=1048576"),
            ("hugetlb.2MB.max", "4194304"),
            ("hugetlb.2MB.rsvd.max", "4194304"),
            ("rdma.max", "mlx5_0 hca_handle=3 hca_object=1000"),
        ])
    );
}

#[test]
fn cgroups_fake_v2_partial_updates_keep_the_other_half() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg, leaf) = v2_tree(&tmp);
    cg.create().unwrap();
    touch(&leaf, V2_FILES);
    let rd = |f: &str| fs::read_to_string(leaf.join(f)).unwrap();
    fs::write(leaf.join("cpu.max"), "max 100000\n").unwrap();
    cg.update(&resources(r#"{"cpu": {"quota": 20000}}"#))
        .unwrap();
    assert_eq!(rd("cpu.max"), "20000 100000");
    cg.update(&resources(r#"{"cpu": {"period": 50000}}"#))
        .unwrap();
    assert_eq!(rd("cpu.max"), "20000 50000");
    cg.update(&resources(r#"{"cpu": {"quota": -1, "period": 100000}}"#))
        .unwrap();
    assert_eq!(rd("cpu.max"), "max 100000");
    // Swap alone: subtract the memory.max in force.
    fs::write(leaf.join("memory.max"), "104857600\n").unwrap();
    cg.update(&resources(r#"{"memory": {"swap": 209715200}}"#))
        .unwrap();
    assert_eq!(rd("memory.swap.max"), "104857600");
    cg.update(&resources(r#"{"memory": {"limit": -1}}"#))
        .unwrap();
    assert_eq!(rd("memory.max"), "max");
    assert_eq!(rd("memory.swap.max"), "max");
    cg.update(&resources(r#"{"pids": {"limit": -1}}"#)).unwrap();
    assert_eq!(rd("pids.max"), "max");
    // Zero / empty values mean "not set": nothing is written.
    let before = written(&leaf);
    cg.update(&resources(
        r#"{"cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "memory": {"limit": 0, "swap": 0, "reservation": 0},
            "blockIO": {"weight": 0, "leafWeight": 0}, "pids": {"limit": 0}}"#,
    ))
    .unwrap();
    assert_eq!(written(&leaf), before);
    // A per-device weight of 0 resets the device to the default weight.
    cg.update(&resources(
        r#"{"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 0}]}}"#,
    ))
    .unwrap();
    assert_eq!(rd("io.weight"), "8:0 default");
}

#[test]
fn cgroups_fake_v2_errors_name_fields() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg, leaf) = v2_tree(&tmp);
    cg.create().unwrap();
    touch(&leaf, V2_FILES);
    let err = |json: &str| cg.update(&resources(json)).unwrap_err().to_string();
    let e = err(r#"{"unified": {"memory.nonexistent": "1"}}"#);
    assert!(
        e.contains("linux.resources.unified.memory.nonexistent"),
        "{e}"
    );
    assert!(e.contains("does not exist"), "{e}");
    let e = err(r#"{"unified": {"../escape": "1"}}"#);
    assert!(e.contains("linux.resources.unified.../escape"), "{e}");
    let e = err(r#"{"cpu": {"realtimeRuntime": 1000}}"#);
    assert!(e.contains("linux.resources.cpu.realtimeRuntime"), "{e}");
    let e = err(r#"{"memory": {"swap": 1000, "limit": 2000}}"#);
    assert!(e.contains("linux.resources.memory.swap"), "{e}");
    let e = err(r#"{"hugepageLimits": [{"pageSize": "64KB", "limit": 1}]}"#);
    assert!(e.contains("linux.resources.hugepageLimits[0]"), "{e}");
    assert!(e.contains("hugetlb.64KB.max"), "{e}");
    let e = err(r#"{"network": {"classID": 1}}"#);
    assert!(e.contains("linux.resources.network.classID"), "{e}");
    let e = err(r#"{"blockIO": {"weight": 5}}"#);
    assert!(e.contains("linux.resources.blockIO.weight"), "{e}");
}

const V1_NAMES: &[&str] = &[
    "cpu,cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls,net_prio",
    "name=systemd",
];

const V1_FILES: &[&str] = &[
    "cgroup.procs",
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.soft_limit_in_bytes",
    "memory.kmem.limit_in_bytes",
    "memory.kmem.tcp.limit_in_bytes",
    "memory.swappiness",
    "memory.oom_control",
    "memory.use_hierarchy",
    "cpu.shares",
    "cpu.cfs_period_us",
    "cpu.cfs_quota_us",
    "cpu.cfs_burst_us",
    "cpu.rt_period_us",
    "cpu.rt_runtime_us",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "devices.allow",
    "devices.deny",
    "freezer.state",
    "blkio.weight",
    "blkio.leaf_weight",
    "blkio.weight_device",
    "blkio.leaf_weight_device",
    "blkio.throttle.read_bps_device",
    "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device",
    "blkio.throttle.write_iops_device",
    "pids.max",
    "hugetlb.2MB.limit_in_bytes",
    "net_cls.classid",
    "net_prio.ifpriomap",
];

/// A fake v1 tree (optionally hybrid with a cgroup2 tree holding only hugetlb).
/// Every hierarchy gets /berth/c1 with all V1_FILES pre-created; cpuset's root has
/// cpus/mems, /berth and the leaf start empty as on a real host.
fn v1_tree(tmp: &TempDir, names: &[&str], hybrid: bool) -> (Hierarchies, Cgroup) {
    let root = tmp.path().join("v1");
    for n in names {
        let dir = root.join(n.strip_prefix("name=").unwrap_or(n));
        touch(&dir.join("berth/c1"), V1_FILES);
        touch(
            &dir.join("berth"),
            &["cpuset.cpus", "cpuset.mems", "cgroup.clone_children"],
        );
    }
    fs::write(root.join("cpuset/cpuset.cpus"), "0-3\n").unwrap();
    fs::write(root.join("cpuset/cpuset.mems"), "0\n").unwrap();
    if hybrid {
        let u = root.join("unified");
        touch(&u, &["cgroup.subtree_control"]);
        fs::write(u.join("cgroup.controllers"), "hugetlb\n").unwrap();
        touch(&u.join("berth/c1"), V2_FILES);
        touch(&u.join("berth"), &["cgroup.subtree_control"]);
    }
    let h = Hierarchies::v1_at(&root, names, hybrid);
    let cg = Cgroup::with_hierarchies(&h, Some("/berth/c1"), "c1", None).unwrap();
    (h, cg)
}

fn dir_of(cg: &Cgroup, name: &str) -> PathBuf {
    cg.hierarchy_dirs()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

#[test]
fn cgroups_fake_v1_create_fills_cpuset_from_the_parent() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (h, cg) = v1_tree(&tmp, V1_NAMES, false);
    assert_eq!(h.layout, Layout::V1);
    cg.create().unwrap();
    let leaf = dir_of(&cg, "cpuset");
    assert_eq!(fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(), "0-3");
    assert_eq!(fs::read_to_string(leaf.join("cpuset.mems")).unwrap(), "0");
    let parent = leaf.parent().unwrap();
    assert_eq!(
        fs::read_to_string(parent.join("cpuset.cpus")).unwrap(),
        "0-3"
    );
    assert_eq!(
        fs::read_to_string(parent.join("cgroup.clone_children")).unwrap(),
        "1"
    );
    let names: Vec<String> = cg.hierarchy_dirs().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, V1_NAMES);
}

#[test]
fn cgroups_fake_v1_full_apply_writes_exactly_the_expected_files() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg) = v1_tree(&tmp, V1_NAMES, false);
    cg.create().unwrap();
    cg.apply(&resources(
        r#"{
        "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200,
                   "kernel": 4194304, "kernelTCP": 2097152, "swappiness": 10,
                   "disableOOMKiller": true, "useHierarchy": true},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                "realtimeRuntime": 950000, "realtimePeriod": 1000000, "idle": 1,
                "cpus": "1", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "leafWeight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 700}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
        "devices": [{"allow": false, "type": "c", "major": 1, "minor": 11, "access": "w"},
                    {"allow": true, "type": "b", "major": 8, "access": "r"}]
    }"#,
    ))
    .unwrap();
    let w = |name: &str| written(&dir_of(&cg, name));
    assert_eq!(
        w("memory"),
        map(&[
            ("memory.limit_in_bytes", "104857600"),
            ("memory.memsw.limit_in_bytes", "209715200"),
            ("memory.soft_limit_in_bytes", "52428800"),
            ("memory.kmem.limit_in_bytes", "4194304"),
            ("memory.kmem.tcp.limit_in_bytes", "2097152"),
            ("memory.swappiness", "10"),
            ("memory.oom_control", "1"),
            ("memory.use_hierarchy", "1"),
        ])
    );
    assert_eq!(
        w("cpu,cpuacct"),
        map(&[
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_burst_us", "1000"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "950000"),
            ("cpu.idle", "1"),
        ])
    );
    assert_eq!(
        w("cpuset"),
        map(&[("cpuset.cpus", "1"), ("cpuset.mems", "0")])
    );
    assert_eq!(w("pids"), map(&[("pids.max", "64")]));
    assert_eq!(
        w("blkio"),
        map(&[
            ("blkio.weight", "500"),
            ("blkio.leaf_weight", "300"),
            ("blkio.weight_device", "8:0 600"),
            ("blkio.leaf_weight_device", "8:0 700"),
            ("blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio.throttle.write_bps_device", "8:0 2097152"),
            ("blkio.throttle.read_iops_device", "8:0 100"),
            ("blkio.throttle.write_iops_device", "8:0 200"),
        ])
    );
    assert_eq!(
        w("hugetlb"),
        map(&[("hugetlb.2MB.limit_in_bytes", "4194304")])
    );
    assert_eq!(
        w("net_cls,net_prio"),
        map(&[
            ("net_cls.classid", "1048577"),
            ("net_prio.ifpriomap", "eth0 5")
        ])
    );
    // One fd per file, one write(2) per rule: deny all, the spec's rules in order,
    // then the defaults (a plain file shows the writes concatenated).
    let dev = w("devices");
    assert_eq!(dev["devices.deny"], "ac 1:11 w");
    assert_eq!(
        dev["devices.allow"],
        "b 8:* rc *:* mb *:* mc 1:3 rwmc 1:5 rwmc 1:7 rwmc 1:8 rwmc 1:9 rwmc 5:0 rwm\
         c 5:1 rwmc 5:2 rwmc 136:* rwmc 10:200 rwm"
    );
    assert_eq!(dev.len(), 2);
    assert!(w("freezer").is_empty());
    assert!(w("name=systemd").is_empty());
}

#[test]
fn cgroups_fake_v1_errors_name_fields_and_absent_controllers() {
    let tmp = TempDir::new("cgfake").unwrap();
    // No net_cls/net_prio, no hugetlb: as on this project's host.
    let (_h, cg) = v1_tree(&tmp, &["cpu,cpuacct", "cpuset", "memory", "pids"], false);
    cg.create().unwrap();
    let err = |json: &str| cg.update(&resources(json)).unwrap_err().to_string();
    let e = err(r#"{"network": {"classID": 7}}"#);
    assert!(e.contains("linux.resources.network.classID"), "{e}");
    assert!(e.contains("net_cls"), "{e}");
    let e = err(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}"#);
    assert!(e.contains("linux.resources.hugepageLimits"), "{e}");
    let e = err(r#"{"unified": {"memory.max": "1"}}"#);
    assert!(e.contains("linux.resources.unified"), "{e}");
    let e = err(r#"{"memory": {"limit": -2}}"#);
    assert!(e.contains("linux.resources.memory.limit"), "{e}");
    let e = err(r#"{"cpu": {"quota": -7}}"#);
    assert!(e.contains("linux.resources.cpu.quota"), "{e}");
    // A knob this kernel lacks: the error names field and file.
    fs::remove_file(dir_of(&cg, "memory").join("memory.swappiness")).unwrap();
    let e = err(r#"{"memory": {"swappiness": 5}}"#);
    assert!(
        e.contains("linux.resources.memory.swappiness: writing") && e.contains("memory.swappiness"),
        "{e}"
    );
    // Kernel memory knobs dropped by newer kernels are skipped quietly.
    fs::remove_file(dir_of(&cg, "memory").join("memory.kmem.limit_in_bytes")).unwrap();
    cg.update(&resources(r#"{"memory": {"kernel": 1048576}}"#))
        .unwrap();
}

#[test]
fn cgroups_fake_hybrid_puts_hugetlb_and_unified_in_the_cgroup2_tree() {
    let tmp = TempDir::new("cgfake").unwrap();
    let names = &["cpu,cpuacct", "cpuset", "memory", "pids", "name=systemd"];
    let (h, cg) = v1_tree(&tmp, names, true);
    assert_eq!(h.layout, Layout::Hybrid);
    cg.create().unwrap();
    let u = tmp.path().join("v1/unified");
    assert_eq!(
        fs::read_to_string(u.join("cgroup.subtree_control")).unwrap(),
        "+hugetlb"
    );
    cg.update(&resources(
        r#"{"memory": {"limit": 1048576},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
            "unified": {"hugetlb.1GB.max": "0"}}"#,
    ))
    .unwrap();
    assert_eq!(
        written(&dir_of(&cg, "memory")),
        map(&[("memory.limit_in_bytes", "1048576")])
    );
    assert_eq!(
        written(&u.join("berth/c1")),
        map(&[
            ("hugetlb.2MB.max", "2097152"),
            ("hugetlb.2MB.rsvd.max", "2097152"),
            ("hugetlb.1GB.max", "0"),
        ])
    );
    let dirs = cg.hierarchy_dirs();
    assert_eq!(dirs.last().unwrap(), &(String::new(), u.join("berth/c1")));
    cg.add_task(4242).unwrap();
    for (_, d) in &dirs {
        assert_eq!(fs::read_to_string(d.join("cgroup.procs")).unwrap(), "4242");
    }
}

#[test]
fn cgroups_fake_paths_relative_and_systemd() {
    let tmp = TempDir::new("cgfake").unwrap();
    let root = tmp.path().join("v1");
    let h = Hierarchies::v1_at(&root, &["memory", "name=systemd"], true);
    let proc_cgroup = "2:memory:/process_api/abc\n1:name=systemd:/\n0::/user.slice\n";
    let cg = Cgroup::with_hierarchies(&h, Some("sub/c"), "c", Some(proc_cgroup)).unwrap();
    assert_eq!(
        cg.hierarchy_dirs(),
        vec![
            (
                "memory".to_string(),
                root.join("memory/process_api/abc/sub/c")
            ),
            ("name=systemd".to_string(), root.join("systemd/sub/c")),
            (String::new(), root.join("unified/user.slice/sub/c")),
        ]
    );
    let cg = Cgroup::with_hierarchies(&h, Some("machine-app.slice:berth:c9"), "c9", None).unwrap();
    assert_eq!(
        cg.cgroups_path(),
        "/machine.slice/machine-app.slice/berth-c9.scope"
    );
    let cg = Cgroup::with_hierarchies(&h, None, "c9", None).unwrap();
    assert_eq!(cg.cgroups_path(), "/berth-oci/c9");
    assert_eq!(cg.hierarchy_dirs()[0].1, root.join("memory/berth-oci/c9"));
    let e = Cgroup::with_hierarchies(&h, Some("/a/../../x"), "c", None).unwrap_err();
    assert!(e.to_string().contains("linux.cgroupsPath"), "{e}");
}

#[test]
fn cgroups_fake_destroy_is_idempotent_and_removes_nested_cgroups() {
    let tmp = TempDir::new("cgfake").unwrap();
    let root = tmp.path().join("v2");
    touch(&root, &["cgroup.subtree_control"]);
    fs::write(root.join("cgroup.controllers"), "").unwrap();
    let h = Hierarchies::v2_at(&root);
    let cg = Cgroup::with_hierarchies(&h, Some("/c1"), "c1", None).unwrap();
    cg.create().unwrap();
    // A sub-cgroup the container made (empty dirs only; cgroupfs files vanish with rmdir).
    fs::create_dir_all(root.join("c1/inner/deeper")).unwrap();
    cg.destroy().unwrap();
    assert!(!root.join("c1").exists());
    cg.destroy().unwrap();
}

fn rule(json: &str) -> Vec<LinuxDeviceCgroup> {
    serde_json::from_str(json).unwrap()
}

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// Loads of access_type/major/minor that start every program.
fn prologue() -> Vec<BpfInsn> {
    vec![
        ins(0x61, 2, 1, 0, 0),
        ins(0x54, 2, 0, 0, 0xffff),
        ins(0x61, 3, 1, 0, 0),
        ins(0x74, 3, 0, 0, 16),
        ins(0x61, 4, 1, 4, 0),
        ins(0x61, 5, 1, 8, 0),
    ]
}

#[test]
fn cgroups_bpf_device_program_instructions() {
    // allow c 1:3 rw: type, access subset, major, minor checks, then allow; else deny.
    let mut want = prologue();
    want.extend([
        ins(0x56, 2, 0, 7, 2), // if type != char goto next
        ins(0xbc, 1, 3, 0, 0), // r1 = access
        ins(0x54, 1, 0, 0, 1), // r1 &= ~(r|w) (= m)
        ins(0x56, 1, 0, 4, 0), // if r1 != 0 goto next
        ins(0x56, 4, 0, 3, 1), // if major != 1 goto next
        ins(0x56, 5, 0, 2, 3), // if minor != 3 goto next
        ins(0xb7, 0, 0, 0, 1), // return 1
        ins(0x95, 0, 0, 0, 0),
        ins(0xb7, 0, 0, 0, 0), // default: return 0
        ins(0x95, 0, 0, 0, 0),
    ]);
    let got = device_program(&rule(
        r#"[{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]"#,
    ))
    .unwrap();
    assert_eq!(got, want);

    // Later rules win: a trailing deny-all makes everything before it unreachable.
    let mut want = prologue();
    want.extend([ins(0xb7, 0, 0, 0, 0), ins(0x95, 0, 0, 0, 0)]);
    let got = device_program(&rule(
        r#"[{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": false, "access": "rwm"}]"#,
    ))
    .unwrap();
    assert_eq!(got, want);

    // deny b *:* w after allow-all: checked first (reverse order), any-number
    // wildcards emit no major/minor checks; a deny matches if any denied bit is asked.
    let mut want = prologue();
    want.extend([
        ins(0x56, 2, 0, 5, 1), // if type != block goto next
        ins(0xbc, 1, 3, 0, 0),
        ins(0x54, 1, 0, 0, 4), // r1 &= w
        ins(0x16, 1, 0, 2, 0), // if r1 == 0 goto next
        ins(0xb7, 0, 0, 0, 0), // return 0
        ins(0x95, 0, 0, 0, 0),
        ins(0xb7, 0, 0, 0, 1), // allow-all: return 1
        ins(0x95, 0, 0, 0, 0),
    ]);
    let got = device_program(&rule(
        r#"[{"allow": true, "access": "rwm"},
            {"allow": false, "type": "b", "access": "w"}]"#,
    ))
    .unwrap();
    assert_eq!(got, want);

    // linux.devices entries become rwm allow rules.
    let devs: Vec<oci_spec::runtime::LinuxDevice> = serde_json::from_str(
        r#"[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
            {"path": "/dev/fifo", "type": "p", "major": 0, "minor": 0}]"#,
    )
    .unwrap();
    let allow = berth_runtime::cgroups::allow_rules_for_devices(&devs);
    assert_eq!(allow.len(), 1);
    assert_eq!(allow[0].to_string(), "c 10:229 rwm");
    assert!(allow[0].allow());

    let e = device_program(&rule(r#"[{"allow": true, "type": "c", "major": -5}]"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("linux.resources.devices[0]"), "{e}");
}

#[test]
fn cgroups_bpf_device_program_loads_into_the_kernel() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let prog = device_program(&rule(
        r#"[{"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 136, "access": "rw"},
            {"allow": false, "type": "b", "major": 8, "minor": 0, "access": "w"},
            {"allow": true, "type": "b", "access": "m"}]"#,
    ))
    .unwrap();
    let fd = load_device_program(&prog).unwrap();
    drop(fd);
}

fn put(dir: &Path, file: &str, content: &str) {
    fs::write(dir.join(file), content).unwrap();
}

#[test]
fn cgroups_fake_v2_stats_and_oom_count_parse_the_files() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg, leaf) = v2_tree(&tmp);
    cg.create().unwrap();
    put(&leaf, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30\n");
    put(&leaf, "memory.current", "4096\n");
    put(&leaf, "memory.max", "max\n");
    put(&leaf, "memory.peak", "8192\n");
    put(&leaf, "memory.stat", "anon 1024\nfile 2048\n");
    put(
        &leaf,
        "memory.events",
        "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n",
    );
    put(&leaf, "memory.swap.current", "0\n");
    put(&leaf, "memory.swap.max", "1048576\n");
    put(&leaf, "pids.current", "3\n");
    put(&leaf, "pids.max", "max\n");
    put(
        &leaf,
        "io.stat",
        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
    );
    put(&leaf, "hugetlb.2MB.current", "2097152\n");
    put(&leaf, "hugetlb.2MB.events", "max 4\n");
    let s = cg.stats().unwrap();
    assert_eq!(s.cpu.usage.total, 1_500_000);
    assert_eq!(s.cpu.usage.user, 1_000_000);
    assert_eq!(s.cpu.usage.kernel, 500_000);
    assert_eq!(s.cpu.throttling.throttled_periods, 2);
    assert_eq!(s.cpu.throttling.throttled_time, 30_000);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.max, 8192);
    assert_eq!(s.memory.usage.limit, u64::MAX);
    assert_eq!(s.memory.usage.failcnt, 5);
    assert_eq!(s.memory.cache, 2048);
    assert_eq!(s.memory.swap.limit, 1048576);
    assert_eq!((s.memory.oom, s.memory.oom_kill), (2, 1));
    assert_eq!((s.pids.current, s.pids.limit), (3, 0));
    let bytes: Vec<(u64, u64, &str, u64)> = s
        .blkio
        .io_service_bytes_recursive
        .iter()
        .map(|e| (e.major, e.minor, e.op.as_str(), e.value))
        .collect();
    assert_eq!(bytes, [(8, 0, "Read", 100), (8, 0, "Write", 200)]);
    assert_eq!(s.blkio.io_serviced_recursive.len(), 2);
    assert_eq!(s.hugetlb["2MB"].usage, 2097152);
    assert_eq!(s.hugetlb["2MB"].failcnt, 4);
    assert_eq!(cg.oom_kill_count().unwrap(), 1);
    // runc's JSON names.
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["cpu"]["throttling"]["throttledPeriods"], 2);
    assert_eq!(j["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
    assert_eq!(j["memory"]["usage"]["failcnt"], 5);
}

#[test]
fn cgroups_fake_v1_stats_and_oom_count_parse_the_files() {
    let tmp = TempDir::new("cgfake").unwrap();
    let (_h, cg) = v1_tree(&tmp, V1_NAMES, false);
    cg.create().unwrap();
    let cpu = dir_of(&cg, "cpu,cpuacct");
    put(&cpu, "cpuacct.usage", "3000\n");
    put(&cpu, "cpuacct.usage_percpu", "1000 2000 \n");
    put(&cpu, "cpuacct.usage_user", "2500\n");
    put(&cpu, "cpuacct.usage_sys", "500\n");
    put(
        &cpu,
        "cpu.stat",
        "nr_periods 4\nnr_throttled 1\nthrottled_time 77\n",
    );
    let mem = dir_of(&cg, "memory");
    put(&mem, "memory.usage_in_bytes", "4096\n");
    put(&mem, "memory.limit_in_bytes", "1048576\n");
    put(&mem, "memory.failcnt", "9\n");
    put(&mem, "memory.stat", "cache 10\ntotal_cache 20\n");
    put(
        &mem,
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    let blk = dir_of(&cg, "blkio");
    put(
        &blk,
        "blkio.throttle.io_service_bytes_recursive",
        "254:0 Read 4096\n254:0 Write 8192\nTotal 12288\n",
    );
    let s = cg.stats().unwrap();
    assert_eq!(s.cpu.usage.total, 3000);
    assert_eq!(s.cpu.usage.percpu, [1000, 2000]);
    assert_eq!((s.cpu.usage.user, s.cpu.usage.kernel), (2500, 500));
    assert_eq!(s.cpu.throttling.throttled_time, 77);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.limit, 1048576);
    assert_eq!(s.memory.usage.failcnt, 9);
    assert_eq!(s.memory.cache, 20);
    assert_eq!(s.memory.oom_kill, 3);
    assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
    assert_eq!(s.blkio.io_service_bytes_recursive[1].value, 8192);
    assert_eq!(cg.oom_kill_count().unwrap(), 3);
}
