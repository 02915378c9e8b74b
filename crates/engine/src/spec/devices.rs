//! Devices: Docker's device cgroup allow list, `--device`, `--device-cgroup-rule`, and
//! every host device for `--privileged`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::error::SpecError;
use super::options::DeviceMapping;

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup, SpecError> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// The device cgroup rules of an unprivileged Docker container: deny all, allow the
/// standard character devices, deny /dev/fuse, then what runc adds to every container
/// (mknod of anything, /dev/full, ptys, tun). Order matters on cgroup v1: a deny cannot
/// follow a wildcard allow.
pub fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    use LinuxDeviceType::{A, B, C};
    Ok(vec![
        rule(false, A, None, None, "rwm")?,
        rule(true, C, Some(1), Some(5), "rwm")?,     // zero
        rule(true, C, Some(1), Some(3), "rwm")?,     // null
        rule(true, C, Some(1), Some(9), "rwm")?,     // urandom
        rule(true, C, Some(1), Some(8), "rwm")?,     // random
        rule(true, C, Some(5), Some(0), "rwm")?,     // tty
        rule(true, C, Some(5), Some(1), "rwm")?,     // console
        rule(false, C, Some(10), Some(229), "rwm")?, // fuse
        rule(true, C, None, None, "m")?,
        rule(true, B, None, None, "m")?,
        rule(true, C, Some(1), Some(7), "rwm")?,    // full
        rule(true, C, Some(136), None, "rwm")?,     // pts
        rule(true, C, Some(5), Some(2), "rwm")?,    // ptmx
        rule(true, C, Some(10), Some(200), "rwm")?, // net/tun
    ])
}

/// Everything allowed (privileged containers).
pub fn allow_all_rule() -> Result<LinuxDeviceCgroup, SpecError> {
    rule(true, LinuxDeviceType::A, None, None, "rwm")
}

/// `--device-cgroup-rule 'c 1:3 rwm'` (`*` for any major or minor).
pub fn parse_device_cgroup_rule(s: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    const FLAG: &str = "--device-cgroup-rule";
    let bad = || SpecError::flag(FLAG, s, "invalid device cgroup rule format");
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [t, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let typ = match *t {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (maj, min) = numbers.split_once(':').ok_or_else(bad)?;
    let num = |x: &str| -> Result<Option<i64>, SpecError> {
        if x == "*" {
            Ok(None)
        } else {
            x.parse().map(Some).map_err(|_| bad())
        }
    };
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(bad());
    }
    rule(true, typ, num(maj)?, num(min)?, access)
}

fn major(dev: u64) -> i64 {
    nix::sys::stat::major(dev) as i64
}

fn minor(dev: u64) -> i64 {
    nix::sys::stat::minor(dev) as i64
}

/// The device node at `host` described for the container at `dest`, or None if `host` is not
/// a device.
fn device_at(host: &Path, dest: &Path) -> std::io::Result<Option<LinuxDevice>> {
    let md = std::fs::metadata(host)?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Ok(None);
    };
    let d = LinuxDeviceBuilder::default()
        .path(dest)
        .typ(typ)
        .major(major(md.rdev()))
        .minor(minor(md.rdev()))
        .file_mode(md.mode() & 0o777)
        .uid(md.uid())
        .gid(md.gid())
        .build()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Some(d))
}

/// Devices under a host directory, recursively, mapped below `dest`.
fn devices_under(host: &Path, dest: &Path, out: &mut Vec<LinuxDevice>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(host)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let hp = entry.path();
        let dp = dest.join(entry.file_name());
        if ft.is_dir() {
            // Per-container or kernel-managed trees the container gets its own of.
            let name = entry.file_name();
            if ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]
                .iter()
                .any(|n| name == *n)
            {
                continue;
            }
            devices_under(&hp, &dp, out)?;
        } else if ft.is_char_device() || ft.is_block_device() {
            if let Some(d) = device_at(&hp, &dp)? {
                out.push(d);
            }
        }
    }
    Ok(())
}

/// Every device under the host's /dev (for `--privileged`), except /dev/console and the
/// trees above.
pub fn host_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    let mut out = Vec::new();
    devices_under(Path::new("/dev"), Path::new("/dev"), &mut out)
        .map_err(|e| SpecError::io("/dev", e))?;
    out.retain(|d| d.path() != Path::new("/dev/console"));
    Ok(out)
}

/// One `--device`: the device node(s) and the cgroup rules allowing them.
pub fn mapped_devices(
    m: &DeviceMapping,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let gather_err = |e: std::io::Error| {
        SpecError::Invalid(format!(
            "error gathering device information while adding custom device {:?}: {}",
            m.path_on_host, e
        ))
    };
    let host = Path::new(&m.path_on_host);
    let dest = Path::new(&m.path_in_container);
    let md = std::fs::metadata(host).map_err(gather_err)?;
    let mut devs = Vec::new();
    if md.is_dir() {
        devices_under(host, dest, &mut devs).map_err(gather_err)?;
    } else {
        match device_at(host, dest).map_err(gather_err)? {
            Some(d) => devs.push(d),
            None => {
                return Err(SpecError::Invalid(format!(
                    "error gathering device information while adding custom device {:?}: not a device node",
                    m.path_on_host
                )))
            }
        }
    }
    let rules = devs
        .iter()
        .map(|d| {
            rule(
                true,
                d.typ(),
                Some(d.major()),
                Some(d.minor()),
                &m.cgroup_permissions,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((devs, rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_rule_syntax() {
        let r = parse_device_cgroup_rule("c 1:3 rwm").unwrap();
        assert_eq!((r.major(), r.minor()), (Some(1), Some(3)));
        let r = parse_device_cgroup_rule("b 8:* r").unwrap();
        assert_eq!((r.major(), r.minor()), (Some(8), None));
        let e = parse_device_cgroup_rule("x 1:3").unwrap_err();
        assert!(e.to_string().contains("--device-cgroup-rule"), "{e}");
    }

    #[test]
    fn device_mapping_of_dev_null() {
        let m = super::super::parse::parse_device("/dev/null:/dev/mynull:r").unwrap();
        let (d, r) = mapped_devices(&m).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path(), Path::new("/dev/mynull"));
        assert_eq!((d[0].major(), d[0].minor()), (1, 3));
        assert_eq!(r[0].access().as_deref(), Some("r"));
        let bad = super::super::parse::parse_device("/dev/nonexistent-berth").unwrap();
        let e = mapped_devices(&bad).unwrap_err();
        assert!(
            e.to_string().contains("error gathering device information"),
            "{e}"
        );
    }

    #[test]
    fn default_rules_deny_first_and_fuse_before_wildcards() {
        let r = default_device_rules().unwrap();
        assert!(!r[0].allow());
        assert_eq!(r[0].typ(), Some(LinuxDeviceType::A));
        let fuse = r.iter().position(|x| x.minor() == Some(229)).unwrap();
        assert!(!r[fuse].allow());
        let wildcard = r
            .iter()
            .position(|x| x.major().is_none() && x.allow())
            .unwrap();
        assert!(fuse < wildcard);
    }
}
