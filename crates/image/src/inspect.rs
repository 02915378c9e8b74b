//! Docker-compatible JSON views of images: `image inspect` objects, `history` rows.
//! Field names and defaults are Docker's, so `--format` templates written for Docker
//! work unchanged. Built from the raw config JSON to keep Docker-only fields
//! (Healthcheck, OnBuild, Shell...) that the OCI config type does not carry.

use crate::{names, ImageError, ImageRecord, Store};
use serde_json::{json, Map, Value};

/// Docker's `Config` object with its defaults, overlaid with the image's config.
fn docker_config(raw: &Value) -> Value {
    let mut c = json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": null, "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null,
    });
    if let Some(Value::Object(src)) = raw.get("config") {
        let dst = c.as_object_mut().expect("object");
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
    c
}

/// Repository tags in Docker's short form: `busybox:latest`.
pub fn repo_tags(img: &ImageRecord) -> Vec<String> {
    img.names.iter().map(|n| names::display_name(n)).collect()
}

/// Repository digests in Docker's short form: `busybox@sha256:…`.
pub fn repo_digests(img: &ImageRecord) -> Vec<String> {
    img.repo_digests
        .iter()
        .map(|rd| match rd.split_once('@') {
            Some((repo, d)) => format!("{}@{d}", names::display_repository(repo)),
            None => rd.clone(),
        })
        .collect()
}

/// The object `docker image inspect` prints for one image.
pub fn inspect_json(store: &Store, img: &ImageRecord) -> Result<Value, ImageError> {
    let raw: Value = serde_json::from_slice(&store.read_blob(&img.id)?)
        .map_err(|e| ImageError::json(format!("image config {}", img.id), e))?;
    let get_str = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let lowers: Vec<String> = img
        .layers
        .iter()
        .rev()
        .map(|l| store.layer_dir(l).display().to_string())
        .collect();
    let mut obj = Map::new();
    obj.insert("Id".into(), json!(img.id.to_string()));
    obj.insert("RepoTags".into(), json!(repo_tags(img)));
    obj.insert("RepoDigests".into(), json!(repo_digests(img)));
    obj.insert("Parent".into(), json!(""));
    obj.insert("Comment".into(), json!(get_str("comment")));
    obj.insert("Created".into(), json!(get_str("created")));
    obj.insert("DockerVersion".into(), json!(get_str("docker_version")));
    obj.insert("Author".into(), json!(get_str("author")));
    obj.insert("Config".into(), docker_config(&raw));
    obj.insert("Architecture".into(), json!(get_str("architecture")));
    if let Some(v) = raw.get("variant") {
        obj.insert("Variant".into(), v.clone());
    }
    obj.insert("Os".into(), json!(get_str("os")));
    obj.insert("Size".into(), json!(img.size));
    obj.insert(
        "GraphDriver".into(),
        json!({"Data": {"LowerDir": lowers.join(":")}, "Name": "overlay"}),
    );
    obj.insert(
        "RootFS".into(),
        json!({
            "Type": raw.pointer("/rootfs/type").cloned().unwrap_or(json!("layers")),
            "Layers": raw.pointer("/rootfs/diff_ids").cloned().unwrap_or(json!([])),
        }),
    );
    obj.insert(
        "Metadata".into(),
        json!({"LastTagTime": "0001-01-01T00:00:00Z"}),
    );
    let manifest_bytes = store.manifest_bytes(img)?;
    let media_type = serde_json::from_slice::<Value>(&manifest_bytes)
        .ok()
        .and_then(|m| {
            m.get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_owned());
    obj.insert(
        "Descriptor".into(),
        json!({
            "mediaType": media_type,
            "digest": img.manifest_digest.to_string(),
            "size": manifest_bytes.len(),
        }),
    );
    Ok(Value::Object(obj))
}

/// One `history` row, newest first, as Docker lists them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    /// The image id for the newest row, `<missing>` for the others (as Docker shows).
    pub id: String,
    pub created: Option<String>,
    pub created_by: String,
    /// Bytes the step added (its layer's uncompressed size), 0 for empty layers.
    pub size: u64,
    pub comment: String,
}

pub fn history(store: &Store, img: &ImageRecord) -> Result<Vec<HistoryRow>, ImageError> {
    let config = store.config(img)?;
    let manifest = store.manifest(img)?;
    let mut layers = manifest.layers().iter();
    let mut rows = Vec::new();
    let hist = config.history().clone().unwrap_or_default();
    for h in &hist {
        let size = if h.empty_layer().unwrap_or(false) {
            0
        } else {
            layers
                .next()
                .map(|l| {
                    store
                        .layer_info(l.digest())
                        .map(|i| i.tar_size)
                        .unwrap_or(l.size())
                })
                .unwrap_or(0)
        };
        rows.push(HistoryRow {
            id: "<missing>".into(),
            created: h.created().clone(),
            created_by: h.created_by().clone().unwrap_or_default(),
            size,
            comment: h.comment().clone().unwrap_or_default(),
        });
    }
    rows.reverse();
    if let Some(first) = rows.first_mut() {
        first.id = img.id.to_string();
    }
    Ok(rows)
}

/// Seconds elapsed since an RFC 3339 time (an image's `created`).
pub fn seconds_since(rfc3339: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        chrono::Utc::now()
            .signed_duration_since(t.with_timezone(&chrono::Utc))
            .num_seconds(),
    )
}

/// Docker's `CreatedAt` form: `2023-11-14 22:13:20 +0000 UTC`.
pub fn created_at(rfc3339: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        t.with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S +0000 UTC")
            .to_string(),
    )
}
