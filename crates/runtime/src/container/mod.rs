//! The container lifecycle: create (clone the init), start, run, kill, delete, exec.

mod cgroup;
pub mod create;
pub mod delete;
pub mod exec;
mod idmap;
mod init;
pub mod kill;
mod relay;
pub mod run;
pub mod start;

pub use cgroup::ContainerCgroup;
pub use create::{create, CreateOpts, Created};

use std::path::Path;

use crate::error::Result;
use crate::state::{ContainerDir, Saved, Status};

/// An existing container: its locked state dir, saved state and live status.
pub struct Container {
    pub dir: ContainerDir,
    pub saved: Saved,
    pub status: Status,
}

impl Container {
    /// Opens `<root>/<id>`, failing with "container X does not exist" if absent.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        let dir = ContainerDir::open(root, id)?;
        let saved = dir
            .load()?
            .ok_or_else(|| crate::error::msg(format!("container {id} is still being created")))?;
        let cg = cgroup_of(&saved);
        let status = dir.status(&saved, || cg.as_ref().is_ok_and(|c| c.is_frozen()));
        Ok(Self { dir, saved, status })
    }

    pub fn cgroup(&self) -> Result<ContainerCgroup> {
        cgroup_of(&self.saved)
    }

    /// The runtime-spec state JSON with the live status.
    pub fn state_json(&self) -> serde_json::Value {
        self.saved.oci_state(self.status)
    }
}

fn cgroup_of(saved: &Saved) -> Result<ContainerCgroup> {
    ContainerCgroup::new(saved.cgroups_path.as_deref(), &saved.id)
}
