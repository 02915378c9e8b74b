//! Releasing what a container holds when it stops (mounts, network) and removing it.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::state::ContainerRecord;
use std::time::Duration;

impl Engine {
    /// After the container's processes are gone: unmount its root filesystem and release
    /// its network; with `remove`, also delete its files and record. Idempotent. Takes no
    /// lock: the monitor calls it (through `berth container-cleanup`) while a `stop` may
    /// hold the lock waiting for that monitor.
    pub fn cleanup(&self, rec: &ContainerRecord, remove: bool, volumes: bool) -> Result<()> {
        // The monitor deletes the runtime's container when it ends; only a leftover
        // (crash) still has a state directory.
        let rt = self.runtime_for(rec);
        if rt.root.join(&rec.id).exists() {
            let _ = rt.delete(&rec.id, true);
        }
        let mut first_err = None;
        if let Ok(nm) = crate::network::NetworkManager::open(&self.layout.root) {
            if let Err(e) = nm.teardown(&rec.id) {
                first_err.get_or_insert(EngineError::Other(format!("network teardown: {e}")));
            }
        }
        if rec.config.rootfs.is_none() {
            if let Ok(store) = self.image_store() {
                let r = if remove {
                    store.remove_rootfs(&rec.id)
                } else {
                    store.unmount_rootfs(&rec.id)
                };
                if let Err(e) = r {
                    first_err.get_or_insert(EngineError::Other(format!("root filesystem: {e}")));
                }
            }
        }
        if remove {
            if let Ok(vm) = crate::volume::VolumeManager::open(&self.layout.root) {
                if let Err(e) = vm.release(&rec.id, volumes) {
                    first_err.get_or_insert(EngineError::Other(format!("volumes: {e}")));
                }
            }
            let dir = self.layout.container(&rec.id);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| EngineError::io(format!("remove {}", dir.display()), e))?;
            }
            self.db.delete(&rec.id)?;
        }
        match first_err {
            Some(e) if remove => {
                tracing::warn!("clean-up of {}: {e}", rec.id);
                Ok(())
            }
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `rm [-f]`: a running container needs `-f` (it is killed first).
    pub fn remove(&self, rec: &ContainerRecord, force: bool, volumes: bool) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let st = self.live_state(rec);
        if st.status.is_live() {
            if !force {
                let what = if st.status == crate::state::Status::Paused {
                    "paused"
                } else {
                    "running"
                };
                return Err(EngineError::Conflict(format!(
                    "You cannot remove a {what} container {}. Stop the container before attempting removal or force remove",
                    rec.id
                )));
            }
            self.stop_locked(rec, Some(0), None)?;
        }
        self.wait_monitor_gone(rec, Some(Duration::from_secs(30)));
        self.cleanup(rec, true, volumes)
    }
}
