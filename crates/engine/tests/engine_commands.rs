//! Everyday commands checked against Docker's documented behaviour through the real
//! `berth` binary: kill -s, stop -s/-t, restart, start, ps filters, exec flags, logs -f,
//! inspect's Config/HostConfig/GraphDriver, network connect/disconnect (kept across
//! restarts), network and volume ls/inspect/prune.

mod engine_support;

use berth_testutil::unique_name;
use engine_support::{stderr, stdout, Env};

/// A container that reports the signals it gets: USR1 is logged and ignored, TERM exits 7.
const TRAPPER: &str = "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 7' TERM; \
                       echo ready; while true; do sleep 0.1; done";

fn logs(env: &Env, name: &str) -> String {
    env.ok(&["logs", name])
}

#[test]
fn signals_stop_restart_and_ps_filters() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("sig");
    let other = unique_name("sig-other");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "-l",
        "suite=cmds",
        "busybox",
        "sh",
        "-c",
        TRAPPER,
    ]);
    env.ok(&[
        "create",
        "--name",
        &other,
        "-l",
        "suite=other",
        "busybox",
        "true",
    ]);
    env.wait_for(10, "ready", || logs(&env, &name).contains("ready"));

    // kill -s: the named signal reaches PID 1's handler; the container keeps running.
    env.ok(&["kill", "-s", "USR1", &name]);
    env.wait_for(10, "USR1 handled", || {
        logs(&env, &name).contains("got-usr1")
    });
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "running");

    // ps filters: status, name, label; -a shows created ones.
    let fmt = "{{.Names}}";
    assert_eq!(
        env.ok(&["ps", "--filter", "status=running", "--format", fmt])
            .trim(),
        name
    );
    let created = env.ok(&["ps", "-a", "--filter", "status=created", "--format", fmt]);
    assert_eq!(created.trim(), other);
    let by_name = env.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={other}"),
        "--format",
        fmt,
    ]);
    assert_eq!(by_name.trim(), other);
    let by_label = env.ok(&["ps", "-a", "--filter", "label=suite=cmds", "--format", fmt]);
    assert_eq!(by_label.trim(), name);
    assert_eq!(
        env.ok(&["ps", "--format", fmt]).trim(),
        name,
        "ps without -a: running only"
    );

    // stop -s USR1 -t 1: the container ignores USR1, so after the grace period it is
    // killed (137); the signal itself was delivered first.
    env.ok(&["stop", "-s", "USR1", "-t", "1", &name]);
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "137");
    assert_eq!(logs(&env, &name).matches("got-usr1").count(), 2);

    // start again; a plain stop sends TERM, which the container handles (exit 7).
    env.ok(&["start", &name]);
    env.wait_for(10, "second ready", || {
        logs(&env, &name).matches("ready").count() == 2
    });
    env.ok(&["stop", "-t", "10", &name]);
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "7");
    assert!(logs(&env, &name).contains("got-term"));

    // restart of a stopped container starts it; of a running one stops and starts it.
    env.ok(&["restart", &name]);
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "running");
    let started = env.inspect(&name, "{{.State.StartedAt}}");
    env.wait_for(10, "third ready", || {
        logs(&env, &name).matches("ready").count() == 3
    });
    env.ok(&["restart", "-t", "5", &name]);
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "running");
    assert_ne!(env.inspect(&name, "{{.State.StartedAt}}"), started);
    env.wait_for(10, "fourth ready", || {
        logs(&env, &name).matches("ready").count() == 4
    });
    assert_eq!(logs(&env, &name).matches("got-term").count(), 2);

    // kill with a number; kill of a stopped container is Docker's error.
    env.ok(&["kill", "-s", "9", &name]);
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "137");
    let o = env.run(&["kill", &name]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("is not running"), "{}", stderr(&o));
    env.ok(&["rm", &name, &other]);
}

#[test]
fn exec_flags_and_logs_follow() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("exec");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "-e",
        "GREETING=hi",
        "busybox",
        "sleep",
        "100",
    ]);

    // -d returns at once; the command runs in the background of the container.
    env.ok(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "sleep 0.2; echo done > /tmp/bg",
    ]);
    env.wait_for(10, "detached exec", || {
        env.run(&["exec", &name, "cat", "/tmp/bg"]).stdout == b"done\n"
    });
    // -e replaces the container's value, -w sets the directory, -u the user.
    let out = env.ok(&[
        "exec",
        "-e",
        "GREETING=hello",
        "-e",
        "EXTRA=1",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        &name,
        "sh",
        "-c",
        "echo $GREETING $EXTRA $(pwd) $(id -u):$(id -g); env | grep -c ^GREETING=",
    ]);
    assert_eq!(out, "hello 1 /tmp 1000:1000\n1\n");
    // The exec's exit code is returned; an unknown command is Docker's 126/127.
    let o = env.run(&["exec", &name, "sh", "-c", "exit 5"]);
    assert_eq!(o.status.code(), Some(5));
    let o = env.run(&["exec", &name, "/no/such/binary"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no such file or directory"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["exec", &name, "no-such-command"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("executable file not found in $PATH"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["exec", &name, "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    // Relative to -w, and found on the PATH given with -e.
    env.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "printf '#!/bin/sh\\necho \"$@\"\\n' > /tmp/say; chmod +x /tmp/say",
    ]);
    assert_eq!(
        env.ok(&["exec", "-w", "/tmp", &name, "./say", "rel"]),
        "rel\n"
    );
    assert_eq!(
        env.ok(&["exec", "-e", "PATH=/tmp:/bin", &name, "say", "path"]),
        "path\n"
    );
    env.ok(&["rm", "-f", &name]);

    // logs -f follows the output until the container exits, then returns.
    let name = unique_name("follow");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; sleep 0.3; done",
    ]);
    let o = env.run(&["logs", "-f", &name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "line1\nline2\nline3\n");
    env.ok(&["rm", &name]);
}

#[test]
fn inspect_config_and_host_config_are_dockers() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("insp");
    let host_dir = berth_testutil::TempDir::new("berth-insp-bind").unwrap();
    let bind = format!("{}:/hostdir:ro", host_dir.path().display());
    env.ok(&[
        "create",
        "--name",
        &name,
        "-p",
        "127.0.0.1:18080:80",
        "-p",
        "9090/udp",
        "-v",
        &bind,
        "-v",
        "/anon",
        "busybox",
    ]);
    // No command given: Config.Cmd is the image's.
    assert_eq!(env.inspect(&name, "{{json .Config.Cmd}}"), r#"["sh"]"#);
    assert_eq!(env.inspect(&name, "{{json .Config.Entrypoint}}"), "null");
    assert_eq!(
        env.inspect(&name, "{{json .Config.ExposedPorts}}"),
        r#"{"80/tcp":{},"9090/udp":{}}"#
    );
    assert_eq!(
        env.inspect(&name, "{{json .Config.Volumes}}"),
        r#"{"/anon":{}}"#
    );
    assert_eq!(
        env.inspect(&name, "{{json .HostConfig.PortBindings}}"),
        r#"{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"}],"9090/udp":[{"HostIp":"","HostPort":""}]}"#
    );
    assert_eq!(
        env.inspect(&name, "{{json .HostConfig.Binds}}"),
        format!("[\"{bind}\"]")
    );
    assert_eq!(env.inspect(&name, "{{.GraphDriver.Name}}"), "overlay");
    let upper = env.inspect(&name, "{{.GraphDriver.Data.UpperDir}}");
    assert!(std::path::Path::new(&upper).is_dir(), "{upper}");
    let lower = env.inspect(&name, "{{.GraphDriver.Data.LowerDir}}");
    assert!(
        lower.split(':').all(|d| std::path::Path::new(d).is_dir()),
        "{lower}"
    );
    env.ok(&["rm", "-v", &name]);

    // --entrypoint resets the image's Cmd; args after the image become Cmd.
    let name = unique_name("insp-ep");
    env.ok(&[
        "create",
        "--name",
        &name,
        "--entrypoint",
        "echo",
        "busybox",
        "a",
        "b",
    ]);
    assert_eq!(
        env.inspect(&name, "{{json .Config.Entrypoint}}"),
        r#"["echo"]"#
    );
    assert_eq!(env.inspect(&name, "{{json .Config.Cmd}}"), r#"["a","b"]"#);
    assert_eq!(
        env.inspect(&name, "{{.Path}} {{json .Args}}"),
        r#"echo ["a","b"]"#
    );
    env.ok(&["start", &name]);
    assert_eq!(env.ok(&["wait", &name]), "0\n");
    assert_eq!(env.ok(&["logs", &name]), "a b\n");
    env.ok(&["rm", &name]);
}

/// The subnets (first three octets) of the container's non-loopback IPv4 addresses.
fn subnets(env: &Env, name: &str) -> Vec<String> {
    addresses(env, name)
        .iter()
        .map(|a| a.rsplit_once('.').map(|x| x.0).unwrap_or("").to_string())
        .collect()
}

fn addresses(env: &Env, name: &str) -> Vec<String> {
    let out = env.ok(&["exec", name, "ip", "-4", "-o", "addr", "show"]);
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| !l.contains(" lo "))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn network_connect_disconnect_persist_across_starts() {
    let Some(env) = Env::new() else { return };
    let a = unique_name("neta");
    let b = unique_name("netb");
    let spare = unique_name("netc");
    env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.231.61.0/24",
        "--label",
        "t=1",
        &a,
    ]);
    env.ok(&["network", "create", "--subnet", "10.231.62.0/24", &b]);
    env.ok(&["network", "create", &spare]);
    let ls = env.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(ls.lines().any(|l| l == format!("{a} bridge")), "{ls}");
    assert!(ls.lines().any(|l| l == "none null"), "{ls}");
    let ipam = env.ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{json .Labels}}",
        &a,
    ]);
    assert_eq!(ipam.trim(), r#"10.231.61.0/24 10.231.61.1 {"t":"1"}"#);

    let c = unique_name("multi");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "--network",
        &a,
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(addresses(&env, &c), ["10.231.61.2/24"]);
    // connect a running container: a second interface at once.
    env.ok(&["network", "connect", &b, &c]);
    assert_eq!(addresses(&env, &c), ["10.231.61.2/24", "10.231.62.2/24"]);
    let nets = env.inspect(
        &c,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert!(nets.contains(&a) && nets.contains(&b), "{nets}");
    let o = env.run(&["network", "connect", &b, &c]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("already exists in network"),
        "{}",
        stderr(&o)
    );
    // ... and kept across a restart.
    env.ok(&["restart", "-t", "0", &c]);
    assert_eq!(subnets(&env, &c), ["10.231.61", "10.231.62"]);
    // disconnect while stopped is recorded too: the next start joins only b.
    env.ok(&["stop", "-t", "0", &c]);
    let nets = env.inspect(
        &c,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert!(
        nets.contains(&a) && nets.contains(&b),
        "stopped: still configured: {nets}"
    );
    env.ok(&["network", "disconnect", &a, &c]);
    env.ok(&["start", &c]);
    assert_eq!(subnets(&env, &c), ["10.231.62"]);
    let o = env.run(&["network", "disconnect", &a, &c]);
    assert!(
        stderr(&o).contains("is not connected to network"),
        "{}",
        stderr(&o)
    );
    env.ok(&["network", "disconnect", "-f", &a, &c]);

    // a container on --network none cannot join networks.
    let lone = unique_name("lone");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &lone,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    let o = env.run(&["network", "connect", &b, &lone]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("network mode none"), "{}", stderr(&o));
    let o = env.run(&["network", "connect", "no-such-net", &c]);
    assert_eq!(
        stderr(&o).trim(),
        "Error response from daemon: network no-such-net not found"
    );

    // prune removes the unused networks only; the predefined ones stay.
    let pruned = env.ok(&["network", "prune", "-f"]);
    assert!(
        pruned.lines().any(|l| l == a) && pruned.lines().any(|l| l == spare),
        "{pruned}"
    );
    assert!(!pruned.contains(&b), "{pruned}");
    env.ok(&["rm", "-f", &c, &lone]);
    env.ok(&["network", "rm", &b]);
    let ls = env.ok(&["network", "ls", "-q"]);
    assert_eq!(ls.lines().count(), 3, "bridge, host, none remain: {ls}");
}

#[test]
fn volume_create_inspect_ls_prune() {
    let Some(env) = Env::new() else { return };
    let v = unique_name("vol");
    assert_eq!(
        env.ok(&["volume", "create", "--label", "a=b", &v]).trim(),
        v
    );
    let anon = env.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    let info = env.ok(&[
        "volume",
        "inspect",
        "-f",
        "{{.Name}} {{.Driver}} {{json .Labels}}",
        &v,
    ]);
    assert_eq!(info.trim(), format!(r#"{v} local {{"a":"b"}}"#));
    let mp = env.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", &v]);
    assert!(std::path::Path::new(mp.trim()).is_dir(), "{mp}");
    env.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{v}:/data"),
        "busybox",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    assert_eq!(
        std::fs::read_to_string(format!("{}/f", mp.trim())).unwrap(),
        "x\n"
    );
    let ls = env.ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(
        ls.lines().any(|l| l == v) && ls.lines().any(|l| l == anon),
        "{ls}"
    );

    // A volume in use by a container survives even prune -a; unused ones go with -a.
    let user = unique_name("voluser");
    env.ok(&[
        "create",
        "--name",
        &user,
        "-v",
        &format!("{v}:/data"),
        "busybox",
        "true",
    ]);
    let o = env.run(&["volume", "rm", &v]);
    assert_ne!(o.status.code(), Some(0), "rm of a volume in use must fail");
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));
    let pruned = env.ok(&["volume", "prune", "-a", "-f"]);
    assert!(pruned.contains(&anon) && !pruned.contains(&v), "{pruned}");
    assert!(pruned.contains("Total reclaimed space"), "{pruned}");
    env.ok(&["rm", &user]);
    let pruned = env.ok(&["volume", "prune", "-a", "-f"]);
    assert!(pruned.contains(&v), "{pruned}");
    assert!(!std::path::Path::new(mp.trim()).exists());
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "");
    let o = env.run(&["volume", "inspect", &v]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no such volume"), "{}", stderr(&o));
}

/// `berth attach` with `input` piped to its stdin; returns (exit code, stdout, stderr).
fn attach(env: &Env, name: &str, input: &'static [u8]) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut c = env.cmd(&["attach", name]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Input a line at a time, keeping stdin open (EOF does not end an attach).
    let feeder = std::thread::spawn(move || {
        for chunk in input.split_inclusive(|b| *b == b'\n') {
            std::thread::sleep(std::time::Duration::from_millis(150));
            if stdin.write_all(chunk).is_err() {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(20));
    });
    let o = child.wait_with_output().unwrap();
    drop(feeder);
    (o.status.code(), stdout(&o), stderr(&o))
}

#[test]
fn attach_streams_both_ways_detaches_and_ends_with_the_container() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("att");
    env.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "while read l; do echo \"out $l\"; echo \"err $l\" >&2; [ \"$l\" = quit ] && exit 4; done",
    ]);
    // Input reaches the container; stdout and stderr come back apart; ctrl-p ctrl-q
    // detaches and leaves the container running.
    let (code, out, err) = attach(&env, &name, b"one\ntwo\n\x10\x11");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "out one\nout two\n");
    assert_eq!(err, "err one\nerr two\nread escape sequence\n");
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "running");
    // Attached again: the container's exit ends the attach with its code.
    let (code, out, _) = attach(&env, &name, b"quit\n");
    assert_eq!(code, Some(4));
    assert_eq!(out, "out quit\n");
    let o = env.run(&["attach", &name]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("You cannot attach to a stopped container"),
        "{}",
        stderr(&o)
    );
    env.ok(&["rm", &name]);

    // With a tty: one stream through the pty, custom detach keys accepted.
    let name = unique_name("att-tty");
    env.ok(&["run", "-d", "-it", "--name", &name, "busybox", "sh"]);
    let (code, out, err) = attach(&env, &name, b"echo hello-$((40+2))\nexit 3\n");
    assert_eq!(code, Some(3), "{err}");
    assert!(out.contains("hello-42"), "{out}");
    env.ok(&["rm", &name]);
    let o = env.run(&["attach", "--detach-keys", "alt-q", "x"]);
    assert!(stderr(&o).contains("Invalid detach keys"), "{}", stderr(&o));
}

#[test]
fn stats_reports_network_and_block_io() {
    let Some(env) = Env::new() else { return };
    let net = unique_name("statnet");
    env.ok(&["network", "create", "--subnet", "10.231.71.0/24", &net]);
    let name = unique_name("stat");
    env.ok(&[
        "run", "-d", "--name", &name, "--network", &net, "busybox", "sh", "-c",
        "ping -c 3 -i 0.2 10.231.71.1 >/dev/null; dd if=/dev/zero of=/tmp/f bs=1M count=8 oflag=direct conv=fsync 2>/dev/null; echo done; sleep 300",
    ]);
    env.wait_for(20, "ping and dd", || env.ok(&["logs", &name]) == "done\n");
    let row = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}",
        &name,
    ]);
    let parts: Vec<&str> = row.trim().split('|').collect();
    assert_eq!(parts.len(), 3, "{row}");
    let bytes = |s: &str| -> f64 {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap();
        let (n, unit) = s.split_at(split);
        let m = match unit {
            "B" => 1.0,
            "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            u => panic!("unit {u} in {row}"),
        };
        n.parse::<f64>().unwrap() * m
    };
    let (rx, tx) = parts[0].split_once(" / ").unwrap();
    // Three echo requests of 84 bytes each went out, and their replies came back.
    assert!(bytes(tx) >= 3.0 * 84.0 && bytes(rx) >= 3.0 * 84.0, "{row}");
    let (_, written) = parts[1].split_once(" / ").unwrap();
    // O_DIRECT: the writes are submitted by dd itself, so cgroup v1 blkio charges them to
    // its cgroup; buffered pages may be written back by the kernel flusher (charged to
    // the root cgroup on v1) before the fsync when the host is busy.
    assert!(bytes(written) >= 8e6, "dd wrote 8 MiB with O_DIRECT: {row}");
    assert!(parts[2].parse::<u32>().unwrap() >= 1, "{row}");
    env.ok(&["rm", "-f", &name]);
    env.ok(&["network", "rm", &net]);
}

#[test]
fn rename_moves_the_dns_name() {
    let Some(env) = Env::new() else { return };
    let net = unique_name("rennet");
    env.ok(&["network", "create", &net]);
    let old = unique_name("old");
    let new = unique_name("new");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &old,
        "--network",
        &net,
        "busybox",
        "sleep",
        "300",
    ]);
    let resolves = |n: &str| {
        env.run(&["run", "--rm", "--network", &net, "busybox", "nslookup", n])
            .status
            .success()
    };
    assert!(resolves(&old));
    env.ok(&["rename", &old, &new]);
    assert!(resolves(&new), "the new name resolves");
    assert!(!resolves(&old), "the old name is gone");
    env.ok(&["rm", "-f", &new]);
    env.ok(&["network", "rm", &net]);
}

/// A cgroup value as the container sees its own cgroup (v1 controller file, else v2).
fn cgroup_value(env: &Env, name: &str, v1: &str, v2: &str) -> String {
    let script = format!("cat /sys/fs/cgroup/{v1} 2>/dev/null || cat /sys/fs/cgroup/{v2}");
    env.ok(&["exec", name, "sh", "-c", &script])
        .trim()
        .to_string()
}

#[test]
fn update_changes_limits_and_the_restart_policy() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("upd");
    env.ok(&["run", "-d", "--name", &name, "busybox", "sleep", "300"]);
    env.ok(&[
        "update",
        "--cpuset-cpus",
        "0",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "20000",
        "--memory",
        "128m",
        "--memory-reservation",
        "32m",
        &name,
    ]);
    assert_eq!(
        cgroup_value(&env, &name, "cpuset/cpuset.cpus", "cpuset.cpus"),
        "0"
    );
    let quota = cgroup_value(&env, &name, "cpu/cpu.cfs_quota_us", "cpu.max");
    assert!(quota == "20000" || quota == "20000 50000", "{quota}");
    let reservation = cgroup_value(
        &env,
        &name,
        "memory/memory.soft_limit_in_bytes",
        "memory.low",
    );
    assert_eq!(reservation, "33554432");
    // Kept for the next start too.
    env.ok(&["restart", "-t", "0", &name]);
    assert_eq!(
        cgroup_value(&env, &name, "cpuset/cpuset.cpus", "cpuset.cpus"),
        "0"
    );
    let o = env.run(&["update", "--blkio-weight", "5", &name]);
    assert!(
        stderr(&o).contains("Range of blkio weight is from 10 to 1000"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["update", &name]);
    assert!(stderr(&o).contains("one or more flags"), "{}", stderr(&o));
    env.ok(&["rm", "-f", &name]);

    // --restart reaches a container that is already running.
    let name = unique_name("upd-restart");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 3",
    ]);
    env.ok(&["update", "--restart", "on-failure:2", &name]);
    assert_eq!(
        env.inspect(&name, "{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    env.wait_for(30, "two restarts, then exited", || {
        env.inspect(&name, "{{.State.Status}} {{.RestartCount}}") == "exited 2"
    });
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "3");
    let o = env.run(&["update", "--restart", "sometimes", &name]);
    assert!(
        stderr(&o).contains("invalid restart policy"),
        "{}",
        stderr(&o)
    );
    env.ok(&["rm", &name]);
}

#[test]
fn start_attach_and_interactive() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("start-a");
    env.ok(&[
        "create",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 6",
    ]);
    let o = env.run(&["start", "-a", &name]);
    assert_eq!(
        o.status.code(),
        Some(6),
        "start -a returns the container's code"
    );
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");
    env.ok(&["rm", &name]);

    let name = unique_name("start-i");
    env.ok(&[
        "create",
        "-i",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "read l; echo \"got $l\"",
    ]);
    let mut c = env.cmd(&["start", "-a", "-i", &name]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"hello\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "got hello\n");
    env.ok(&["rm", &name]);
}
