//! Docker's default mounts, masked and read-only paths, and `--tmpfs` options.

use oci_spec::runtime::{Mount, MountBuilder};

use super::error::SpecError;

/// /proc entries a container cannot read (bind-mounted over with /dev/null or an empty
/// read-only tmpfs by the runtime).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths remounted read-only.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's /dev/shm size when `--shm-size` is not given: 64 MiB.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

pub(crate) fn mount(
    dest: &str,
    typ: &str,
    source: &str,
    options: &[&str],
) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// The mounts every container gets: /proc, /dev, /dev/pts, /sys, cgroups, /dev/mqueue and
/// (unless `shm` is None, for `--ipc none`/`host`) a /dev/shm tmpfs of `shm` bytes.
/// Privileged containers get /sys and the cgroup mount read-write.
pub fn default_mounts(privileged: bool, shm: Option<i64>) -> Result<Vec<Mount>, SpecError> {
    let ro = |rw: bool| if rw { "rw" } else { "ro" };
    let mut v = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", ro(privileged)],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", ro(privileged)],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
    ];
    if let Some(size) = shm {
        let size = format!("size={size}");
        v.push(mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &size],
        )?);
    }
    Ok(v)
}

/// Options of one `--tmpfs` mount: Docker's defaults (`noexec,nosuid,nodev`) overridden by
/// what the user gave (`exec` beats `noexec`, last one of a pair wins).
pub fn tmpfs_options(user: &str) -> Vec<String> {
    // Pairs of options where one cancels the other.
    const PAIRS: [(&str, &str); 6] = [
        ("ro", "rw"),
        ("exec", "noexec"),
        ("suid", "nosuid"),
        ("dev", "nodev"),
        ("atime", "noatime"),
        ("diratime", "nodiratime"),
    ];
    let key = |o: &str| -> String {
        if let Some((k, _)) = o.split_once('=') {
            return format!("{k}=");
        }
        for (a, b) in PAIRS {
            if o == a || o == b {
                return a.to_string();
            }
        }
        o.to_string()
    };
    let mut out: Vec<String> = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
    for o in user.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let k = key(o);
        out.retain(|x| key(x) != k);
        out.push(o.to_string());
    }
    out
}

/// One `--tmpfs PATH[:OPTS]` mount.
pub fn tmpfs_mount(path: &str, user_opts: &str) -> Result<Mount, SpecError> {
    let opts = tmpfs_options(user_opts);
    let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
    mount(path, "tmpfs", "tmpfs", &refs)
}

/// A bind mount of a file the engine wrote (hosts, resolv.conf, hostname).
pub fn bind_file(dest: &str, source: &std::path::Path) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(vec!["rbind".to_string(), "rprivate".to_string()])
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_defaults_and_overrides() {
        assert_eq!(tmpfs_options(""), ["noexec", "nosuid", "nodev"]);
        assert_eq!(
            tmpfs_options("exec,size=64m,mode=1777"),
            ["nosuid", "nodev", "exec", "size=64m", "mode=1777"]
        );
        assert_eq!(
            tmpfs_options("size=1m,size=2m"),
            ["noexec", "nosuid", "nodev", "size=2m"]
        );
    }

    #[test]
    fn default_mounts_match_docker() {
        let m = default_mounts(false, Some(DEFAULT_SHM_SIZE)).unwrap();
        let dests: Vec<String> = m
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        let pts = m[2].options().as_ref().unwrap();
        assert!(pts.contains(&"gid=5".to_string()) && pts.contains(&"mode=0620".to_string()));
        assert!(pts.contains(&"ptmxmode=0666".to_string()));
        assert!(m[3].options().as_ref().unwrap().contains(&"ro".to_string()));
        assert!(m[6]
            .options()
            .as_ref()
            .unwrap()
            .contains(&"size=67108864".to_string()));
        let p = default_mounts(true, None).unwrap();
        assert_eq!(p.len(), 6);
        assert!(p[3].options().as_ref().unwrap().contains(&"rw".to_string()));
    }
}
