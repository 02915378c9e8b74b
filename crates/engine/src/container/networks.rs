//! `network connect` / `network disconnect` of a container: applied to the running
//! container at once and recorded, so that every later start joins the same networks
//! (as Docker does, also for a stopped container).

use super::Engine;
use crate::error::{EngineError, Result};
use crate::network::{NetworkError, NetworkManager, NetworkMode};
use crate::state::status::Status;
use crate::state::ContainerRecord;

fn net_err(e: NetworkError) -> EngineError {
    EngineError::Invalid(e.to_string())
}

impl Engine {
    fn network_manager(&self) -> Result<NetworkManager> {
        NetworkManager::open(&self.layout.root).map_err(net_err)
    }

    fn is_live(&self, rec: &ContainerRecord) -> bool {
        matches!(
            self.live_state(rec).status,
            Status::Running | Status::Paused | Status::Restarting
        )
    }

    /// The networks a container is recorded on, primary first.
    fn recorded_networks(rec: &ContainerRecord) -> Vec<String> {
        let primary = match NetworkMode::parse(&rec.config.network_mode) {
            NetworkMode::Default => Some("bridge".to_string()),
            NetworkMode::Named(n) => Some(n),
            _ => None,
        };
        primary
            .into_iter()
            .chain(rec.config.extra_networks.iter().cloned())
            .collect()
    }

    pub fn connect_network(
        &self,
        rec: &ContainerRecord,
        network: &str,
        aliases: &[String],
    ) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let rec = self.db.find(&rec.id)?;
        match NetworkMode::parse(&rec.config.network_mode) {
            NetworkMode::Default | NetworkMode::Named(_) => {}
            _ => {
                return Err(EngineError::Invalid(format!(
                    "container {} uses network mode {}: it cannot be connected to other networks",
                    rec.name, rec.config.network_mode
                )))
            }
        }
        let nm = self.network_manager()?;
        let net = nm.find(network).map_err(net_err)?;
        if net.driver != "bridge" {
            return Err(net_err(NetworkError::Unsupported {
                mode: net.name,
                what: "connecting a container after it was created".into(),
            }));
        }
        let recorded = Self::recorded_networks(&rec);
        let known = |n: &String| nm.find(n).map(|r| r.id == net.id).unwrap_or(false);
        if recorded.iter().any(known) {
            return Err(net_err(NetworkError::AlreadyConnected {
                container: rec.name.clone(),
                network: net.name,
            }));
        }
        if self.is_live(&rec) {
            nm.connect(&net.name, &rec.id, aliases).map_err(net_err)?;
        }
        let mut cfg = rec.config.clone();
        cfg.extra_networks.push(net.name.clone());
        for a in aliases {
            if !cfg.network_aliases.contains(a) {
                cfg.network_aliases.push(a.clone());
            }
        }
        self.db.update_config(&rec.id, &cfg)
    }

    pub fn disconnect_network(
        &self,
        rec: &ContainerRecord,
        network: &str,
        force: bool,
    ) -> Result<()> {
        let _lock = self.lock(&rec.id)?;
        let rec = self.db.find(&rec.id)?;
        let nm = self.network_manager()?;
        let net = nm.find(network).map_err(net_err)?;
        let same = |n: &String| nm.find(n).map(|r| r.id == net.id).unwrap_or(false);
        let recorded = Self::recorded_networks(&rec).iter().any(same);
        if self.is_live(&rec) {
            nm.disconnect(&net.name, &rec.id, force).map_err(net_err)?;
        } else if !recorded && !force {
            return Err(net_err(NetworkError::NotConnected {
                container: rec.name.clone(),
                network: net.name,
            }));
        }
        if !recorded {
            return Ok(());
        }
        let mut cfg = rec.config.clone();
        let before = cfg.extra_networks.len();
        cfg.extra_networks.retain(|n| !same(n));
        if cfg.extra_networks.len() == before {
            // The primary network: the next one takes its place, or none is left.
            cfg.network_mode = if cfg.extra_networks.is_empty() {
                "none".to_string()
            } else {
                cfg.extra_networks.remove(0)
            };
        }
        self.db.update_config(&rec.id, &cfg)
    }
}
