//! Helpers shared by the image store tests: stores in temp dirs, the shared test
//! archives, hand-built layers and archives (including hostile ones), and a
//! snapshot of a store's state to prove a refused operation changed nothing.
#![allow(dead_code)]

use berth_image::{digest, Store};
use berth_testutil::TempDir;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn require_root() -> bool {
    if !berth_testutil::is_root() {
        eprintln!("skipped: needs root");
        return false;
    }
    true
}

/// `../shared/images` beside the workspace (CI clones shared/ next to the repo).
pub fn shared_images() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images")
}

pub fn shared_archive(name: &str) -> PathBuf {
    let p = shared_images().join(name);
    assert!(
        p.is_file(),
        "{} missing: shared/ must sit beside the repository",
        p.display()
    );
    p
}

pub fn new_store(prefix: &str) -> (TempDir, Store) {
    let dir = TempDir::new(prefix).expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, store)
}

pub fn load_file(store: &Store, path: &Path) -> Vec<berth_image::ImageRecord> {
    let f = std::fs::File::open(path).expect("open archive");
    berth_image::load(store, std::io::BufReader::new(f)).expect("load archive")
}

/// Everything observable about a store: rows of the image tables and the files
/// under image/ (blobs, layers, tmp).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    rows: Vec<String>,
    files: BTreeSet<String>,
}

impl Snapshot {
    pub fn files_under(&self, prefix: &str) -> usize {
        self.files.iter().filter(|f| f.starts_with(prefix)).count()
    }
}

pub fn snapshot(root: &Path) -> Snapshot {
    let conn = berth_image::db::open(root).expect("db");
    let mut rows = Vec::new();
    for (table, cols) in [
        ("images", "id || manifest_digest"),
        ("image_names", "name || image_id"),
        ("layers", "digest"),
        ("image_layers", "image_id || position || layer_digest"),
        ("rootfs", "container_id || image_id"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT {cols} FROM {table} ORDER BY 1"))
            .unwrap();
        for r in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            rows.push(format!("{table}: {}", r.unwrap()));
        }
    }
    let mut files = BTreeSet::new();
    let image = root.join("image");
    for sub in ["blobs/sha256", "layers", "tmp"] {
        if let Ok(rd) = std::fs::read_dir(image.join(sub)) {
            for e in rd {
                files.insert(format!(
                    "{sub}/{}",
                    e.unwrap().file_name().to_string_lossy()
                ));
            }
        }
    }
    Snapshot { rows, files }
}

/// A tar entry described freely — names are written raw, so `../x` and `/x` are possible.
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

fn raw_header(
    name: &str,
    kind: tar::EntryType,
    size: u64,
    link: Option<&str>,
    mode: u32,
) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        assert!(name.len() < 100 && link.is_none_or(|l| l.len() < 100));
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    h
}

/// An uncompressed tar with the given entries.
pub fn tar_bytes(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let (h, data): (tar::Header, &[u8]) = match e {
            Entry::File(n, d) => (
                raw_header(n, tar::EntryType::Regular, d.len() as u64, None, 0o644),
                d,
            ),
            Entry::Dir(n) => (
                raw_header(n, tar::EntryType::Directory, 0, None, 0o755),
                b"",
            ),
            Entry::Symlink(n, t) => (
                raw_header(n, tar::EntryType::Symlink, 0, Some(t), 0o777),
                b"",
            ),
            Entry::Hardlink(n, t) => (raw_header(n, tar::EntryType::Link, 0, Some(t), 0o644), b""),
        };
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A built image: its blobs (digest → bytes) and manifest digest.
pub struct BuiltImage {
    pub blobs: Vec<(String, Vec<u8>)>,
    pub manifest_digest: String,
    pub config_digest: String,
    pub layer_digests: Vec<String>,
}

/// Builds an OCI image from uncompressed layer tars (gzip-compressed here).
pub fn build_image(layers: &[Vec<u8>], layer_media_type: &str, compress: bool) -> BuiltImage {
    let mut blobs = Vec::new();
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut layer_digests = Vec::new();
    for l in layers {
        diff_ids.push(sha(l));
        let blob = if compress { gzip(l) } else { l.clone() };
        let d = sha(&blob);
        descs.push(
            serde_json::json!({"mediaType": layer_media_type, "digest": d, "size": blob.len()}),
        );
        layer_digests.push(d.clone());
        blobs.push((d, blob));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = sha(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let manifest_digest = sha(&manifest);
    blobs.push((config_digest.clone(), config));
    blobs.push((manifest_digest.clone(), manifest));
    BuiltImage {
        blobs,
        manifest_digest,
        config_digest,
        layer_digests,
    }
}

pub fn gz_layer_image(layers: &[Vec<u8>]) -> BuiltImage {
    build_image(layers, "application/vnd.oci.image.layer.v1.tar+gzip", true)
}

/// An OCI archive (tar of an image layout) holding `img` under `name`.
pub fn oci_archive(img: &BuiltImage, name: &str) -> Vec<u8> {
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": img.manifest_digest,
            "size": img.blobs.iter().find(|(d, _)| *d == img.manifest_digest).unwrap().1.len(),
            "annotations": {"io.containerd.image.name": name},
        }],
    }))
    .unwrap();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        ("index.json".into(), index),
    ];
    for (d, b) in &img.blobs {
        files.push((format!("blobs/sha256/{}", &d[7..]), b.clone()));
    }
    let mut out = Vec::new();
    for (n, d) in &files {
        let h = raw_header(n, tar::EntryType::Regular, d.len() as u64, None, 0o644);
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(d);
        out.extend(std::iter::repeat_n(0u8, (512 - d.len() % 512) % 512));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

/// Writes a built image's blobs straight into a store.
pub fn put_blobs(store: &Store, img: &BuiltImage) {
    for (d, b) in &img.blobs {
        let d = digest::parse(d).unwrap();
        store
            .write_blob(&d, Some(b.len() as u64), b.as_slice())
            .unwrap();
    }
}

/// Raw tar bytes from a list of (name, kind, data, link) for archive-level tests.
pub fn raw_tar(members: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, k, d, l) in members {
        let h = raw_header(n, *k, d.len() as u64, *l, 0o644);
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(d);
        out.extend(std::iter::repeat_n(0u8, (512 - d.len() % 512) % 512));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}
