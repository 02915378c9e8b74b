//! Volumes: named volumes under the data root, bind mounts, tmpfs.
//!
//! A volume of the local driver is the directory <root>/volumes/<name>/_data; with the
//! options type/device/o it is instead a mount of that device there (tmpfs, bind, ...)
//! made while a container uses it, as Docker's local driver does.

mod copyup;
mod error;
mod parse;
mod store;

pub use error::VolumeError;
pub use parse::{
    parse_mount_flag, parse_size, parse_volume_flag, valid_volume_name, MountKind, MountRequest,
};

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::Mount;
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Label Docker puts on anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// A volume as stored and shown by `volume inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    /// The host directory containers see (…/_data).
    pub mountpoint: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// RFC 3339, seconds.
    pub created_at: String,
    pub scope: String,
    /// Created for an image VOLUME or `-v /path`: removed by `rm -v` and `volume prune`.
    pub anonymous: bool,
    /// Ids of the containers using it.
    pub containers: Vec<String>,
}

pub struct VolumeManager {
    root: PathBuf,
    conn: Mutex<Connection>,
}

fn random_name() -> String {
    let mut buf = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `path` is a mount point, from /proc/self/mountinfo.
fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .any(|m| m.replace("\\040", " ") == want)
}

fn bind_mount(source: &Path, target: &str, options: Vec<String>) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(target));
    m.set_typ(Some("bind".into()));
    m.set_source(Some(source.to_path_buf()));
    m.set_options(Some(options));
    m
}

const LOCAL_OPTS: &[&str] = &["type", "device", "o", "size"];

impl VolumeManager {
    pub fn open(root: &Path) -> Result<VolumeManager, VolumeError> {
        let conn = store::open(root)?;
        let dir = root.join("volumes");
        std::fs::create_dir_all(&dir).map_err(|e| VolumeError::io(dir.display().to_string(), e))?;
        Ok(VolumeManager {
            root: root.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.root.join("volumes").join(name)
    }

    /// `volume create`. Without a name a random one is made. Creating an existing volume
    /// returns it, as Docker does.
    pub fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        opts: &[(String, String)],
        labels: &[(String, String)],
    ) -> Result<VolumeRecord, VolumeError> {
        self.create_inner(name, driver, opts, labels, false)
    }

    fn create_inner(
        &self,
        name: Option<&str>,
        driver: &str,
        opts: &[(String, String)],
        labels: &[(String, String)],
        anonymous: bool,
    ) -> Result<VolumeRecord, VolumeError> {
        if !driver.is_empty() && driver != "local" {
            return Err(VolumeError::UnknownDriver(driver.to_string()));
        }
        for (k, _) in opts {
            if !LOCAL_OPTS.contains(&k.as_str()) {
                return Err(VolumeError::InvalidOption(format!(
                    "invalid option key: {k:?}"
                )));
            }
        }
        let options: BTreeMap<String, String> = opts.iter().cloned().collect();
        if options.contains_key("device") != options.contains_key("type")
            && !options
                .get("o")
                .is_some_and(|o| o.split(',').any(|f| f == "bind"))
        {
            return Err(VolumeError::InvalidOption(
                "the \"type\" and \"device\" options go together".into(),
            ));
        }
        let name = match name {
            Some(n) => {
                if !valid_volume_name(n) {
                    return Err(VolumeError::InvalidName {
                        name: n.to_string(),
                        reason: format!("\"{n}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
                    });
                }
                n.to_string()
            }
            None => random_name(),
        };
        let mut labels: BTreeMap<String, String> = labels.iter().cloned().collect();
        if anonymous {
            labels.insert(ANONYMOUS_LABEL.into(), String::new());
        }
        let mut conn = self.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(v) = store::get(&tx, &name)? {
            return Ok(v);
        }
        let dir = self.volume_dir(&name);
        let data = dir.join("_data");
        std::fs::create_dir_all(&data)
            .map_err(|e| VolumeError::io(data.display().to_string(), e))?;
        let rec = VolumeRecord {
            name: name.clone(),
            driver: "local".into(),
            mountpoint: data.display().to_string(),
            labels,
            options,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            scope: "local".into(),
            anonymous,
            containers: Vec::new(),
        };
        if let Err(e) = store::insert(&tx, &rec).and_then(|_| Ok(tx.commit()?)) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(rec)
    }

    pub fn list(&self) -> Result<Vec<VolumeRecord>, VolumeError> {
        store::list(&self.db())
    }

    pub fn inspect(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        store::get(&self.db(), name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))
    }

    /// `volume rm`: refused while a container uses it; with `force` a missing volume is no error.
    pub fn remove(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        let mut conn = self.db();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(v) = store::get(&tx, name)? else {
            return if force {
                Ok(())
            } else {
                Err(VolumeError::NotFound(name.to_string()))
            };
        };
        if !v.containers.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: v.containers.join(", "),
            });
        }
        let data = PathBuf::from(&v.mountpoint);
        if is_mounted(&data) {
            umount2(&data, MntFlags::MNT_DETACH).map_err(|e| VolumeError::Mount {
                volume: name.into(),
                source: e.into(),
            })?;
        }
        let dir = self.volume_dir(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(VolumeError::io(dir.display().to_string(), e)),
        }
        store::delete(&tx, name)?;
        tx.commit()?;
        Ok(())
    }

    /// `volume prune`: unused anonymous volumes, or every unused volume with `all`.
    pub fn prune(&self, all: bool) -> Result<Vec<String>, VolumeError> {
        let mut removed = Vec::new();
        for v in self.list()? {
            if v.containers.is_empty() && (all || v.anonymous) {
                match self.remove(&v.name, true) {
                    Ok(()) => removed.push(v.name),
                    Err(VolumeError::InUse { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    /// Mounts a volume with device options on its _data directory if not mounted yet.
    fn mount_device(&self, v: &VolumeRecord) -> Result<(), VolumeError> {
        if !v.options.contains_key("device") && !v.options.contains_key("type") {
            return Ok(());
        }
        let data = PathBuf::from(&v.mountpoint);
        if is_mounted(&data) {
            return Ok(());
        }
        let fail = |e: nix::errno::Errno| VolumeError::Mount {
            volume: v.name.clone(),
            source: e.into(),
        };
        let o = v.options.get("o").cloned().unwrap_or_default();
        let mut flags = MsFlags::empty();
        let mut data_opts = Vec::new();
        for f in o.split(',').filter(|f| !f.is_empty()) {
            match f {
                "bind" => flags |= MsFlags::MS_BIND,
                "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
                "ro" => flags |= MsFlags::MS_RDONLY,
                "nosuid" => flags |= MsFlags::MS_NOSUID,
                "nodev" => flags |= MsFlags::MS_NODEV,
                "noexec" => flags |= MsFlags::MS_NOEXEC,
                other => data_opts.push(other.to_string()),
            }
        }
        if let Some(size) = v.options.get("size") {
            data_opts.push(format!("size={size}"));
        }
        let device = v
            .options
            .get("device")
            .cloned()
            .unwrap_or_else(|| "none".into());
        let fstype = v.options.get("type").cloned();
        let data_str = data_opts.join(",");
        mount(
            Some(device.as_str()),
            &data,
            fstype
                .as_deref()
                .filter(|_| !flags.contains(MsFlags::MS_BIND)),
            flags,
            (!data_str.is_empty()).then_some(data_str.as_str()),
        )
        .map_err(fail)
    }

    /// Turns a container's mount requests and its image's VOLUMEs into OCI mounts:
    /// named volumes are created on first use, a new empty volume gets the image's content
    /// at its path, anonymous volumes back the image's VOLUMEs, bind sources are checked.
    /// Records which container uses which volume. On error nothing is left referenced.
    pub fn resolve(
        &self,
        container_id: &str,
        reqs: &[MountRequest],
        image_volumes: &[String],
        image_rootfs: &Path,
    ) -> Result<Vec<Mount>, VolumeError> {
        let mut created_anon = Vec::new();
        match self.resolve_inner(
            container_id,
            reqs,
            image_volumes,
            image_rootfs,
            &mut created_anon,
        ) {
            Ok(m) => Ok(m),
            Err(e) => {
                let _ = self.release_names(container_id, &created_anon);
                Err(e)
            }
        }
    }

    fn release_names(&self, container_id: &str, anon: &[String]) -> Result<(), VolumeError> {
        self.release(container_id, false)?;
        for n in anon {
            let _ = self.remove(n, true);
        }
        Ok(())
    }

    fn resolve_inner(
        &self,
        container_id: &str,
        reqs: &[MountRequest],
        image_volumes: &[String],
        image_rootfs: &Path,
        created_anon: &mut Vec<String>,
    ) -> Result<Vec<Mount>, VolumeError> {
        let norm = |p: &str| {
            let t = p.trim_end_matches('/');
            if t.is_empty() {
                "/".to_string()
            } else {
                t.to_string()
            }
        };
        let mut all: Vec<MountRequest> = reqs.to_vec();
        for iv in image_volumes {
            if !all.iter().any(|r| norm(&r.target) == norm(iv)) {
                let mut r = parse_volume_flag(iv).map_err(|_| VolumeError::InvalidSpec {
                    spec: iv.clone(),
                    reason: "image VOLUME must be an absolute path".into(),
                })?;
                r.kind = MountKind::Volume;
                all.push(r);
            }
        }
        let mut mounts = Vec::new();
        for r in &all {
            let access = if r.read_only { "ro" } else { "rw" };
            match r.kind {
                MountKind::Bind => {
                    let src = PathBuf::from(r.source.as_deref().unwrap_or_default());
                    if !src.exists() {
                        if r.create_source {
                            std::fs::create_dir_all(&src)
                                .map_err(|e| VolumeError::io(src.display().to_string(), e))?;
                        } else {
                            return Err(VolumeError::BindSourceMissing(src.display().to_string()));
                        }
                    }
                    let prop = r.propagation.clone().unwrap_or_else(|| "rprivate".into());
                    mounts.push(bind_mount(
                        &src,
                        &r.target,
                        vec!["rbind".into(), access.into(), prop],
                    ));
                }
                MountKind::Tmpfs => {
                    let mut opts = vec![
                        "nosuid".to_string(),
                        "nodev".into(),
                        "noexec".into(),
                        access.into(),
                    ];
                    if let Some(s) = r.tmpfs_size {
                        opts.push(format!("size={s}"));
                    }
                    if let Some(m) = r.tmpfs_mode {
                        opts.push(format!("mode={m:o}"));
                    }
                    let mut m = Mount::default();
                    m.set_destination(PathBuf::from(&r.target));
                    m.set_typ(Some("tmpfs".into()));
                    m.set_source(Some(PathBuf::from("tmpfs")));
                    m.set_options(Some(opts));
                    mounts.push(m);
                }
                MountKind::Volume => {
                    let v = match &r.source {
                        Some(name) => self.create_inner(
                            Some(name),
                            r.volume_driver.as_deref().unwrap_or("local"),
                            &r.volume_opts,
                            &r.volume_labels,
                            false,
                        )?,
                        None => {
                            let v = self.create_inner(
                                None,
                                "local",
                                &r.volume_opts,
                                &r.volume_labels,
                                true,
                            )?;
                            created_anon.push(v.name.clone());
                            v
                        }
                    };
                    store::add_ref(&self.db(), &v.name, container_id)?;
                    self.mount_device(&v)?;
                    if !r.nocopy {
                        self.copy_up_once(&v, image_rootfs, &r.target)?;
                    }
                    mounts.push(bind_mount(
                        Path::new(&v.mountpoint),
                        &r.target,
                        vec!["rbind".into(), access.into(), "rprivate".into()],
                    ));
                }
            }
        }
        // Parents before children, as Docker orders them.
        mounts.sort_by_key(|m| m.destination().components().count());
        Ok(mounts)
    }

    /// Fills an empty volume from the image, under a lock on the volume's directory so
    /// two containers starting together do not copy twice.
    fn copy_up_once(
        &self,
        v: &VolumeRecord,
        rootfs: &Path,
        target: &str,
    ) -> Result<(), VolumeError> {
        let dir = self.volume_dir(&v.name);
        let f =
            std::fs::File::open(&dir).map_err(|e| VolumeError::io(dir.display().to_string(), e))?;
        let _lock = Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| VolumeError::io(dir.display().to_string(), e.into()))?;
        let data = Path::new(&v.mountpoint);
        let fail = |e| VolumeError::CopyUp {
            volume: v.name.clone(),
            path: target.to_string(),
            source: e,
        };
        if !copyup::is_empty_dir(data).map_err(fail)? {
            return Ok(());
        }
        copyup::copy_up(rootfs, target, data).map_err(fail)?;
        Ok(())
    }

    /// Drops a container's volume references (`rm`); with `remove_anonymous` (`rm -v`)
    /// its anonymous volumes that no other container uses are removed.
    pub fn release(&self, container_id: &str, remove_anonymous: bool) -> Result<(), VolumeError> {
        let names = store::drop_refs(&self.db(), container_id)?;
        for n in names {
            let Some(v) = store::get(&self.db(), &n)? else {
                continue;
            };
            if !v.containers.is_empty() {
                continue;
            }
            if remove_anonymous && v.anonymous {
                self.remove(&n, true)?;
            } else if v.options.contains_key("type") || v.options.contains_key("device") {
                let data = PathBuf::from(&v.mountpoint);
                if is_mounted(&data) {
                    let _ = umount2(&data, MntFlags::MNT_DETACH);
                }
            }
        }
        Ok(())
    }
}
