//! The container's cgroup as the lifecycle code uses it (a thin layer over
//! crate::cgroups::Cgroup that speaks this module's error type).

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use crate::cgroups::Cgroup;
use crate::error::Result;

pub struct ContainerCgroup {
    inner: Cgroup,
}

impl ContainerCgroup {
    /// Re-creatable from (cgroupsPath, id): later commands rebuild it from the state.
    pub fn new(cgroups_path: Option<&str>, id: &str) -> Result<Self> {
        Ok(Self {
            inner: Cgroup::new(cgroups_path, id)?,
        })
    }
    pub fn create(&self) -> Result<()> {
        Ok(self.inner.create()?)
    }
    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        Ok(self.inner.apply(r)?)
    }
    pub fn update(&self, r: &LinuxResources) -> Result<()> {
        Ok(self.inner.update(r)?)
    }
    pub fn add_task(&self, pid: i32) -> Result<()> {
        Ok(self.inner.add_task(pid)?)
    }
    pub fn pids(&self) -> Result<Vec<i32>> {
        Ok(self.inner.pids()?)
    }
    pub fn kill_all(&self, sig: i32) -> Result<()> {
        Ok(self.inner.kill_all(sig)?)
    }
    pub fn freeze(&self) -> Result<()> {
        Ok(self.inner.freeze()?)
    }
    pub fn thaw(&self) -> Result<()> {
        Ok(self.inner.thaw()?)
    }
    pub fn is_frozen(&self) -> bool {
        self.inner.is_frozen().unwrap_or(false)
    }
    pub fn stats(&self) -> Result<serde_json::Value> {
        let s = self.inner.stats()?;
        serde_json::to_value(s).map_err(|e| crate::error::msg(format!("encode stats: {e}")))
    }
    pub fn destroy(&self) -> Result<()> {
        Ok(self.inner.destroy()?)
    }
    pub fn hierarchy_dirs(&self) -> Vec<(String, PathBuf)> {
        self.inner.hierarchy_dirs()
    }
}
