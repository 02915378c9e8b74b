//! Hostile layers and archives, corrupt blobs and manifests: each refused with an
//! error naming what is wrong, and the store left exactly as it was (no rows, no
//! blobs, no layer dirs, no temp leftovers), and nothing written outside it.

mod common;

use berth_image::{digest, ImageError};
use berth_testutil::TempDir;
use common::*;
use std::path::Path;

/// Loads `archive` into a fresh store holding busybox; asserts it fails, that the error
/// mentions every string in `expect`, and that the store did not change.
fn refused(archive: &[u8], expect: &[&str]) -> ImageError {
    let (dir, store) = new_store("img-hostile");
    load_file(&store, &shared_archive("busybox.oci.tar"));
    let before = snapshot(dir.path());
    let err = berth_image::load(&store, archive).expect_err("hostile archive accepted");
    let msg = err.to_string();
    for e in expect {
        assert!(msg.contains(e), "error {msg:?} should mention {e:?}");
    }
    assert_eq!(snapshot(dir.path()), before, "store changed after: {msg}");
    err
}

fn layer_archive(entries: &[Entry<'_>]) -> (Vec<u8>, String) {
    let img = gz_layer_image(&[tar_bytes(entries)]);
    let layer = img.layer_digests[0].clone();
    (oci_archive(&img, "docker.io/library/hostile:latest"), layer)
}

#[test]
fn layer_with_dotdot_entry_is_refused() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let name = format!("../../../../../../../..{}/pwned", victim.path().display());
    let (a, layer) = layer_archive(&[Entry::File(&name, b"x")]);
    refused(&a, &[&layer, "pwned", ".."]);
    assert!(!victim.path().join("pwned").exists());
}

#[test]
fn layer_with_absolute_entry_is_refused() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let name = format!("{}/pwned", victim.path().display());
    let (a, layer) = layer_archive(&[Entry::File(&name, b"x")]);
    refused(&a, &[&layer, "absolute"]);
    assert!(!victim.path().join("pwned").exists());
}

#[test]
fn layer_writing_through_a_planted_symlink_is_refused() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let target = victim.path().display().to_string();
    // Absolute symlink to the host dir, then a file "inside" it.
    let (a, layer) = layer_archive(&[
        Entry::Symlink("escape", &target),
        Entry::File("escape/pwned", b"x"),
    ]);
    refused(&a, &[&layer, "escape/pwned", "symlink"]);
    // Relative symlink climbing out, then a file through it.
    let (a, layer) = layer_archive(&[
        Entry::Dir("d"),
        Entry::Symlink("d/up", "../../../../../../../../../../../.."),
        Entry::File(&format!("d/up{}/pwned2", target).replace("//", "/"), b"x"),
    ]);
    refused(&a, &[&layer, "symlink"]);
    // A symlink to a directory inside the layer: still never written through.
    let (a, layer) = layer_archive(&[
        Entry::Dir("real"),
        Entry::Symlink("alias", "real"),
        Entry::File("alias/f", b"x"),
    ]);
    refused(&a, &[&layer, "alias/f"]);
    assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
}

#[test]
fn layer_with_hardlink_escape_is_refused() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let secret = victim.path().join("secret");
    std::fs::write(&secret, "host secret").unwrap();
    let abs = secret.display().to_string();
    let (a, layer) = layer_archive(&[Entry::Hardlink("stolen", &abs)]);
    refused(&a, &[&layer, "stolen"]);
    let (a, layer) = layer_archive(&[Entry::Hardlink("stolen", "../../../../../../etc/passwd")]);
    refused(&a, &[&layer, "stolen", ".."]);
    // Hard link to a symlink that points out: linking is fine (the symlink itself is
    // linked), but writing through the result must not reach the host.
    let (a, layer) = layer_archive(&[
        Entry::Symlink("ln", &abs),
        Entry::Hardlink("ln2", "ln"),
        Entry::File("ln2/x", b"x"),
    ]);
    refused(&a, &[&layer]);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host secret");
    assert_eq!(std::fs::metadata(&secret).unwrap().len(), 11);
}

#[test]
fn layer_overwriting_a_symlink_replaces_it_and_never_follows_it() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let target = victim.path().join("file");
    std::fs::write(&target, "original").unwrap();
    let abs = target.display().to_string();
    // A later file entry of the same name replaces the symlink: allowed, contained.
    let img = gz_layer_image(&[tar_bytes(&[
        Entry::Symlink("f", &abs),
        Entry::File("f", b"replaced"),
    ])]);
    let (_dir, store) = new_store("img-replace");
    berth_image::load(
        &store,
        oci_archive(&img, "docker.io/library/ok:latest").as_slice(),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "original");
    let l = store.layer_dir(&digest::parse(&img.layer_digests[0]).unwrap());
    assert_eq!(std::fs::read_to_string(l.join("f")).unwrap(), "replaced");
}

#[test]
fn load_archive_members_escaping_are_refused() {
    if !require_root() {
        return;
    }
    let victim = TempDir::new("victim").unwrap();
    let dotdot = format!("../../../../../../../..{}/pwned", victim.path().display());
    let a = raw_tar(&[(&dotdot, tar::EntryType::Regular, b"x", None)]);
    refused(&a, &["pwned", ".."]);
    let abs = format!("{}/pwned", victim.path().display());
    let a = raw_tar(&[(&abs, tar::EntryType::Regular, b"x", None)]);
    refused(&a, &["absolute"]);
    assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
}

#[test]
fn load_archive_with_blobs_symlink_to_host_is_refused() {
    if !require_root() {
        return;
    }
    // The attack on a known engine: blobs/sha256 is a symlink to a host directory,
    // and a "blob" written through it lands on the host.
    let victim = TempDir::new("victim").unwrap();
    let img = gz_layer_image(&[tar_bytes(&[Entry::File("a", b"a")])]);
    let (d, data) = &img.blobs[0];
    let member = format!("blobs/sha256/{}", &d[7..]);
    let target = victim.path().display().to_string();
    let a = raw_tar(&[
        ("blobs", tar::EntryType::Directory, b"", None),
        ("blobs/sha256", tar::EntryType::Symlink, b"", Some(&target)),
        (&member, tar::EntryType::Regular, data, None),
    ]);
    refused(&a, &["blobs/sha256", "outside"]);
    assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
}

#[test]
fn blob_with_wrong_content_is_refused_naming_its_digest() {
    if !require_root() {
        return;
    }
    let img = gz_layer_image(&[tar_bytes(&[Entry::File("a", b"a")])]);
    let mut a = oci_archive(&img, "docker.io/library/bad:latest");
    // Flip one byte inside the layer blob's data.
    let layer = &img.blobs[0].1;
    let pos = a
        .windows(layer.len())
        .position(|w| w == layer.as_slice())
        .unwrap();
    a[pos + layer.len() / 2] ^= 0xff;
    let e = refused(&a, &[&img.layer_digests[0]]);
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");
}

#[test]
fn manifest_pointing_at_a_missing_blob_is_refused() {
    if !require_root() {
        return;
    }
    let img = gz_layer_image(&[tar_bytes(&[Entry::File("a", b"a")])]);
    let mut without = BuiltImage {
        blobs: img.blobs.clone(),
        manifest_digest: img.manifest_digest.clone(),
        config_digest: img.config_digest.clone(),
        layer_digests: img.layer_digests.clone(),
    };
    without.blobs.remove(0); // the layer
    let a = oci_archive(&without, "docker.io/library/missing:latest");
    let e = refused(&a, &[&img.layer_digests[0]]);
    assert!(matches!(e, ImageError::MissingBlob(_)), "{e}");
}

#[test]
fn unknown_layer_media_type_is_refused() {
    if !require_root() {
        return;
    }
    let img = build_image(
        &[tar_bytes(&[Entry::File("a", b"a")])],
        "application/vnd.example.weird",
        false,
    );
    let a = oci_archive(&img, "docker.io/library/weird:latest");
    let e = refused(
        &a,
        &[&img.layer_digests[0], "application/vnd.example.weird"],
    );
    assert!(matches!(e, ImageError::UnknownMediaType { .. }), "{e}");
}

#[test]
fn wrong_size_in_descriptor_is_refused() {
    if !require_root() {
        return;
    }
    let layer = gzip(&tar_bytes(&[Entry::File("a", b"a")]));
    let ld = sha(&layer);
    let diff = sha(&tar_bytes(&[Entry::File("a", b"a")]));
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff]},
    }))
    .unwrap();
    let cd = sha(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": layer.len() + 7}],
    }))
    .unwrap();
    let img = BuiltImage {
        manifest_digest: sha(&manifest),
        config_digest: cd.clone(),
        layer_digests: vec![ld.clone()],
        blobs: vec![
            (ld.clone(), layer),
            (cd, config),
            (sha(&manifest), manifest),
        ],
    };
    let a = oci_archive(&img, "docker.io/library/size:latest");
    let e = refused(&a, &[&ld]);
    assert!(matches!(e, ImageError::SizeMismatch { .. }), "{e}");
}

#[test]
fn wrong_diff_id_is_refused() {
    if !require_root() {
        return;
    }
    let mut img = gz_layer_image(&[tar_bytes(&[Entry::File("a", b"a")])]);
    // Rebuild config + manifest with a diff_id that does not match the layer.
    let bogus = sha(b"not the layer");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [bogus]},
    }))
    .unwrap();
    let cd = sha(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": img.layer_digests[0], "size": img.blobs[0].1.len()}],
    }))
    .unwrap();
    img.blobs.truncate(1);
    img.manifest_digest = sha(&manifest);
    img.blobs.push((cd, config));
    img.blobs.push((img.manifest_digest.clone(), manifest));
    let a = oci_archive(&img, "docker.io/library/diff:latest");
    refused(&a, &[&img.layer_digests[0], &bogus]);
}

#[test]
fn truncated_and_mismatched_blob_writes_leave_nothing() {
    if !require_root() {
        return;
    }
    let (dir, store) = new_store("img-blob");
    let before = snapshot(dir.path());
    let data = b"some blob content".to_vec();
    let d = digest::parse(&sha(&data)).unwrap();
    // Truncated: fewer bytes than the declared size.
    let e = store
        .write_blob(&d, Some(data.len() as u64), &data[..5])
        .unwrap_err();
    assert!(matches!(e, ImageError::SizeMismatch { .. }), "{e}");
    assert!(e.to_string().contains(d.as_ref()));
    // Too long for the declared size.
    let e = store.write_blob(&d, Some(3), data.as_slice()).unwrap_err();
    assert!(matches!(e, ImageError::SizeMismatch { .. }), "{e}");
    // Other content under this digest.
    let e = store
        .write_blob(&d, None, &b"other content"[..])
        .unwrap_err();
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");
    assert!(e.to_string().contains(d.as_ref()));
    // A writer dropped without commit leaves no temp file.
    {
        let mut w = store.blob_writer(&d, None).unwrap();
        std::io::Write::write_all(&mut w, b"partial").unwrap();
    }
    assert!(!store.has_blob(&d));
    assert_eq!(snapshot(dir.path()), before);
    // And the right content is accepted.
    store
        .write_blob(&d, Some(data.len() as u64), data.as_slice())
        .unwrap();
    assert_eq!(store.read_blob(&d).unwrap(), data);
}

#[test]
fn ingest_layer_commits_nothing_when_the_digest_does_not_verify() {
    if !require_root() {
        return;
    }
    let (dir, store) = new_store("img-ingest");
    let tar = tar_bytes(&[Entry::Dir("etc"), Entry::File("etc/x", b"x")]);
    let blob = gzip(&tar);
    let good = oci_spec::image::Descriptor::new(
        oci_spec::image::MediaType::ImageLayerGzip,
        blob.len() as u64,
        digest::parse(&sha(&blob)).unwrap(),
    );
    let before = snapshot(dir.path());
    let wrong = oci_spec::image::Descriptor::new(
        oci_spec::image::MediaType::ImageLayerGzip,
        blob.len() as u64,
        digest::parse(&sha(b"something else")).unwrap(),
    );
    let e = store.ingest_layer(&wrong, blob.as_slice()).unwrap_err();
    assert!(e.to_string().contains(wrong.digest().as_ref()), "{e}");
    assert_eq!(snapshot(dir.path()), before);
    store.ingest_layer(&good, blob.as_slice()).unwrap();
    assert!(store.has_blob(good.digest()));
    let dir_l = store.ensure_layer_unpacked(&good).unwrap();
    assert_eq!(std::fs::read(dir_l.join("etc/x")).unwrap(), b"x");
    assert_eq!(store.layer_info(good.digest()).unwrap().diff_id, sha(&tar));
    let _ = Path::new("");
}

#[test]
fn truncated_archive_is_refused_and_leaves_nothing() {
    if !require_root() {
        return;
    }
    let full = std::fs::read(shared_archive("layers.oci.tar")).unwrap();
    // Cut inside the big busybox layer blob.
    let cut = &full[..full.len() / 2];
    let (dir, store) = new_store("img-trunc");
    let before = snapshot(dir.path());
    let e = berth_image::load(&store, cut).unwrap_err();
    assert!(!e.to_string().is_empty());
    assert_eq!(snapshot(dir.path()), before, "{e}");
}

#[test]
fn docker_manifest_pointing_outside_the_archive_is_refused() {
    if !require_root() {
        return;
    }
    let manifest =
        br#"[{"Config":"../../../../etc/passwd","RepoTags":["evil:1"],"Layers":["/etc/shadow"]}]"#;
    let a = raw_tar(&[("manifest.json", tar::EntryType::Regular, manifest, None)]);
    refused(&a, &["../../../../etc/passwd"]);
    let manifest = br#"[{"Config":"cfg.json","RepoTags":["evil:1"],"Layers":["/etc/shadow"]}]"#;
    let a = raw_tar(&[
        ("manifest.json", tar::EntryType::Regular, manifest, None),
        ("cfg.json", tar::EntryType::Regular, b"{}", None),
    ]);
    refused(&a, &["/etc/shadow"]);
}
