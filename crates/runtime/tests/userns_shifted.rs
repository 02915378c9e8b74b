//! Real containers (root) in a new user namespace whose mappings leave host root out:
//! container ids 0..65536 are host 100000..165536 (podman --userns=auto style), and the
//! bundle's rootfs belongs to that range. The init becomes the namespace's root before
//! it builds the rootfs, so the default mounts of `berth-oci spec` work, files it and the
//! container create are owned by the range on the host, and exec and terminals work.

mod lifecycle_support;

use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};

use lifecycle_support::{recv_fd, skip_unless_root, stderr, stdout, Bundle, BIN};
use serde_json::{json, Value};

const SHIFT: u32 = 100000;
const SIZE: u32 = 65536;

/// New user namespace, uid and gid 0 -> SHIFT for SIZE ids; a writable root, so files
/// made in /tmp (not a tmpfs in the default config) land in the bundle's rootfs.
fn shifted(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": SHIFT, "size": SIZE}]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
    c["root"]["readonly"] = json!(false);
}

/// chown -hR SHIFT:SHIFT, as an image unpacked for that range would be owned.
fn chown_to_range(p: &Path) {
    std::os::unix::fs::lchown(p, Some(SHIFT), Some(SHIFT)).unwrap();
    if std::fs::symlink_metadata(p).unwrap().is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_to_range(&e.unwrap().path());
        }
    }
}

fn shifted_bundle(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
    let b = Bundle::new(args, |c| {
        shifted(c);
        edit(c);
    });
    chown_to_range(&b.path().join("rootfs"));
    b
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid())
}

/// The lines after `marker` up to the next marker line ("== ...") in `out`.
fn section<'a>(out: &'a str, marker: &str) -> Vec<&'a str> {
    out.lines()
        .skip_while(|l| *l != marker)
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .collect()
}

/// Reads the pty master until `end` shows up or the slave side is gone.
fn read_pty(master: &OwnedFd, end: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = nix::unistd::read(master, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains(end) {
            break;
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}

const INSIDE: &str = r#"
echo "== id"; id -u; id -g
echo "== maps"; cat /proc/self/uid_map /proc/self/gid_map
echo "== dev"
echo x > /dev/null && echo null-ok
head -c 3 /dev/zero | wc -c
readlink /dev/ptmx
test -c /dev/pts/ptmx && echo ptmx-ok
stat -c '%n %u:%g' /dev /dev/pts /dev/shm /dev/mqueue
echo "== fstypes"
for m in /proc /dev /dev/pts /dev/shm /dev/mqueue /sys /sys/fs/cgroup /mnt/scratch /vol; do
  awk -v m=$m '$2 == m { print m, $3 }' /proc/self/mounts | tail -n 1
done
echo "== net"; ls /sys/class/net
echo "== files"
touch /tmp/made-inside && mkdir /tmp/dir-inside && echo hi > /dev/shm/f && cat /dev/shm/f
cat /vol/data
echo "== end"
"#;

#[test]
fn fully_shifted_user_namespace_runs_with_the_default_mounts() {
    if skip_unless_root() {
        return;
    }
    // Without a network namespace of its own, sysfs cannot be mounted in the user
    // namespace: /sys becomes a bind of the host's (as runc and crun do).
    for own_netns in [true, false] {
        let b = shifted_bundle(&["sh", "-c", INSIDE], |c| {
            if !own_netns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "network");
            }
            let mounts = c["mounts"].as_array_mut().unwrap();
            // A mount point the rootfs lacks (/mnt), made by the init on the rootfs.
            mounts.push(json!({"destination": "/mnt/scratch", "type": "tmpfs", "source": "tmpfs"}));
            // A volume below a root-owned 0700 directory: the namespace's root cannot
            // search it, the init opens it before becoming that root.
            mounts.push(json!({"destination": "/vol", "type": "bind",
                               "source": "private/vol", "options": ["rbind", "ro"]}));
        });
        let private = b.path().join("private");
        std::fs::create_dir_all(private.join("vol")).unwrap();
        std::fs::write(private.join("vol/data"), "volume data\n").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();

        let out = b.run();
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "netns {own_netns}: stderr: {}\nstdout: {text}",
            stderr(&out)
        );
        assert_eq!(section(&text, "== id"), ["0", "0"], "{text}");
        let maps: Vec<Vec<&str>> = section(&text, "== maps")
            .iter()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(maps, [["0", "100000", "65536"], ["0", "100000", "65536"]]);
        assert_eq!(
            section(&text, "== dev"),
            [
                "null-ok",
                "3",
                "pts/ptmx",
                "ptmx-ok",
                // Made by the namespace's root, so owned by it (not the overflow id).
                "/dev 0:0",
                "/dev/pts 0:0",
                "/dev/shm 0:0",
                "/dev/mqueue 0:0",
            ],
            "{text}"
        );
        let fstypes = section(&text, "== fstypes");
        for want in [
            "/proc proc",
            "/dev tmpfs",
            "/dev/pts devpts",
            "/dev/shm tmpfs",
            "/dev/mqueue mqueue",
            "/sys sysfs",
            "/mnt/scratch tmpfs",
        ] {
            assert!(
                fstypes.contains(&want),
                "netns {own_netns}: no {want:?}: {fstypes:?}"
            );
        }
        for at in ["/sys/fs/cgroup ", "/vol "] {
            assert!(fstypes.iter().any(|l| l.starts_with(at)), "{fstypes:?}");
        }
        // Our own network namespace's sysfs, or the host's /sys bound in.
        let net = section(&text, "== net");
        if own_netns {
            assert_eq!(net, ["lo"], "{text}");
        } else {
            assert!(
                net.iter().any(|n| *n != "lo"),
                "host /sys not bound: {text}"
            );
        }
        assert_eq!(section(&text, "== files"), ["hi", "volume data"], "{text}");
        assert!(text.ends_with("== end\n"), "{text}");

        // On the host: the container's root is host 100000.
        let rootfs = b.path().join("rootfs");
        for p in [
            "tmp/made-inside",
            "tmp/dir-inside",
            "mnt",
            "mnt/scratch",
            "vol",
        ] {
            assert_eq!(owner(&rootfs.join(p)), (SHIFT, SHIFT), "{p}");
        }
    }
}

#[test]
fn exec_into_a_fully_shifted_container_and_its_terminals() {
    if skip_unless_root() {
        return;
    }
    let b = shifted_bundle(&["sleep", "1000"], |_| {});
    // create/start: the init waits on exec.fifo as the namespace's root.
    b.create();
    let out = b.oci(&["start", &b.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    b.wait_status("running");

    let out = b.oci(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map; touch /tmp/from-exec; mkdir /tmp/exec-dir",
    ]);
    assert!(out.status.success(), "exec: {}", stderr(&out));
    let lines: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines, ["0", "0", "0 100000 65536"]);
    let rootfs = b.path().join("rootfs");
    for p in ["tmp/from-exec", "tmp/exec-dir"] {
        assert_eq!(owner(&rootfs.join(p)), (SHIFT, SHIFT), "{p}");
    }
    // An unprivileged container user maps too.
    let out = b.oci(&[
        "exec",
        "-u",
        "1000:1000",
        &b.id,
        "sh",
        "-c",
        "id -u; touch /tmp/by-1000",
    ]);
    assert!(out.status.success(), "exec -u: {}", stderr(&out));
    assert_eq!(stdout(&out), "1000\n");
    assert_eq!(
        owner(&rootfs.join("tmp/by-1000")),
        (SHIFT + 1000, SHIFT + 1000)
    );

    // exec -t: a pty from the container's devpts, group tty (gid=5, mapped).
    let sock = b.path().join("exec-console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let child = Command::new(BIN)
        .arg("--root")
        .arg(&b.root)
        .args(["exec", "-t", "--console-socket"])
        .arg(&sock)
        .args([
            &b.id,
            "sh",
            "-c",
            "tty; stat -c '%u:%g %a' $(tty); echo done",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let master = recv_fd(&l);
    let text = read_pty(&master, "done");
    let st = child.wait_with_output().unwrap();
    assert!(
        st.status.success(),
        "exec -t: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(text.contains("/dev/pts/0\n0:5 620\ndone"), "{text:?}");

    // A second container joining this one's user namespace by path (made through an
    // intermediate process) is that namespace's root just the same.
    let pid = b.state()["pid"].as_i64().unwrap();
    let joined = shifted_bundle(
        &[
            "sh",
            "-c",
            "id -u; stat -c '%u:%g' /dev /dev/pts /dev/mqueue; touch /tmp/joined",
        ],
        |c| {
            let nss = c["linux"]["namespaces"].as_array_mut().unwrap();
            nss.retain(|n| n["type"] != "user");
            nss.push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
            let linux = c["linux"].as_object_mut().unwrap();
            linux.remove("uidMappings");
            linux.remove("gidMappings");
        },
    );
    let out = joined.run();
    assert!(out.status.success(), "joined: {}", stderr(&out));
    assert_eq!(stdout(&out), "0\n0:0\n0:0\n0:0\n");
    assert_eq!(
        owner(&joined.path().join("rootfs/tmp/joined")),
        (SHIFT, SHIFT)
    );
}

#[test]
fn terminal_init_in_a_fully_shifted_user_namespace() {
    if skip_unless_root() {
        return;
    }
    let b = shifted_bundle(
        &["sh", "-c", "tty; stat -c '%u:%g %a' $(tty); echo done"],
        |c| c["process"]["terminal"] = json!(true),
    );
    let master = b.create_with_console();
    let out = b.oci(&["start", &b.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    let text = read_pty(&master, "done");
    assert!(text.contains("/dev/pts/0\n0:5 620\ndone"), "{text:?}");
}

#[test]
fn unmapped_devpts_gid_and_unsearchable_rootfs_are_explained() {
    if skip_unless_root() {
        return;
    }
    // Only gid 0 mapped: the default devpts gid=5 cannot be represented.
    let b = shifted_bundle(&["true"], |c| {
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": SHIFT, "size": 1}]);
    });
    let out = b.run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "(destination /dev/pts): mount: EINVAL: Invalid argument: gid=5 is not mapped \
             in the container's user namespace (linux.gidMappings)"
        ),
        "{}",
        stderr(&out)
    );

    // A bundle below a root-owned 0700 directory: the namespace's root cannot reach it.
    let b = shifted_bundle(&["true"], |_| {});
    let outer = b.path().join("outer");
    let inner = outer.join("bundle");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::rename(b.path().join("rootfs"), inner.join("rootfs")).unwrap();
    std::fs::copy(b.path().join("config.json"), inner.join("config.json")).unwrap();
    std::fs::set_permissions(&outer, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = b.oci(&["run", "--bundle", inner.to_str().unwrap(), &b.id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("root.path: ")
            && stderr(&out).contains(
                "the user namespace's root (linux.uidMappings/gidMappings) must be able to \
                 search every directory above the root filesystem"
            ),
        "{}",
        stderr(&out)
    );
    assert!(!b.root.join(&b.id).exists(), "state left behind");
}
