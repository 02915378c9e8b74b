//! Idmapped bind mounts ("idmap"/"ridmap", or uidMappings/gidMappings on the mount):
//! the clone of the source gets MOUNT_ATTR_IDMAP with a user namespace holding the
//! mount's mappings. That namespace comes from a short-lived helper child whose maps we
//! write. The kernel only lets the initial user namespace's root do this, so it works
//! for containers without a user namespace of their own.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, ForkResult};
use oci_spec::runtime::LinuxIdMapping;

fn map_text(maps: &[LinuxIdMapping]) -> String {
    let mut s = String::with_capacity(maps.len() * 24);
    for m in maps {
        s.push_str(&format!(
            "{} {} {}\n",
            m.container_id(),
            m.host_id(),
            m.size()
        ));
    }
    s
}

/// A user namespace fd with the given mappings.
pub(crate) fn userns_with(
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<OwnedFd, String> {
    let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
    // `hold`: the helper waits on it until we are done; `ready`: it reports its unshare.
    let (hold_r, hold_w) = pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
    let (ready_r, ready_w) = pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: the child only unshares, talks over the two pipes and _exits; it allocates
    // nothing.
    let child = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(hold_w);
            drop(ready_r);
            let code = match unshare(CloneFlags::CLONE_NEWUSER) {
                Ok(()) => {
                    let _ = nix::unistd::write(&ready_w, b"1");
                    let mut b = [0u8; 1];
                    let _ = std::fs::File::from(hold_r).read(&mut b);
                    0
                }
                Err(_) => 1,
            };
            // SAFETY: _exit ends the helper without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(hold_r);
    drop(ready_w);
    let result = (|| {
        let mut b = [0u8; 1];
        match std::fs::File::from(ready_r).read(&mut b) {
            Ok(1) => {}
            _ => return Err("idmap helper could not create a user namespace".to_string()),
        }
        let write = |file: &str, text: String| {
            std::fs::write(format!("/proc/{child}/{file}"), text)
                .map_err(|e| format!("write {file} of idmap helper: {e}"))
        };
        write("uid_map", map_text(uid))?;
        write("gid_map", map_text(gid))?;
        let ns_path = format!("/proc/{child}/ns/user");
        nix::fcntl::open(
            ns_path.as_str(),
            nix::fcntl::OFlag::O_RDONLY | cloexec,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| format!("open {ns_path}: {e}"))
    })();
    drop(hold_w);
    if result.is_err() {
        let _ = kill(child, Signal::SIGKILL);
    }
    let _ = waitpid(child, None);
    result
}

/// Applies the idmapping of `userns` to the detached tree `tree` (recursively for rbind).
pub(crate) fn apply(tree: &OwnedFd, userns: &OwnedFd, recursive: bool) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    let attr = super::sys::MountAttr {
        attr_set: super::sys::MOUNT_ATTR_IDMAP,
        userns_fd: userns.as_fd().as_raw_fd() as u64,
        ..Default::default()
    };
    super::sys::mount_setattr_fd(tree.as_fd(), recursive, &attr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lines() {
        let m: Vec<LinuxIdMapping> =
            serde_json::from_str(r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]"#)
                .unwrap();
        assert_eq!(map_text(&m), "0 1000 1\n1 100000 65536\n");
    }
}
