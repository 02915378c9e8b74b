//! Container root filesystems: many-layer overlays, concurrent unpacking, rmi while a
//! root filesystem uses the image, tag/remove bookkeeping, import.

mod common;

use berth_image::{digest, ImageError, ImportOptions, RemovedItem, Store};
use berth_testutil::{unique_name, TempDir};
use common::*;
use std::sync::{Arc, Barrier};

#[test]
fn overlay_with_seventy_layers_mounts() {
    if !require_root() {
        return;
    }
    let (_dir, store) = new_store("img-70");
    let names: Vec<String> = (0..70).map(|i| format!("f{i:02}")).collect();
    let layers: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            tar_bytes(&[
                Entry::Dir("layers"),
                Entry::File(&format!("layers/{n}"), n.as_bytes()),
            ])
        })
        .collect();
    let img = build_image(&layers, "application/vnd.oci.image.layer.v1.tar", false);
    put_blobs(&store, &img);
    let rec = store
        .register_image(
            &["many:70".to_string()],
            &digest::parse(&img.manifest_digest).unwrap(),
        )
        .unwrap();
    let cid = unique_name("ctr70");
    let layout = store.create_rootfs(&cid, &rec).unwrap();
    assert_eq!(layout.lowers.len(), 70);
    // Longer than a page as a legacy lowerdir= option string.
    let option_len: usize = layout.lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(option_len > 4096, "{option_len}");
    let merged = store.mount_rootfs(&cid).unwrap();
    for n in &names {
        assert_eq!(
            std::fs::read_to_string(merged.join("layers").join(n)).unwrap(),
            *n
        );
    }
    store.remove_rootfs(&cid).unwrap();
    assert!(!berth_image::overlay::is_mountpoint(&merged));
    assert!(!merged.exists());
}

#[test]
fn concurrent_unpack_of_one_layer_happens_once() {
    if !require_root() {
        return;
    }
    let dir = TempDir::new("img-conc").unwrap();
    let root = dir.path().to_path_buf();
    let seed = Store::open(&root).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..300)
        .map(|i| (format!("d/f{i}"), vec![b'x'; 4096]))
        .collect();
    let mut entries = vec![Entry::Dir("d")];
    entries.extend(files.iter().map(|(n, d)| Entry::File(n, d)));
    let img = gz_layer_image(&[tar_bytes(&entries)]);
    put_blobs(&seed, &img);
    let manifest: oci_spec::image::ImageManifest =
        serde_json::from_slice(&img.blobs.last().unwrap().1).unwrap();
    let desc = manifest.layers()[0].clone();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (root, desc, barrier) = (root.clone(), desc.clone(), barrier.clone());
            std::thread::spawn(move || {
                // Each thread its own Store: separate db connections and lock fds, as
                // separate processes would have.
                let s = Store::open(&root).unwrap();
                barrier.wait();
                s.ensure_layer_unpacked(&desc).unwrap()
            })
        })
        .collect();
    let paths: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(std::fs::read_dir(paths[0].join("d")).unwrap().count(), 300);
    // Nothing left in tmp (a second unpack would have failed to rename or left a dir).
    assert_eq!(
        std::fs::read_dir(root.join("image/tmp")).unwrap().count(),
        0
    );
}

#[test]
fn rmi_refuses_while_a_rootfs_uses_the_image_unless_forced() {
    if !require_root() {
        return;
    }
    let (dir, store) = new_store("img-rmi");
    load_file(&store, &shared_archive("busybox.oci.tar"));
    let img = store.resolve("busybox:latest").unwrap();
    let cid = unique_name("ctr-rmi");
    let layout = store.create_rootfs(&cid, &img).unwrap();
    let e = store.remove("busybox", false).unwrap_err();
    assert!(matches!(e, ImageError::InUseByName { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container "
        ),
        "{msg}"
    );
    assert!(msg.contains(&digest::short(&img.id)), "{msg}");
    let e = store.remove(img.id.as_ref(), false).unwrap_err();
    assert!(matches!(e, ImageError::InUseById { .. }), "{e}");
    assert_eq!(store.containers_using(&img.id).unwrap(), vec![cid.clone()]);
    // An extra tag can go: only untagged.
    store.tag("busybox", "mybox:1").unwrap();
    assert_eq!(
        store.remove("mybox:1", false).unwrap(),
        vec![RemovedItem::Untagged("mybox:1".into())]
    );
    // Forced: image record gone, but the container's layers stay until its rootfs goes.
    let removed = store.remove("busybox", true).unwrap();
    assert!(
        removed.contains(&RemovedItem::Deleted(img.id.to_string())),
        "{removed:?}"
    );
    assert!(store.resolve("busybox").is_err());
    assert!(layout.lowers[0].is_dir());
    let merged = store.mount_rootfs(&cid).unwrap();
    assert!(merged.join("bin/busybox").is_file());
    store.remove_rootfs(&cid).unwrap();
    // busybox:multi shares the layer: it stays until its last user goes.
    assert!(layout.lowers[0].is_dir());
    let multi = store.resolve("busybox:multi").unwrap();
    let cid2 = unique_name("ctr-multi");
    store.create_rootfs(&cid2, &multi).unwrap();
    store.remove("busybox:multi", true).unwrap();
    assert!(layout.lowers[0].is_dir(), "still used by a rootfs");
    store.remove_rootfs(&cid2).unwrap();
    assert!(
        !layout.lowers[0].exists(),
        "layer collected with its last user"
    );
    assert_eq!(snapshot(dir.path()).files_under("layers"), 0);
    let _ = dir;
}

#[test]
fn tag_and_remove_follow_dockers_rules() {
    if !require_root() {
        return;
    }
    let (dir, store) = new_store("img-tag");
    let before = snapshot(dir.path());
    load_file(&store, &shared_archive("busybox.oci.tar"));
    let img = store.resolve("busybox").unwrap();
    store
        .tag(&img.id.digest()[..12], "127.0.0.1:5000/bb:v1")
        .unwrap();
    assert!(store.resolve("127.0.0.1:5000/bb:v1").is_ok());
    assert!(matches!(
        store.tag("nosuch", "x:1").unwrap_err(),
        ImageError::NotFound(_)
    ));
    assert!(store.tag("busybox", "Bad Name").is_err());
    // By id with two names: refused without force.
    let e = store.remove(img.id.as_ref(), false).unwrap_err();
    assert!(matches!(e, ImageError::MultipleRepositories { .. }), "{e}");
    let removed = store.remove(img.id.as_ref(), true).unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    store.remove("busybox:multi", false).unwrap();
    assert!(store.list().unwrap().is_empty());
    // Everything the loads added is gone again.
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn import_of_a_busybox_rootfs_tarball_makes_a_runnable_image() {
    if !require_root() {
        return;
    }
    let rootfs = TempDir::new("img-import-rootfs").unwrap();
    berth_testutil::busybox_rootfs(rootfs.path()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", rootfs.path()).unwrap();
    let tar = b.into_inner().unwrap();
    let (_dir, store) = new_store("img-import");
    let opts = ImportOptions {
        name: Some("imported/bb:1".into()),
        changes: vec![
            r#"CMD ["sh", "-c", "echo hi"]"#.into(),
            "ENV FOO=bar".into(),
            "WORKDIR /tmp".into(),
            r#"ENTRYPOINT ["/bin/busybox"]"#.into(),
        ],
        message: Some("from a test".into()),
    };
    let rec = berth_image::import(&store, gzip(&tar).as_slice(), &opts).unwrap();
    assert_eq!(rec.names, vec!["docker.io/imported/bb:1".to_string()]);
    let cfg = store.config(&rec).unwrap();
    let c = cfg.config().as_ref().unwrap();
    assert_eq!(c.cmd().as_ref().unwrap(), &["sh", "-c", "echo hi"]);
    assert_eq!(c.entrypoint().as_ref().unwrap(), &["/bin/busybox"]);
    assert_eq!(c.working_dir().as_deref(), Some("/tmp"));
    assert!(c.env().as_ref().unwrap().contains(&"FOO=bar".to_string()));
    let m = store.manifest(&rec).unwrap();
    assert_eq!(m.layers().len(), 1);
    assert_eq!(
        m.layers()[0].media_type().to_string(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let cid = unique_name("ctr-imp");
    store.create_rootfs(&cid, &rec).unwrap();
    let merged = store.mount_rootfs(&cid).unwrap();
    assert!(merged.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(merged.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    let o = std::process::Command::new("chroot")
        .arg(&merged)
        .args(["/bin/sh", "-c", "echo ok"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ok\n");
    store.remove_rootfs(&cid).unwrap();

    // A bad --change is refused before anything is stored.
    let (dir2, store2) = new_store("img-import-bad");
    let before = snapshot(dir2.path());
    let bad = ImportOptions {
        name: None,
        changes: vec!["RUN rm -rf /".into()],
        message: None,
    };
    assert!(berth_image::import(&store2, tar.as_slice(), &bad).is_err());
    // A hostile tarball is refused and leaves nothing.
    let hostile = tar_bytes(&[Entry::File("../evil", b"x")]);
    let e =
        berth_image::import(&store2, hostile.as_slice(), &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("../evil"), "{e}");
    assert_eq!(snapshot(dir2.path()), before);
}

#[test]
fn commit_turns_container_changes_into_a_new_image() {
    if !require_root() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let (_dir, store) = new_store("img-commit");
    load_file(&store, &shared_archive("layers.oci.tar"));
    let base = store.resolve("layers").unwrap();
    let cid = unique_name("ctr-commit");
    store.create_rootfs(&cid, &base).unwrap();
    let m = store.mount_rootfs(&cid).unwrap();
    std::fs::write(m.join("data/added.txt"), "added\n").unwrap();
    std::fs::hard_link(m.join("data/added.txt"), m.join("data/added-link")).unwrap();
    rustix::fs::setxattr(
        m.join("data/added.txt"),
        "user.k",
        b"v",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    std::fs::remove_file(m.join("data/keep.txt")).unwrap();
    std::fs::remove_dir_all(m.join("opq")).unwrap();
    std::fs::create_dir(m.join("opq")).unwrap();
    std::fs::write(m.join("opq/only.txt"), "only\n").unwrap();
    std::os::unix::fs::symlink("added.txt", m.join("data/to-added")).unwrap();
    let opts = berth_image::CommitOptions {
        name: Some("committed:1".into()),
        changes: vec!["CMD [\"cat\", \"/data/added.txt\"]".into()],
        message: Some("a test commit".into()),
        author: Some("tester".into()),
    };
    let img = store.commit_rootfs(&cid, &opts).unwrap();
    store.remove_rootfs(&cid).unwrap();
    assert_eq!(img.layers.len(), 5);
    assert_eq!(img.layers[..4], base.layers[..]);
    let cfg = store.config(&img).unwrap();
    assert_eq!(
        cfg.config().as_ref().unwrap().cmd().as_ref().unwrap(),
        &["cat", "/data/added.txt"]
    );
    assert_eq!(
        cfg.config().as_ref().unwrap().working_dir().as_deref(),
        Some("/data")
    );
    assert_eq!(cfg.rootfs().diff_ids().len(), 5);
    assert_eq!(cfg.history().as_ref().unwrap().len(), 12);

    let cid2 = unique_name("ctr-commit2");
    store.create_rootfs(&cid2, &img).unwrap();
    let m2 = store.mount_rootfs(&cid2).unwrap();
    assert_eq!(
        std::fs::read_to_string(m2.join("data/added.txt")).unwrap(),
        "added\n"
    );
    assert_eq!(
        std::fs::metadata(m2.join("data/added.txt")).unwrap().ino(),
        std::fs::metadata(m2.join("data/added-link")).unwrap().ino()
    );
    let mut v = [0u8; 8];
    let n = rustix::fs::getxattr(m2.join("data/added.txt"), "user.k", &mut v).unwrap();
    assert_eq!(&v[..n], b"v");
    assert!(!m2.join("data/keep.txt").exists(), "whiteout kept");
    assert!(m2.join("data/replace-me.txt").exists());
    let opq: Vec<_> = std::fs::read_dir(m2.join("opq"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(opq, vec!["only.txt"], "opaque dir kept");
    assert_eq!(
        std::fs::read_link(m2.join("data/to-added"))
            .unwrap()
            .to_str(),
        Some("added.txt")
    );
    store.remove_rootfs(&cid2).unwrap();
}

#[test]
fn image_without_layers_gets_an_empty_root() {
    if !require_root() {
        return;
    }
    let (_dir, store) = new_store("img-empty");
    let img = build_image(&[], "application/vnd.oci.image.layer.v1.tar", false);
    put_blobs(&store, &img);
    let rec = store
        .register_image(
            &["scratch-like:1".to_string()],
            &digest::parse(&img.manifest_digest).unwrap(),
        )
        .unwrap();
    let cid = unique_name("ctr-empty");
    store.create_rootfs(&cid, &rec).unwrap();
    let m = store.mount_rootfs(&cid).unwrap();
    assert_eq!(std::fs::read_dir(&m).unwrap().count(), 0);
    std::fs::write(m.join("x"), "x").unwrap();
    store.remove_rootfs(&cid).unwrap();
    assert_eq!(
        std::fs::read_dir(store.root().join("image/empty"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn concurrent_loads_tags_and_removes_leave_a_consistent_store() {
    if !require_root() {
        return;
    }
    let dir = TempDir::new("img-conc-load").unwrap();
    let root = dir.path().to_path_buf();
    let archive = std::fs::read(shared_archive("busybox.oci.tar")).unwrap();
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let (root, archive, barrier) = (root.clone(), archive.clone(), barrier.clone());
            std::thread::spawn(move || {
                let s = Store::open(&root).unwrap();
                barrier.wait();
                berth_image::load(&s, archive.as_slice()).unwrap();
                s.tag("busybox", &format!("copy:{i}")).unwrap();
                // Removing a tag another thread may be re-adding: either outcome is fine.
                let _ = s.remove("busybox:multi", true);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = Store::open(&root).unwrap();
    let img = store.resolve("busybox:latest").unwrap();
    for i in 0..3 {
        assert_eq!(store.resolve(&format!("copy:{i}")).unwrap().id, img.id);
    }
    // Every image's blobs are there and its layers unpacked.
    for rec in store.list().unwrap() {
        assert!(store.has_blob(&rec.manifest_digest));
        assert!(store.has_blob(&rec.id));
        for l in &rec.layers {
            assert!(store.has_blob(l));
            assert!(store.is_layer_unpacked(l));
        }
    }
    assert_eq!(
        std::fs::read_dir(root.join("image/tmp")).unwrap().count(),
        0
    );
    let cid = unique_name("ctr-conc");
    store.create_rootfs(&cid, &img).unwrap();
    assert!(store
        .mount_rootfs(&cid)
        .unwrap()
        .join("bin/busybox")
        .is_file());
    store.remove_rootfs(&cid).unwrap();
}
