//! `berth run` flags end to end, each observed from inside a real container: --env-file,
//! --hostname, --ulimit, --cpus, --cpuset-cpus, --tmpfs, --device, --privileged,
//! --log-opt rotation, --network host / container:NAME, --network-alias, -p conflicts,
//! --dns, --add-host, --pull never, health flags, --stop-signal / --stop-timeout.

mod engine_support;

use berth_testutil::unique_name;
use engine_support::{stderr, Env};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// cgroup file of the container's own cgroup, v1 or v2, read from inside.
const CPU_QUOTA: &str =
    "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max";
const CPUSET: &str =
    "cat /sys/fs/cgroup/cpuset/cpuset.cpus 2>/dev/null || cat /sys/fs/cgroup/cpuset.cpus";

#[test]
fn process_and_resource_flags_reach_the_container() {
    let Some(env) = Env::new() else { return };
    let dir = berth_testutil::TempDir::new("berth-envfile").unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "A=1\n# a comment\n\nB=two words\n").unwrap();
    let out = env.ok(&[
        "run", "--rm", "--env-file", env_file.to_str().unwrap(), "-e", "A=override",
        "--hostname", "flagged", "--ulimit", "nofile=1024:2048", "--cpus", "0.5",
        "--cpuset-cpus", "0", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
        &format!(
            "echo \"$A|$B\"; hostname; ulimit -n; ulimit -Hn; {CPU_QUOTA}; {CPUSET}; \
             df -k /scratch | tail -1 | awk '{{print $2}}'; grep ' /scratch ' /proc/mounts | cut -d' ' -f3"
        ),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "override|two words",
            "flagged",
            "1024",
            "2048",
            "50000",
            "0",
            "1024",
            "tmpfs"
        ],
        "{out}"
    );

    // --device: the node exists in the container and is usable (the cgroup allows it).
    let out = env.ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/null:/dev/mynull",
        "busybox",
        "sh",
        "-c",
        "stat -c '%t:%T' /dev/mynull; echo x > /dev/mynull && echo wrote",
    ]);
    assert_eq!(out, "1:3\nwrote\n");
    let o = env.run(&[
        "run",
        "--rm",
        "--device",
        "/dev/no-such-dev",
        "busybox",
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("/dev/no-such-dev"), "{}", stderr(&o));

    // --privileged: all capabilities the host has, and the host's devices.
    let caps = |args: &[&str]| -> u64 {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        let out = env.ok(&a);
        u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    let default = caps(&[]);
    let privileged = caps(&["--privileged"]);
    assert_eq!(default, 0xa80425fb, "Docker's default capability set");
    assert!(
        privileged & default == default && privileged.count_ones() > 30,
        "{privileged:x}"
    );
    let out = env.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "test -e /dev/kmsg && echo host-devs",
    ]);
    assert_eq!(out, "host-devs\n");
}

#[test]
fn log_rotation_keeps_max_file_files_of_max_size() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("rot");
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i-padding-padding; i=$((i+1)); done",
        ])
        .trim()
        .to_string();
    assert_eq!(env.ok(&["wait", &name]), "0\n");
    let dir = env.root().join("containers").join(&id);
    let mut logs: Vec<(String, u64)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().to_string_lossy().into_owned();
            n.contains("-json.log")
                .then(|| (n, e.metadata().unwrap().len()))
        })
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().all(|(_, len)| *len <= 1024 + 200), "{logs:?}");
    // logs shows what is kept, newest last.
    let out = env.ok(&["logs", &name]);
    assert!(out.ends_with("line-199-padding-padding\n"), "{out}");
    assert!(!out.contains("line-0-"), "rotated away");
    env.ok(&["rm", &name]);
    let o = env.run(&[
        "run",
        "--rm",
        "--log-opt",
        "max-size=lots",
        "busybox",
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("max-size"), "{}", stderr(&o));
}

#[test]
fn network_flags_host_container_alias_ports_dns() {
    let Some(env) = Env::new() else { return };
    // --network host: the host's interfaces and hostname.
    let host_links = std::fs::read_dir("/sys/class/net").unwrap().count();
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net | wc -l; hostname",
    ]);
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(out, format!("{host_links}\n{}", host_name));

    let net = unique_name("flagnet");
    let web = unique_name("flagweb");
    let port = free_port();
    env.ok(&["network", "create", &net]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &net,
        "--network-alias",
        "webalias",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "sh",
        "-c",
        "mkdir /w && echo hi > /w/index.html && exec httpd -f -p 80 -h /w",
    ]);
    assert_eq!(
        env.ok(&["port", &web]).trim(),
        format!("80/tcp -> 127.0.0.1:{port}")
    );
    // The alias resolves on the user network; container:NAME shares the namespace.
    let mut body = String::new();
    env.wait_for(10, "httpd by alias", || {
        body = env.ok(&[
            "run",
            "--rm",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            "wget -q -O - http://webalias/ || true",
        ]);
        body == "hi\n"
    });
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        &format!("container:{web}"),
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://127.0.0.1/",
    ]);
    assert_eq!(out, "hi\n");
    // The same host port again is Docker's error, and nothing is left of the attempt.
    let before = env.ok(&["ps", "-aq"]);
    let o = env.run(&[
        "run",
        "--rm",
        "--network",
        &net,
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("port is already allocated"),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.ok(&["ps", "-aq"]), before);

    let out = env.ok(&[
        "run",
        "--rm",
        "--dns",
        "10.9.9.9",
        "--add-host",
        "foo:10.1.2.3",
        "busybox",
        "sh",
        "-c",
        "grep nameserver /etc/resolv.conf; grep foo /etc/hosts",
    ]);
    assert_eq!(out, "nameserver 10.9.9.9\n10.1.2.3\tfoo\n");
    env.ok(&["rm", "-f", &web]);
    env.ok(&["network", "rm", &net]);
}

#[test]
fn pull_never_health_flags_and_stop_signal() {
    let Some(env) = Env::new() else { return };
    assert_eq!(
        env.ok(&["run", "--rm", "--pull", "never", "busybox", "echo", "local"]),
        "local\n"
    );
    let o = env.run(&["run", "--rm", "--pull", "never", "no-such-image:1", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("No such image: no-such-image:1"),
        "{}",
        stderr(&o)
    );

    let hc = unique_name("hc");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &hc,
        "--health-cmd",
        "test -f /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sh",
        "-c",
        "sleep 1; touch /tmp/ok; sleep 100",
    ]);
    assert_eq!(
        env.inspect(&hc, "{{json .Config.Healthcheck.Test}}"),
        r#"["CMD-SHELL","test -f /tmp/ok"]"#
    );
    env.wait_for(10, "unhealthy while the file is missing", || {
        env.inspect(&hc, "{{.State.Health.Status}}") == "unhealthy"
    });
    env.wait_for(10, "healthy once it exists", || {
        env.inspect(&hc, "{{.State.Health.Status}}") == "healthy"
    });
    env.ok(&["rm", "-f", &hc]);

    // --stop-signal is what stop sends; --stop-timeout is its default grace period.
    let ss = unique_name("ss");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &ss,
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "1",
        "busybox",
        "sh",
        "-c",
        "trap 'echo usr1' USR1; echo up; while true; do sleep 0.1; done",
    ]);
    env.wait_for(10, "up", || env.ok(&["logs", &ss]).contains("up"));
    env.ok(&["stop", &ss]);
    assert!(env.ok(&["logs", &ss]).contains("usr1"));
    assert_eq!(env.inspect(&ss, "{{.State.ExitCode}}"), "137");
    assert_eq!(
        env.inspect(&ss, "{{.Config.StopSignal}} {{.Config.StopTimeout}}"),
        "USR1 1"
    );
    env.ok(&["rm", &ss]);
}
