//! Loading the shared test archives, resolving names, and the README's table of what
//! unpacking layers:latest must give, checked on the mounted overlay.

mod common;

use berth_testutil::unique_name;
use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

#[test]
fn busybox_archive_loads_and_resolves_by_every_form_of_name() {
    if !require_root() {
        return;
    }
    let (_dir, store) = new_store("img-busybox");
    let recs = load_file(&store, &shared_archive("busybox.oci.tar"));
    assert_eq!(recs.len(), 2, "latest and multi");
    let latest = store.resolve("busybox").unwrap();
    assert_eq!(
        latest.names.first().map(String::as_str),
        Some("docker.io/library/busybox:latest")
    );
    for form in [
        "busybox:latest".to_string(),
        "docker.io/library/busybox:latest".to_string(),
        latest.id.to_string(),
        latest.id.digest().to_string(),
        latest.id.digest()[..12].to_string(),
        format!("busybox@{}", latest.manifest_digest),
    ] {
        assert_eq!(store.resolve(&form).unwrap().id, latest.id, "{form}");
    }
    let e = store.resolve("nosuchimage").unwrap_err();
    assert_eq!(e.to_string(), "No such image: nosuchimage");

    // busybox:multi is an index: the amd64 entry (second) must be chosen.
    let multi = store.resolve("busybox:multi").unwrap();
    let cfg = store.config(&multi).unwrap();
    let labels = cfg.config().as_ref().unwrap().labels().clone().unwrap();
    assert_eq!(labels["org.example.platform"], "linux/amd64");

    let cfg = store.config(&latest).unwrap();
    let c = cfg.config().as_ref().unwrap();
    assert_eq!(c.cmd().as_ref().unwrap(), &["sh"]);
    assert!(store.list().unwrap().len() >= 2);
    assert!(
        latest.size > 1_000_000,
        "uncompressed size recorded: {}",
        latest.size
    );
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn layers_latest_unpacks_exactly_as_the_readme_table_says() {
    if !require_root() {
        return;
    }
    let (_dir, store) = new_store("img-layers");
    load_file(&store, &shared_archive("layers.oci.tar"));
    let img = store.resolve("layers:latest").unwrap();
    assert_eq!(img.layers.len(), 4);
    let cid = unique_name("ctr");
    let layout = store.create_rootfs(&cid, &img).unwrap();
    assert_eq!(layout.lowers.len(), 4);
    let m = store.mount_rootfs(&cid).unwrap();
    // Idempotent.
    assert_eq!(store.mount_rootfs(&cid).unwrap(), m);
    let r = |p: &str| m.join(p.trim_start_matches('/'));

    let keep = fs::metadata(r("/data/keep.txt")).unwrap();
    assert_eq!(fs::read_to_string(r("/data/keep.txt")).unwrap(), "keep\n");
    assert_eq!(keep.nlink(), 2);
    assert_eq!(
        keep.ino(),
        fs::metadata(r("/data/hardlink-to-keep")).unwrap().ino()
    );
    assert!(!r("/data/delete-me.txt").exists());
    assert!(fs::symlink_metadata(r("/data/dir-to-delete")).is_err());
    assert_eq!(
        fs::read_to_string(r("/data/replace-me.txt")).unwrap(),
        "new\n"
    );
    assert_eq!(mode(&r("/data/chmod-me.sh")), 0o755);
    assert!(r("/data/recreated").is_dir());
    assert_eq!(
        fs::read_to_string(r("/data/recreated/inside.txt")).unwrap(),
        "inside\n"
    );
    let opq: Vec<String> = fs::read_dir(r("/opq"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(opq, vec!["new.txt"]);
    assert_eq!(
        fs::read_link(r("/data/link-to-keep")).unwrap(),
        Path::new("keep.txt")
    );
    assert_eq!(
        fs::read_link(r("/data/abs-link")).unwrap(),
        Path::new("/data/keep.txt")
    );
    assert_eq!(
        fs::read_link(r("/data/dangling-link")).unwrap(),
        Path::new("/nonexistent/target")
    );
    assert_eq!(mode(&r("/usr/local/bin/suid-file")), 0o4755);
    assert_eq!(mode(&r("/usr/local/bin/sgid-file")), 0o2755);
    assert_eq!(mode(&r("/data/sgid-dir")), 0o2775);
    assert_eq!(mode(&r("/data/sticky")), 0o1777);
    let nobody = fs::symlink_metadata(r("/data/owned-by-nobody")).unwrap();
    assert_eq!((nobody.uid(), nobody.gid()), (65534, 65534));
    assert_eq!(mode(&r("/data/owned-by-nobody")), 0o600);
    let u1000 = fs::symlink_metadata(r("/data/owned-1000")).unwrap();
    assert_eq!((u1000.uid(), u1000.gid()), (1000, 1000));
    assert!(fs::symlink_metadata(r("/data/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let x = xattr_get(&r("/data/xattr.txt"), "user.test");
    assert_eq!(x.as_deref(), Some(&b"hello"[..]));
    assert_eq!(
        fs::read_to_string(r("/etc/layers-release")).unwrap(),
        "layer3\n"
    );
    let long = format!(
        "/data/long/{}/{}/file-with-a-long-path.txt",
        "d".repeat(60),
        "e".repeat(60)
    );
    assert_eq!(fs::read_to_string(r(&long)).unwrap(), "long\n");
    assert_eq!(fs::metadata(r("/data/empty-file")).unwrap().len(), 0);
    // mtimes survive (the fixture clamps them to 1700000000).
    assert_eq!(
        fs::symlink_metadata(r("/data/keep.txt")).unwrap().mtime(),
        1_700_000_000
    );
    assert_eq!(
        fs::symlink_metadata(r("/data/long")).unwrap().mtime(),
        1_700_000_000
    );
    assert_eq!(
        fs::read_to_string(r("/bin/../var/www/index.html")).unwrap(),
        "hello from busybox httpd\n"
    );

    // Writes land in the upper dir, not in a layer.
    fs::write(r("/data/new-file"), "x").unwrap();
    assert!(layout.upper.join("data/new-file").exists());
    for l in &layout.lowers {
        assert!(!l.join("data/new-file").exists());
    }

    store.unmount_rootfs(&cid).unwrap();
    assert!(!r("/data/keep.txt").exists());
    store.remove_rootfs(&cid).unwrap();
    store.remove_rootfs(&cid).unwrap(); // idempotent
    assert!(!layout.merged.exists());
}

fn xattr_get(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(p, name, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

#[test]
fn layer_dirs_hold_overlay_whiteouts_and_opaque_markers() {
    if !require_root() {
        return;
    }
    let (_dir, store) = new_store("img-wh");
    load_file(&store, &shared_archive("layers.oci.tar"));
    let img = store.resolve("layers").unwrap();
    let layer2 = store.layer_dir(&img.layers[2]);
    let wh = fs::symlink_metadata(layer2.join("data/delete-me.txt")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(fs::symlink_metadata(layer2.join("data/.wh.delete-me.txt")).is_err());
    assert_eq!(
        xattr_get(&layer2.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(fs::symlink_metadata(layer2.join("opq/.wh..wh..opq")).is_err());
}
