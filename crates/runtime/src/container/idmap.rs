//! Writing uid_map/gid_map of a child in a new user namespace (done by the parent).

use oci_spec::runtime::{LinuxIdMapping, Spec};

use crate::error::{Context, Result};

fn lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

pub fn write(pid: i32, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let uids = linux
        .and_then(|l| l.uid_mappings().clone())
        .unwrap_or_default();
    let gids = linux
        .and_then(|l| l.gid_mappings().clone())
        .unwrap_or_default();
    // Without CAP_SETGID in the parent namespace (rootless) gid_map needs setgroups denied.
    if !nix::unistd::geteuid().is_root() {
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny").ctx("write setgroups")?;
    }
    std::fs::write(format!("/proc/{pid}/uid_map"), lines(&uids))
        .ctx("linux.uidMappings: write uid_map")?;
    std::fs::write(format!("/proc/{pid}/gid_map"), lines(&gids))
        .ctx("linux.gidMappings: write gid_map")?;
    Ok(())
}
