//! Device access rules: the v1 devices controller, or an eBPF filter on cgroup2.
//!
//! Order as runc: deny everything, then the spec's rules in order, then the
//! defaults every container needs (/dev/null, /dev/zero, ttys, ...).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::error::CgroupError;
use super::{bpf, Cgroup, Layout};

/// One normalized rule: type 'a'/'c'/'b', None = any number, access bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    pub typ: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// ACC_* bits.
    pub access: u32,
}

pub(crate) const ACC_MKNOD: u32 = 1;
pub(crate) const ACC_READ: u32 = 2;
pub(crate) const ACC_WRITE: u32 = 4;

impl Rule {
    /// The devices.allow / devices.deny line, e.g. "c 1:3 rwm".
    pub(crate) fn v1_line(&self) -> String {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut acc = String::with_capacity(3);
        for (bit, ch) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                acc.push(ch);
            }
        }
        if self.typ == 'a' {
            // The kernel takes "a" alone for "all devices".
            return "a".to_owned();
        }
        format!(
            "{} {}:{} {}",
            self.typ,
            num(self.major),
            num(self.minor),
            acc
        )
    }
}

/// The devices every container may use whatever its config says (the runtime-spec's
/// default devices plus mknod of any device): null, zero, full, random, urandom,
/// tty, console, ptmx, pts/*, and net/tun.
pub fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_owned()));
        r
    };
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"),
        rule(C, Some(1), Some(5), "rwm"),
        rule(C, Some(1), Some(7), "rwm"),
        rule(C, Some(1), Some(8), "rwm"),
        rule(C, Some(1), Some(9), "rwm"),
        rule(C, Some(5), Some(0), "rwm"),
        rule(C, Some(5), Some(1), "rwm"),
        rule(C, Some(5), Some(2), "rwm"),
        rule(C, Some(136), None, "rwm"),
        rule(C, Some(10), Some(200), "rwm"),
    ]
}

/// Allow rules (rwm) for the devices a config creates in the container (linux.devices),
/// which runc also allows implicitly; append them to linux.resources.devices.
pub fn allow_rules_for_devices(devices: &[LinuxDevice]) -> Vec<LinuxDeviceCgroup> {
    devices
        .iter()
        .filter(|d| {
            matches!(
                d.typ(),
                LinuxDeviceType::C | LinuxDeviceType::U | LinuxDeviceType::B
            )
        })
        .map(|d| {
            let mut r = LinuxDeviceCgroup::default();
            r.set_allow(true);
            r.set_typ(Some(if d.typ() == LinuxDeviceType::B {
                LinuxDeviceType::B
            } else {
                LinuxDeviceType::C
            }));
            r.set_major(Some(d.major()));
            r.set_minor(Some(d.minor()));
            r.set_access(Some("rwm".to_owned()));
            r
        })
        .collect()
}

/// Validates and normalizes spec rules; `field` prefix "linux.resources.devices".
/// FIFO rules ('p') are dropped: the device controller does not govern FIFOs.
pub(crate) fn normalize(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, CgroupError> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}]");
        let typ = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::P => continue,
        };
        let num = |v: Option<i64>, what: &str| -> Result<Option<u32>, CgroupError> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                    CgroupError::invalid(field.clone(), format!("{what} {n} is out of range"))
                }),
            }
        };
        let mut access = 0;
        let acc = r.access().as_deref().unwrap_or("rwm");
        for ch in acc.chars() {
            access |= match ch {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => {
                    return Err(CgroupError::invalid(
                        field,
                        format!("access {acc:?} may only contain r, w and m"),
                    ))
                }
            };
        }
        if acc.is_empty() {
            access = ACC_READ | ACC_WRITE | ACC_MKNOD;
        }
        out.push(Rule {
            allow: r.allow(),
            typ,
            major: num(r.major(), "major")?,
            minor: num(r.minor(), "minor")?,
            access,
        });
    }
    Ok(out)
}

/// The full rule list the container gets: the spec's rules then the defaults.
pub(crate) fn effective_rules(spec: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, CgroupError> {
    let mut rules = normalize(spec)?;
    rules.extend(normalize(&default_device_rules())?);
    Ok(rules)
}

pub(crate) fn apply(
    cg: &Cgroup,
    spec: &[LinuxDeviceCgroup],
    update: bool,
) -> Result<(), CgroupError> {
    let rules = effective_rules(spec)?;
    if let Some(d) = cg
        .v1
        .iter()
        .find(|d| d.controllers.iter().any(|c| c == "devices"))
    {
        if update && update_v1_in_place(&d.dir, &rules)? {
            return Ok(());
        }
        return apply_v1(&d.dir, &rules);
    }
    match cg.unified_dir() {
        Some(dir) if cg.layout() != Layout::V1 => bpf::install_device_filter(dir, &rules),
        _ if spec.is_empty() => Ok(()),
        _ => Err(CgroupError::unsupported(
            "linux.resources.devices",
            "no devices controller and no cgroup2 hierarchy on this host",
        )),
    }
}

/// Deny all, then each rule to devices.allow or devices.deny, on one open fd per
/// file (the kernel parses every write(2) separately).
fn apply_v1(dir: &Path, rules: &[Rule]) -> Result<(), CgroupError> {
    let open = |name: &str| {
        let p = dir.join(name);
        OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| CgroupError::Write {
                field: "linux.resources.devices".into(),
                path: p,
                source: e,
            })
    };
    let mut allow = open("devices.allow")?;
    let mut deny = open("devices.deny")?;
    let wr = |f: &mut std::fs::File, file: &str, line: &str, field: String| {
        f.write(line.as_bytes())
            .map(|_| ())
            .map_err(|e| CgroupError::Write {
                field,
                path: dir.join(file),
                source: e,
            })
    };
    wr(
        &mut deny,
        "devices.deny",
        "a",
        "linux.resources.devices".into(),
    )?;
    for (i, r) in rules.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}] ({})", r.v1_line());
        if r.allow {
            wr(&mut allow, "devices.allow", &r.v1_line(), field)?;
        } else {
            wr(&mut deny, "devices.deny", &r.v1_line(), field)?;
        }
    }
    Ok(())
}

/// Parses a devices.list line ("c 1:3 rwm", "b *:* m", "a *:* rwm").
fn parse_list_line(l: &str) -> Option<Rule> {
    let mut it = l.split_whitespace();
    let typ = it.next()?.chars().next()?;
    let (maj, min) = it.next()?.split_once(':')?;
    let num = |s: &str| {
        if s == "*" {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let mut access = 0;
    for ch in it.next()?.chars() {
        access |= match ch {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return None,
        };
    }
    Some(Rule {
        allow: true,
        typ,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// Updates a running container's v1 rules without the "deny all" reset, which would
/// briefly deny even /dev/null to its processes: writes the new rules, then revokes
/// exactly the access bits of old exceptions that the new allows no longer grant.
/// Returns false (nothing written) when that cannot be done safely: the cgroup is in
/// allow-all mode, or the new rules switch mode ("a" anywhere but a leading deny-all).
fn update_v1_in_place(dir: &Path, rules: &[Rule]) -> Result<bool, CgroupError> {
    let body = match rules.first() {
        Some(r) if !r.allow && r.typ == 'a' => &rules[1..],
        // Apply puts an implicit deny-all first.
        _ => rules,
    };
    if body.iter().any(|r| r.typ == 'a') {
        return Ok(false);
    }
    let list = super::fsio::read_file(dir, "devices.list")?;
    let old: Vec<Rule> = list.lines().filter_map(parse_list_line).collect();
    if old.iter().any(|r| r.typ == 'a') || old.len() != list.lines().count() {
        return Ok(false);
    }
    let open = |name: &str| {
        let p = dir.join(name);
        OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| CgroupError::Write {
                field: "linux.resources.devices".into(),
                path: p,
                source: e,
            })
    };
    let mut allow = open("devices.allow")?;
    let mut deny = open("devices.deny")?;
    let mut wr = |is_allow: bool, line: &str, field: String| {
        let (f, file) = if is_allow {
            (&mut allow, "devices.allow")
        } else {
            (&mut deny, "devices.deny")
        };
        f.write(line.as_bytes())
            .map(|_| ())
            .map_err(|e| CgroupError::Write {
                field,
                path: dir.join(file),
                source: e,
            })
    };
    for (i, r) in body.iter().enumerate() {
        let field = format!("linux.resources.devices[{}] ({})", i + 1, r.v1_line());
        wr(r.allow, &r.v1_line(), field)?;
    }
    for o in &old {
        let granted = body
            .iter()
            .filter(|r| r.allow && r.typ == o.typ && r.major == o.major && r.minor == o.minor)
            .fold(0, |acc, r| acc | r.access);
        let revoke = o.access & !granted;
        if revoke != 0 {
            let line = Rule {
                allow: false,
                access: revoke,
                ..*o
            }
            .v1_line();
            wr(
                false,
                &line,
                format!("linux.resources.devices (revoking {line})"),
            )?;
        }
    }
    Ok(true)
}
