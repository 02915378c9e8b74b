//! linux.cgroupsPath semantics: absolute, relative to our own cgroup, or systemd's
//! "slice:prefix:name" form mapped to the path systemd would use.

use super::error::CgroupError;

const FIELD: &str = "linux.cgroupsPath";

/// Where a container's cgroup lives, before it is joined to each hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupPath {
    /// Relative to every hierarchy's root: "/berth-oci/<id>".
    Absolute(String),
    /// Relative to the cgroup the runtime itself is in (per hierarchy).
    Relative(String),
}

impl CgroupPath {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            CgroupPath::Absolute(s) | CgroupPath::Relative(s) => s,
        }
    }
}

/// Resolves the spec's cgroupsPath (None = our default "/berth-oci/<id>").
pub(crate) fn resolve(path: Option<&str>, container_id: &str) -> Result<CgroupPath, CgroupError> {
    let path = path.filter(|p| !p.is_empty());
    let Some(p) = path else {
        check_component(container_id, "container id")?;
        return Ok(CgroupPath::Absolute(format!("/berth-oci/{container_id}")));
    };
    if let Some(systemd) = systemd_form(p) {
        return systemd;
    }
    let clean = normalize(p)?;
    if p.starts_with('/') {
        Ok(CgroupPath::Absolute(clean))
    } else {
        Ok(CgroupPath::Relative(clean))
    }
}

/// "/a//b/./c/" -> "/a/b/c"; rejects "..", which could climb out of the hierarchy.
fn normalize(p: &str) -> Result<String, CgroupError> {
    let mut out = String::with_capacity(p.len() + 1);
    for comp in p.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        check_component(comp, "path component")?;
        out.push('/');
        out.push_str(comp);
    }
    if out.is_empty() {
        return Err(CgroupError::invalid(
            FIELD,
            format!("{p:?} names the hierarchy root, not a cgroup of its own"),
        ));
    }
    Ok(out)
}

fn check_component(c: &str, what: &str) -> Result<(), CgroupError> {
    if c.is_empty()
        || c == ".."
        || c == "."
        || c.contains('/')
        || c.contains('\0')
        || c.contains('\n')
    {
        return Err(CgroupError::invalid(
            FIELD,
            format!("invalid {what} {c:?} (must not be empty, '.', '..' or contain '/')"),
        ));
    }
    Ok(())
}

/// "system.slice:docker:abc" -> "/system.slice/docker-abc.scope";
/// "a-b.slice:p:n" -> "/a.slice/a-b.slice/p-n.scope". None when not in that form.
fn systemd_form(p: &str) -> Option<Result<CgroupPath, CgroupError>> {
    if p.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() != 3 {
        return None;
    }
    Some((|| {
        let (slice, prefix, name) = (parts[0], parts[1], parts[2]);
        check_component(name, "systemd unit name")?;
        let mut out = expand_slice(if slice.is_empty() {
            "system.slice"
        } else {
            slice
        })?;
        let unit = if name.ends_with(".slice") {
            // A slice as the unit: the container gets that slice itself.
            expand_slice(name)?
                .rsplit('/')
                .next()
                .unwrap_or(name)
                .to_owned()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_component(&unit, "systemd unit name")?;
        out.push('/');
        out.push_str(&unit);
        Ok(CgroupPath::Absolute(out))
    })())
}

/// systemd nests slices by dash: "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice.
fn expand_slice(slice: &str) -> Result<String, CgroupError> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(CgroupError::invalid(
            FIELD,
            format!("systemd slice {slice:?} must end in \".slice\""),
        ));
    };
    check_component(slice, "systemd slice")?;
    if stem == "-" {
        return Ok(String::new());
    }
    if stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(CgroupError::invalid(
            FIELD,
            format!("invalid systemd slice {slice:?}"),
        ));
    }
    let mut out = String::new();
    let mut acc = String::new();
    for part in stem.split('-') {
        if !acc.is_empty() {
            acc.push('-');
        }
        acc.push_str(part);
        out.push('/');
        out.push_str(&acc);
        out.push_str(".slice");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_forms() {
        assert_eq!(
            resolve(None, "c1").unwrap(),
            CgroupPath::Absolute("/berth-oci/c1".into())
        );
        assert_eq!(
            resolve(Some("/a//b/"), "x").unwrap(),
            CgroupPath::Absolute("/a/b".into())
        );
        assert_eq!(
            resolve(Some("a/b"), "x").unwrap(),
            CgroupPath::Relative("/a/b".into())
        );
        assert_eq!(
            resolve(Some("system.slice:docker:abc"), "x").unwrap(),
            CgroupPath::Absolute("/system.slice/docker-abc.scope".into())
        );
        assert_eq!(
            resolve(Some("a-b.slice:p:n"), "x").unwrap(),
            CgroupPath::Absolute("/a.slice/a-b.slice/p-n.scope".into())
        );
        assert_eq!(
            resolve(Some(":p:n"), "x").unwrap(),
            CgroupPath::Absolute("/system.slice/p-n.scope".into())
        );
        assert!(resolve(Some("/a/../../etc"), "x").is_err());
        assert!(resolve(None, "../x").is_err());
        assert!(resolve(Some("/"), "x").is_err());
    }
}
