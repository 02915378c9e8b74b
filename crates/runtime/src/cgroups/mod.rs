//! Cgroups v1, v2 and hybrid hosts: create, limit, freeze, stats, destroy.
//!
//! A [`Cgroup`] is one container's cgroup across every mounted hierarchy. On hybrid
//! hosts (v1 controllers plus cgroup2 at /sys/fs/cgroup/unified) each resource goes
//! to the v1 controller when one exists, else to the cgroup2 tree if it has the
//! controller (hugetlb on this host). Processes join every hierarchy, the cgroup2 one
//! included, so cgroup.kill and cgroup.procs there see them all.
//!
//! Call order for a container: `Cgroup::new` -> `create` -> `apply` (always, even
//! with `LinuxResources::default()` when the spec has none: it installs the device
//! rules, deny-all plus the runtime-spec defaults) -> `add_task(init pid)` (and for
//! every exec'd process) -> ... -> `kill_all` -> `destroy` once no task is left.
//! Later commands rebuild the same Cgroup from (cgroupsPath, id) with `new`, or from
//! the stored `hierarchy_dirs()` with `from_hierarchy_dirs` (needed for relative
//! paths if the later command may run in another cgroup).

mod bpf;
mod convert;
mod devices;
mod error;
mod freezer;
mod fsio;
mod hierarchy;
mod lifecycle;
mod path;
mod resources;
mod stats;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

pub use bpf::{device_program, load_device_program, BpfInsn};
pub use convert::{
    blkio_weight_to_io_weight, cpu_max, hugetlb_file_prefix, io_max_line, memory_swap_v2,
    shares_to_weight,
};
pub use devices::{allow_rules_for_devices, default_device_rules};
pub use error::CgroupError;
pub use hierarchy::{Hierarchies, UnifiedMount, V1Mount};
pub use stats::Stats;

/// How the host mounts its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Layout {
    /// Only v1 hierarchies.
    V1,
    /// Only the cgroup2 tree at /sys/fs/cgroup.
    V2,
    /// v1 controllers plus a cgroup2 tree at /sys/fs/cgroup/unified.
    Hybrid,
}

/// The host's cgroup layout, from /proc/self/mountinfo (read once per process).
pub fn host_layout() -> Result<Layout, CgroupError> {
    Ok(Hierarchies::host()?.layout)
}

/// One container's directory in one v1 hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct V1Dir {
    pub(crate) name: String,
    pub(crate) controllers: Vec<String>,
    pub(crate) mount_point: PathBuf,
    pub(crate) dir: PathBuf,
}

/// The container's directory in the cgroup2 tree.
#[derive(Debug, Clone)]
pub(crate) struct UnifiedDir {
    pub(crate) mount_point: PathBuf,
    pub(crate) dir: PathBuf,
    /// Controllers the cgroup2 root offers.
    pub(crate) controllers: Vec<String>,
}

/// One container's cgroup across all hierarchies.
#[derive(Debug, Clone)]
pub struct Cgroup {
    path: String,
    layout: Layout,
    v1: Vec<V1Dir>,
    unified: Option<UnifiedDir>,
}

/// Where one controller's files live for this cgroup.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    /// The cgroup for `container_id` on this host. `cgroups_path` is linux.cgroupsPath:
    /// absolute = below every hierarchy root; relative = below the runtime's own cgroup;
    /// "slice:prefix:name" = the path systemd would use; None = "/berth-oci/<id>".
    pub fn new(cgroups_path: Option<&str>, container_id: &str) -> Result<Cgroup, CgroupError> {
        Self::with_hierarchies(Hierarchies::host()?, cgroups_path, container_id, None)
    }

    /// Like [`Cgroup::new`] on any set of hierarchies (tests use fake trees).
    /// `proc_self_cgroup` is /proc/self/cgroup's text, read from the kernel when None
    /// and the path is relative.
    pub fn with_hierarchies(
        h: &Hierarchies,
        cgroups_path: Option<&str>,
        container_id: &str,
        proc_self_cgroup: Option<&str>,
    ) -> Result<Cgroup, CgroupError> {
        let resolved = path::resolve(cgroups_path, container_id)?;
        let own = match (&resolved, proc_self_cgroup) {
            (path::CgroupPath::Absolute(_), _) => Vec::new(),
            (path::CgroupPath::Relative(_), Some(text)) => hierarchy::parse_proc_cgroup(text),
            (path::CgroupPath::Relative(_), None) => {
                let text = fsio::read_raw(Path::new("/proc/self/cgroup"))
                    .map_err(|e| CgroupError::io("reading", "/proc/self/cgroup", e))?;
                hierarchy::parse_proc_cgroup(&text)
            }
        };
        // Joins the resolved path to one hierarchy, below our own cgroup if relative.
        let join =
            |mount_point: &Path, mount_root: &str, name: &str| -> Result<PathBuf, CgroupError> {
                let mut rel = String::new();
                if let path::CgroupPath::Relative(_) = resolved {
                    let mine = own
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, p)| p.as_str())
                        .ok_or_else(|| {
                            CgroupError::Discovery(format!(
                                "/proc/self/cgroup has no entry for hierarchy {name:?}"
                            ))
                        })?;
                    let mine = if mount_root == "/" {
                        mine
                    } else {
                        mine.strip_prefix(mount_root).unwrap_or("")
                    };
                    rel.push_str(mine.trim_end_matches('/'));
                }
                rel.push_str(resolved.as_str());
                Ok(mount_point.join(rel.trim_start_matches('/')))
            };
        let mut v1 = Vec::with_capacity(h.v1.len());
        for m in &h.v1 {
            v1.push(V1Dir {
                name: m.name.clone(),
                controllers: m.controllers.clone(),
                mount_point: m.mount_point.clone(),
                dir: join(&m.mount_point, &m.root, &m.name)?,
            });
        }
        let unified = match &h.unified {
            Some(u) => Some(UnifiedDir {
                mount_point: u.mount_point.clone(),
                dir: join(&u.mount_point, &u.root, "")?,
                controllers: u.controllers.clone(),
            }),
            None => None,
        };
        Ok(Cgroup {
            path: resolved.as_str().to_owned(),
            layout: h.layout,
            v1,
            unified,
        })
    }

    /// Rebuilds a Cgroup from the pairs [`Cgroup::hierarchy_dirs`] returned (what a
    /// runtime stores in its state file), without consulting /proc/self/cgroup again.
    pub fn from_hierarchy_dirs(
        cgroups_path: &str,
        dirs: &[(String, PathBuf)],
    ) -> Result<Cgroup, CgroupError> {
        let h = Hierarchies::host()?;
        let mut v1 = Vec::new();
        let mut unified = None;
        for (name, dir) in dirs {
            if name.is_empty() {
                let u = h.unified.as_ref().ok_or_else(|| {
                    CgroupError::Discovery("state names a cgroup2 dir but none is mounted".into())
                })?;
                unified = Some(UnifiedDir {
                    mount_point: u.mount_point.clone(),
                    dir: dir.clone(),
                    controllers: u.controllers.clone(),
                });
            } else {
                let m = h.v1.iter().find(|m| &m.name == name).ok_or_else(|| {
                    CgroupError::Discovery(format!("hierarchy {name:?} is not mounted"))
                })?;
                v1.push(V1Dir {
                    name: name.clone(),
                    controllers: m.controllers.clone(),
                    mount_point: m.mount_point.clone(),
                    dir: dir.clone(),
                });
            }
        }
        Ok(Cgroup {
            path: cgroups_path.to_owned(),
            layout: h.layout,
            v1,
            unified,
        })
    }

    /// The resolved cgroups path ("/berth-oci/<id>", or the relative path given).
    pub fn cgroups_path(&self) -> &str {
        &self.path
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// (hierarchy name, directory) for every hierarchy; "" names the cgroup2 dir.
    pub fn hierarchy_dirs(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = self
            .v1
            .iter()
            .map(|d| (d.name.clone(), d.dir.clone()))
            .collect();
        if let Some(u) = &self.unified {
            out.push((String::new(), u.dir.clone()));
        }
        out
    }

    /// Directory of the v1 hierarchy holding `controller`, or of the cgroup2 tree if it
    /// offers `v2_name`. v1 wins on hybrid hosts.
    pub(crate) fn place(&self, controller: &str, v2_name: &str) -> Option<Place<'_>> {
        if let Some(d) = self
            .v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
        {
            return Some(Place::V1(&d.dir));
        }
        let u = self.unified.as_ref()?;
        u.controllers
            .iter()
            .any(|c| c == v2_name)
            .then_some(Place::V2(&u.dir))
    }

    pub(crate) fn unified_dir(&self) -> Option<&Path> {
        self.unified.as_ref().map(|u| u.dir.as_path())
    }

    /// Writes every limit in `r` (and the device rules, which default to the
    /// runtime-spec's minimal set when `r.devices` is absent).
    pub fn apply(&self, r: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
        resources::write(self, r, false)
    }

    /// Writes only the fields present in `r` (for `berth-oci update`).
    pub fn update(&self, r: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
        resources::write(self, r, true)
    }

    /// Statistics in the shape of runc's `events --stats` data.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        stats::collect(self)
    }

    /// How often the OOM killer killed a task in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        stats::oom_kill_count(self)
    }
}
