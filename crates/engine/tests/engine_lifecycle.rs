//! Detached containers: logs, exec, inspect, stop, restart policy, health, rm leaving
//! nothing behind, reconcile after a lost monitor, concurrency, errors, monitor size.

mod engine_support;

use berth_testutil::unique_name;
use engine_support::{mounts_under, stderr, stdout, Env};
use std::time::Duration;

fn monitor_pid(env: &Env, id: &str) -> i32 {
    let st: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.root().join("containers").join(id).join("status.json")).unwrap(),
    )
    .unwrap();
    st["monitor_pid"].as_i64().unwrap() as i32
}

#[test]
fn detached_logs_exec_stop_rm_leave_nothing() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("life");
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "-l",
            "app=web",
            "busybox",
            "sh",
            "-c",
            "trap 'echo bye; exit 0' TERM; echo started; echo oops >&2; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    env.wait_for(10, "log line", || {
        env.ok(&["logs", &name]).contains("started")
    });
    let both = env.run(&["logs", &name]);
    assert_eq!(stdout(&both), "started\n");
    assert_eq!(stderr(&both), "oops\n");
    let ts = env.ok(&["logs", "-t", &name]);
    assert!(ts.contains("T") && ts.ends_with(" started\n"), "{ts}");
    // json-file format on disk.
    let log = std::fs::read_to_string(
        env.root()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log")),
    )
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(["stdout", "stderr"].contains(&first["stream"].as_str().unwrap()));

    assert_eq!(env.inspect(&name, "{{.State.Running}}"), "true");
    assert_eq!(env.inspect(&name, "{{.Name}}"), format!("/{name}"));
    assert_eq!(
        env.inspect(&name, "{{index .Config.Labels \"app\"}}"),
        "web"
    );
    let ps = env.ok(&[
        "ps",
        "--filter",
        "label=app=web",
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    assert_eq!(ps, format!("{name} running\n"));
    assert_eq!(env.ok(&["ps", "-q"]).trim(), &id[..12]);
    let ps_json = env.ok(&["ps", "--format", "json"]);
    let row: serde_json::Value = serde_json::from_str(ps_json.lines().next().unwrap()).unwrap();
    assert_eq!(row["Names"], name.as_str());

    let out = env.ok(&[
        "exec",
        "-e",
        "A=b",
        "-w",
        "/tmp",
        &name,
        "sh",
        "-c",
        "echo $A $(pwd)",
    ]);
    assert_eq!(out, "b /tmp\n");
    assert_eq!(
        env.ok(&["exec", "-u", "nobody", &name, "id", "-u"]),
        "65534\n"
    );
    let o = env.run(&["exec", &name, "sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));

    let cgroup = format!("/sys/fs/cgroup/memory/berth/{id}");
    let monitor = monitor_pid(&env, &id);
    assert!(std::path::Path::new(&format!("/proc/{monitor}")).exists());

    assert_eq!(env.ok(&["stop", &name]), format!("{name}\n"));
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "exited");
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "0");
    assert!(env.ok(&["logs", &name]).contains("bye"));
    assert_eq!(env.ok(&["wait", &name]), "0\n");

    // A stopped container starts again.
    assert_eq!(env.ok(&["start", &name]), format!("{name}\n"));
    assert_eq!(env.inspect(&name, "{{.State.Running}}"), "true");
    let o = env.run(&["rm", &name]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("You cannot remove a running container"),
        "{}",
        stderr(&o)
    );
    env.ok(&["rm", "-f", &name]);
    assert_eq!(env.ok(&["ps", "-aq"]), "");
    assert!(!env.root().join("containers").join(&id).exists());
    assert!(
        mounts_under(&id).is_empty(),
        "mounts left: {:?}",
        mounts_under(&id)
    );
    assert!(!std::path::Path::new(&cgroup).exists(), "cgroup left");
    assert!(
        !std::path::Path::new(&format!("/proc/{monitor}")).exists() || {
            // pid reuse: make sure it is not our monitor
            !std::fs::read_to_string(format!("/proc/{monitor}/cmdline"))
                .unwrap_or_default()
                .contains(&id)
        }
    );
    let o = env.run(&["inspect", &name]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn restart_policy_on_failure_retries_then_stops() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("restart");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    env.wait_for(20, "restarts to finish", || {
        env.inspect(&name, "{{.State.Status}} {{.RestartCount}}") == "exited 2"
    });
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "3");
    assert_eq!(env.ok(&["logs", &name]), "run\nrun\nrun\n");
    assert_eq!(
        env.inspect(&name, "{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    let o = env.run(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("Conflicting options"), "{}", stderr(&o));
}

#[test]
fn restart_always_survives_exit_but_not_stop() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("always");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2; exit 0",
    ]);
    env.wait_for(20, "a restart", || {
        env.inspect(&name, "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap_or(0)
            >= 1
    });
    env.ok(&["stop", "-t", "1", &name]);
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "exited");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "exited");
}

#[test]
fn health_check_turns_healthy() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("health");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--health-cmd",
        "test -f /tmp/ready && echo ok",
        "--health-interval",
        "300ms",
        "--health-retries",
        "1",
        "busybox",
        "sh",
        "-c",
        "sleep 1.5; touch /tmp/ready; sleep 100",
    ]);
    let first = env.inspect(&name, "{{.State.Health.Status}}");
    assert!(first == "starting" || first == "unhealthy", "{first}");
    env.wait_for(10, "unhealthy", || {
        env.inspect(&name, "{{.State.Health.Status}}") == "unhealthy"
    });
    env.wait_for(10, "healthy", || {
        env.inspect(&name, "{{.State.Health.Status}}") == "healthy"
    });
    let log = env.inspect(&name, "{{json .State.Health.Log}}");
    assert!(log.contains("\"Output\":\"ok\\n\""), "{log}");
    assert!(env.ok(&["ps"]).contains("(healthy)"));
    env.ok(&["rm", "-f", &name]);
}

#[test]
fn exec_and_run_with_a_real_pty() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("pty");
    env.ok(&["run", "-d", "--name", &name, "busybox", "sleep", "100"]);
    let berth = berth_testutil::workspace_bin("berth");
    let root = env.root().display().to_string();
    // script(1) gives the command a real terminal.
    let cmd = format!(
        "{} --root {root} exec -it {name} sh -c 'tty; stty size; exit 4'",
        berth.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("BERTH_RUNTIME", engine_support::runtime())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("/dev/pts/"),
        "exec -it output: {out:?} {}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(4), "{out:?}");
    let cmd = format!(
        "{} --root {root} run --rm -it --network none busybox sh -c 'tty; echo $TERM; exit 5'",
        berth.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("BERTH_RUNTIME", engine_support::runtime())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("/dev/pts/0"),
        "run -it output: {out:?} {}",
        stderr(&o)
    );
    assert!(out.contains("xterm"), "{out:?}");
    assert_eq!(o.status.code(), Some(5), "{out:?}");
    env.ok(&["rm", "-f", &name]);
}

#[test]
fn errors_are_dockers() {
    let Some(env) = Env::new() else { return };
    let o = env.run(&["stop", "no-such-thing"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "Error response from daemon: No such container: no-such-thing\n"
    );
    let name = unique_name("dup");
    env.ok(&["create", "--name", &name, "busybox", "true"]);
    let o = env.run(&["create", "--name", &name, "busybox", "true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains(&format!(
            "Conflict. The container name \"/{name}\" is already in use"
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(env.ok(&["ps", "-aq"]).lines().count(), 1);
    // --pull never: tests reach no registry outside 127.0.0.0/8.
    let o = env.run(&["run", "--rm", "--pull", "never", "no-such-image:1"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("Unable to find image 'no-such-image:1' locally"));
    // A created container starts and its exit code is kept.
    env.ok(&["start", &name]);
    assert_eq!(env.ok(&["wait", &name]), "0\n");
    env.ok(&["rm", &name]);
}

#[test]
fn lost_monitor_is_reconciled_to_exited() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("lost");
    let id = env
        .ok(&["run", "-d", "--name", &name, "busybox", "sleep", "100"])
        .trim()
        .to_string();
    let pid = monitor_pid(&env, &id);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "exited");
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "255");
    assert!(mounts_under(&id).is_empty(), "{:?}", mounts_under(&id));
    env.ok(&["rm", &name]);
}

#[test]
fn concurrent_commands_are_safe() {
    let Some(env) = Env::new() else { return };
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let mut c = env.cmd(&[
                "run",
                "-d",
                "--network=none",
                "-l",
                "batch=1",
                "busybox",
                "sleep",
                "100",
            ]);
            let _ = i;
            std::thread::spawn(move || c.output().unwrap())
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        let o = h.join().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        ids.push(stdout(&o).trim().to_string());
    }
    let names = env.ok(&["ps", "--filter", "label=batch=1", "--format", "{{.Names}}"]);
    let mut uniq: Vec<&str> = names.lines().collect();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 6, "{names}");
    let handles: Vec<_> = ids
        .iter()
        .flat_map(|id| {
            // stop and rm -f racing on the same container
            let mut a = env.cmd(&["stop", "-t", "0", id]);
            let mut b = env.cmd(&["rm", "-f", id]);
            [
                std::thread::spawn(move || a.output().unwrap()),
                std::thread::spawn(move || b.output().unwrap()),
            ]
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(env.ok(&["ps", "-aq"]), "");
    for id in &ids {
        assert!(mounts_under(id).is_empty());
    }
}

#[test]
fn monitor_rss_is_small() {
    let Some(env) = Env::new() else { return };
    let id = env
        .ok(&["run", "-d", "busybox", "sleep", "100"])
        .trim()
        .to_string();
    let pid = monitor_pid(&env, &id);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap()
        .to_string();
    println!("berth-monitor {rss}");
    assert!(status.contains("berth-monito"), "{status}");
    // The bound: at most 2 MiB per monitor (a size, not a timing: stable).
    let kib: u64 = rss
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(kib <= 2048, "berth-monitor uses {kib} KiB, more than 2 MiB");
    env.ok(&["rm", "-f", &id]);
}

#[test]
fn any_runtime_binary_works_runc() {
    let Some(env) = Env::new() else { return };
    let o = env.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "busybox",
        "sh",
        "-c",
        "echo via runc; exit 2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stdout(&o), "via runc\n");
}

/// A host reboot, as far as Berth can tell: every monitor and container process is gone
/// and the kernel's boot id differs from the one the data root was reconciled for.
#[test]
fn first_command_after_a_reboot_reconciles_and_applies_restart_policies() {
    let Some(env) = Env::new() else { return };
    let net = unique_name("bootnet");
    env.ok(&["network", "create", &net]);
    let always = unique_name("b-always");
    let unless = unique_name("b-unless");
    let unless_stopped = unique_name("b-unless-stopped");
    let plain = unique_name("b-plain");
    for (name, policy) in [
        (&always, "always"),
        (&unless, "unless-stopped"),
        (&unless_stopped, "unless-stopped"),
    ] {
        env.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--restart",
            policy,
            "busybox",
            "sleep",
            "300",
        ]);
    }
    let plain_id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            &plain,
            "--network",
            &net,
            "busybox",
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    env.ok(&["stop", "-t", "0", &unless_stopped]);
    let netns = format!("/run/berth/netns/{plain_id}");
    assert!(std::path::Path::new(&netns).exists());

    // "Power off": kill every monitor and container process without any clean-up.
    for name in [&always, &unless, &plain] {
        let id = env.inspect(name, "{{.Id}}");
        let pid = env.inspect(name, "{{.State.Pid}}").parse::<i32>().unwrap();
        let mon = monitor_pid(&env, &id);
        for p in [mon, pid] {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::SIGKILL);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(
        env.root().join("boot_id"),
        "00000000-0000-0000-0000-000000000000\n",
    )
    .unwrap();

    // The first command after "boot" reconciles everything before it answers.
    let ps = env.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    let state = |n: &str| {
        ps.lines()
            .find_map(|l| l.strip_prefix(&format!("{n} ")))
            .unwrap_or("missing")
            .to_string()
    };
    assert_eq!(state(&always), "running", "{ps}");
    assert_eq!(state(&unless), "running", "{ps}");
    assert_eq!(state(&unless_stopped), "exited", "{ps}");
    assert_eq!(state(&plain), "exited", "{ps}");
    assert_eq!(env.inspect(&plain, "{{.State.ExitCode}}"), "255");
    // The lost container's network namespace and address are released.
    assert!(
        !std::path::Path::new(&netns).exists(),
        "{netns} left behind"
    );
    assert!(
        mounts_under(&plain_id).is_empty(),
        "{:?}",
        mounts_under(&plain_id)
    );
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(
        std::fs::read_to_string(env.root().join("boot_id")).unwrap(),
        boot_id
    );
    // A second command does no more restarts.
    let id = env.inspect(&always, "{{.Id}}");
    let mon = monitor_pid(&env, &id);
    env.ok(&["ps"]);
    assert_eq!(monitor_pid(&env, &id), mon);
    env.ok(&["rm", "-f", &always, &unless, &unless_stopped, &plain]);
    env.ok(&["network", "rm", &net]);
}
