//! Real-kernel tests of rootfs::prepare/pivot/finalize in forked children.

mod rootfs_support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use rootfs_support::*;

fn base_mounts() -> &'static str {
    r#"
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=64k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]}"#
}

#[test]
fn mounts_appear_in_config_order_with_their_options() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let host = b.path().join("hostdata");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("f"), "x").unwrap();
    fs::write(b.path().join("single"), "file source").unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{}, 
          {{"destination": "/data", "type": "bind", "source": "{}", "options": ["rbind", "ro", "nosuid", "nodev"]}},
          {{"destination": "/srv/deep/file", "type": "none", "source": "single", "options": ["bind", "noexec"]}},
          {{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=1777", "noatime"]}}
        ]}}"#,
        base_mounts(),
        host.display()
    ));
    in_child(|| {
        setup(&s, &b)?;
        let order = [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/data",
            "/srv/deep/file",
            "/tmp",
        ];
        let mi = mountinfo()?;
        let pos: Vec<usize> = order
            .iter()
            .map(|p| {
                mi.iter()
                    .position(|m| m.mount_point == *p)
                    .ok_or_else(|| format!("{p} not mounted: {mi:?}"))
            })
            .collect::<Result<_, _>>()?;
        ensure(pos.windows(2).all(|w| w[0] < w[1]), || {
            format!("mount order {pos:?} is not config order")
        })?;
        let dev = top_mount("/dev")?;
        ensure(
            dev.fstype == "tmpfs" && has_opt(&dev.mount_opts, "nosuid"),
            || format!("/dev: {dev:?}"),
        )?;
        ensure(has_opt(&dev.super_opts, "size=65536k"), || {
            format!("/dev size: {dev:?}")
        })?;
        let shm = top_mount("/dev/shm")?;
        ensure(
            has_opt(&shm.mount_opts, "noexec")
                && has_opt(&shm.mount_opts, "nodev")
                && has_opt(&shm.super_opts, "size=64k"),
            || format!("/dev/shm: {shm:?}"),
        )?;
        let pts = top_mount("/dev/pts")?;
        ensure(
            pts.fstype == "devpts" && has_opt(&pts.super_opts, "ptmxmode=666"),
            || format!("/dev/pts: {pts:?}"),
        )?;
        ensure(top_mount("/dev/mqueue")?.fstype == "mqueue", || {
            "mqueue".into()
        })?;
        let sys = top_mount("/sys")?;
        ensure(
            sys.fstype == "sysfs" && has_opt(&sys.mount_opts, "ro"),
            || format!("/sys: {sys:?}"),
        )?;
        let data = top_mount("/data")?;
        ensure(
            has_opt(&data.mount_opts, "ro")
                && has_opt(&data.mount_opts, "nosuid")
                && has_opt(&data.mount_opts, "nodev"),
            || format!("/data: {data:?}"),
        )?;
        ensure(
            fs::read_to_string("/data/f").map_err(|e| e.to_string())? == "x",
            || "bind content".into(),
        )?;
        let file = top_mount("/srv/deep/file")?;
        ensure(has_opt(&file.mount_opts, "noexec"), || {
            format!("file bind: {file:?}")
        })?;
        ensure(
            fs::read_to_string("/srv/deep/file").map_err(|e| e.to_string())? == "file source",
            || "file bind content".into(),
        )?;
        let tmp = top_mount("/tmp")?;
        ensure(
            has_opt(&tmp.mount_opts, "noatime") && has_opt(&tmp.super_opts, "size=1024k"),
            || format!("/tmp: {tmp:?}"),
        )?;
        // Only mounts of the container remain: the old root is gone.
        ensure(
            mi.iter().all(|m| !m.mount_point.starts_with("/work")),
            || "host mounts still visible".into(),
        )?;
        Ok(())
    })
    .unwrap();
    // The file created as a mount point lives in the rootfs, not elsewhere.
    assert!(b.rootfs().join("srv/deep/file").is_file());
}

#[test]
fn overlay_mount_with_host_layers() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let (lower, upper, work) = (
        b.path().join("lower"),
        b.path().join("upper"),
        b.path().join("work"),
    );
    for d in [&lower, &upper, &work] {
        fs::create_dir(d).unwrap();
    }
    fs::write(lower.join("from-lower"), "l").unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{{"destination": "/ov", "type": "overlay", "source": "overlay",
          "options": ["lowerdir={}", "upperdir={}", "workdir={}", "nodev"]}}]}}"#,
        lower.display(),
        upper.display(),
        work.display()
    ));
    in_child(|| {
        setup(&s, &b)?;
        ensure(
            fs::read_to_string("/ov/from-lower").ok().as_deref() == Some("l"),
            || "lower file not visible".into(),
        )?;
        fs::write("/ov/new", "n").map_err(|e| format!("write to overlay: {e}"))
    })
    .unwrap();
    assert_eq!(fs::read_to_string(upper.join("new")).unwrap(), "n");
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_it_covers() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let r = b.rootfs();
    fs::create_dir_all(r.join("run/lock/sub")).unwrap();
    fs::set_permissions(r.join("run"), fs::Permissions::from_mode(0o710)).unwrap();
    fs::write(r.join("run/lock/sub/f"), "content").unwrap();
    fs::set_permissions(r.join("run/lock/sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(r.join("run/lock/sub/f"), Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", r.join("run/link")).unwrap();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "mounts": [
          {"destination": "/proc", "type": "proc", "source": "proc"},
          {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid", "ro"]},
          {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["notmpcopyup"]}
        ]}"#,
    );
    in_child(|| {
        setup(&s, &b)?;
        let m = top_mount("/run")?;
        ensure(m.fstype == "tmpfs" && has_opt(&m.mount_opts, "ro"), || {
            format!("/run: {m:?}")
        })?;
        let f = fs::metadata("/run/lock/sub/f").map_err(|e| format!("copied file: {e}"))?;
        ensure(
            f.mode() & 0o7777 == 0o640 && f.uid() == 1234 && f.gid() == 5678,
            || {
                format!(
                    "copied file mode {:o} uid {} gid {}",
                    f.mode(),
                    f.uid(),
                    f.gid()
                )
            },
        )?;
        ensure(
            fs::read_to_string("/run/lock/sub/f").ok().as_deref() == Some("content"),
            || "content".into(),
        )?;
        let l = fs::read_link("/run/link").map_err(|e| e.to_string())?;
        ensure(l.to_str() == Some("/etc/passwd"), || {
            format!("link -> {l:?}")
        })?;
        let run = fs::metadata("/run").map_err(|e| e.to_string())?;
        ensure(run.mode() & 0o7777 == 0o710, || {
            format!("/run mode {:o}", run.mode())
        })
    })
    .unwrap();
    // The image's files are untouched.
    assert_eq!(
        fs::read_to_string(r.join("run/lock/sub/f")).unwrap(),
        "content"
    );
}

#[test]
fn idmapped_bind_mount_shows_mapped_owners() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let src = b.path().join("owned");
    fs::create_dir(&src).unwrap();
    std::os::unix::fs::chown(&src, Some(1000), Some(1000)).unwrap();
    fs::write(src.join("by1000"), "x").unwrap();
    std::os::unix::fs::chown(src.join("by1000"), Some(1000), Some(1000)).unwrap();
    fs::write(src.join("byroot"), "x").unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{{"destination": "/mapped", "type": "bind", "source": "{}", "options": ["bind", "idmap"],
          "uidMappings": [{{"containerID": 1000, "hostID": 0, "size": 1}}],
          "gidMappings": [{{"containerID": 1000, "hostID": 0, "size": 1}}]}}]}}"#,
        src.display()
    ));
    // As runc reads the mount's mappings: an ID stored on disk as containerID is seen
    // as hostID through the mount.
    in_child(|| {
        setup(&s, &b)?;
        let m = fs::metadata("/mapped/by1000").map_err(|e| e.to_string())?;
        ensure(m.uid() == 0 && m.gid() == 0, || {
            format!("by1000 shows {}:{}", m.uid(), m.gid())
        })?;
        let r = fs::metadata("/mapped/byroot").map_err(|e| e.to_string())?;
        ensure(r.uid() == 65534, || {
            format!("unmapped root shows {}", r.uid())
        })?;
        // Files created through the mount land as the mapped host owner.
        fs::write("/mapped/new", "n").map_err(|e| format!("create via idmapped mount: {e}"))
    })
    .unwrap();
    let n = fs::metadata(src.join("new")).unwrap();
    assert_eq!((n.uid(), n.gid()), (1000, 1000));
    // Without mappings anywhere the error names the mount.
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{{"destination": "/m", "type": "bind", "source": "{}", "options": ["bind", "idmap"]}}]}}"#,
        src.display()
    ));
    let err = in_child(|| setup(&s, &b)).unwrap_err();
    assert!(
        err.contains("mounts[0]") && err.contains("uidMappings"),
        "{err}"
    );
}

#[test]
fn setup_leaves_no_file_descriptors_open() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{}, {{"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}}],
        "linux": {{"devices": [{{"path": "/dev/sub/fuse", "type": "c", "major": 10, "minor": 229}}],
                  "maskedPaths": ["/proc/timer_list"], "readonlyPaths": ["/proc/sys"]}}}}"#,
        base_mounts()
    ));
    fs::create_dir_all(b.rootfs().join("run/x")).unwrap();
    let fds = || -> Result<usize, String> {
        Ok(fs::read_dir("/proc/self/fd")
            .map_err(|e| e.to_string())?
            .count())
    };
    in_child(|| {
        let before = fds()?;
        setup(&s, &b)?;
        let after = fds()?;
        ensure(before == after, || {
            format!("{before} fds before setup, {after} after")
        })
    })
    .unwrap();
}

#[test]
fn ro_bind_is_really_read_only_and_source_stays_writable() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let host = b.path().join("vol");
    fs::create_dir(&host).unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{{"destination": "/vol", "type": "bind", "source": "{}", "options": ["bind", "ro"]}},
                   {{"destination": "/rw", "source": "vol", "options": ["rbind", "rw"]}}]}}"#,
        host.display()
    ));
    in_child(|| {
        setup(&s, &b)?;
        let e = fs::write("/vol/new", "x").expect_err("write to ro bind succeeded");
        ensure(errno_of(&e) == libc::EROFS, || {
            format!("ro bind write: {e}")
        })?;
        fs::write("/rw/new", "y").map_err(|e| format!("rw bind write: {e}"))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(fs::read_to_string(host.join("new")).unwrap(), "y");
}

#[test]
fn symlinks_in_rootfs_never_lead_outside_it() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let victim = berth_testutil::TempDir::new("berth-victim").unwrap();
    let r = b.rootfs();
    // Absolute and relative escapes, and one through an intermediate directory.
    std::os::unix::fs::symlink(victim.path(), r.join("abs")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../../..".to_string() + &victim.path().display().to_string(),
        r.join("rel"),
    )
    .unwrap();
    fs::create_dir(r.join("var/lib")).unwrap();
    std::os::unix::fs::symlink("/", r.join("var/lib/up")).unwrap();
    fs::write(b.path().join("srcfile"), "s").unwrap();
    let victim_in_root = victim
        .path()
        .strip_prefix("/")
        .unwrap()
        .display()
        .to_string();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [
          {{"destination": "/proc", "type": "proc", "source": "proc"}},
          {{"destination": "/abs/sub", "type": "tmpfs", "source": "tmpfs"}},
          {{"destination": "/rel/file", "source": "srcfile", "options": ["bind"]}},
          {{"destination": "/var/lib/up{}/x", "type": "tmpfs", "source": "tmpfs"}},
          {{"destination": "/../../../../{}/y", "type": "tmpfs", "source": "tmpfs"}}
        ],
        "linux": {{"devices": [{{"path": "/abs/devnull", "type": "c", "major": 1, "minor": 3}}]}}}}"#,
        victim.path().display(),
        victim_in_root
    ));
    in_child(|| {
        setup(&s, &b)?;
        // Inside, the symlinks resolved within the container root.
        let sub = format!("{}/sub", victim.path().display());
        ensure(top_mount(&sub)?.fstype == "tmpfs", || {
            format!("{sub} not a tmpfs")
        })?;
        ensure(
            fs::read_to_string(format!("{}/file", victim.path().display()))
                .ok()
                .as_deref()
                == Some("s"),
            || "file bind not at the in-root target".into(),
        )?;
        Ok(())
    })
    .unwrap();
    let left: Vec<_> = fs::read_dir(victim.path()).unwrap().collect();
    assert!(left.is_empty(), "host dir touched: {left:?}");
    // What was created went into the rootfs instead.
    assert!(r.join(&victim_in_root).join("sub").is_dir());
    assert!(r.join(&victim_in_root).join("file").is_file());
    assert!(r.join(&victim_in_root).join("x").is_dir());
    assert!(r.join(&victim_in_root).join("y").is_dir());
}

#[test]
fn masked_and_readonly_paths() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{}],
        "linux": {{
          "maskedPaths": ["/proc/timer_list", "/sys/firmware", "/proc/does-not-exist"],
          "readonlyPaths": ["/proc/sys", "/proc/nothing-here"]
        }}}}"#,
        base_mounts().replace(r#", "ro"]"#, "]")
    ));
    in_child(|| {
        setup(&s, &b)?;
        let kcore =
            fs::read("/proc/timer_list").map_err(|e| format!("read masked timer_list: {e}"))?;
        ensure(kcore.is_empty(), || "timer_list not masked".into())?;
        let fw = fs::read_dir("/sys/firmware")
            .map_err(|e| e.to_string())?
            .count();
        ensure(fw == 0, || format!("/sys/firmware has {fw} entries"))?;
        let e = fs::create_dir("/sys/firmware/x").expect_err("masked dir writable");
        ensure(errno_of(&e) == libc::EROFS, || format!("masked dir: {e}"))?;
        let e = fs::write("/proc/sys/kernel/hostname", "x").expect_err("proc/sys writable");
        ensure(errno_of(&e) == libc::EROFS, || {
            format!("/proc/sys write: {e}")
        })?;
        // The rest of /proc is still writable procfs.
        ensure(top_mount("/proc/sys")?.mount_opts.starts_with("ro"), || {
            "ro".into()
        })
    })
    .unwrap();
}

#[test]
fn root_readonly_leaves_other_mounts_writable() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs", "readonly": true},
        "mounts": [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]}"#,
    );
    in_child(|| {
        setup(&s, &b)?;
        let e = fs::write("/etc/new", "x").expect_err("write to ro root");
        ensure(errno_of(&e) == libc::EROFS, || format!("ro root: {e}"))?;
        fs::write("/tmp/ok", "x").map_err(|e| format!("tmpfs write: {e}"))
    })
    .unwrap();
    assert!(!b.rootfs().join("etc/new").exists());
}

#[test]
fn devices_get_their_mode_owner_and_numbers_plus_defaults_and_links() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}],
        "linux": {"devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 1000, "gid": 1001},
            {"path": "/dev/sub/loopx", "type": "b", "major": 7, "minor": 200, "fileMode": 432},
            {"path": "/dev/fifo", "type": "p", "major": 0, "minor": 0, "fileMode": 420}
        ]}}"#,
    );
    in_child(|| {
        setup(&s, &b)?;
        let st = |p: &str| fs::symlink_metadata(p).map_err(|e| format!("{p}: {e}"));
        let fuse = st("/dev/fuse")?;
        ensure(
            fuse.mode() == (libc::S_IFCHR | 0o600)
                && fuse.rdev() == libc::makedev(10, 229)
                && fuse.uid() == 1000
                && fuse.gid() == 1001,
            || {
                format!(
                    "fuse: mode {:o} rdev {} uid {} gid {}",
                    fuse.mode(),
                    fuse.rdev(),
                    fuse.uid(),
                    fuse.gid()
                )
            },
        )?;
        let lo = st("/dev/sub/loopx")?;
        ensure(
            lo.mode() == (libc::S_IFBLK | 0o660) && lo.rdev() == libc::makedev(7, 200),
            || format!("loopx: mode {:o}", lo.mode()),
        )?;
        ensure(st("/dev/fifo")?.mode() == (libc::S_IFIFO | 0o644), || {
            "fifo".into()
        })?;
        for (p, maj, min) in [
            ("/dev/null", 1, 3),
            ("/dev/zero", 1, 5),
            ("/dev/full", 1, 7),
            ("/dev/random", 1, 8),
            ("/dev/urandom", 1, 9),
            ("/dev/tty", 5, 0),
        ] {
            let m = st(p)?;
            ensure(
                m.mode() == (libc::S_IFCHR | 0o666) && m.rdev() == libc::makedev(maj, min),
                || format!("{p}: mode {:o}", m.mode()),
            )?;
        }
        fs::write("/dev/null", "discarded").map_err(|e| format!("write /dev/null: {e}"))?;
        for (l, t) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
            ("/dev/ptmx", "pts/ptmx"),
        ] {
            let got = fs::read_link(l).map_err(|e| format!("{l}: {e}"))?;
            ensure(got.to_str() == Some(t), || format!("{l} -> {got:?}"))?;
        }
        // The tmpfs kept its requested mode though umask was 0 during setup.
        ensure(st("/dev")?.permissions().mode() & 0o7777 == 0o755, || {
            "dev mode".into()
        })
    })
    .unwrap();
}

#[test]
fn bad_mount_error_names_the_entry() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "mounts": [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
                   {"destination": "/weird", "type": "no-such-fs", "source": "x"}]}"#,
    );
    let err = in_child(|| setup(&s, &b)).unwrap_err();
    assert!(
        err.contains("mounts[1]") && err.contains("/weird") && err.contains("ENODEV"),
        "{err}"
    );
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc/self", "source": "/tmp", "options": ["bind"]}]}"#,
    );
    let err = in_child(|| setup(&s, &b)).unwrap_err();
    assert!(err.contains("mounts[0]") && err.contains("/proc"), "{err}");
}

#[test]
fn no_pivot_chroots_into_the_rootfs() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    let s = spec(
        r#"{"ociVersion": "1.2.0", "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]}"#,
    );
    let rootfs = b.rootfs();
    in_child(|| {
        let p = berth_runtime::rootfs::RootfsParams {
            spec: &s,
            rootfs: &rootfs,
            bundle: b.path(),
            in_user_ns: false,
            new_cgroup_ns: false,
            cgroup_dirs: Vec::new(),
            bind_sources: Vec::new(),
        };
        berth_runtime::rootfs::prepare(&p).map_err(|e| e.to_string())?;
        let host_sys = nix::fcntl::open(
            "/sys",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        );
        berth_runtime::rootfs::pivot(&rootfs, true).map_err(|e| e.to_string())?;
        ensure(std::path::Path::new("/bin/busybox").exists(), || {
            "no busybox in new root".into()
        })?;
        ensure(!std::path::Path::new("/work").exists(), || {
            "host visible".into()
        })?;
        // The host's sysfs was detached: from its root, ".." no longer leads up to the
        // host's "/" but stays on sysfs itself. (mountinfo cannot tell: it only lists
        // mounts below the reader's root.)
        let sys = host_sys
            .as_ref()
            .map_err(|e| format!("open host /sys: {e}"))?;
        let own = nix::sys::stat::fstat(sys).map_err(|e| e.to_string())?;
        let up = nix::sys::stat::fstatat(sys, "..", nix::fcntl::AtFlags::empty())
            .map_err(|e| e.to_string())?;
        ensure(up.st_dev == own.st_dev, || {
            "host /sys still attached".into()
        })
    })
    .unwrap();
}
