//! `save`: writes images as a tar archive. Both formats carry an OCI image layout
//! (oci-layout, index.json, blobs/sha256/…) holding the stored blobs byte for byte,
//! so digests survive a round trip; the docker format adds `manifest.json` and
//! `repositories` as `docker save` writes them.

use super::docker_manifest::DockerSaveEntry;
use crate::{digest, names, ImageError, ImageRecord, Store};
use oci_spec::image::Digest;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveFormat {
    /// What `docker save` writes (manifest.json + repositories + OCI layout).
    #[default]
    Docker,
    /// An OCI image layout only.
    Oci,
}

impl std::str::FromStr for ArchiveFormat {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, ImageError> {
        match s {
            "docker" | "docker-archive" => Ok(ArchiveFormat::Docker),
            "oci" | "oci-archive" => Ok(ArchiveFormat::Oci),
            other => Err(ImageError::Invalid(format!(
                "unknown archive format {other:?} (use docker or oci)"
            ))),
        }
    }
}

fn header(path: &str, size: u64, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("short ASCII path");
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    h
}

fn tar_err(e: io::Error) -> ImageError {
    ImageError::io("write archive", e)
}

fn append_bytes<W: Write>(
    b: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
) -> Result<(), ImageError> {
    let h = header(path, data.len() as u64, false);
    b.append(&h, data).map_err(tar_err)
}

/// Writes the images named by `names` (names or ids) to `w`.
pub fn save(
    store: &Store,
    names_in: &[String],
    w: impl Write,
    format: ArchiveFormat,
) -> Result<(), ImageError> {
    if names_in.is_empty() {
        return Err(ImageError::Invalid("no image given to save".into()));
    }
    // Resolve every name first: a typo must not produce a partial archive.
    let mut images: Vec<(ImageRecord, Vec<String>)> = Vec::new();
    for n in names_in {
        let rec = store.resolve(n)?;
        // A name given as a name saves that tag; an id saves all of the image's names.
        let tag = names::normalize_tagged(n)
            .ok()
            .filter(|t| rec.names.contains(t));
        let tags = match tag {
            Some(t) => vec![t],
            None => rec.names.clone(),
        };
        match images.iter_mut().find(|(r, _)| r.id == rec.id) {
            Some((_, t)) => {
                for x in tags {
                    if !t.contains(&x) {
                        t.push(x);
                    }
                }
            }
            None => images.push((rec, tags)),
        }
    }
    let _hold = store.hold_blobs()?;
    let mut b = tar::Builder::new(w);
    b.mode(tar::HeaderMode::Deterministic);
    for d in ["blobs/", "blobs/sha256/"] {
        b.append(&header(d, 0, true), io::empty())
            .map_err(tar_err)?;
    }
    let mut written: BTreeSet<String> = BTreeSet::new();
    let mut index_entries = Vec::new();
    let mut docker_entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rec, tags) in &images {
        let manifest = store.manifest(rec)?;
        let mut blobs: Vec<Digest> = vec![rec.manifest_digest.clone(), rec.id.clone()];
        blobs.extend(manifest.layers().iter().map(|l| l.digest().clone()));
        for d in &blobs {
            if !written.insert(d.to_string()) {
                continue;
            }
            let path = store.blob_path(d);
            let mut f = std::fs::File::open(&path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    ImageError::MissingBlob(d.to_string())
                } else {
                    ImageError::io(format!("open {}", path.display()), e)
                }
            })?;
            let size = f
                .metadata()
                .map_err(|e| ImageError::io(format!("stat {}", path.display()), e))?
                .len();
            let h = header(&format!("blobs/sha256/{}", digest::hex(d)), size, false);
            b.append(&h, &mut f).map_err(tar_err)?;
        }
        let manifest_size = store.manifest_bytes(rec)?.len();
        let media_type = manifest
            .media_type()
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".into());
        let descriptor = |annotations: Option<serde_json::Value>| {
            let mut d = json!({
                "mediaType": media_type,
                "digest": rec.manifest_digest.to_string(),
                "size": manifest_size,
            });
            if let Some(a) = annotations {
                d["annotations"] = a;
            }
            d
        };
        if tags.is_empty() {
            index_entries.push(descriptor(None));
        }
        for t in tags {
            let (_, tag) = names::split_tagged(t);
            index_entries.push(descriptor(Some(json!({
                "io.containerd.image.name": t,
                "org.opencontainers.image.ref.name": tag,
            }))));
            let (repo, tag) = names::split_tagged(t);
            repositories
                .entry(names::display_repository(repo).to_owned())
                .or_default()
                .insert(tag.to_owned(), digest::hex(&rec.id).to_owned());
        }
        docker_entries.push(DockerSaveEntry {
            config: format!("blobs/sha256/{}", digest::hex(&rec.id)),
            repo_tags: Some(tags.iter().map(|t| names::display_name(t)).collect()),
            layers: manifest
                .layers()
                .iter()
                .map(|l| format!("blobs/sha256/{}", digest::hex(l.digest())))
                .collect(),
        });
    }
    append_bytes(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": index_entries,
    });
    append_bytes(
        &mut b,
        "index.json",
        &serde_json::to_vec(&index).expect("json"),
    )?;
    if format == ArchiveFormat::Docker {
        append_bytes(
            &mut b,
            "manifest.json",
            &serde_json::to_vec(&docker_entries).expect("json"),
        )?;
        append_bytes(
            &mut b,
            "repositories",
            &serde_json::to_vec(&repositories).expect("json"),
        )?;
    }
    let mut w = b.into_inner().map_err(tar_err)?;
    w.flush().map_err(tar_err)?;
    Ok(())
}
