//! Image records: register, resolve (names, ids, id prefixes, name@digest), list, tag,
//! remove with Docker's rules, and garbage collection of blobs and layers.

use super::layer::compression_of;
use super::Store;
use crate::{digest, names, ImageError};
use oci_spec::image::{Digest, ImageConfiguration, ImageManifest};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::collections::BTreeSet;

/// An image as the store knows it. `id` is the config digest (Docker's image id).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: Digest,
    pub manifest_digest: Digest,
    /// Normalized names: `docker.io/library/busybox:latest`.
    pub names: Vec<String>,
    /// `repository@manifest-digest` for each repository the image is named in.
    pub repo_digests: Vec<String>,
    /// Uncompressed size of the layers when known (they have been unpacked), else compressed.
    pub size: u64,
    /// The config's `created`.
    pub created: Option<String>,
    /// Layer blob digests, bottom first.
    pub layers: Vec<Digest>,
}

/// What `remove` did, as Docker reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum RemovedItem {
    Untagged(String),
    Deleted(String),
}

fn parse_stored_digest(s: String) -> Result<Digest, ImageError> {
    digest::parse(&s)
}

fn load_record(conn: &Connection, id: &str) -> Result<Option<ImageRecord>, ImageError> {
    let row: Option<(String, i64, Option<String>)> = conn
        .query_row(
            "SELECT manifest_digest, size, created FROM images WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((manifest_digest, size, created)) = row else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT name FROM image_names WHERE image_id = ?1 ORDER BY name")?;
    let names: Vec<String> = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT layer_digest FROM image_layers WHERE image_id = ?1 ORDER BY position",
    )?;
    let layers = stmt
        .query_map([id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(parse_stored_digest)
        .collect::<Result<Vec<_>, _>>()?;
    let repos: BTreeSet<&str> = names.iter().map(|n| names::split_tagged(n).0).collect();
    let repo_digests = repos
        .into_iter()
        .map(|r| format!("{r}@{manifest_digest}"))
        .collect();
    Ok(Some(ImageRecord {
        id: digest::parse(id)?,
        manifest_digest: digest::parse(&manifest_digest)?,
        names,
        repo_digests,
        size: size as u64,
        created,
        layers,
    }))
}

impl Store {
    fn parse_manifest(&self, d: &Digest) -> Result<ImageManifest, ImageError> {
        let data = self.read_blob(d)?;
        serde_json::from_slice(&data).map_err(|e| ImageError::json(format!("manifest {d}"), e))
    }

    fn parse_config(&self, d: &Digest) -> Result<ImageConfiguration, ImageError> {
        let data = self.read_blob(d)?;
        serde_json::from_slice(&data).map_err(|e| ImageError::json(format!("image config {d}"), e))
    }

    /// Records an image whose manifest and config blobs are stored. Every layer blob
    /// must be present, its media type known, and (when it was unpacked) its content
    /// must match the config's diff_ids. `names` are normalized (`busybox` →
    /// `docker.io/library/busybox:latest`); a name held by another image moves here.
    pub fn register_image(
        &self,
        names_in: &[String],
        manifest_digest: &Digest,
    ) -> Result<ImageRecord, ImageError> {
        digest::check(manifest_digest)?;
        let names = names_in
            .iter()
            .map(|n| names::normalize_tagged(n))
            .collect::<Result<Vec<_>, _>>()?;
        let _hold = self.hold_blobs()?;
        let manifest = self.parse_manifest(manifest_digest)?;
        let config_digest = manifest.config().digest().clone();
        digest::check(&config_digest)?;
        let config = self.parse_config(&config_digest)?;
        self.check_blob_size(manifest.config())?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(ImageError::Invalid(format!(
                "manifest {manifest_digest} has {} layers but config {config_digest} lists {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            )));
        }
        let mut size: u64 = 0;
        let mut layer_rows = Vec::new();
        for (layer, diff_id) in manifest.layers().iter().zip(diff_ids) {
            let d = layer.digest();
            digest::check(d)?;
            compression_of(layer)?;
            if !self.has_blob(d) {
                return Err(ImageError::MissingBlob(d.to_string()));
            }
            self.check_blob_size(layer)?;
            let info = self.layer_info(d);
            if let Some(info) = &info {
                if &info.diff_id != diff_id {
                    return Err(ImageError::BadLayer {
                        layer: d.to_string(),
                        reason: format!(
                            "uncompressed content hashes to {}, config {config_digest} says {diff_id}",
                            info.diff_id
                        ),
                    });
                }
            }
            size += info.as_ref().map(|i| i.tar_size).unwrap_or(layer.size());
            layer_rows.push((
                d.to_string(),
                diff_id.clone(),
                layer.media_type().to_string(),
                layer.size(),
                info.map(|i| i.tar_size),
            ));
        }
        let id = config_digest.to_string();
        let now = chrono::Utc::now().to_rfc3339();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO images (id, manifest_digest, size, created, added) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, size = excluded.size",
            params![id, manifest_digest.to_string(), size as i64, config.created(), now],
        )?;
        tx.execute("DELETE FROM image_layers WHERE image_id = ?1", [&id])?;
        for (pos, (d, diff_id, mt, sz, unpacked)) in layer_rows.iter().enumerate() {
            tx.execute(
                "INSERT INTO layers (digest, diff_id, media_type, size, unpacked_size) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(digest) DO UPDATE SET unpacked_size = COALESCE(excluded.unpacked_size, unpacked_size)",
                params![d, diff_id, mt, *sz as i64, unpacked.map(|u| u as i64)],
            )?;
            tx.execute(
                "INSERT INTO image_layers (image_id, position, layer_digest) VALUES (?1, ?2, ?3)",
                params![id, pos as i64, d],
            )?;
        }
        for n in &names {
            tx.execute(
                "INSERT INTO image_names (name, image_id) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                params![n, id],
            )?;
        }
        tx.commit()?;
        load_record(&conn, &id)?.ok_or_else(|| ImageError::NotFound(id.clone()))
    }

    /// Finds an image by name (`busybox`, `busybox:latest`, a full name), by
    /// `name@sha256:…` (manifest digest), or by id (`sha256:…`, hex, unique prefix).
    pub fn resolve(&self, name_or_id: &str) -> Result<ImageRecord, ImageError> {
        let conn = self.conn();
        if let Some(id) = resolve_id(&conn, name_or_id)? {
            return load_record(&conn, &id)?
                .ok_or_else(|| ImageError::NotFound(name_or_id.to_owned()));
        }
        Err(ImageError::NotFound(name_or_id.to_owned()))
    }

    /// All images, newest first.
    pub fn list(&self) -> Result<Vec<ImageRecord>, ImageError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id FROM images ORDER BY created DESC, added DESC, id")?;
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.iter()
            .filter_map(|id| load_record(&conn, id).transpose())
            .collect()
    }

    pub fn config(&self, img: &ImageRecord) -> Result<ImageConfiguration, ImageError> {
        self.parse_config(&img.id)
    }

    pub fn manifest(&self, img: &ImageRecord) -> Result<ImageManifest, ImageError> {
        self.parse_manifest(&img.manifest_digest)
    }

    /// Raw manifest bytes (for save/push, which must keep the digest).
    pub fn manifest_bytes(&self, img: &ImageRecord) -> Result<Vec<u8>, ImageError> {
        self.read_blob(&img.manifest_digest)
    }

    /// Gives the image `src` the additional name `new_name`.
    pub fn tag(&self, src: &str, new_name: &str) -> Result<(), ImageError> {
        let target = names::normalize_tagged(new_name)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = resolve_id(&tx, src)?.ok_or_else(|| ImageError::NotFound(src.to_owned()))?;
        tx.execute(
            "INSERT INTO image_names (name, image_id) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
            params![target, id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Container ids whose root filesystem uses image `id`.
    pub fn containers_using(&self, id: &Digest) -> Result<Vec<String>, ImageError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT container_id FROM rootfs WHERE image_id = ?1 ORDER BY container_id")?;
        let v = stmt
            .query_map([id.to_string()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Docker's `rmi`: a name that is one of several is only untagged; the last name
    /// or an id deletes the image, which is refused while a container root filesystem
    /// uses it (or, by id, while several repositories name it) unless `force`.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Vec<RemovedItem>, ImageError> {
        let _gc = self.gc_lock()?;
        let mut removed = Vec::new();
        let deleted_id;
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = resolve_id(&tx, name_or_id)?
                .ok_or_else(|| ImageError::NotFound(name_or_id.to_owned()))?;
            let rec = load_record(&tx, &id)?
                .ok_or_else(|| ImageError::NotFound(name_or_id.to_owned()))?;
            let by_name = by_name(&tx, name_or_id)?;
            let users: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT container_id FROM rootfs WHERE image_id = ?1 ORDER BY container_id",
                )?;
                let v = stmt
                    .query_map([&id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                v
            };
            if let Some(name) = &by_name {
                if rec.names.len() > 1 {
                    tx.execute("DELETE FROM image_names WHERE name = ?1", [name])?;
                    tx.commit()?;
                    return Ok(vec![RemovedItem::Untagged(untagged_display(name))]);
                }
                if !users.is_empty() && !force {
                    return Err(ImageError::InUseByName {
                        name: name_or_id.to_owned(),
                        container: short_id(&users[0]),
                        image: digest::short(&rec.id),
                    });
                }
            } else {
                if rec.names.len() > 1 && !force {
                    return Err(ImageError::MultipleRepositories {
                        image: digest::short(&rec.id),
                    });
                }
                if !users.is_empty() && !force {
                    return Err(ImageError::InUseById {
                        image: digest::short(&rec.id),
                        container: short_id(&users[0]),
                    });
                }
            }
            for n in &rec.names {
                removed.push(RemovedItem::Untagged(untagged_display(n)));
            }
            tx.execute("DELETE FROM images WHERE id = ?1", [&id])?;
            tx.commit()?;
            removed.push(RemovedItem::Deleted(id.clone()));
            deleted_id = rec;
        }
        self.collect_garbage(&deleted_id)?;
        Ok(removed)
    }

    /// Deletes the blobs and layer directories of a removed image that nothing else
    /// (another image, a container root filesystem) refers to. Caller holds gc_lock.
    fn collect_garbage(&self, gone: &ImageRecord) -> Result<(), ImageError> {
        let mut candidates = vec![gone.manifest_digest.clone(), gone.id.clone()];
        candidates.extend(gone.layers.iter().cloned());
        let (dead_blobs, dead_layers) = {
            let conn = self.conn();
            let mut dead_blobs = Vec::new();
            let mut dead_layers = Vec::new();
            let rootfs_lowers = all_rootfs_lowers(&conn)?;
            for d in candidates {
                let s = d.to_string();
                let used: i64 = conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest_digest = ?1)
                          + (SELECT COUNT(*) FROM image_layers WHERE layer_digest = ?1)",
                    [&s],
                    |r| r.get(0),
                )?;
                if used == 0 {
                    conn.execute("DELETE FROM layers WHERE digest = ?1", [&s])?;
                    if !rootfs_lowers.contains(&s) {
                        dead_layers.push(d.clone());
                    }
                    dead_blobs.push(d);
                }
            }
            (dead_blobs, dead_layers)
        };
        for d in &dead_blobs {
            self.delete_blob(d);
        }
        for d in &dead_layers {
            self.delete_layer_dir(d);
        }
        Ok(())
    }

    /// Deletes blobs (and their layer dirs) that no image or root filesystem refers to;
    /// used to undo what a failed load or import wrote.
    pub(crate) fn delete_unreferenced_blobs(&self, blobs: &[Digest]) {
        if blobs.is_empty() {
            return;
        }
        let Ok(_gc) = self.gc_lock() else {
            return;
        };
        let dead: Vec<Digest> = {
            let conn = self.conn();
            let Ok(lowers) = all_rootfs_lowers(&conn) else {
                return;
            };
            blobs
                .iter()
                .filter(|d| {
                    let s = d.to_string();
                    let used: i64 = conn
                        .query_row(
                            "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest_digest = ?1)
                                  + (SELECT COUNT(*) FROM image_layers WHERE layer_digest = ?1)",
                            [&s],
                            |r| r.get(0),
                        )
                        .unwrap_or(1);
                    used == 0 && !lowers.contains(&s)
                })
                .cloned()
                .collect()
        };
        for d in &dead {
            self.delete_blob(d);
            self.delete_layer_dir(d);
        }
    }

    /// After a container root filesystem is gone: delete layer directories that
    /// neither an image nor another root filesystem uses.
    pub(crate) fn collect_layer_dirs(&self, lowers: &[String]) -> Result<(), ImageError> {
        let _gc = self.gc_lock()?;
        let dead: Vec<Digest> = {
            let conn = self.conn();
            let rootfs_lowers = all_rootfs_lowers(&conn)?;
            let mut dead = Vec::new();
            for s in lowers {
                let used: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM image_layers WHERE layer_digest = ?1",
                    [s],
                    |r| r.get(0),
                )?;
                if used == 0 && !rootfs_lowers.contains(s) {
                    dead.push(digest::parse(s)?);
                }
            }
            dead
        };
        for d in &dead {
            self.delete_layer_dir(d);
        }
        Ok(())
    }
}

fn all_rootfs_lowers(conn: &Connection) -> Result<BTreeSet<String>, ImageError> {
    let mut stmt = conn.prepare("SELECT lowers FROM rootfs")?;
    let mut set = BTreeSet::new();
    for l in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let v: Vec<String> =
            serde_json::from_str(&l?).map_err(|e| ImageError::json("rootfs lowers", e))?;
        set.extend(v);
    }
    Ok(set)
}

fn short_id(container: &str) -> String {
    container.chars().take(12).collect()
}

fn untagged_display(name: &str) -> String {
    names::display_name(name)
}

/// The stored name `s` designates, if it is a (tag) name of an existing image.
fn by_name(conn: &Connection, s: &str) -> Result<Option<String>, ImageError> {
    let Ok(p) = names::parse(s) else {
        return Ok(None);
    };
    if p.digest.is_some() {
        return Ok(None);
    }
    let name = p.tagged();
    let found: Option<String> = conn
        .query_row(
            "SELECT name FROM image_names WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found)
}

/// Resolves a name, name@digest, id or id prefix to an image id.
fn resolve_id(conn: &Connection, s: &str) -> Result<Option<String>, ImageError> {
    if let Ok(p) = names::parse(s) {
        if let Some(d) = &p.digest {
            let id: Option<String> = conn
                .query_row(
                    "SELECT id FROM images WHERE manifest_digest = ?1 OR id = ?1 LIMIT 1",
                    [d],
                    |r| r.get(0),
                )
                .optional()?;
            return Ok(id);
        }
        let id: Option<String> = conn
            .query_row(
                "SELECT image_id FROM image_names WHERE name = ?1",
                [p.tagged()],
                |r| r.get(0),
            )
            .optional()?;
        if id.is_some() {
            return Ok(id);
        }
    }
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    if hex.is_empty()
        || hex.len() > 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare_cached("SELECT id FROM images WHERE substr(id, 8, ?2) = ?1 LIMIT 2")?;
    let ids: Vec<String> = stmt
        .query_map(params![hex, hex.len() as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.into_iter().next()),
        _ => Err(ImageError::Ambiguous(format!(
            "multiple images found with provided prefix: {hex}"
        ))),
    }
}
