//! Parsing of a mount's `options` list into mount(2) flags, propagation changes,
//! mount_setattr(2) attributes and the filesystem data string.

use nix::mount::MsFlags;

use super::sys::{
    MountAttr, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};

/// mount(2)'s MS_NOSYMFOLLOW (Linux 5.10), which nix does not name.
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

/// A mount's options, split by how they are applied.
#[derive(Debug, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set with mount(2) (or, for bind mounts, to apply afterwards).
    pub flags: MsFlags,
    /// Flags the options explicitly clear ("rw", "suid", "dev", ...).
    pub cleared: MsFlags,
    /// Propagation changes in the order given, each with whether it is recursive.
    pub propagation: Vec<(MsFlags, bool)>,
    /// Recursive attributes ("rro", "rnosuid", ...) applied to the whole tree.
    pub recursive: MountAttr,
    /// Everything mount(2) does not know as a flag, comma-joined for the filesystem.
    pub data: String,
    /// "idmap"/"ridmap" were given.
    pub idmap: bool,
    /// "ridmap": the idmapping reaches submounts too.
    pub idmap_recursive: bool,
    /// "tmpcopyup": fill a new tmpfs with what it covers.
    pub tmpcopyup: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            recursive: MountAttr::default(),
            data: String::new(),
            idmap: false,
            idmap_recursive: false,
            tmpcopyup: false,
        }
    }
}

impl MountOptions {
    /// Whether this is a bind ("bind"/"rbind") mount.
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Whether the bind is recursive ("rbind").
    pub fn is_recursive_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND | MsFlags::MS_REC)
    }

    /// The per-mount flags of a bind as mount_setattr(2) attributes (bind mounts ignore
    /// these flags in mount(2) itself).
    pub fn bind_attr(&self) -> MountAttr {
        flags_to_attr(self.flags, self.cleared)
    }
}

/// Maps mount(2) per-mount flags to mount_setattr(2) set/clear attributes.
fn flags_to_attr(set: MsFlags, clr: MsFlags) -> MountAttr {
    let pairs = [
        (MsFlags::MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (MsFlags::MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ];
    let mut a = MountAttr::default();
    for (f, attr) in pairs {
        if set.contains(f) {
            a.attr_set |= attr;
        } else if clr.contains(f) {
            a.attr_clr |= attr;
        }
    }
    // Access-time handling is one three-valued field: setting one value clears the field.
    let atime = if set.contains(MsFlags::MS_NOATIME) {
        Some(MOUNT_ATTR_NOATIME)
    } else if set.contains(MsFlags::MS_STRICTATIME) {
        Some(MOUNT_ATTR_STRICTATIME)
    } else if set.contains(MsFlags::MS_RELATIME) {
        Some(MOUNT_ATTR_RELATIME)
    } else {
        None
    };
    if let Some(v) = atime {
        a.attr_set |= v;
        a.attr_clr |= MOUNT_ATTR__ATIME;
    }
    a
}

/// Splits `options` (as in config.json) into flags, propagation, attributes and data.
pub fn parse(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    let mut rec_set = MsFlags::empty();
    let mut rec_clr = MsFlags::empty();
    for opt in options {
        let opt = opt.as_str();
        if let Some((set, flag)) = flag_option(opt) {
            if set {
                o.flags |= flag;
                o.cleared &= !flag;
            } else {
                o.flags &= !flag;
                o.cleared |= flag;
            }
            continue;
        }
        if let Some(p) = propagation_option(opt) {
            o.propagation.push(p);
            continue;
        }
        if let Some(r) = opt.strip_prefix('r') {
            if let Some((set, flag)) = flag_option(r).filter(|(_, f)| is_attr_flag(*f)) {
                if set {
                    rec_set |= flag;
                    rec_clr &= !flag;
                } else {
                    rec_clr |= flag;
                    rec_set &= !flag;
                }
                continue;
            }
        }
        match opt {
            "idmap" => o.idmap = true,
            "ridmap" => {
                o.idmap = true;
                o.idmap_recursive = true;
            }
            // runc's / crun's extension: copy what a tmpfs covers into it.
            "tmpcopyup" => o.tmpcopyup = true,
            "notmpcopyup" => o.tmpcopyup = false,
            _ => {
                if !o.data.is_empty() {
                    o.data.push(',');
                }
                o.data.push_str(opt);
            }
        }
    }
    o.recursive = flags_to_attr(rec_set, rec_clr);
    o
}

fn is_attr_flag(f: MsFlags) -> bool {
    f.intersects(
        MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC
            | MsFlags::MS_NODIRATIME
            | MS_NOSYMFOLLOW
            | MsFlags::MS_NOATIME
            | MsFlags::MS_STRICTATIME
            | MsFlags::MS_RELATIME,
    )
}

/// (true = set / false = clear, flag) for mount(2) flag options.
fn flag_option(opt: &str) -> Option<(bool, MsFlags)> {
    use MsFlags as F;
    Some(match opt {
        "async" => (false, F::MS_SYNCHRONOUS),
        "atime" => (false, F::MS_NOATIME),
        "bind" => (true, F::MS_BIND),
        "defaults" => (true, F::empty()),
        "dev" => (false, F::MS_NODEV),
        "diratime" => (false, F::MS_NODIRATIME),
        "dirsync" => (true, F::MS_DIRSYNC),
        "exec" => (false, F::MS_NOEXEC),
        "iversion" => (true, F::MS_I_VERSION),
        "lazytime" => (true, F::MS_LAZYTIME),
        "loud" => (false, F::MS_SILENT),
        "mand" => (true, F::MS_MANDLOCK),
        "noatime" => (true, F::MS_NOATIME),
        "nodev" => (true, F::MS_NODEV),
        "nodiratime" => (true, F::MS_NODIRATIME),
        "noexec" => (true, F::MS_NOEXEC),
        "noiversion" => (false, F::MS_I_VERSION),
        "nolazytime" => (false, F::MS_LAZYTIME),
        "nomand" => (false, F::MS_MANDLOCK),
        "norelatime" => (false, F::MS_RELATIME),
        "nostrictatime" => (false, F::MS_STRICTATIME),
        "nosuid" => (true, F::MS_NOSUID),
        "nosymfollow" => (true, MS_NOSYMFOLLOW),
        "rbind" => (true, F::MS_BIND | F::MS_REC),
        "relatime" => (true, F::MS_RELATIME),
        "remount" => (true, F::MS_REMOUNT),
        "ro" => (true, F::MS_RDONLY),
        "rw" => (false, F::MS_RDONLY),
        "silent" => (true, F::MS_SILENT),
        "strictatime" => (true, F::MS_STRICTATIME),
        "suid" => (false, F::MS_NOSUID),
        "symfollow" => (false, MS_NOSYMFOLLOW),
        "sync" => (true, F::MS_SYNCHRONOUS),
        _ => return None,
    })
}

/// Propagation options: (flag, recursive).
pub fn propagation_option(opt: &str) -> Option<(MsFlags, bool)> {
    use MsFlags as F;
    Some(match opt {
        "private" => (F::MS_PRIVATE, false),
        "rprivate" => (F::MS_PRIVATE, true),
        "shared" => (F::MS_SHARED, false),
        "rshared" => (F::MS_SHARED, true),
        "slave" => (F::MS_SLAVE, false),
        "rslave" => (F::MS_SLAVE, true),
        "unbindable" => (F::MS_UNBINDABLE, false),
        "runbindable" => (F::MS_UNBINDABLE, true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn flags_and_data_are_separated() {
        let o = parse(&v("ro,nosuid,size=64k,nodev,mode=755"));
        assert_eq!(
            o.flags,
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV
        );
        assert_eq!(o.data, "size=64k,mode=755");
        assert!(!o.is_bind());
        assert!(o.propagation.is_empty());
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let o = parse(&v("ro,rw,noexec,exec,suid"));
        assert_eq!(o.flags, MsFlags::empty());
        assert!(o
            .cleared
            .contains(MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID));
    }

    #[test]
    fn rbind_with_propagation() {
        let o = parse(&v("rbind,rprivate,slave"));
        assert!(o.is_recursive_bind());
        assert_eq!(
            o.propagation,
            vec![(MsFlags::MS_PRIVATE, true), (MsFlags::MS_SLAVE, false)]
        );
        assert!(o.data.is_empty());
    }

    #[test]
    fn bind_attr_maps_flags() {
        let o = parse(&v("bind,ro,nosuid,rw,noatime,dev"));
        let a = o.bind_attr();
        assert_eq!(a.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
        assert_eq!(
            a.attr_clr,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME
        );
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&v("rbind,rro,rnosuid,rrelatime"));
        assert_eq!(o.recursive.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        assert_eq!(o.recursive.attr_clr, MOUNT_ATTR__ATIME);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        // "rbind" is not mistaken for a recursive "bind" attribute.
        assert!(o.is_recursive_bind());
    }

    #[test]
    fn idmap_and_tmpcopyup() {
        let o = parse(&v("idmap,tmpcopyup,newinstance"));
        assert!(o.idmap);
        assert!(o.tmpcopyup);
        assert_eq!(o.data, "newinstance");
    }
}
