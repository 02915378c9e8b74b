//! After a reboot there is no daemon to notice: the first `berth` command that opens the
//! data root under a new kernel boot id reconciles it. Containers recorded as running
//! become exited (their monitors are gone), leftover network state (addresses, ports,
//! DNS names of namespaces that no longer exist) is released, and the restart policy is
//! applied as Docker's daemon does when it starts: `always` containers start again,
//! `unless-stopped` ones too unless they had been stopped by hand.

use super::Engine;
use crate::lock::Lock;
use crate::monitor::config::STOP_MARKER;
use crate::monitor::RestartPolicy;
use crate::state::status::{self, Status};

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The file under the data root holding the boot id it was last reconciled for.
pub const BOOT_ID_FILE: &str = "boot_id";

impl Engine {
    /// Reconciles the data root once per boot (cheap when already done: one read).
    pub(super) fn reconcile_after_boot(&self) {
        let Ok(current) = std::fs::read_to_string(BOOT_ID) else {
            return;
        };
        let file = self.layout.root.join(BOOT_ID_FILE);
        if std::fs::read_to_string(&file).ok().as_deref() == Some(current.as_str()) {
            return;
        }
        let Ok(_lock) = Lock::exclusive(&self.layout.root.join("boot.lock")) else {
            return;
        };
        if std::fs::read_to_string(&file).ok().as_deref() == Some(current.as_str()) {
            return; // another berth did it while we waited
        }
        let first_use = !file.exists() && self.db.list().map(|l| l.is_empty()).unwrap_or(true);
        // Recorded first: containers started below open the root again.
        let tmp = file.with_extension("tmp");
        if std::fs::write(&tmp, &current)
            .and_then(|_| std::fs::rename(&tmp, &file))
            .is_err()
        {
            return;
        }
        if first_use {
            return;
        }
        self.reconcile_all();
    }

    /// Every container's state made true, network leftovers released, restart policies
    /// applied. Errors are logged: this runs on the way to the user's own command.
    pub fn reconcile_all(&self) {
        let Ok(records) = self.db.list() else { return };
        let mut to_start = Vec::new();
        for rec in &records {
            let dir = self.layout.container(&rec.id);
            let was_live = status::read(&dir)
                .map(|s| s.status.is_live())
                .unwrap_or(false);
            let st = self.live_state(rec);
            if st.status.is_live() {
                continue;
            }
            let stopped_by_hand = dir.join(STOP_MARKER).exists() || !was_live;
            let restart = match rec.config.restart {
                RestartPolicy::Always => true,
                RestartPolicy::UnlessStopped => !stopped_by_hand,
                _ => false,
            };
            if restart {
                to_start.push(rec.clone());
            }
        }
        if let Ok(nm) = crate::network::NetworkManager::open(&self.layout.root) {
            let running = |id: &str| {
                records.iter().any(|r| {
                    r.id == id
                        && matches!(
                            status::read(&self.layout.container(id)).map(|s| s.status),
                            Ok(Status::Running | Status::Paused | Status::Restarting)
                        )
                        && status::read(&self.layout.container(id))
                            .map(|s| status::monitor_alive(&s))
                            .unwrap_or(false)
                })
            };
            if let Err(e) = nm.reconcile(&running) {
                tracing::warn!("reconcile networks: {e}");
            }
        }
        for rec in to_start {
            if let Err(e) = self.start(&rec, false) {
                tracing::warn!("restart {} after boot: {e}", rec.name);
            }
        }
    }
}
