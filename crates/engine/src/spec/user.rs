//! `-u user[:group]` and the image's `User`: names resolved through the image's
//! /etc/passwd and /etc/group (read confined to the rootfs), numbers taken as they are,
//! with the rules Docker inherits from runc.

use std::path::Path;

use super::error::SpecError;
use super::in_root;

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the groups listing the user by name (when no group was
    /// given), then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// Home directory from /etc/passwd, `/` when unknown.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(content: &str) -> Vec<PasswdEntry> {
    content
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_group(content: &str) -> Vec<GroupEntry> {
    content
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A uid/gid as Docker accepts it: 0..=2^31-1.
fn parse_id(s: &str) -> Option<Result<u32, SpecError>> {
    let n: i64 = s.parse().ok()?;
    if !(0..=i32::MAX as i64).contains(&n) {
        return Some(Err(SpecError::Invalid(
            "uids and gids must be in range 0-2147483647".into(),
        )));
    }
    Some(Ok(n as u32))
}

/// Resolves `user` (`""`, `name`, `uid`, `name:group`, `uid:gid`...) against the image in
/// `rootfs`, plus `group_add` (names or numbers). Missing passwd/group files are fine for
/// numeric ids.
pub fn resolve_user_with_groups(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser, SpecError> {
    let passwd = parse_passwd(&in_root::read_file(rootfs, "/etc/passwd")?.unwrap_or_default());
    let group_file = in_root::read_file(rootfs, "/etc/group")?;
    let groups = parse_group(group_file.as_deref().unwrap_or_default());

    let (user_arg, group_arg) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let user_num = parse_id(user_arg).transpose()?;
    let mut out = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".into(),
    };
    // With no user given, root's passwd entry (if any) still supplies home and groups.
    let lookup_uid = if user_arg.is_empty() {
        Some(0)
    } else {
        user_num
    };
    let entry = passwd
        .iter()
        .find(|e| (!user_arg.is_empty() && e.name == user_arg) || lookup_uid == Some(e.uid));
    match entry {
        Some(e) => {
            out.uid = e.uid;
            out.gid = e.gid;
            if !e.home.is_empty() {
                out.home = e.home.clone();
            }
        }
        None if user_arg.is_empty() => {}
        None => match user_num {
            Some(uid) => out.uid = uid,
            None => return Err(SpecError::UserNotFound(user_arg.to_string())),
        },
    }
    match group_arg {
        Some(g) if !g.is_empty() => {
            let gnum = parse_id(g).transpose()?;
            match groups.iter().find(|e| e.name == g || gnum == Some(e.gid)) {
                Some(e) => out.gid = e.gid,
                None => match gnum {
                    Some(n) => out.gid = n,
                    None => return Err(SpecError::GroupNotFound(g.to_string())),
                },
            }
        }
        _ => {
            if let Some(e) = entry {
                for g in &groups {
                    if g.members.contains(&e.name) && !out.additional_gids.contains(&g.gid) {
                        out.additional_gids.push(g.gid);
                    }
                }
            }
        }
    }
    for g in group_add {
        let gid = match parse_id(g).transpose()? {
            Some(n) => n,
            None => {
                if group_file.is_none() {
                    return Err(SpecError::Invalid(format!(
                        "unable to find group {g}: no group file"
                    )));
                }
                groups
                    .iter()
                    .find(|e| e.name == *g)
                    .map(|e| e.gid)
                    .ok_or_else(|| SpecError::GroupNotFound(g.clone()))?
            }
        };
        if !out.additional_gids.contains(&gid) {
            out.additional_gids.push(gid);
        }
    }
    Ok(out)
}

/// Resolves `user` without `--group-add`.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<ResolvedUser, SpecError> {
    resolve_user_with_groups(rootfs, user, &[])
}
