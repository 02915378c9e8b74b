//! save → load round trips keep digests identical in both formats, and skopeo (an
//! independent implementation) reads what `save` wrote.

mod common;

use berth_image::ArchiveFormat;
use berth_testutil::TempDir;
use common::*;
use std::process::Command;

fn round_trip(format: ArchiveFormat) {
    let (_a, store_a) = new_store("img-save-a");
    load_file(&store_a, &shared_archive("layers.oci.tar"));
    load_file(&store_a, &shared_archive("busybox.oci.tar"));
    let originals: Vec<_> = ["layers:latest", "layers:nobody", "busybox:latest"]
        .iter()
        .map(|n| store_a.resolve(n).unwrap())
        .collect();
    let out = TempDir::new("img-save-out").unwrap();
    let file = out.path().join("saved.tar");
    let names: Vec<String> = ["layers:latest", "layers:nobody", "busybox"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    berth_image::save(
        &store_a,
        &names,
        std::fs::File::create(&file).unwrap(),
        format,
    )
    .unwrap();

    let (_b, store_b) = new_store("img-save-b");
    let loaded = load_file(&store_b, &file);
    assert_eq!(loaded.len(), 3);
    for o in &originals {
        let n = &o.names[0];
        let got = store_b.resolve(n).unwrap();
        assert_eq!(got.id, o.id, "{n}: image id");
        assert_eq!(
            got.manifest_digest, o.manifest_digest,
            "{n}: manifest digest"
        );
        assert_eq!(got.layers, o.layers, "{n}: layers");
        assert!(got.names.contains(n), "{n}: name kept: {:?}", got.names);
    }

    // skopeo reads it.
    let (transport, arg) = match format {
        ArchiveFormat::Oci => ("oci-archive", format!("{}:latest", file.display())),
        ArchiveFormat::Docker => (
            "docker-archive",
            format!("{}:docker.io/library/layers:latest", file.display()),
        ),
    };
    let o = Command::new("skopeo")
        .args(["inspect", "--raw", &format!("{transport}:{arg}")])
        .output()
        .expect("run skopeo");
    assert!(
        o.status.success(),
        "skopeo inspect {transport}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new("skopeo")
        .args(["inspect", "--config", &format!("{transport}:{arg}")])
        .output()
        .expect("run skopeo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cfg["config"]["WorkingDir"], "/data");
    if format == ArchiveFormat::Oci {
        // OCI layout: the manifest skopeo sees is byte-identical (same digest).
        let o = Command::new("skopeo")
            .args(["inspect", &format!("{transport}:{arg}")])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["Digest"], originals[0].manifest_digest.to_string());
    }
}

#[test]
fn save_load_round_trip_docker_format_keeps_digests_and_skopeo_reads_it() {
    if !require_root() {
        return;
    }
    round_trip(ArchiveFormat::Docker);
}

#[test]
fn save_load_round_trip_oci_format_keeps_digests_and_skopeo_reads_it() {
    if !require_root() {
        return;
    }
    round_trip(ArchiveFormat::Oci);
}

#[test]
fn load_reads_what_skopeo_wrote_as_docker_archive() {
    if !require_root() {
        return;
    }
    let out = TempDir::new("img-skopeo").unwrap();
    let file = out.path().join("bb.tar");
    let o = Command::new("skopeo")
        .args([
            "copy",
            "-q",
            &format!(
                "oci-archive:{}:latest",
                shared_archive("busybox.oci.tar").display()
            ),
            &format!("docker-archive:{}:example.com/team/bb:v1", file.display()),
        ])
        .output()
        .expect("run skopeo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_d, store) = new_store("img-skopeo-load");
    let recs = load_file(&store, &file);
    assert_eq!(recs.len(), 1);
    let img = store.resolve("example.com/team/bb:v1").unwrap();
    let cfg = store.config(&img).unwrap();
    assert_eq!(
        cfg.config().as_ref().unwrap().cmd().as_ref().unwrap(),
        &["sh"]
    );
    // skopeo wrote uncompressed layers: the image id (config digest) is unchanged.
    let (_e, store2) = new_store("img-skopeo-ref");
    load_file(&store2, &shared_archive("busybox.oci.tar"));
    assert_eq!(store2.resolve("busybox").unwrap().id, img.id);
    let dir = store
        .ensure_layer_unpacked(&store.manifest(&img).unwrap().layers()[0])
        .unwrap();
    assert!(dir.join("bin/busybox").is_file());
}

#[test]
fn load_accepts_a_gzip_compressed_archive() {
    if !require_root() {
        return;
    }
    let raw = std::fs::read(shared_archive("busybox.oci.tar")).unwrap();
    let (_d, store) = new_store("img-gz-load");
    let recs = berth_image::load(&store, gzip(&raw).as_slice()).unwrap();
    assert_eq!(recs.len(), 2);
    assert!(store.resolve("busybox:latest").is_ok());
    let e = berth_image::load(&store, &b"definitely not a tar archive"[..]).unwrap_err();
    assert!(
        e.to_string().contains("index.json") || e.to_string().contains("tar"),
        "{e}"
    );
}
