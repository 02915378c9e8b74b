//! Parsers for `docker run` flag values, with Docker's syntax and error wording
//! (`invalid argument "abc" for "-m, --memory" flag: ...`). The CLI calls these while
//! filling `RunOptions`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::error::SpecError;
use super::options::{DeviceMapping, NamespaceMode, SeccompOpt, SecurityOpts, Ulimit};

/// Docker's size syntax (go-units `RAMInBytes`): a number, optional fraction, optional unit
/// b/k/m/g/t/p (binary, case-insensitive), optional trailing `b`/`ib`: `512m`, `1g`, `1.5GB`.
pub fn parse_size(flag: &'static str, s: &str) -> Result<i64, SpecError> {
    let bad = || SpecError::flag(flag, s, format!("invalid size: '{s}'"));
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let mut chars = rest.chars();
    let mult = match chars.next() {
        None => 1.0,
        // A bare `b` unit: nothing may follow.
        Some('b') if chars.as_str().is_empty() => 1.0,
        Some(c) => {
            let exp = match c {
                'k' => 1,
                'm' => 2,
                'g' => 3,
                't' => 4,
                'p' => 5,
                _ => return Err(bad()),
            };
            if !matches!(chars.as_str(), "" | "b" | "i" | "ib") {
                return Err(bad());
            }
            1024f64.powi(exp)
        }
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

/// `-m, --memory`.
pub fn parse_memory(s: &str) -> Result<i64, SpecError> {
    parse_size("-m, --memory", s)
}

/// `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn parse_memory_swap(s: &str) -> Result<i64, SpecError> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    parse_size("--memory-swap", s)
}

/// `--shm-size`.
pub fn parse_shm_size(s: &str) -> Result<i64, SpecError> {
    let v = parse_size("--shm-size", s)?;
    if v <= 0 {
        return Err(SpecError::flag(
            "--shm-size",
            s,
            "shm size must be greater than 0",
        ));
    }
    Ok(v)
}

/// `--cpus`: a decimal number of CPUs (`1.5`), must be positive.
pub fn parse_cpus(s: &str) -> Result<f64, SpecError> {
    let v: f64 = s.trim().parse().map_err(|_| {
        SpecError::flag(
            "--cpus",
            s,
            format!("failed to parse {s} as a rational number"),
        )
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(SpecError::flag(
            "--cpus",
            s,
            "value must be a positive number",
        ));
    }
    Ok(v)
}

/// `--ulimit name=soft[:hard]`; `-1` means unlimited. Only the names Docker knows.
pub fn parse_ulimit(s: &str) -> Result<Ulimit, SpecError> {
    const FLAG: &str = "--ulimit";
    let (name, limits) = s
        .split_once('=')
        .ok_or_else(|| SpecError::flag(FLAG, s, format!("invalid ulimit argument: {s}")))?;
    if rlimit_type(name).is_none() {
        return Err(SpecError::flag(
            FLAG,
            s,
            format!("invalid ulimit type: {name}"),
        ));
    }
    let one = |v: &str| -> Result<u64, SpecError> {
        match v.trim().parse::<i64>() {
            Ok(-1) => Ok(u64::MAX),
            Ok(n) if n >= 0 => Ok(n as u64),
            _ => Err(SpecError::flag(
                FLAG,
                s,
                format!("invalid ulimit value: {v}"),
            )),
        }
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((a, b)) => (one(a)?, one(b)?),
        None => {
            let v = one(limits)?;
            (v, v)
        }
    };
    if soft > hard {
        return Err(SpecError::flag(
            FLAG,
            s,
            format!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"),
        ));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// The OCI `RLIMIT_*` name for a Docker ulimit name.
pub fn rlimit_type(name: &str) -> Option<oci_spec::runtime::PosixRlimitType> {
    use oci_spec::runtime::PosixRlimitType as T;
    Some(match name {
        "core" => T::RlimitCore,
        "cpu" => T::RlimitCpu,
        "data" => T::RlimitData,
        "fsize" => T::RlimitFsize,
        "locks" => T::RlimitLocks,
        "memlock" => T::RlimitMemlock,
        "msgqueue" => T::RlimitMsgqueue,
        "nice" => T::RlimitNice,
        "nofile" => T::RlimitNofile,
        "nproc" => T::RlimitNproc,
        "rss" => T::RlimitRss,
        "rtprio" => T::RlimitRtprio,
        "rttime" => T::RlimitRttime,
        "sigpending" => T::RlimitSigpending,
        "stack" => T::RlimitStack,
        _ => return None,
    })
}

fn valid_device_mode(m: &str) -> bool {
    !m.is_empty() && m.len() <= 3 && m.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

/// `--device host[:container][:perms]`, e.g. `/dev/fuse`, `/dev/sda:/dev/xvda:rwm`, `/dev/null:r`.
pub fn parse_device(s: &str) -> Result<DeviceMapping, SpecError> {
    const FLAG: &str = "--device";
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, x] if valid_device_mode(x) => (*src, *src, *x),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, mode] => {
            if !valid_device_mode(mode) {
                return Err(SpecError::flag(
                    FLAG,
                    s,
                    format!("invalid device mode: {mode}"),
                ));
            }
            (*src, *dst, *mode)
        }
        _ => {
            return Err(SpecError::flag(
                FLAG,
                s,
                format!("bad format for path: {s}"),
            ))
        }
    };
    if src.is_empty() || dst.is_empty() {
        return Err(SpecError::flag(
            FLAG,
            s,
            format!("bad format for path: {s}"),
        ));
    }
    if !dst.starts_with('/') {
        return Err(SpecError::flag(
            FLAG,
            s,
            format!("{dst} is not an absolute path"),
        ));
    }
    Ok(DeviceMapping {
        path_on_host: src.to_string(),
        path_in_container: dst.to_string(),
        cgroup_permissions: mode.to_string(),
    })
}

/// One `--security-opt` value, applied onto `opts`.
pub fn parse_security_opt(opts: &mut SecurityOpts, s: &str) -> Result<(), SpecError> {
    const FLAG: &str = "--security-opt";
    let bad = || SpecError::flag(FLAG, s, format!("Invalid --security-opt: {s:?}"));
    if s == "no-new-privileges" {
        opts.no_new_privileges = true;
        return Ok(());
    }
    // Docker accepts both `key=value` and the older `key:value`.
    let (k, v) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(bad)?;
    match k {
        "no-new-privileges" => {
            opts.no_new_privileges = match v {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(SpecError::flag(
                        FLAG,
                        s,
                        "invalid --security-opt 2: \"no-new-privileges\" must be true or false",
                    ))
                }
            }
        }
        "seccomp" => {
            opts.seccomp = match v {
                "unconfined" => SeccompOpt::Unconfined,
                "builtin" | "" => SeccompOpt::Default,
                path => SeccompOpt::Profile(path.into()),
            }
        }
        "apparmor" => opts.apparmor = Some(v.to_string()),
        "label" => opts.labels.push(v.to_string()),
        "systempaths" if v == "unconfined" => opts.systempaths_unconfined = true,
        _ => return Err(bad()),
    }
    Ok(())
}

/// Whether `key` belongs to the IPC namespace (refused with `--ipc host`).
pub fn is_ipc_sysctl(key: &str) -> bool {
    key.starts_with("kernel.") || key.starts_with("fs.mqueue.")
}

/// The sysctls Docker accepts for a container: IPC ones and `fs.mqueue.*` (not with
/// `--ipc host`), `net.*` (not with `--network host`); checked again when building.
pub fn is_namespaced_sysctl(key: &str) -> bool {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    IPC.contains(&key) || key.starts_with("fs.mqueue.") || key.starts_with("net.")
}

/// `--sysctl KEY=VALUE`, only the namespaced ones Docker allows.
pub fn parse_sysctl(s: &str) -> Result<(String, String), SpecError> {
    const FLAG: &str = "--sysctl";
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| SpecError::flag(FLAG, s, format!("sysctl '{s}' must be KEY=VALUE")))?;
    let k = k.trim();
    if !is_namespaced_sysctl(k) {
        return Err(SpecError::flag(
            FLAG,
            s,
            format!("sysctl '{s}' is not allowed"),
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--tmpfs PATH[:OPTIONS]`.
pub fn parse_tmpfs(s: &str) -> Result<(String, String), SpecError> {
    let (path, opts) = s.split_once(':').unwrap_or((s, ""));
    if !path.starts_with('/') {
        return Err(SpecError::flag(
            "--tmpfs",
            s,
            format!("invalid mount path {path:?}: must be absolute"),
        ));
    }
    Ok((path.to_string(), opts.to_string()))
}

/// `-e KEY=VALUE` or `-e KEY` (takes KEY from `lookup`, usually the caller's environment;
/// dropped when unset, as Docker does).
pub fn parse_env(
    s: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, SpecError> {
    match s.split_once('=') {
        Some(("", _)) => Err(SpecError::flag(
            "-e, --env",
            s,
            "invalid environment variable: no name",
        )),
        Some(_) => Ok(Some(s.to_string())),
        None if s.is_empty() => Err(SpecError::flag(
            "-e, --env",
            s,
            "invalid environment variable: empty",
        )),
        None => Ok(lookup(s).map(|v| format!("{s}={v}"))),
    }
}

/// `--env-file PATH` contents: one `KEY=VALUE` per line, `#` comments and blank lines
/// skipped, a bare `KEY` takes the value from `lookup`; values are kept verbatim (no quote
/// processing), as Docker does.
pub fn parse_env_file_content(
    content: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, SpecError> {
    let mut out = Vec::new();
    for (n, raw) in content.lines().enumerate() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        if name.is_empty() {
            return Err(SpecError::Invalid(format!(
                "invalid env file: no variable name on line {}: '{raw}'",
                n + 1
            )));
        }
        if name.chars().any(char::is_whitespace) {
            return Err(SpecError::Invalid(format!(
                "invalid env file: variable '{name}' contains whitespaces (line {})",
                n + 1
            )));
        }
        match value {
            Some(v) => out.push(format!("{name}={v}")),
            None => {
                if let Some(v) = lookup(name) {
                    out.push(format!("{name}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// `--env-file PATH`, with the caller's environment for bare names.
pub fn parse_env_file(path: &Path) -> Result<Vec<String>, SpecError> {
    let content = std::fs::read_to_string(path).map_err(|e| SpecError::io(path, e))?;
    parse_env_file_content(&content, |k| std::env::var(k).ok())
        .map_err(|e| SpecError::Invalid(format!("{}: {e}", path.display())))
}

/// `-l KEY=VALUE` or `-l KEY` (empty value).
pub fn parse_label(s: &str) -> Result<(String, String), SpecError> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    if k.is_empty() {
        return Err(SpecError::flag(
            "-l, --label",
            s,
            "label name must not be empty",
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Many `-l` values (in order; later wins).
pub fn parse_labels<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, SpecError> {
    let mut m = BTreeMap::new();
    for s in items {
        let (k, v) = parse_label(s)?;
        m.insert(k, v);
    }
    Ok(m)
}

/// `--ipc`, `--pid`, `--uts`, `--cgroupns`, `--userns`; `flag` picks which values are valid.
pub fn parse_namespace_mode(flag: &'static str, s: &str) -> Result<NamespaceMode, SpecError> {
    let m = match s {
        "" => NamespaceMode::Default,
        "host" => NamespaceMode::Host,
        "private" => NamespaceMode::Private,
        "shareable" => NamespaceMode::Shareable,
        "none" => NamespaceMode::None,
        _ => match s.strip_prefix("container:") {
            Some(id) if !id.is_empty() => NamespaceMode::Container(id.to_string()),
            _ => {
                return Err(SpecError::flag(
                    flag,
                    s,
                    format!("invalid {} mode", flag.trim_start_matches('-')),
                ))
            }
        },
    };
    let ok = match flag {
        "--ipc" => true,
        "--pid" => matches!(
            m,
            NamespaceMode::Default
                | NamespaceMode::Host
                | NamespaceMode::Private
                | NamespaceMode::Container(_)
        ),
        "--uts" | "--userns" => matches!(m, NamespaceMode::Default | NamespaceMode::Host),
        "--cgroupns" => matches!(
            m,
            NamespaceMode::Default | NamespaceMode::Host | NamespaceMode::Private
        ),
        _ => false,
    };
    if !ok {
        return Err(SpecError::flag(
            flag,
            s,
            format!("invalid {} mode", flag.trim_start_matches('-')),
        ));
    }
    Ok(m)
}

/// Go duration syntax as the `--health-*` flags take it: `30s`, `1m30s`, `500ms`, `1h`, `0`.
pub fn parse_duration(flag: &'static str, s: &str) -> Result<Duration, SpecError> {
    let bad = || SpecError::flag(flag, s, format!("time: invalid duration \"{s}\""));
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if n_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * secs;
        rest = &rest[u_end..];
    }
    Ok(Duration::from_secs_f64(total))
}
