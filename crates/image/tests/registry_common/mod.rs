//! Helpers shared by the registry tests.
#![allow(dead_code)]

use berth_image::Store;
use berth_testutil::registry::{shared_dir, skopeo};
use berth_testutil::TempDir;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fresh store in a temp dir (the dir goes when the TempDir drops).
pub fn store() -> (TempDir, Arc<Store>) {
    let dir = TempDir::new("berth-regtest").expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, Arc::new(store))
}

pub fn busybox_archive() -> PathBuf {
    let p = shared_dir().join("images/busybox.oci.tar");
    assert!(
        p.exists(),
        "{} missing (shared/ must be beside the repo)",
        p.display()
    );
    p
}

/// `skopeo copy oci-archive:busybox.oci.tar:<tag> docker://<dest>` (+ extra args).
pub fn skopeo_push_busybox(tag: &str, dest: &str, extra: &[&str]) {
    let src = format!("oci-archive:{}:{tag}", busybox_archive().display());
    let dst = format!("docker://{dest}");
    let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(&src);
    args.push(&dst);
    skopeo(&args);
}

/// `skopeo inspect --raw` of a registry reference: the manifest bytes as served.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Every file under the store root except the database (whose WAL may move) and the
/// store's lock files (empty, kept for reuse) — to show a refused pull changed nothing.
pub fn snapshot(root: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("berth.db") || name.ends_with(".lock") {
                continue;
            }
            if p.is_dir() && !p.is_symlink() {
                walk(&p, out);
            }
            out.push(p);
        }
    }
    let mut v = Vec::new();
    walk(root, &mut v);
    v.sort();
    v
}
