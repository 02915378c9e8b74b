//! `-v` and `--mount` flags, parsed the way Docker reads them.

use super::error::VolumeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

/// One requested mount, before volumes are created and paths checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    pub kind: MountKind,
    /// Host path (bind), volume name (volume; None = anonymous), unused for tmpfs.
    pub source: Option<String>,
    /// Absolute path in the container.
    pub target: String,
    pub read_only: bool,
    /// Bind propagation: shared, rshared, slave, rslave, private, rprivate.
    pub propagation: Option<String>,
    /// SELinux relabel request (z or Z); recorded, no effect without SELinux.
    pub relabel: Option<String>,
    /// Do not copy the image's content into a new volume.
    pub nocopy: bool,
    /// `-v` creates a missing bind source directory; `--mount` refuses it.
    pub create_source: bool,
    pub volume_driver: Option<String>,
    pub volume_opts: Vec<(String, String)>,
    pub volume_labels: Vec<(String, String)>,
    pub tmpfs_size: Option<u64>,
    pub tmpfs_mode: Option<u32>,
}

impl MountRequest {
    fn new(kind: MountKind, target: &str) -> Self {
        MountRequest {
            kind,
            source: None,
            target: target.to_string(),
            read_only: false,
            propagation: None,
            relabel: None,
            nocopy: false,
            create_source: false,
            volume_driver: None,
            volume_opts: Vec::new(),
            volume_labels: Vec::new(),
            tmpfs_size: None,
            tmpfs_mode: None,
        }
    }

    /// A tmpfs at `target` (`--tmpfs PATH[:opts]` is built by the caller).
    pub fn tmpfs(target: &str) -> Self {
        MountRequest::new(MountKind::Tmpfs, target)
    }
}

const PROPAGATIONS: &[&str] = &[
    "shared", "rshared", "slave", "rslave", "private", "rprivate",
];

/// Docker's rule for local volume names.
pub fn valid_volume_name(name: &str) -> bool {
    let mut c = name.chars();
    name.len() >= 2
        && c.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && c.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_target(target: &str, err: impl Fn(String) -> VolumeError) -> Result<(), VolumeError> {
    if !target.starts_with('/') {
        return Err(err(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    if target == "/" {
        return Err(err("invalid specification: destination can't be '/'".into()));
    }
    Ok(())
}

/// `-v [SOURCE:]TARGET[:OPTIONS]`: a source starting with "/" is a bind mount, otherwise
/// a named volume; no source is an anonymous volume.
pub fn parse_volume_flag(spec: &str) -> Result<MountRequest, VolumeError> {
    let bad = |reason: String| VolumeError::InvalidSpec {
        spec: spec.to_string(),
        reason,
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, m] => (Some(*s), *t, Some(*m)),
        _ => return Err(bad("too many colons".into())),
    };
    if target.is_empty() {
        return Err(bad("empty destination".into()));
    }
    let kind = match source {
        Some(s) if s.starts_with('/') => MountKind::Bind,
        _ => MountKind::Volume,
    };
    let kind_name = if kind == MountKind::Bind {
        "bind"
    } else {
        "volume"
    };
    check_target(target, |r| {
        bad(format!(
            "invalid mount config for type \"{kind_name}\": {r}"
        ))
    })?;
    let mut req = MountRequest::new(kind, target);
    if let Some(s) = source {
        if s.is_empty() {
            return Err(bad("empty source".into()));
        }
        if kind == MountKind::Volume && !valid_volume_name(s) {
            return Err(VolumeError::InvalidName {
                name: s.to_string(),
                reason: format!("\"{s}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"),
            });
        }
        req.source = Some(s.to_string());
        req.create_source = kind == MountKind::Bind;
    }
    let mut rw_seen = false;
    for m in mode.unwrap_or("").split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" | "rw" => {
                if rw_seen {
                    return Err(bad(format!("invalid mode: {}", mode.unwrap_or(""))));
                }
                rw_seen = true;
                req.read_only = m == "ro";
            }
            "z" | "Z" => req.relabel = Some(m.to_string()),
            "nocopy" => {
                if kind == MountKind::Bind {
                    return Err(bad("invalid mode: nocopy applies to volumes only".into()));
                }
                req.nocopy = true
            }
            "consistent" | "cached" | "delegated" => {}
            p if PROPAGATIONS.contains(&p) => {
                if kind != MountKind::Bind {
                    return Err(bad(format!(
                        "invalid mode: propagation mode {p} applies to bind mounts only"
                    )));
                }
                req.propagation = Some(p.to_string());
            }
            other => return Err(bad(format!("invalid mode: {other}"))),
        }
    }
    Ok(req)
}

fn parse_bool(v: Option<&str>) -> Option<bool> {
    match v {
        None | Some("1") | Some("true") => Some(true),
        Some("0") | Some("false") => Some(false),
        _ => None,
    }
}

/// A size like "64m", "1g", "1048576".
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// `--mount type=bind|volume|tmpfs,source=..,target=..,readonly,...`.
pub fn parse_mount_flag(spec: &str) -> Result<MountRequest, VolumeError> {
    let bad = |reason: String| VolumeError::InvalidMount {
        spec: spec.to_string(),
        reason,
    };
    let fields: Vec<(&str, Option<&str>, &str)> = spec
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v), f),
            None => (f.trim(), None, f),
        })
        .collect();
    let kind = match fields.iter().find(|(k, _, _)| *k == "type") {
        None => MountKind::Volume,
        Some((_, Some("bind"), _)) => MountKind::Bind,
        Some((_, Some("volume"), _)) => MountKind::Volume,
        Some((_, Some("tmpfs"), _)) => MountKind::Tmpfs,
        Some((_, v, _)) => {
            return Err(bad(format!(
                "invalid mount type {:?}: use bind, volume or tmpfs",
                v.unwrap_or("")
            )))
        }
    };
    let mut req = MountRequest::new(kind, "");
    let mut target = None;
    for (k, v, field) in &fields {
        let need =
            || v.ok_or_else(|| bad(format!("invalid field '{field}' must be a key=value pair")));
        let only = |want: MountKind, opt: &str| -> Result<(), VolumeError> {
            if kind != want {
                return Err(bad(format!(
                    "cannot mix '{opt}' with mount type '{}'",
                    kind_str(kind)
                )));
            }
            Ok(())
        };
        match *k {
            "type" => {}
            "source" | "src" => req.source = Some(need()?.to_string()),
            "target" | "destination" | "dst" => target = Some(need()?.to_string()),
            "readonly" | "ro" => {
                req.read_only = parse_bool(*v)
                    .ok_or_else(|| bad(format!("invalid value for {k}: {}", v.unwrap_or(""))))?
            }
            "consistency" => {}
            "bind-propagation" => {
                only(MountKind::Bind, k)?;
                let p = need()?;
                if !PROPAGATIONS.contains(&p) {
                    return Err(bad(format!("invalid bind propagation {p:?}")));
                }
                req.propagation = Some(p.to_string());
            }
            "bind-nonrecursive" | "bind-recursive" => only(MountKind::Bind, k)?,
            "volume-nocopy" => {
                only(MountKind::Volume, k)?;
                req.nocopy = parse_bool(*v).ok_or_else(|| bad(format!("invalid value for {k}")))?;
            }
            "volume-driver" => {
                only(MountKind::Volume, k)?;
                req.volume_driver = Some(need()?.to_string());
            }
            "volume-opt" | "volume-label" => {
                only(MountKind::Volume, k)?;
                let (ok, ov) = need()?
                    .split_once('=')
                    .ok_or_else(|| bad(format!("invalid {k} '{field}': expected {k}=key=value")))?;
                let pair = (ok.to_string(), ov.to_string());
                if *k == "volume-opt" {
                    req.volume_opts.push(pair);
                } else {
                    req.volume_labels.push(pair);
                }
            }
            "tmpfs-size" => {
                only(MountKind::Tmpfs, k)?;
                let s = need()?;
                req.tmpfs_size =
                    Some(parse_size(s).ok_or_else(|| bad(format!("invalid tmpfs-size {s:?}")))?);
            }
            "tmpfs-mode" => {
                only(MountKind::Tmpfs, k)?;
                let s = need()?;
                req.tmpfs_mode = Some(
                    u32::from_str_radix(s, 8)
                        .map_err(|_| bad(format!("invalid tmpfs-mode {s:?}")))?,
                );
            }
            _ => return Err(bad(format!("unexpected key '{k}' in '{field}'"))),
        }
    }
    let target = target.ok_or_else(|| bad("target is required".into()))?;
    check_target(&target, |r| {
        bad(format!(
            "invalid mount config for type \"{}\": {r}",
            kind_str(kind)
        ))
    })?;
    req.target = target;
    match kind {
        MountKind::Bind => match &req.source {
            None => {
                return Err(bad(
                    "invalid mount config for type \"bind\": field Source must not be empty".into(),
                ))
            }
            Some(s) if !s.starts_with('/') => {
                return Err(bad(format!(
                    "invalid mount config for type \"bind\": invalid mount path: '{s}' mount path must be absolute"
                )))
            }
            _ => {}
        },
        MountKind::Volume => {
            if let Some(s) = &req.source {
                if !valid_volume_name(s) {
                    return Err(VolumeError::InvalidName {
                        name: s.clone(),
                        reason: format!("\"{s}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"),
                    });
                }
            }
        }
        MountKind::Tmpfs => {
            if req.source.is_some() {
                return Err(bad(
                    "invalid mount config for type \"tmpfs\": field Source must not be specified".into(),
                ));
            }
        }
    }
    Ok(req)
}

fn kind_str(k: MountKind) -> &'static str {
    match k {
        MountKind::Bind => "bind",
        MountKind::Volume => "volume",
        MountKind::Tmpfs => "tmpfs",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_named_bind_anonymous() {
        let r = parse_volume_flag("data:/var/lib/data").unwrap();
        assert_eq!(
            (r.kind, r.source.as_deref(), r.target.as_str()),
            (MountKind::Volume, Some("data"), "/var/lib/data")
        );
        let r = parse_volume_flag("/srv/x:/x:ro,rslave").unwrap();
        assert_eq!(r.kind, MountKind::Bind);
        assert!(r.read_only && r.create_source);
        assert_eq!(r.propagation.as_deref(), Some("rslave"));
        let r = parse_volume_flag("/anon").unwrap();
        assert_eq!((r.kind, r.source.clone()), (MountKind::Volume, None));
        let r = parse_volume_flag("v1:/d:nocopy,Z").unwrap();
        assert!(r.nocopy);
        assert_eq!(r.relabel.as_deref(), Some("Z"));
    }

    #[test]
    fn v_errors() {
        let e = parse_volume_flag("./rel:/x").unwrap_err().to_string();
        assert!(
            e.contains("includes invalid characters for a local volume name"),
            "{e}"
        );
        let e = parse_volume_flag("data:rel").unwrap_err().to_string();
        assert!(e.contains("mount path must be absolute"), "{e}");
        assert!(parse_volume_flag("data:/x:bogus")
            .unwrap_err()
            .to_string()
            .contains("invalid mode: bogus"));
        assert!(parse_volume_flag("data:/x:rshared").is_err());
        assert!(parse_volume_flag("/a:/b:ro,rw").is_err());
        assert!(parse_volume_flag("a:b:c:d").is_err());
        assert!(parse_volume_flag("data:/").is_err());
    }

    #[test]
    fn mount_flag_kinds() {
        let r =
            parse_mount_flag("type=bind,source=/srv,target=/mnt,readonly,bind-propagation=rshared")
                .unwrap();
        assert_eq!(
            (r.kind, r.source.as_deref(), r.target.as_str()),
            (MountKind::Bind, Some("/srv"), "/mnt")
        );
        assert!(r.read_only && !r.create_source);
        assert_eq!(r.propagation.as_deref(), Some("rshared"));
        let r = parse_mount_flag(
            "source=vol,target=/d,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-nocopy",
        )
        .unwrap();
        assert_eq!(r.kind, MountKind::Volume);
        assert!(r.nocopy);
        assert_eq!(
            r.volume_opts,
            vec![
                ("type".into(), "tmpfs".into()),
                ("device".into(), "tmpfs".into())
            ]
        );
        let r = parse_mount_flag("type=tmpfs,dst=/run/x,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        assert_eq!((r.tmpfs_size, r.tmpfs_mode), (Some(64 << 20), Some(0o1770)));
        let r = parse_mount_flag("type=volume,target=/anon,ro=false").unwrap();
        assert_eq!((r.source, r.read_only), (None, false));
    }

    #[test]
    fn mount_flag_errors() {
        let e = parse_mount_flag("type=bind,target=/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field Source must not be empty"), "{e}");
        let e = parse_mount_flag("type=tmpfs,source=x,target=/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not be specified"), "{e}");
        let e = parse_mount_flag("type=bind,source=/a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("target is required"), "{e}");
        let e = parse_mount_flag("type=volume,target=/a,foo=bar")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected key 'foo'"), "{e}");
        assert!(parse_mount_flag("type=nfs,target=/a").is_err());
        assert!(parse_mount_flag("type=volume,target=/a,tmpfs-size=1m").is_err());
        assert!(parse_mount_flag("type=tmpfs,target=/a,tmpfs-size=lots").is_err());
        assert!(parse_mount_flag("type=bind,source=rel,target=/a").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
    }
}
