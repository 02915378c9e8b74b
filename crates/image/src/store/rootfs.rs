//! Container root filesystems: an overlay of the image's layer directories plus a
//! fresh upper directory. The (container → image) row is what makes `rmi` refuse.

use super::layer::compression_of;
use super::Store;
use crate::error::IoContext;
use crate::{digest, overlay, ImageError, ImageRecord};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Where a container's root filesystem lives. `lowers` are top layer first.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RootfsLayout {
    pub lowers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

fn validate_container_id(id: &str) -> Result<(), ImageError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ImageError::Invalid(format!(
            "invalid container id {id:?}: use letters, digits, '_', '-', '.'"
        )))
    }
}

impl Store {
    fn rootfs_dir(&self, container_id: &str) -> PathBuf {
        self.root.join("rootfs").join(container_id)
    }

    fn layout_for(
        &self,
        container_id: &str,
        lowers: &[String],
    ) -> Result<RootfsLayout, ImageError> {
        let dir = self.rootfs_dir(container_id);
        let mut lower_dirs: Vec<PathBuf> = lowers
            .iter()
            .map(|s| digest::parse(s).map(|d| self.layer_dir(&d)))
            .collect::<Result<_, _>>()?;
        if lower_dirs.is_empty() {
            // overlayfs needs a lower layer: an image without layers gets an empty one.
            lower_dirs.push(self.image_dir.join("empty"));
        }
        Ok(RootfsLayout {
            lowers: lower_dirs,
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
        })
    }

    /// Prepares the root filesystem of a container from an image: unpacks missing
    /// layers, records that the container uses the image, makes upper/work/merged.
    pub fn create_rootfs(
        &self,
        container_id: &str,
        img: &ImageRecord,
    ) -> Result<RootfsLayout, ImageError> {
        validate_container_id(container_id)?;
        let manifest = self.manifest(img)?;
        let config = self.config(img)?;
        let diff_ids = config.rootfs().diff_ids();
        let mut lowers = Vec::new();
        for (i, layer) in manifest.layers().iter().enumerate() {
            let compression = compression_of(layer)?;
            self.ensure_unpacked(
                layer.digest(),
                compression,
                diff_ids.get(i).map(String::as_str),
            )?;
            lowers.push(layer.digest().to_string());
        }
        lowers.reverse();
        let lowers_json = serde_json::to_string(&lowers).expect("serializable");
        {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM images WHERE id = ?1",
                    [img.id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Err(ImageError::NotFound(img.id.to_string()));
            }
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM rootfs WHERE container_id = ?1",
                    [container_id],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(ImageError::Invalid(format!(
                    "a root filesystem for container {container_id} already exists"
                )));
            }
            tx.execute(
                "INSERT INTO rootfs (container_id, image_id, lowers, created) VALUES (?1, ?2, ?3, ?4)",
                params![
                    container_id,
                    img.id.to_string(),
                    lowers_json,
                    chrono::Utc::now().to_rfc3339()
                ],
            )?;
            tx.commit()?;
        }
        let layout = self.layout_for(container_id, &lowers)?;
        let made = (|| {
            let dir = self.rootfs_dir(container_id);
            // Leftovers of a crash before the record was written: unmount (never delete
            // through a mount), then start afresh.
            overlay::unmount_if_mounted(&layout.merged)?;
            if overlay::is_mountpoint(&layout.merged) {
                return Err(ImageError::Invalid(format!(
                    "{} is still mounted",
                    layout.merged.display()
                )));
            }
            remove_tree(&dir)?;
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .ctx(|| format!("create {}", dir.display()))?;
            for (p, mode) in [
                (&layout.upper, 0o755),
                (&layout.work, 0o700),
                (&layout.merged, 0o755),
            ] {
                fs::DirBuilder::new()
                    .mode(mode)
                    .create(p)
                    .ctx(|| format!("create {}", p.display()))?;
            }
            Ok::<_, ImageError>(())
        })();
        if let Err(e) = made {
            if !overlay::is_mountpoint(&layout.merged) {
                let _ = fs::remove_dir_all(self.rootfs_dir(container_id));
            }
            let _ = self
                .conn()
                .execute("DELETE FROM rootfs WHERE container_id = ?1", [container_id]);
            return Err(e);
        }
        Ok(layout)
    }

    fn rootfs_row(&self, container_id: &str) -> Result<Option<(String, Vec<String>)>, ImageError> {
        validate_container_id(container_id)?;
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT image_id, lowers FROM rootfs WHERE container_id = ?1",
                [container_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((image, lowers)) => {
                let lowers: Vec<String> = serde_json::from_str(&lowers)
                    .map_err(|e| ImageError::json("rootfs lowers", e))?;
                Ok(Some((image, lowers)))
            }
        }
    }

    /// The image (id) a container root filesystem was made from.
    pub fn rootfs_image_id(&self, container_id: &str) -> Result<String, ImageError> {
        let (image, _) = self.rootfs_row(container_id)?.ok_or_else(|| {
            ImageError::Invalid(format!("no root filesystem for container {container_id}"))
        })?;
        Ok(image)
    }

    /// The layout of an existing container root filesystem.
    pub fn rootfs_layout(&self, container_id: &str) -> Result<RootfsLayout, ImageError> {
        let (_, lowers) = self.rootfs_row(container_id)?.ok_or_else(|| {
            ImageError::Invalid(format!("no root filesystem for container {container_id}"))
        })?;
        self.layout_for(container_id, &lowers)
    }

    /// Mounts the overlay at `merged` (idempotent) and returns `merged`.
    pub fn mount_rootfs(&self, container_id: &str) -> Result<PathBuf, ImageError> {
        let layout = self.rootfs_layout(container_id)?;
        if overlay::is_mountpoint(&layout.merged) {
            return Ok(layout.merged);
        }
        for l in &layout.lowers {
            if !l.is_dir() {
                return Err(ImageError::Invalid(format!(
                    "layer directory {} of container {container_id} is missing",
                    l.display()
                )));
            }
        }
        overlay::mount(&layout.lowers, &layout.upper, &layout.work, &layout.merged)?;
        Ok(layout.merged)
    }

    pub fn unmount_rootfs(&self, container_id: &str) -> Result<(), ImageError> {
        let layout = self.rootfs_layout(container_id)?;
        overlay::unmount_if_mounted(&layout.merged)
    }

    /// Unmounts, deletes the directories and the record; a no-op if already gone.
    pub fn remove_rootfs(&self, container_id: &str) -> Result<(), ImageError> {
        validate_container_id(container_id)?;
        let dir = self.rootfs_dir(container_id);
        let merged = dir.join("merged");
        overlay::unmount_if_mounted(&merged)?;
        if overlay::is_mountpoint(&merged) {
            return Err(ImageError::Invalid(format!(
                "{} is still mounted",
                merged.display()
            )));
        }
        remove_tree(&dir)?;
        let row = self.rootfs_row(container_id)?;
        self.conn()
            .execute("DELETE FROM rootfs WHERE container_id = ?1", [container_id])?;
        if let Some((_, lowers)) = row {
            self.collect_layer_dirs(&lowers)?;
        }
        Ok(())
    }
}

fn remove_tree(dir: &Path) -> Result<(), ImageError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ImageError::io(format!("remove {}", dir.display()), e)),
    }
}
