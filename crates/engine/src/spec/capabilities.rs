//! Docker's capability rules: its default set, `--cap-add`/`--cap-drop` (with `ALL`, with
//! or without `CAP_`, any case) and `--privileged`.

use super::error::SpecError;

/// Every capability name with its bit number (linux/capability.h).
pub const KNOWN_CAPABILITIES: [(&str, u32); 41] = [
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("CAP_AUDIT_READ", 37),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
    ("CAP_CHECKPOINT_RESTORE", 40),
];

/// What an unprivileged Docker container gets (CapEff 0x00000000a80425fb).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The bit number of a normalized capability name.
pub fn capability_bit(name: &str) -> Option<u32> {
    KNOWN_CAPABILITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
}

/// The capability mask (as in /proc/PID/status CapEff) of a set of names.
pub fn capability_mask<S: AsRef<str>>(names: &[S]) -> u64 {
    names
        .iter()
        .filter_map(|n| capability_bit(n.as_ref()))
        .fold(0, |m, b| m | (1u64 << b))
}

/// `sys_admin`, `CAP_SYS_ADMIN`, `Sys_Admin` → `CAP_SYS_ADMIN`; `all` → `ALL`.
pub fn normalize_capability(flag: &'static str, name: &str) -> Result<String, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if capability_bit(&full).is_none() {
        return Err(SpecError::flag(
            flag,
            name,
            format!("unknown capability: {full:?}"),
        ));
    }
    Ok(full)
}

/// The bounding set of this process: "all capabilities" for a privileged container can
/// only be those we hold (root here lacks e.g. CAP_SYS_RESOURCE).
pub fn host_bounding_mask() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// All known capabilities that are in `bounding_mask`, in bit order.
pub fn all_capabilities(bounding_mask: u64) -> Vec<String> {
    KNOWN_CAPABILITIES
        .iter()
        .filter(|(_, b)| bounding_mask & (1u64 << b) != 0)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// The container's capability set, as Docker computes it: privileged → all; `--cap-add ALL`
/// → all minus drops; `--cap-drop ALL` → only the adds; otherwise defaults minus drops plus
/// adds. Names are validated even when unused.
pub fn container_capabilities(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    bounding_mask: u64,
) -> Result<Vec<String>, SpecError> {
    let adds = cap_add
        .iter()
        .map(|c| normalize_capability("--cap-add", c))
        .collect::<Result<Vec<_>, _>>()?;
    let drops = cap_drop
        .iter()
        .map(|c| normalize_capability("--cap-drop", c))
        .collect::<Result<Vec<_>, _>>()?;
    let all = all_capabilities(bounding_mask);
    if privileged {
        return Ok(all);
    }
    let has = |v: &[String], c: &str| v.iter().any(|x| x == c);
    let base: Vec<String> = if has(&adds, "ALL") {
        all.clone()
    } else if has(&drops, "ALL") {
        let mut only: Vec<String> = Vec::new();
        for a in adds {
            if !has(&only, &a) {
                only.push(a);
            }
        }
        return Ok(only);
    } else {
        DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect()
    };
    let mut caps: Vec<String> = base.into_iter().filter(|c| !has(&drops, c)).collect();
    for a in adds {
        if a != "ALL" && !has(&caps, &a) {
            caps.push(a);
        }
    }
    Ok(caps)
}

/// The OCI `process.capabilities` Docker writes: the same set as bounding, effective and
/// permitted; no inheritable or ambient.
pub fn oci_capabilities(
    caps: &[String],
) -> Result<oci_spec::runtime::LinuxCapabilities, SpecError> {
    let set: oci_spec::runtime::Capabilities = caps
        .iter()
        .map(|c| {
            serde_json::from_value(serde_json::Value::String(c.clone()))
                .map_err(|e| SpecError::Oci(format!("capability {c}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(oci_spec::runtime::LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set)
        .inheritable(oci_spec::runtime::Capabilities::new())
        .ambient(oci_spec::runtime::Capabilities::new())
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_set_is_dockers_mask() {
        let caps = container_capabilities(false, &[], &[], u64::MAX).unwrap();
        assert_eq!(capability_mask(&caps), 0xa80425fb);
    }

    #[test]
    fn add_and_drop_any_spelling() {
        let caps = container_capabilities(
            false,
            &s(&["net_admin", "CAP_SYS_PTRACE"]),
            &s(&["Chown", "cap_kill"]),
            u64::MAX,
        )
        .unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn drop_all_keeps_only_adds() {
        let caps = container_capabilities(false, &s(&["chown"]), &s(&["ALL"]), u64::MAX).unwrap();
        assert_eq!(caps, s(&["CAP_CHOWN"]));
        let none = container_capabilities(false, &[], &s(&["all"]), u64::MAX).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn add_all_minus_drops() {
        let caps =
            container_capabilities(false, &s(&["ALL"]), &s(&["SYS_ADMIN"]), u64::MAX).unwrap();
        assert_eq!(caps.len(), KNOWN_CAPABILITIES.len() - 1);
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn privileged_is_all_in_bounding_set() {
        let mask = (1u64 << 41) - 1 - (1 << 24);
        let caps = container_capabilities(true, &[], &s(&["chown"]), mask).unwrap();
        assert_eq!(capability_mask(&caps), mask);
    }

    #[test]
    fn unknown_capability_names_the_flag() {
        let e = container_capabilities(false, &s(&["foo"]), &[], u64::MAX).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"foo\" for \"--cap-add\" flag: unknown capability: \"CAP_FOO\""
        );
        let e = container_capabilities(false, &[], &s(&["CAP_BAR"]), u64::MAX).unwrap_err();
        assert!(e.to_string().contains("--cap-drop"), "{e}");
    }

    #[test]
    fn oci_capabilities_has_no_inheritable() {
        let c = oci_capabilities(&s(&DEFAULT_CAPABILITIES)).unwrap();
        assert_eq!(c.bounding().as_ref().unwrap().len(), 14);
        assert_eq!(c.effective(), c.permitted());
        assert!(c.inheritable().as_ref().unwrap().is_empty());
    }
}
