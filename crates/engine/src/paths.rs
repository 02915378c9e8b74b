//! Where things live under the data root.

use std::path::{Path, PathBuf};

/// The data root's layout for containers.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_owned(),
        }
    }
    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }
    /// `<root>/containers/<id>`: bundle, status, logs, hosts files, lock.
    pub fn container(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.container(id).join("bundle")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.container(id).join(format!("{id}-json.log"))
    }
    /// State root handed to an OCI runtime as `--root` (one per runtime binary name).
    pub fn runtime_root(&self, runtime: &Path) -> PathBuf {
        let name = runtime
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "runtime".into());
        self.root.join("runtime").join(name)
    }
    /// Rootfs used when a container has no image (`--rootfs DIR` is used directly).
    pub fn db(&self) -> PathBuf {
        self.root.join("berth.db")
    }
}
