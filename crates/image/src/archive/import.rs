//! `import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image.
//! The tarball is stored as given (its compression detected) and unpacked with the
//! same checks as any layer; the config is built here, with `--change` applied.

use super::{changes, host_arch};
use crate::unpack::Compression;
use crate::{digest, ImageError, ImageRecord, Store};
use oci_spec::image::{Config, ImageConfiguration};
use serde_json::json;
use std::io::{self, Read};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repository[:tag]`; None leaves the image unnamed (dangling), as Docker does.
    pub name: Option<String>,
    /// Dockerfile instructions: `CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`, ...
    pub changes: Vec<String>,
    /// The history comment (`docker import -m`).
    pub message: Option<String>,
}

/// Imports the tarball read from `r`.
pub fn import(
    store: &Store,
    mut r: impl Read,
    opts: &ImportOptions,
) -> Result<ImageRecord, ImageError> {
    // Validate the cheap things before reading anything.
    let name = opts
        .name
        .as_deref()
        .map(crate::names::normalize_tagged)
        .transpose()?;
    let mut config = Config::default();
    for c in &opts.changes {
        changes::apply(&mut config, c)?;
    }
    // A PATH, as every image built by Docker has (the engine would otherwise add one).
    let mut env = config.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        );
    }
    config.set_env(Some(env));

    let hold = store.hold_blobs()?;
    let mut new_blobs = Vec::new();
    let result = (|| {
        // Peek at the first bytes for the compression, then store and unpack in one pass.
        let mut magic = [0u8; 4];
        let mut n = 0;
        while n < magic.len() {
            let k = r
                .read(&mut magic[n..])
                .map_err(|e| ImageError::io("read the tarball", e))?;
            if k == 0 {
                break;
            }
            n += k;
        }
        let compression = Compression::detect(&magic[..n]);
        let (layer_digest, layer_size) = store.ingest_layer_unverified(
            io::Cursor::new(magic[..n].to_vec()).chain(&mut r),
            compression,
        )?;
        // On failure, delete_unreferenced_blobs keeps it if an image already uses it.
        new_blobs.push(layer_digest.clone());
        let info = store.layer_info(&layer_digest).ok_or_else(|| {
            ImageError::Invalid(format!("layer {layer_digest} has no unpack record"))
        })?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut history = json!({"created": now, "created_by": "berth import"});
        if let Some(m) = &opts.message {
            history["comment"] = json!(m);
        }
        let image_config = json!({
            "created": now,
            "architecture": host_arch(),
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [info.diff_id]},
            "history": [history],
        });
        // Round-trip through the typed config so what is stored is valid OCI.
        let typed: ImageConfiguration = serde_json::from_value(image_config)
            .map_err(|e| ImageError::json("generated image config", e))?;
        let config_bytes = serde_json::to_vec(&typed).expect("serializable");
        let config_digest = digest::of_bytes(&config_bytes);
        store.write_blob(
            &config_digest,
            Some(config_bytes.len() as u64),
            config_bytes.as_slice(),
        )?;
        new_blobs.push(config_digest.clone());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config_bytes.len(),
            },
            "layers": [{
                "mediaType": compression.layer_media_type(),
                "digest": layer_digest.to_string(),
                "size": layer_size,
            }],
        });
        let manifest_bytes = serde_json::to_vec(&manifest).expect("serializable");
        let manifest_digest = digest::of_bytes(&manifest_bytes);
        store.write_blob(
            &manifest_digest,
            Some(manifest_bytes.len() as u64),
            manifest_bytes.as_slice(),
        )?;
        new_blobs.push(manifest_digest.clone());
        store.register_image(
            &name.clone().into_iter().collect::<Vec<_>>(),
            &manifest_digest,
        )
    })();
    drop(hold);
    if result.is_err() {
        store.delete_unreferenced_blobs(&new_blobs);
    }
    result
}
