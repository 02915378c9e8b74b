//! linux.timeOffsets with real containers (root): a new time namespace gets the offsets
//! before anything runs in it, `exec` and containers joining it by path share it, and
//! configs that cannot work are refused naming the field.

mod lifecycle_support;

use lifecycle_support::{skip_unless_root, stderr, stdout, Bundle};
use serde_json::{json, Value};
use std::process::Output;

const YEAR: i64 = 86400 * 365;
const BOOT_SECS: i64 = 2 * 86400;
const BOOT_NSECS: i64 = 500_000_000;

fn skip() -> bool {
    if skip_unless_root() {
        return true;
    }
    if !std::path::Path::new("/proc/self/timens_offsets").exists() {
        eprintln!("skipped: the kernel has no time namespaces");
        return true;
    }
    false
}

fn add_namespace(c: &mut Value, ns: Value) {
    c["linux"]["namespaces"].as_array_mut().unwrap().push(ns);
}

/// A new time namespace, a year ahead on CLOCK_MONOTONIC and two and a half days on
/// CLOCK_BOOTTIME.
fn with_offsets(c: &mut Value) {
    add_namespace(c, json!({"type": "time"}));
    c["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": YEAR, "nanosecs": 0},
        "boottime": {"secs": BOOT_SECS, "nanosecs": BOOT_NSECS},
    });
}

/// (clock, secs, nanosecs) lines of a /proc/<pid>/timens_offsets read.
fn parse_offsets(s: &str) -> Vec<(String, i64, i64)> {
    s.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "timens_offsets line {l:?}");
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// A process that prints its time offsets, then its time namespace.
const READ_TIME_NS: [&str; 3] = [
    "sh",
    "-c",
    "cat /proc/self/timens_offsets; readlink /proc/self/ns/time",
];

/// The offsets and namespace link that [`READ_TIME_NS`] printed; it must have exited 0.
fn offsets_and_link(out: &Output, what: &str) -> (Vec<(String, i64, i64)>, String) {
    assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(out));
    let s = stdout(out);
    let (offsets, link) = s.trim_end().rsplit_once('\n').unwrap();
    (parse_offsets(offsets), link.to_string())
}

fn expected_offsets() -> Vec<(String, i64, i64)> {
    vec![
        ("monotonic".into(), YEAR, 0),
        ("boottime".into(), BOOT_SECS, BOOT_NSECS),
    ]
}

/// Seconds since boot, the first field of /proc/uptime.
fn uptime(s: &str) -> f64 {
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn ns_link(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/time"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn time_offsets_apply_inside_the_container() {
    if skip() {
        return;
    }
    let b = Bundle::new(
        &[
            "sh",
            "-c",
            "cat /proc/self/timens_offsets; echo --; cat /proc/uptime; echo --; readlink /proc/self/ns/time",
        ],
        with_offsets,
    );
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let out = b.run();
    let after = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let s = stdout(&out);
    let parts: Vec<&str> = s.split("--\n").collect();
    assert_eq!(parts.len(), 3, "{s}");
    assert_eq!(parse_offsets(parts[0]), expected_offsets(), "{s}");
    // /proc/uptime is CLOCK_BOOTTIME in the reader's time namespace.
    let inside = uptime(parts[1]) - (BOOT_SECS as f64 + BOOT_NSECS as f64 / 1e9);
    assert!(
        inside >= before - 0.05 && inside <= after + 0.05,
        "container uptime minus offset {inside} not within host's {before}..{after}"
    );
    assert_ne!(
        parts[2].trim(),
        ns_link("self"),
        "not in a new time namespace"
    );
}

#[test]
fn exec_and_joining_containers_share_the_time_namespace() {
    if skip() {
        return;
    }
    let a = Bundle::new(&["sleep", "1000"], with_offsets);
    a.create();
    let pid = a.state()["pid"].as_i64().unwrap().to_string();
    // The init entered the namespace before its execve (it is still waiting for start),
    // so exec, which joins /proc/<init>/ns/time, gets it in a created container too.
    let ns = ns_link(&pid);
    assert_ne!(ns, ns_link("self"));
    let read_offsets = |b: &Bundle| {
        let mut args = vec!["exec", b.id.as_str()];
        args.extend(READ_TIME_NS);
        offsets_and_link(&b.oci(&args), "exec")
    };
    assert_eq!(read_offsets(&a), (expected_offsets(), ns.clone()));
    let out = a.oci(&["start", &a.id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    a.wait_status("running");
    assert_eq!(
        ns_link(&pid),
        ns,
        "execve changed the init's time namespace"
    );
    assert_eq!(read_offsets(&a), (expected_offsets(), ns.clone()));

    // Another container joins it by path (setns), offsets and all.
    let path = format!("/proc/{pid}/ns/time");
    let b = Bundle::new(&READ_TIME_NS, |c| {
        add_namespace(c, json!({"type": "time", "path": path}))
    });
    let (offsets, link) = offsets_and_link(&b.run(), "run");
    assert_eq!(offsets, expected_offsets());
    assert_eq!(link, ns);

    // Joining the pid namespace goes through an intermediate process; a new time
    // namespace there is still the container's own, with its own offsets.
    let pid_path = format!("/proc/{pid}/ns/pid");
    let c = Bundle::new(&READ_TIME_NS, |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid");
        add_namespace(c, json!({"type": "pid", "path": pid_path}));
        add_namespace(c, json!({"type": "time"}));
        c["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 7, "nanosecs": 9}});
    });
    let (offsets, link) = offsets_and_link(&c.run(), "run");
    assert_eq!(
        offsets,
        vec![("monotonic".into(), 7, 9), ("boottime".into(), 0, 0)]
    );
    assert_ne!(link, ns);
    assert_ne!(link, ns_link("self"));
}

#[test]
fn new_time_namespace_without_offsets_and_inside_a_user_namespace() {
    if skip() {
        return;
    }
    let b = Bundle::new(&READ_TIME_NS, |c| add_namespace(c, json!({"type": "time"})));
    let (offsets, link) = offsets_and_link(&b.run(), "run");
    assert_eq!(
        offsets,
        vec![("monotonic".into(), 0, 0), ("boottime".into(), 0, 0)]
    );
    assert_ne!(link, ns_link("self"));

    // With a new user namespace the time namespace is made, and its offsets written,
    // from inside it (the other ids mapped to an unprivileged host range).
    let b = Bundle::new(&READ_TIME_NS, |c| {
        with_offsets(c);
        add_namespace(c, json!({"type": "user"}));
        let map = json!([
            {"containerID": 0, "hostID": 0, "size": 1},
            {"containerID": 1, "hostID": 200001, "size": 65535},
        ]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    let (offsets, _) = offsets_and_link(&b.run(), "run");
    assert_eq!(offsets, expected_offsets());
}

#[test]
fn time_offsets_that_cannot_apply_are_refused() {
    if skip() {
        return;
    }
    let offsets = json!({"monotonic": {"secs": 5}});
    type Edit<'a> = Box<dyn FnOnce(&mut Value) + 'a>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|c: &mut Value| c["linux"]["timeOffsets"] = offsets.clone()),
            "linux.timeOffsets: set, but linux.namespaces has no time namespace",
        ),
        (
            Box::new(|c: &mut Value| {
                with_offsets(c);
                c["linux"]["timeOffsets"]["realtime"] = json!({"secs": 1});
            }),
            "linux.timeOffsets.realtime: unknown clock",
        ),
        (
            Box::new(|c: &mut Value| {
                add_namespace(c, json!({"type": "time", "path": "/proc/1/ns/time"}));
                c["linux"]["timeOffsets"] = offsets.clone();
            }),
            "joined by path",
        ),
        // Passes our checks; the kernel refuses a clock that would go below zero.
        (
            Box::new(|c: &mut Value| {
                with_offsets(c);
                c["linux"]["timeOffsets"]["boottime"] = json!({"secs": -YEAR * 1000});
            }),
            "linux.timeOffsets: write",
        ),
    ];
    for (edit, want) in cases {
        let b = Bundle::new(&["true"], edit);
        let out = b.run();
        assert_eq!(out.status.code(), Some(1), "{want}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(want),
            "want {want:?}: {}",
            stderr(&out)
        );
        assert!(!b.root.join(&b.id).exists(), "{want}: state left behind");
    }
}
