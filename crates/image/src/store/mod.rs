//! The image store under the data root:
//!
//! ```text
//! <root>/berth.db                      image records (and the engine's tables)
//! <root>/image/blobs/sha256/<hex>      content-addressed blobs, verified on write
//! <root>/image/layers/<hex>/           a layer unpacked for overlayfs (hex of the blob digest)
//! <root>/image/layers/<hex>.json       what unpacking learnt (diff_id, tar size)
//! <root>/image/tmp/                    temporary files and unpack dirs (same filesystem: rename)
//! <root>/image/locks/                  flock files: one per layer, plus gc.lock
//! <root>/rootfs/<container>/           upper, work, merged of a container's root filesystem
//! ```

mod blob;
mod commit;
mod image;
mod layer;
mod rootfs;

pub use blob::BlobWriter;
pub use commit::CommitOptions;
pub use image::{ImageRecord, RemovedItem};
pub(crate) use layer::compression_of as layer_compression;
pub use layer::LayerInfo;
pub use rootfs::RootfsLayout;

use crate::error::IoContext;
use crate::ImageError;
use rusqlite::Connection;
use rustix::fs::FlockOperation;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The content store and image records. Cheap to open; Send + Sync (the database
/// connection sits behind a mutex).
pub struct Store {
    root: PathBuf,
    image_dir: PathBuf,
    conn: Mutex<Connection>,
}

/// A held flock; released when dropped.
pub struct FileLock {
    _file: File,
}

impl Store {
    pub fn open(root: &Path) -> Result<Store, ImageError> {
        let image_dir = root.join("image");
        for d in ["blobs/sha256", "layers", "tmp", "locks", "empty"] {
            let p = image_dir.join(d);
            fs::create_dir_all(&p).ctx(|| format!("create {}", p.display()))?;
        }
        let rootfs = root.join("rootfs");
        fs::create_dir_all(&rootfs).ctx(|| format!("create {}", rootfs.display()))?;
        let conn = crate::db::open(root)?;
        Ok(Store {
            root: root.to_path_buf(),
            image_dir,
            conn: Mutex::new(conn),
        })
    }

    /// The data root this store lives under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.image_dir.join("tmp")
    }

    /// A fresh name in the store's temp dir (unique across processes and threads).
    pub(crate) fn tmp_path(&self, prefix: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        self.tmp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn lock(&self, name: &str, op: FlockOperation) -> Result<FileLock, ImageError> {
        let path = self.image_dir.join("locks").join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx(|| format!("open lock {}", path.display()))?;
        rustix::fs::flock(&file, op).ctx(|| format!("lock {}", path.display()))?;
        Ok(FileLock { _file: file })
    }

    /// Held (shared) while blobs are being written and referenced, so that a
    /// concurrent `remove` cannot delete a blob between "it exists" and "an image
    /// refers to it". Registry pulls should hold it from the first blob check to
    /// `register_image`.
    pub fn hold_blobs(&self) -> Result<FileLock, ImageError> {
        self.lock("gc.lock", FlockOperation::LockShared)
    }

    /// Exclusive counterpart of `hold_blobs`, held while unreferenced blobs are deleted.
    pub(crate) fn gc_lock(&self) -> Result<FileLock, ImageError> {
        self.lock("gc.lock", FlockOperation::LockExclusive)
    }
}

/// fsyncs a directory so a rename inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ImageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("fsync {}", dir.display()))
}
