//! `load`: OCI archives (oci-layout + index.json) and `docker save` archives
//! (manifest.json; modern ones carry an OCI layout too, which is preferred because it
//! keeps the manifest digests). Everything is verified and every layer unpacked before
//! any image is recorded; on failure the blobs this load added are removed again.

use super::reader::ArchiveContents;
use super::{docker_manifest, host_arch};
use crate::store::layer_compression;
use crate::unpack::Compression;
use crate::{digest, names, ImageError, ImageRecord, Store};
use oci_spec::image::{Digest, ImageIndex, ImageManifest};
use std::collections::HashMap;
use std::io::Read;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

struct Planned {
    manifest_digest: Digest,
    names: Vec<String>,
}

/// Loads every image of an archive read from `r`; returns the recorded images.
pub fn load(store: &Store, r: impl Read) -> Result<Vec<ImageRecord>, ImageError> {
    // Like `docker load`, accept the archive gzip- or zstd-compressed too.
    let mut r = std::io::BufReader::with_capacity(1 << 20, r);
    let magic = std::io::BufRead::fill_buf(&mut r)
        .map_err(|e| ImageError::io("read the archive", e))?
        .to_vec();
    let r: Box<dyn Read> = match Compression::detect(&magic) {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(r)
                .map_err(|e| ImageError::io("read the archive", e))?,
        ),
    };
    let hold = store.hold_blobs()?;
    let mut contents = ArchiveContents::new();
    let result = contents
        .read(store, r)
        .and_then(|()| load_contents(store, &mut contents));
    // Discarding takes the exclusive gc lock: never while this shared hold is held.
    drop(hold);
    // On success this drops only blobs no image uses (other platforms of an index).
    contents.discard_new_blobs(store);
    result
}

fn load_contents(
    store: &Store,
    contents: &mut ArchiveContents,
) -> Result<Vec<ImageRecord>, ImageError> {
    let mut plans = if contents.has("index.json") {
        plan_oci(store, contents)?
    } else if contents.has("manifest.json") {
        plan_docker(store, contents)?
    } else {
        return Err(ImageError::BadArchive(
            "neither index.json (OCI) nor manifest.json (docker save) found".into(),
        ));
    };
    // Merge duplicates (one index entry per tag of the same manifest).
    let mut merged: Vec<Planned> = Vec::new();
    for p in plans.drain(..) {
        match merged
            .iter_mut()
            .find(|m| m.manifest_digest == p.manifest_digest)
        {
            Some(m) => {
                for n in p.names {
                    if !m.names.contains(&n) {
                        m.names.push(n);
                    }
                }
            }
            None => merged.push(p),
        }
    }
    for p in &merged {
        verify_and_unpack(store, &p.manifest_digest)?;
    }
    merged
        .iter()
        .map(|p| store.register_image(&p.names, &p.manifest_digest))
        .collect()
}

/// Checks a manifest, its config and layers, and unpacks the layers (diff_ids verified).
fn verify_and_unpack(store: &Store, manifest_digest: &Digest) -> Result<(), ImageError> {
    let data = store.read_blob(manifest_digest)?;
    check_manifest_media_type(manifest_digest, &data)?;
    let manifest: ImageManifest = serde_json::from_slice(&data)
        .map_err(|e| ImageError::json(format!("manifest {manifest_digest}"), e))?;
    let config_digest = manifest.config().digest();
    digest::check(config_digest)?;
    let config_data = store.read_blob(config_digest)?;
    store.check_blob_size(manifest.config())?;
    let config: oci_spec::image::ImageConfiguration = serde_json::from_slice(&config_data)
        .map_err(|e| ImageError::json(format!("image config {config_digest}"), e))?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(ImageError::Invalid(format!(
            "manifest {manifest_digest} has {} layers but config {config_digest} lists {} diff_ids",
            manifest.layers().len(),
            diff_ids.len()
        )));
    }
    for layer in manifest.layers() {
        digest::check(layer.digest())?;
        layer_compression(layer)?;
        if !store.has_blob(layer.digest()) {
            return Err(ImageError::MissingBlob(layer.digest().to_string()));
        }
        store.check_blob_size(layer)?;
    }
    for (layer, diff_id) in manifest.layers().iter().zip(diff_ids) {
        store.ensure_unpacked(layer.digest(), layer_compression(layer)?, Some(diff_id))?;
    }
    Ok(())
}

fn check_manifest_media_type(d: &Digest, data: &[u8]) -> Result<(), ImageError> {
    let v: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| ImageError::json(format!("manifest {d}"), e))?;
    match v.get("mediaType").and_then(|m| m.as_str()) {
        None | Some(OCI_MANIFEST) | Some(DOCKER_MANIFEST) => Ok(()),
        Some(other) => Err(ImageError::UnknownMediaType {
            digest: d.to_string(),
            media_type: other.to_owned(),
        }),
    }
}

/// Names of an index entry: containerd's full name, else a ref.name that is a full
/// reference (a bare tag names nothing on its own).
fn names_from_annotations(annotations: Option<&HashMap<String, String>>) -> Vec<String> {
    let Some(a) = annotations else {
        return Vec::new();
    };
    if let Some(n) = a.get(CONTAINERD_NAME) {
        if let Ok(n) = names::normalize_tagged(n) {
            return vec![n];
        }
    }
    if let Some(n) = a.get(OCI_REF_NAME) {
        if n.contains('/') || n.contains(':') {
            if let Ok(n) = names::normalize_tagged(n) {
                return vec![n];
            }
        }
    }
    Vec::new()
}

/// Picks the host platform's manifest from an index blob.
fn select_platform(store: &Store, index_digest: &Digest, depth: u32) -> Result<Digest, ImageError> {
    let data = store.read_blob(index_digest)?;
    let index: ImageIndex = serde_json::from_slice(&data)
        .map_err(|e| ImageError::json(format!("image index {index_digest}"), e))?;
    let arch = host_arch();
    for m in index.manifests() {
        let Some(p) = m.platform() else { continue };
        if p.os().to_string() == "linux" && p.architecture().to_string() == arch {
            let mt = m.media_type().to_string();
            return match mt.as_str() {
                OCI_INDEX | DOCKER_LIST if depth < 2 => {
                    select_platform(store, m.digest(), depth + 1)
                }
                _ => Ok(m.digest().clone()),
            };
        }
    }
    Err(ImageError::Invalid(format!(
        "image index {index_digest} has no manifest for linux/{arch}"
    )))
}

fn plan_oci(store: &Store, contents: &mut ArchiveContents) -> Result<Vec<Planned>, ImageError> {
    let data = contents.bytes(store, "index.json")?;
    let index: ImageIndex =
        serde_json::from_slice(&data).map_err(|e| ImageError::json("index.json", e))?;
    // A docker-save archive's manifest.json gives RepoTags per config.
    let mut tags_by_config: HashMap<String, Vec<String>> = HashMap::new();
    if contents.has("manifest.json") {
        let entries = docker_manifest::parse(&contents.bytes(store, "manifest.json")?)?;
        for e in entries {
            if let Some(hex) = e.config.strip_prefix("blobs/sha256/") {
                tags_by_config
                    .entry(format!("sha256:{hex}"))
                    .or_default()
                    .extend(e.repo_tags.unwrap_or_default());
            }
        }
    }
    let mut plans = Vec::new();
    for desc in index.manifests() {
        digest::check(desc.digest())?;
        if !store.has_blob(desc.digest()) {
            return Err(ImageError::MissingBlob(desc.digest().to_string()));
        }
        let mt = desc.media_type().to_string();
        let manifest_digest = match mt.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => desc.digest().clone(),
            OCI_INDEX | DOCKER_LIST => select_platform(store, desc.digest(), 0)?,
            other => {
                return Err(ImageError::UnknownMediaType {
                    digest: desc.digest().to_string(),
                    media_type: other.to_owned(),
                })
            }
        };
        if !store.has_blob(&manifest_digest) {
            return Err(ImageError::MissingBlob(manifest_digest.to_string()));
        }
        let mut names = names_from_annotations(desc.annotations().as_ref());
        if let Ok(m) = serde_json::from_slice::<ImageManifest>(&store.read_blob(&manifest_digest)?)
        {
            for t in tags_by_config
                .get(m.config().digest().as_ref())
                .into_iter()
                .flatten()
            {
                let n = names::normalize_tagged(t)?;
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        plans.push(Planned {
            manifest_digest,
            names,
        });
    }
    Ok(plans)
}

fn plan_docker(store: &Store, contents: &mut ArchiveContents) -> Result<Vec<Planned>, ImageError> {
    let entries = docker_manifest::parse(&contents.bytes(store, "manifest.json")?)?;
    let mut plans = Vec::new();
    for e in entries {
        let (config_digest, config_size) = contents.store_member(store, &e.config)?;
        let mut layers = Vec::new();
        for l in &e.layers {
            let (d, size) = contents.store_member(store, l)?;
            let mut magic = [0u8; 4];
            let n = std::fs::File::open(store.blob_path(&d))
                .and_then(|mut f| f.read(&mut magic))
                .map_err(|err| ImageError::io(format!("read layer {d}"), err))?;
            let compression = Compression::detect(&magic[..n]);
            layers.push(serde_json::json!({
                "mediaType": compression.layer_media_type(),
                "digest": d.to_string(),
                "size": size,
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config_size,
            },
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).expect("serializable");
        let manifest_digest = digest::of_bytes(&bytes);
        if !store.has_blob(&manifest_digest) {
            store.write_blob(&manifest_digest, Some(bytes.len() as u64), bytes.as_slice())?;
            contents.new_blobs.push(manifest_digest.clone());
        }
        let names = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| names::normalize_tagged(t))
            .collect::<Result<Vec<_>, _>>()?;
        plans.push(Planned {
            manifest_digest,
            names,
        });
    }
    Ok(plans)
}
