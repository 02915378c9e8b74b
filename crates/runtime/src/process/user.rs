//! Switching to the container user: supplementary groups, gid, uid, umask.

use nix::unistd::{setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::User;

use crate::error::{Context, Result};
use crate::sys;

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
