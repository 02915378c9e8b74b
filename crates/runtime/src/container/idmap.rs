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

/// The id (in our namespace) that `id` inside a user namespace maps to, from that
/// namespace's /proc/<pid>/uid_map or gid_map text ("<inside> <outside> <count>" lines
/// as seen from our namespace). None when `id` is not mapped.
fn outside_id(map: &str, id: u32) -> Option<u32> {
    map.lines().find_map(|l| {
        let mut f = l.split_whitespace().map(|x| x.parse::<u64>().ok());
        let (inside, outside, count) = (f.next()??, f.next()??, f.next()??);
        let id = u64::from(id);
        (inside <= id && id < inside + count)
            .then(|| u32::try_from(outside + (id - inside)).ok())
            .flatten()
    })
}

/// Host uid and gid of the root of `pid`'s user namespace (each None when unmapped).
pub fn root_of(pid: i32) -> Result<(Option<u32>, Option<u32>)> {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{f}"))
            .with_ctx(|| format!("read /proc/{pid}/{f}"))
    };
    Ok((
        outside_id(&read("uid_map")?, 0),
        outside_id(&read("gid_map")?, 0),
    ))
}

#[cfg(test)]
mod tests {
    use super::outside_id;

    #[test]
    fn outside_ids_from_map_text() {
        let shifted = "         0     100000      65536\n";
        assert_eq!(outside_id(shifted, 0), Some(100000));
        assert_eq!(outside_id(shifted, 65535), Some(165535));
        assert_eq!(outside_id(shifted, 65536), None);
        let split = "0 1000 1\n1 200001 65535\n";
        assert_eq!(outside_id(split, 0), Some(1000));
        assert_eq!(outside_id(split, 5), Some(200005));
        assert_eq!(outside_id("1000 0 1\n", 0), None);
        assert_eq!(outside_id("", 0), None);
        // The initial namespace's own map.
        assert_eq!(outside_id("0 0 4294967295\n", 0), Some(0));
    }
}
