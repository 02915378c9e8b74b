//! Switching to the container user: supplementary groups, gid, uid, umask; and becoming
//! root of a user namespace before the container is set up in it.

use nix::errno::Errno;
use nix::unistd::{setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::User;

use crate::error::{Context, Result};
use crate::sys;

/// Makes the caller root (uid and gid 0, no supplementary groups) of the user namespace
/// it has just created (after its maps were written) or joined, as runc and crun do.
///
/// Until then the process keeps the host credentials it had (host root for a root
/// runtime). When the namespace does not map them, e.g. a fully shifted mapping like
/// 0 -> 100000, its ids read as the overflow id inside, and every inode it creates on a
/// filesystem mounted in the namespace (the /dev tmpfs: mount points, device node
/// placeholders) fails with EOVERFLOW, because its fsuid cannot be represented there.
/// As the namespace's root, created files are owned by the container's root (host 100000
/// in that example), also on the bundle's rootfs.
///
/// A namespace that does not map id 0 (EINVAL) leaves that id as it was, as before.
/// The change of credentials makes the process dumpable again (fs.suid_dumpable), so it
/// is made non-dumpable here once more; the kernel also clears the parent-death signal,
/// which the caller re-arms if it uses one.
pub fn become_userns_root(setgroups_allowed: bool) -> Result<()> {
    if setgroups_allowed {
        // Host root's groups are unmapped in the namespace; drop them like runc does.
        sys::setgroups(&[]).ctx("user namespace: setgroups([])")?;
    }
    let root_gid = Gid::from_raw(0);
    match setresgid(root_gid, root_gid, root_gid) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(e).ctx("user namespace: become root (setresgid(0))"),
    }
    let root_uid = Uid::from_raw(0);
    match setresuid(root_uid, root_uid, root_uid) {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(e).ctx("user namespace: become root (setresuid(0))"),
    }
    nix::sys::prctl::set_dumpable(false).ctx("prctl(PR_SET_DUMPABLE)")?;
    Ok(())
}

/// Sets groups, gid and uid (keeping capabilities across the uid change so the caller
/// can set the spec's capability sets afterwards), and the umask.
/// `setgroups_allowed` is false in a user namespace whose setgroups is denied.
pub fn switch(user: &User, setgroups_allowed: bool) -> Result<()> {
    if setgroups_allowed {
        let gids = user.additional_gids().clone().unwrap_or_default();
        sys::setgroups(&gids).ctx("process.user.additionalGids: setgroups")?;
    }
    nix::sys::prctl::set_keepcaps(true).ctx("prctl(PR_SET_KEEPCAPS)")?;
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).with_ctx(|| format!("process.user.gid: setresgid({})", user.gid()))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).with_ctx(|| format!("process.user.uid: setresuid({})", user.uid()))?;
    nix::sys::prctl::set_keepcaps(false).ctx("prctl(PR_SET_KEEPCAPS)")?;
    sys::umask(user.umask().unwrap_or(0o022));
    Ok(())
}
