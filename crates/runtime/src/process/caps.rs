//! The five capability sets of process.capabilities.

use std::str::FromStr;

use caps::{CapSet, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{msg, Result};

/// Converts the spec's capability names to the caps crate's type.
pub fn convert(set: &Capabilities, field: &str) -> Result<CapsHashSet> {
    set.iter()
        .map(|c| {
            let name = format!("CAP_{c}");
            caps::Capability::from_str(&name).map_err(|_| {
                msg(format!(
                    "process.capabilities.{field}: unknown capability {name}"
                ))
            })
        })
        .collect()
}

/// Parses a capability name given on the command line (`CAP_NET_ADMIN` or `NET_ADMIN`).
pub fn parse_name(name: &str) -> Result<oci_spec::runtime::Capability> {
    let up = name.to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    serde_json::from_value(serde_json::Value::String(format!("CAP_{bare}")))
        .or_else(|_| serde_json::from_value(serde_json::Value::String(bare.to_string())))
        .map_err(|_| msg(format!("unknown capability {name:?}")))
}

/// Drops every bounding capability not listed (needs CAP_SETPCAP; do it before the uid
/// switch).
pub fn drop_bounding(c: &LinuxCapabilities) -> Result<()> {
    let keep = convert(&c.bounding().clone().unwrap_or_default(), "bounding")?;
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| msg(format!("drop {cap} from the bounding set: {e}")))?;
        }
    }
    Ok(())
}

/// Sets inheritable, permitted, effective and ambient (after the uid switch).
pub fn apply_sets(c: &LinuxCapabilities) -> Result<()> {
    let get = |s: &Option<Capabilities>, f: &str| convert(&s.clone().unwrap_or_default(), f);
    let effective = get(c.effective(), "effective")?;
    let permitted = get(c.permitted(), "permitted")?;
    let inheritable = get(c.inheritable(), "inheritable")?;
    let ambient = get(c.ambient(), "ambient")?;
    let have = caps::read(None, CapSet::Permitted).unwrap_or_default();
    if let Some(missing) = permitted.iter().find(|c| !have.contains(c)) {
        return Err(msg(format!(
            "process.capabilities.permitted: {missing} is not available to the runtime on this host"
        )));
    }
    caps::set(None, CapSet::Inheritable, &inheritable)
        .map_err(|e| msg(format!("process.capabilities.inheritable: {e}")))?;
    // Effective first widened to permitted∩current so lowering permitted cannot fail.
    caps::set(
        None,
        CapSet::Effective,
        &effective.intersection(&permitted).copied().collect(),
    )
    .map_err(|e| msg(format!("process.capabilities.effective: {e}")))?;
    caps::set(None, CapSet::Permitted, &permitted)
        .map_err(|e| msg(format!("process.capabilities.permitted: {e}")))?;
    if let Some(bad) = effective.iter().find(|c| !permitted.contains(c)) {
        return Err(msg(format!(
            "process.capabilities.effective: {bad} is not in the permitted set"
        )));
    }
    caps::clear(None, CapSet::Ambient).ok();
    for cap in ambient {
        // Ambient needs the capability both permitted and inheritable; skip others (as
        // runc does), since the kernel would refuse them.
        if permitted.contains(&cap) && inheritable.contains(&cap) {
            caps::raise(None, CapSet::Ambient, cap)
                .map_err(|e| msg(format!("process.capabilities.ambient: {cap}: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Capability;

    #[test]
    fn names_convert() {
        let set: Capabilities = [
            Capability::SysPtrace,
            Capability::NetBindService,
            Capability::MacOverride,
            Capability::Bpf,
            Capability::CheckpointRestore,
        ]
        .into_iter()
        .collect();
        let got = convert(&set, "bounding").unwrap();
        assert!(got.contains(&caps::Capability::CAP_SYS_PTRACE));
        assert!(got.contains(&caps::Capability::CAP_BPF));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn cli_names() {
        assert_eq!(parse_name("CAP_NET_ADMIN").unwrap(), Capability::NetAdmin);
        assert_eq!(parse_name("net_admin").unwrap(), Capability::NetAdmin);
        assert!(parse_name("CAP_NOPE").is_err());
    }
}
