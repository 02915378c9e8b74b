//! Loading and validating a bundle's config.json. Errors name the offending field
//! (`process.args: must not be empty`) so a user can fix the file without guessing.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::Value;

use crate::error::{Error, Result};

const NAMESPACE_TYPES: &[&str] = &[
    "pid", "network", "net", "mount", "mnt", "ipc", "uts", "user", "cgroup", "time",
];

fn bad(field: &str, problem: impl std::fmt::Display) -> Error {
    Error::Config(format!("{field}: {problem}"))
}

/// Reads `<bundle>/config.json`, checks it and returns the spec with `root.path` made
/// absolute (relative paths are relative to the bundle).
pub fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let data = std::fs::read(&path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    parse(&data, bundle)
}

/// Parses and validates config.json content.
pub fn parse(data: &[u8], bundle: &Path) -> Result<Spec> {
    let value: Value =
        serde_json::from_slice(data).map_err(|e| Error::Config(format!("not valid JSON: {e}")))?;
    check_value(&value)?;
    let mut spec: Spec = serde_json::from_value(value)
        .map_err(|e| Error::Config(format!("does not match the runtime-spec: {e}")))?;
    // The root path becomes absolute now so the rest of the runtime never depends on cwd.
    if let Some(root) = spec.root().clone() {
        let p = root.path();
        let abs = if p.is_absolute() {
            p.clone()
        } else {
            bundle.join(p)
        };
        let abs = std::fs::canonicalize(&abs)
            .map_err(|e| bad("root.path", format!("{}: {e}", abs.display())))?;
        if !abs.is_dir() {
            return Err(bad(
                "root.path",
                format!("{} is not a directory", abs.display()),
            ));
        }
        let mut root = root;
        root.set_path(abs);
        spec.set_root(Some(root));
    }
    Ok(spec)
}

fn check_value(v: &Value) -> Result<()> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::Config("top level must be a JSON object".into()))?;
    match obj.get("ociVersion") {
        Some(Value::String(s)) if s.starts_with("1.") => {}
        Some(Value::String(s)) => {
            return Err(bad(
                "ociVersion",
                format!("unsupported version {s:?} (need 1.x)"),
            ))
        }
        Some(_) => return Err(bad("ociVersion", "must be a string")),
        None => return Err(bad("ociVersion", "missing")),
    }
    match obj.get("root") {
        None => return Err(bad("root", "missing")),
        Some(r) => match r.get("path") {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(bad("root.path", "missing or empty")),
        },
    }
    if let Some(p) = obj.get("process") {
        match p.get("args") {
            Some(Value::Array(a)) if a.is_empty() => {
                return Err(bad("process.args", "must not be empty"))
            }
            Some(Value::Array(a)) => {
                for (i, x) in a.iter().enumerate() {
                    if !x.is_string() {
                        return Err(bad(&format!("process.args[{i}]"), "must be a string"));
                    }
                }
            }
            Some(_) => return Err(bad("process.args", "must be an array of strings")),
            None => return Err(bad("process.args", "missing")),
        }
        match p.get("cwd") {
            Some(Value::String(s)) if s.starts_with('/') => {}
            Some(Value::String(s)) => {
                return Err(bad("process.cwd", format!("{s:?} is not an absolute path")))
            }
            _ => return Err(bad("process.cwd", "missing")),
        }
        if let Some(Value::Array(env)) = p.get("env") {
            for (i, e) in env.iter().enumerate() {
                match e.as_str() {
                    Some(s) if s.contains('=') => {}
                    _ => {
                        return Err(bad(
                            &format!("process.env[{i}]"),
                            format!("{e} is not of the form KEY=value"),
                        ))
                    }
                }
            }
        }
    }
    if let Some(Value::Array(mounts)) = obj.get("mounts") {
        for (i, m) in mounts.iter().enumerate() {
            match m.get("destination").and_then(Value::as_str) {
                Some(d) if d.starts_with('/') => {}
                Some(d) => {
                    return Err(bad(
                        &format!("mounts[{i}].destination"),
                        format!("{d:?} is not an absolute path"),
                    ))
                }
                None => return Err(bad(&format!("mounts[{i}].destination"), "missing")),
            }
        }
    }
    if let Some(hooks) = obj.get("hooks").and_then(Value::as_object) {
        for (kind, list) in hooks {
            for (i, h) in list.as_array().into_iter().flatten().enumerate() {
                match h.get("path").and_then(Value::as_str) {
                    Some(p) if p.starts_with('/') => {}
                    _ => {
                        return Err(bad(
                            &format!("hooks.{kind}[{i}].path"),
                            "missing or not an absolute path",
                        ))
                    }
                }
                if let Some(t) = h.get("timeout") {
                    if t.as_i64().is_none_or(|t| t <= 0) {
                        return Err(bad(
                            &format!("hooks.{kind}[{i}].timeout"),
                            "must be a positive integer",
                        ));
                    }
                }
            }
        }
    }
    if let Some(linux) = obj.get("linux") {
        if let Some(Value::Array(nss)) = linux.get("namespaces") {
            let mut seen = Vec::new();
            for (i, ns) in nss.iter().enumerate() {
                let t = ns
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(&format!("linux.namespaces[{i}].type"), "missing"))?;
                if !NAMESPACE_TYPES.contains(&t) {
                    return Err(bad(
                        &format!("linux.namespaces[{i}].type"),
                        format!("unknown namespace {t:?}"),
                    ));
                }
                let canon = match t {
                    "net" => "network",
                    "mnt" => "mount",
                    x => x,
                };
                if seen.contains(&canon) {
                    return Err(bad(
                        &format!("linux.namespaces[{i}].type"),
                        format!("namespace {t:?} listed twice"),
                    ));
                }
                seen.push(canon);
                if let Some(p) = ns.get("path") {
                    match p.as_str() {
                        Some(s) if s.starts_with('/') => {}
                        Some("") => {}
                        _ => {
                            return Err(bad(
                                &format!("linux.namespaces[{i}].path"),
                                "must be an absolute path",
                            ))
                        }
                    }
                }
            }
            let has_user = seen.contains(&"user");
            if has_user {
                for key in ["uidMappings", "gidMappings"] {
                    let new_user = nss.iter().any(|n| {
                        n.get("type").and_then(Value::as_str) == Some("user")
                            && n.get("path")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .is_empty()
                    });
                    if new_user
                        && linux
                            .get(key)
                            .and_then(Value::as_array)
                            .is_none_or(|a| a.is_empty())
                    {
                        return Err(bad(
                            &format!("linux.{key}"),
                            "required when a new user namespace is created",
                        ));
                    }
                }
            }
            if !seen.contains(&"uts")
                && obj
                    .get("hostname")
                    .and_then(Value::as_str)
                    .is_some_and(|h| !h.is_empty())
            {
                return Err(bad("hostname", "set, but there is no new uts namespace"));
            }
        }
        if let Some(offsets) = linux.get("timeOffsets") {
            check_time_offsets(linux, offsets)?;
        }
    }
    Ok(())
}

/// linux.timeOffsets: known clocks, nanosecs below a second, and a new time namespace to
/// put them on (offsets cannot be changed on an existing one, as runc also refuses).
fn check_time_offsets(linux: &Value, offsets: &Value) -> Result<()> {
    let map = match offsets {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        _ => return Err(bad("linux.timeOffsets", "must be an object")),
    };
    for (clock, o) in map {
        let field = format!("linux.timeOffsets.{clock}");
        if !crate::namespaces::TIME_CLOCKS.contains(&clock.as_str()) {
            return Err(bad(
                &field,
                format!("unknown clock {clock:?} (a time namespace offsets \"monotonic\" and \"boottime\")"),
            ));
        }
        if !o.is_object() {
            return Err(bad(&field, "must be an object {\"secs\", \"nanosecs\"}"));
        }
        if let Some(n) = o.get("nanosecs").and_then(Value::as_u64) {
            if n >= 1_000_000_000 {
                return Err(bad(
                    &format!("{field}.nanosecs"),
                    format!("{n} is not below 1000000000 (whole seconds go in secs)"),
                ));
            }
        }
    }
    if map.is_empty() {
        return Ok(());
    }
    let time_ns = linux
        .get("namespaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(_, n)| n.get("type").and_then(Value::as_str) == Some("time"));
    match time_ns {
        None => Err(bad(
            "linux.timeOffsets",
            "set, but linux.namespaces has no time namespace (add {\"type\": \"time\"})",
        )),
        Some((i, n))
            if n.get("path")
                .and_then(Value::as_str)
                .is_some_and(|p| !p.is_empty()) =>
        {
            Err(bad(
                "linux.timeOffsets",
                format!(
                    "set, but the time namespace is joined by path (linux.namespaces[{i}].path); \
                     offsets can only be given to a new time namespace"
                ),
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Absolute root filesystem path of a loaded spec.
pub fn rootfs(spec: &Spec) -> Result<PathBuf> {
    spec.root()
        .as_ref()
        .map(|r| r.path().clone())
        .ok_or_else(|| bad("root", "missing"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        check_value(&v).unwrap_err().to_string()
    }

    fn base() -> Value {
        json!({"ociVersion":"1.2.0","root":{"path":"rootfs"},
               "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
               "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}})
    }

    #[test]
    fn empty_args_named() {
        let mut v = base();
        v["process"]["args"] = json!([]);
        assert_eq!(
            err(v),
            "invalid config.json: process.args: must not be empty"
        );
    }

    #[test]
    fn unknown_namespace_named_with_index() {
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type":"pid"},{"type":"ipc"},{"type":"foo"}]);
        assert_eq!(
            err(v),
            "invalid config.json: linux.namespaces[2].type: unknown namespace \"foo\""
        );
    }

    #[test]
    fn relative_cwd_and_mount_named() {
        let mut v = base();
        v["process"]["cwd"] = json!("tmp");
        assert!(err(v).contains("process.cwd"));
        let mut v = base();
        v["mounts"] = json!([{"destination":"/proc"},{"destination":"x"}]);
        assert!(err(v).contains("mounts[1].destination"));
    }

    #[test]
    fn user_ns_needs_mappings() {
        let mut v = base();
        v["linux"]["namespaces"] = json!([{"type":"user"}]);
        assert!(err(v).contains("linux.uidMappings"));
    }

    fn with_time(ns_path: Option<&str>, offsets: Value) -> Value {
        let mut v = base();
        let ns = match ns_path {
            Some(p) => json!({"type": "time", "path": p}),
            None => json!({"type": "time"}),
        };
        v["linux"]["namespaces"].as_array_mut().unwrap().push(ns);
        v["linux"]["timeOffsets"] = offsets;
        v
    }

    #[test]
    fn time_offsets_need_a_new_time_namespace() {
        let offsets = json!({"monotonic": {"secs": 86400, "nanosecs": 0}});
        let mut v = base();
        v["linux"]["timeOffsets"] = offsets.clone();
        let e = err(v.clone());
        assert!(
            e.starts_with("invalid config.json: linux.timeOffsets: set, but linux.namespaces has no time namespace"),
            "{e}"
        );
        // No namespaces at all is the same.
        v["linux"].as_object_mut().unwrap().remove("namespaces");
        assert!(err(v).contains("linux.timeOffsets: set, but"));
        // An existing namespace's offsets cannot be changed.
        let e = err(with_time(Some("/proc/1/ns/time"), offsets.clone()));
        assert!(
            e.contains("linux.timeOffsets") && e.contains("linux.namespaces[2].path"),
            "{e}"
        );
        check_value(&with_time(None, offsets)).unwrap();
        // Empty or null offsets ask for nothing: fine without a time namespace, and
        // with a joined one.
        for empty in [json!({}), Value::Null] {
            let mut v = base();
            v["linux"]["timeOffsets"] = empty.clone();
            check_value(&v).unwrap();
            check_value(&with_time(Some("/proc/1/ns/time"), empty)).unwrap();
        }
    }

    #[test]
    fn time_offsets_unknown_clock_and_bad_values_named() {
        let e = err(with_time(
            None,
            json!({"monotonic": {"secs": 1}, "realtime": {"secs": 5}}),
        ));
        assert!(
            e.contains("linux.timeOffsets.realtime: unknown clock \"realtime\""),
            "{e}"
        );
        // The clock name is checked before the namespace.
        let mut v = base();
        v["linux"]["timeOffsets"] = json!({"tai": {"secs": 1}});
        assert!(err(v).contains("linux.timeOffsets.tai: unknown clock"));
        let e = err(with_time(
            None,
            json!({"boottime": {"secs": 1, "nanosecs": 1_000_000_000u64}}),
        ));
        assert!(e.contains("linux.timeOffsets.boottime.nanosecs"), "{e}");
        let e = err(with_time(None, json!({"boottime": 5})));
        assert!(
            e.contains("linux.timeOffsets.boottime: must be an object"),
            "{e}"
        );
        let e = err(with_time(None, json!([1])));
        assert!(e.contains("linux.timeOffsets: must be an object"), "{e}");
        check_value(&with_time(
            None,
            json!({"boottime": {"secs": -5, "nanosecs": 999_999_999}, "monotonic": {}}),
        ))
        .unwrap();
    }

    #[test]
    fn valid_passes() {
        check_value(&base()).unwrap();
    }
}
