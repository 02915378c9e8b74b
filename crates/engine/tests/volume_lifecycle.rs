//! Volumes with real mounts: runc containers from a busybox rootfs use the mounts that
//! `VolumeManager::resolve` returns.

use berth_engine::volume::{parse_mount_flag, parse_volume_flag, VolumeError, VolumeManager};
use berth_testutil::{busybox_rootfs, is_root, unique_name, TempDir};
use oci_spec::runtime::Mount;
use std::path::Path;
use std::process::Command;

struct Env {
    root: TempDir,
    vm: VolumeManager,
    image: TempDir,
}

impl Env {
    fn new() -> Env {
        let root = TempDir::new("berth-vol-test").unwrap();
        let vm = VolumeManager::open(root.path()).unwrap();
        let image = TempDir::new("berth-vol-image").unwrap();
        busybox_rootfs(image.path()).unwrap();
        Env { root, vm, image }
    }
}

/// Runs `sh -c script` in a runc container on a copy-free bundle over `rootfs` with
/// `mounts`; returns (exit ok, stdout+stderr).
fn run_in_container(rootfs: &Path, mounts: &[Mount], script: &str) -> (bool, String) {
    let bundle = TempDir::new("berth-vol-bundle").unwrap();
    let st = Command::new("runc")
        .args(["spec", "-b"])
        .arg(bundle.path())
        .status()
        .unwrap();
    assert!(st.success());
    let cfg_path = bundle.path().join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["root"] = serde_json::json!({ "path": rootfs, "readonly": false });
    cfg["process"]["terminal"] = false.into();
    cfg["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
    let list = cfg["mounts"].as_array_mut().unwrap();
    for m in mounts {
        list.push(serde_json::to_value(m).unwrap());
    }
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let id = unique_name("berthvol");
    let out = Command::new("runc")
        .args(["run", "-b"])
        .arg(bundle.path())
        .arg(&id)
        .output()
        .unwrap();
    let _ = Command::new("runc").args(["delete", "-f", &id]).output();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn named_volume_keeps_data_across_two_containers() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let vol = unique_name("data");
    let req = parse_volume_flag(&format!("{vol}:/data")).unwrap();
    let m1 = env
        .vm
        .resolve("c1", std::slice::from_ref(&req), &[], env.image.path())
        .unwrap();
    let (ok, out) = run_in_container(
        env.image.path(),
        &m1,
        "echo persisted > /data/f && cat /data/f",
    );
    assert!(ok, "{out}");
    assert_eq!(
        env.vm.inspect(&vol).unwrap().containers,
        vec!["c1".to_string()]
    );
    env.vm.release("c1", true).unwrap();
    // Named volumes survive `rm -v`.
    let m2 = env.vm.resolve("c2", &[req], &[], env.image.path()).unwrap();
    let (ok, out) = run_in_container(env.image.path(), &m2, "cat /data/f");
    assert!(ok, "{out}");
    assert_eq!(out, "persisted\n");
    let e = env.vm.remove(&vol, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("remove {vol}: volume is in use - [c2]")
    );
    env.vm.release("c2", false).unwrap();
    env.vm.remove(&vol, false).unwrap();
    assert!(!env.root.path().join("volumes").join(&vol).exists());
    assert!(matches!(
        env.vm.inspect(&vol),
        Err(VolumeError::NotFound(_))
    ));
}

#[test]
fn new_volume_is_filled_from_the_image_without_leaving_its_root() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let img = env.image.path();
    std::fs::create_dir_all(img.join("etc/app/sub")).unwrap();
    std::fs::write(img.join("etc/app/app.conf"), "key=value\n").unwrap();
    std::fs::write(img.join("etc/app/sub/nested"), "n\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", img.join("etc/app/pw")).unwrap();
    std::os::unix::fs::chown(img.join("etc/app/app.conf"), Some(1234), Some(4321)).unwrap();
    // A symlink in the image that points at a host directory must resolve inside the image.
    let host_secret = TempDir::new("berth-host-secret").unwrap();
    std::fs::write(host_secret.path().join("secret"), "host only").unwrap();
    let up = "../".repeat(20);
    std::os::unix::fs::symlink(
        format!("{up}{}", host_secret.path().display()),
        img.join("evil"),
    )
    .unwrap();

    let vol = unique_name("appcfg");
    let reqs = vec![
        parse_volume_flag(&format!("{vol}:/etc/app")).unwrap(),
        parse_volume_flag("/evil").unwrap(),
    ];
    let mounts = env.vm.resolve("c1", &reqs, &[], img).unwrap();
    let data = Path::new(&env.vm.inspect(&vol).unwrap().mountpoint).to_path_buf();
    assert_eq!(
        std::fs::read_to_string(data.join("app.conf")).unwrap(),
        "key=value\n"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("sub/nested")).unwrap(),
        "n\n"
    );
    assert_eq!(
        std::fs::read_link(data.join("pw")).unwrap(),
        Path::new("/etc/passwd")
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(data.join("app.conf")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 4321));
    let anon = env
        .vm
        .list()
        .unwrap()
        .into_iter()
        .find(|v| v.anonymous)
        .expect("anonymous volume for /evil");
    assert!(
        std::fs::read_dir(&anon.mountpoint)
            .unwrap()
            .next()
            .is_none(),
        "host content copied through an image symlink"
    );
    let (ok, out) = run_in_container(img, &mounts, "cat /etc/app/app.conf; ls /evil | wc -l");
    assert!(ok, "{out}");
    assert_eq!(out, "key=value\n0\n");
    // A volume that already has content is not filled again.
    std::fs::write(data.join("app.conf"), "changed\n").unwrap();
    env.vm.release("c1", true).unwrap();
    env.vm
        .resolve(
            "c2",
            &[parse_volume_flag(&format!("{vol}:/etc/app")).unwrap()],
            &[],
            img,
        )
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(data.join("app.conf")).unwrap(),
        "changed\n"
    );
    // nocopy leaves a new volume empty.
    let v2 = unique_name("nocopy");
    env.vm
        .resolve(
            "c2",
            &[parse_volume_flag(&format!("{v2}:/etc/app:nocopy")).unwrap()],
            &[],
            img,
        )
        .unwrap();
    assert!(std::fs::read_dir(env.vm.inspect(&v2).unwrap().mountpoint)
        .unwrap()
        .next()
        .is_none());
    env.vm.release("c2", true).unwrap();
}

#[test]
fn bind_mounts_check_their_source() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let host = TempDir::new("berth-bind-src").unwrap();
    let missing = host.path().join("missing");
    let req = parse_mount_flag(&format!(
        "type=bind,source={},target=/mnt",
        missing.display()
    ))
    .unwrap();
    let e = env
        .vm
        .resolve("c1", &[req], &[], env.image.path())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            missing.display()
        )
    );
    // -v creates a missing host directory, as Docker does.
    let req = parse_volume_flag(&format!("{}:/mnt:ro", missing.display())).unwrap();
    let mounts = env.vm.resolve("c1", &[req], &[], env.image.path()).unwrap();
    assert!(missing.is_dir());
    std::fs::write(missing.join("f"), "from host\n").unwrap();
    let (ok, out) = run_in_container(
        env.image.path(),
        &mounts,
        "cat /mnt/f; touch /mnt/g && echo writable",
    );
    assert_eq!(out.lines().next(), Some("from host"), "{out}");
    assert!(
        !out.contains("writable"),
        "read-only bind was writable: {out}"
    );
    assert!(!ok);
    env.vm.release("c1", true).unwrap();
}

#[test]
fn tmpfs_mount_has_its_size_and_mode() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let req = parse_mount_flag("type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1777").unwrap();
    let mounts = env.vm.resolve("c1", &[req], &[], env.image.path()).unwrap();
    let (ok, out) = run_in_container(
        env.image.path(),
        &mounts,
        "grep ' /scratch ' /proc/mounts; stat -c %a /scratch",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("tmpfs /scratch tmpfs") && out.contains("size=2048k"),
        "{out}"
    );
    assert!(out.contains("\n1777\n"), "{out}");
    env.vm.release("c1", true).unwrap();
}

#[test]
fn rm_v_removes_only_anonymous_volumes() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    std::fs::create_dir_all(env.image.path().join("var/lib/app")).unwrap();
    let named = unique_name("keep");
    let reqs = vec![parse_volume_flag(&format!("{named}:/named")).unwrap()];
    let mounts = env
        .vm
        .resolve("c1", &reqs, &["/var/lib/app".to_string()], env.image.path())
        .unwrap();
    assert_eq!(mounts.len(), 2);
    let vols = env.vm.list().unwrap();
    let anon: Vec<_> = vols.iter().filter(|v| v.anonymous).collect();
    assert_eq!(anon.len(), 1);
    assert!(anon[0].labels.contains_key("com.docker.volume.anonymous"));
    let anon_name = anon[0].name.clone();
    env.vm.release("c1", true).unwrap();
    assert!(matches!(
        env.vm.inspect(&anon_name),
        Err(VolumeError::NotFound(_))
    ));
    assert!(env.vm.inspect(&named).is_ok());
    // Without -v anonymous volumes stay until pruned.
    env.vm
        .resolve("c2", &[], &["/var/lib/app".to_string()], env.image.path())
        .unwrap();
    env.vm.release("c2", false).unwrap();
    let pruned = env.vm.prune(false).unwrap();
    assert_eq!(pruned.len(), 1);
    assert!(env.vm.inspect(&named).is_ok());
    assert_eq!(env.vm.prune(true).unwrap(), vec![named]);
}

#[test]
fn create_list_inspect_and_device_volumes() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let name = unique_name("tmpvol");
    let opts = vec![
        ("type".to_string(), "tmpfs".to_string()),
        ("device".to_string(), "tmpfs".to_string()),
        ("o".to_string(), "size=1m".to_string()),
    ];
    let v = env
        .vm
        .create(Some(&name), "local", &opts, &[("team".into(), "e2".into())])
        .unwrap();
    assert_eq!(v.driver, "local");
    assert_eq!(v.scope, "local");
    assert!(v.mountpoint.ends_with(&format!("volumes/{name}/_data")));
    assert_eq!(v.labels.get("team").map(String::as_str), Some("e2"));
    // Creating it again returns the same volume.
    assert_eq!(
        env.vm.create(Some(&name), "", &[], &[]).unwrap().created_at,
        v.created_at
    );
    assert!(env.vm.list().unwrap().iter().any(|x| x.name == name));
    let e = env.vm.create(Some("x"), "local", &[], &[]).unwrap_err();
    assert!(e.to_string().contains("invalid characters"), "{e}");
    assert!(env.vm.create(None, "nfs", &[], &[]).is_err());
    assert!(env
        .vm
        .create(None, "local", &[("bogus".into(), "1".into())], &[])
        .is_err());
    let mounts = env
        .vm
        .resolve(
            "c1",
            &[parse_volume_flag(&format!("{name}:/t")).unwrap()],
            &[],
            env.image.path(),
        )
        .unwrap();
    let (ok, out) = run_in_container(env.image.path(), &mounts, "grep ' /t ' /proc/mounts");
    assert!(
        ok && out.contains("tmpfs /t tmpfs") && out.contains("size=1024k"),
        "{out}"
    );
    env.vm.release("c1", false).unwrap();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !info.contains(&v.mountpoint),
        "device volume still mounted after release"
    );
    env.vm.remove(&name, false).unwrap();
    env.vm.remove(&name, true).unwrap();
    assert!(env.vm.remove(&name, false).is_err());
}
