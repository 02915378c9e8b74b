//! Where blobs came from (`registry/repository` per blob), so a push to another
//! repository of the same registry can mount them instead of uploading them again.
//! One small append-only file per blob under `<root>/registry-sources/`; losing it only
//! costs an upload.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct BlobSources {
    dir: PathBuf,
}

impl BlobSources {
    pub fn under(root: &Path) -> BlobSources {
        BlobSources {
            dir: root.join("registry-sources"),
        }
    }

    fn file(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        crate::reference::validate_digest(digest).ok()?;
        Some(self.dir.join(hex))
    }

    /// Notes that `digest` exists in `registry/repository`.
    pub fn record(&self, digest: &str, registry: &str, repository: &str) {
        let Some(f) = self.file(digest) else { return };
        let line = format!("{registry}/{repository}");
        if self.lookup(digest).contains(&line) {
            return;
        }
        let _ = std::fs::create_dir_all(&self.dir);
        if let Ok(mut fh) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            let _ = fh.write_all(format!("{line}\n").as_bytes());
        }
    }

    /// Every `registry/repository` known to hold `digest`.
    pub fn lookup(&self, digest: &str) -> Vec<String> {
        self.file(digest)
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// A repository of `registry` other than `except` holding `digest`.
    pub fn mount_source(&self, digest: &str, registry: &str, except: &str) -> Option<String> {
        let prefix = format!("{registry}/");
        self.lookup(digest)
            .into_iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .find(|repo| repo != except)
    }
}
