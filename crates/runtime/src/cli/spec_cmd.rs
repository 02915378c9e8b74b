//! `spec`: the default config.json (as runc writes it), and `features`.

use serde_json::{json, Value};

const DEFAULT_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// runc's default spec: `sh` on a terminal, the usual mounts, masked and read-only paths.
pub fn default_spec(rootless: bool) -> Value {
    let mut mounts = vec![
        json!({"destination":"/proc","type":"proc","source":"proc"}),
        json!({"destination":"/dev","type":"tmpfs","source":"tmpfs",
               "options":["nosuid","strictatime","mode=755","size=65536k"]}),
        json!({"destination":"/dev/pts","type":"devpts","source":"devpts",
               "options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]}),
        json!({"destination":"/dev/shm","type":"tmpfs","source":"shm",
               "options":["nosuid","noexec","nodev","mode=1777","size=65536k"]}),
        json!({"destination":"/dev/mqueue","type":"mqueue","source":"mqueue",
               "options":["nosuid","noexec","nodev"]}),
        json!({"destination":"/sys","type":"sysfs","source":"sysfs",
               "options":["nosuid","noexec","nodev","ro"]}),
        json!({"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup",
               "options":["nosuid","noexec","nodev","relatime","ro"]}),
    ];
    let mut namespaces = vec![
        json!({"type":"pid"}),
        json!({"type":"network"}),
        json!({"type":"ipc"}),
        json!({"type":"uts"}),
        json!({"type":"mount"}),
        json!({"type":"cgroup"}),
    ];
    let mut linux = json!({
        "resources": {"devices": [{"allow": false, "access": "rwm"}]},
        "namespaces": [],
        "maskedPaths": ["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys",
            "/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug",
            "/sys/firmware","/proc/scsi"],
        "readonlyPaths": ["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"],
    });
    if rootless {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        namespaces.retain(|n| n["type"] != "network");
        namespaces.push(json!({"type":"user"}));
        linux["uidMappings"] = json!([{"containerID":0,"hostID":uid,"size":1}]);
        linux["gidMappings"] = json!([{"containerID":0,"hostID":gid,"size":1}]);
        linux.as_object_mut().map(|o| o.remove("resources"));
        // sysfs cannot be mounted without a network namespace of our own: bind it.
        mounts[5] = json!({"destination":"/sys","type":"none","source":"/sys",
                           "options":["rbind","nosuid","noexec","nodev","ro"]});
        mounts[2]["options"] = json!([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620"
        ]);
        mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    }
    linux["namespaces"] = Value::Array(namespaces);
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS, "effective": DEFAULT_CAPS, "permitted": DEFAULT_CAPS
            },
            "rlimits": [{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": mounts,
        "linux": linux,
    })
}

/// The runtime-spec "features" document.
pub fn features() -> Value {
    let caps: Vec<String> = caps::all()
        .into_iter()
        .map(|c| c.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart","createRuntime","createContainer","startContainer","poststart","poststop"],
        "mountOptions": ["async","atime","bind","defaults","dev","diratime","dirsync","exec",
            "idmap","iversion","lazytime","loud","mand","noatime","nodev","nodiratime","noexec",
            "noiversion","nolazytime","nomand","norelatime","nostrictatime","nosuid",
            "nosymfollow","private","ratime","rbind","rdev","rdiratime","relatime","remount",
            "rexec","ridmap","rnoatime","rnodev","rnodiratime","rnoexec","rnorelatime","rnostrictatime",
            "rnosuid","rnosymfollow","ro","rprivate","rrelatime","rro","rrw","rshared","rslave",
            "rstrictatime","rsuid","rsymfollow","runbindable","rw","shared","silent","slave",
            "strictatime","suid","symfollow","sync","tmpcopyup","unbindable"],
        "linux": {
            "namespaces": ["cgroup","ipc","mount","network","pid","time","user","uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_NOTIFY","SCMP_ACT_TRACE","SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86","SCMP_ARCH_X86_64","SCMP_ARCH_X32","SCMP_ARCH_AARCH64","SCMP_ARCH_ARM"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
            },
            "apparmor": {"enabled": std::path::Path::new("/sys/kernel/security/apparmor").exists()},
            "selinux": {"enabled": std::path::Path::new("/sys/fs/selinux/enforce").exists()},
            "intelRdt": {"enabled": false},
            // Idmapped bind mounts (uidMappings/gidMappings on a mount, or the "idmap" /
            // "ridmap" options) are implemented with mount_setattr(MOUNT_ATTR_IDMAP); see
            // rootfs/idmap.rs and the rootfs_mounts test.
            "mountExtensions": {"idmap": {"enabled": true}}
        },
        "annotations": {"org.berth.runtime.version": env!("CARGO_PKG_VERSION")}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_report_idmap_mounts_enabled() {
        let f = features();
        assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        let opts = f["mountOptions"].as_array().unwrap();
        for o in ["idmap", "ridmap"] {
            assert!(opts.iter().any(|v| v == o), "{o} missing from mountOptions");
        }
    }

    #[test]
    fn features_list_the_time_namespace() {
        // linux.timeOffsets has no features entry of its own; "time" here covers it.
        let f = features();
        let nss = f["linux"]["namespaces"].as_array().unwrap();
        assert!(nss.iter().any(|n| n == "time"), "{nss:?}");
    }

    #[test]
    fn default_spec_passes_our_own_validation() {
        let dir = std::env::temp_dir().join(format!("berth-spec-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        for rootless in [false, true] {
            let data = serde_json::to_vec(&default_spec(rootless)).unwrap();
            crate::config::parse(&data, &dir).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
