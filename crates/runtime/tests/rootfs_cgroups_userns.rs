//! Real-kernel tests of the cgroup mount and of user-namespaced setups.

mod rootfs_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sched::CloneFlags;
use rootfs_support::*;

const PROC_SYS: &str = r#"
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}"#;

const CGROUP: &str = r#"
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}"#;

fn v1_host(dirs: &[(String, std::path::PathBuf)]) -> bool {
    dirs.iter().any(|(n, _)| !n.is_empty())
}

#[test]
fn cgroup_mount_binds_the_containers_own_cgroups_read_only() {
    if skip() {
        return;
    }
    let dirs = own_cgroup_dirs();
    let b = Bundle::new();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}}, "mounts": [{PROC_SYS}, {CGROUP}]}}"#
    ));
    let expect = dirs.clone();
    // Identities of the host dirs, to recognise them inside after the pivot.
    let ids: Vec<(u64, u64)> = dirs
        .iter()
        .map(|(_, d)| fs::metadata(d).map(|m| (m.ino(), m.dev())).unwrap())
        .collect();
    in_child(|| {
        setup_with(&s, &b, false, false, dirs)?;
        let top = top_mount("/sys/fs/cgroup")?;
        if !v1_host(&expect) {
            // Pure v2 host: the container's cgroup2 dir bound read-only.
            ensure(
                top.fstype == "cgroup2" && has_opt(&top.mount_opts, "ro"),
                || format!("{top:?}"),
            )?;
            return ensure(Path::new("/sys/fs/cgroup/cgroup.procs").exists(), || {
                "no cgroup.procs".into()
            });
        }
        ensure(
            top.fstype == "tmpfs" && has_opt(&top.mount_opts, "ro"),
            || format!("cgroup tmpfs: {top:?}"),
        )?;
        for ((name, host), id) in expect.iter().zip(&ids) {
            let sub = if name.is_empty() {
                "unified"
            } else {
                name.strip_prefix("name=").unwrap_or(name)
            };
            let inside = format!("/sys/fs/cgroup/{sub}");
            let m = top_mount(&inside)?;
            ensure(
                m.fstype.starts_with("cgroup") && has_opt(&m.mount_opts, "ro"),
                || format!("{inside}: {m:?}"),
            )?;
            // The same directory as the host's cgroup of this process.
            let a = fs::metadata(&inside).map_err(|e| e.to_string())?;
            ensure((a.ino(), a.dev()) == *id, || {
                format!("{inside} is not {}", host.display())
            })?;
        }
        let e = fs::create_dir("/sys/fs/cgroup/memory/x").expect_err("cgroup writable");
        ensure(errno_of(&e) == libc::EROFS, || {
            format!("mkdir in ro cgroup: {e}")
        })
    })
    .unwrap();
}

#[test]
fn cgroup_mount_in_a_cgroup_namespace_mounts_the_hierarchies() {
    if skip() {
        return;
    }
    let dirs = own_cgroup_dirs();
    let b = Bundle::new();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}}, "mounts": [{PROC_SYS}, {CGROUP}]}}"#
    ));
    let expect = dirs.clone();
    in_child_with(
        CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWCGROUP,
        || {
            setup_with(&s, &b, false, true, dirs)?;
            for (name, _) in &expect {
                let sub = if name.is_empty() {
                    "unified"
                } else {
                    name.strip_prefix("name=").unwrap_or(name)
                };
                let inside = if v1_host(&expect) {
                    format!("/sys/fs/cgroup/{sub}")
                } else {
                    "/sys/fs/cgroup".into()
                };
                let m = top_mount(&inside)?;
                let want = if name.is_empty() { "cgroup2" } else { "cgroup" };
                ensure(m.fstype == want && has_opt(&m.mount_opts, "ro"), || {
                    format!("{inside}: {m:?}")
                })?;
            }
            // The namespace root is the process's own cgroup: no parent groups visible.
            let own = fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
            ensure(own.lines().all(|l| l.ends_with(":/")), || {
                format!("cgroupns view: {own}")
            })
        },
    )
    .unwrap();
}

#[test]
fn user_namespace_binds_devices_and_sysfs_from_the_host() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs", "readonly": true},
        "mounts": [
          {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
          {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
          {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}
        ],
        "linux": {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
                  "namespaces": [{"type": "user"}, {"type": "mount"}],
                  "readonlyPaths": ["/sys/kernel"], "maskedPaths": ["/sys/firmware"]},
        "hostname": "c"}"#,
    );
    in_child_with(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS, || {
        setup_with(&s, &b, true, false, Vec::new())?;
        for (p, maj, min) in [
            ("/dev/null", 1, 3),
            ("/dev/fuse", 10, 229),
            ("/dev/tty", 5, 0),
        ] {
            let m = fs::metadata(p).map_err(|e| format!("{p}: {e}"))?;
            ensure(m.rdev() == libc::makedev(maj, min), || {
                format!("{p}: rdev {}", m.rdev())
            })?;
        }
        fs::write("/dev/null", "x").map_err(|e| format!("write bound /dev/null: {e}"))?;
        ensure(Path::new("/sys/kernel").is_dir(), || {
            "host /sys not bound".into()
        })?;
        let e = fs::write("/sys/kernel/x", "x").expect_err("sys writable");
        ensure(errno_of(&e) == libc::EROFS, || format!("/sys write: {e}"))?;
        ensure(
            fs::read_dir("/sys/firmware")
                .map_err(|e| e.to_string())?
                .count()
                == 0,
            || "/sys/firmware not masked".into(),
        )?;
        let e = fs::write("/new", "x").expect_err("root writable");
        ensure(errno_of(&e) == libc::EROFS, || format!("ro root: {e}"))?;
        fs::write("/tmp/ok", "x").map_err(|e| format!("tmp: {e}"))
    })
    .unwrap();
}
