//! `berth run` end to end with real containers: output, exit codes, process settings,
//! limits, and that nothing is left behind.

mod engine_support;

use engine_support::{mounts_under, stderr, stdout, Env};

#[test]
fn run_prints_output_and_returns_exit_code() {
    let Some(env) = Env::new() else { return };
    let o = env.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "out\n");
    assert!(stderr(&o).contains("err"), "stderr: {}", stderr(&o));
    assert_eq!(env.ok(&["ps", "-aq"]), "", "--rm leaves nothing");
}

#[test]
fn unknown_command_gives_127_and_leaves_nothing() {
    let Some(env) = Env::new() else { return };
    let o = env.run(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(o.status.code(), Some(127), "stderr: {}", stderr(&o));
    assert!(stderr(&o).contains("no-such-command"), "{}", stderr(&o));
    assert_eq!(env.ok(&["ps", "-aq"]), "");
    assert!(mounts_under(&env.root().display().to_string()).is_empty());
}

#[test]
fn env_workdir_user_readonly_and_capabilities() {
    let Some(env) = Env::new() else { return };
    let out = env.ok(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar baz",
        "-w",
        "/tmp/work",
        "-u",
        "nobody",
        "--read-only",
        "busybox",
        "sh",
        "-c",
        "echo \"$FOO\"; pwd; id -u; id -g; touch /x 2>/dev/null || echo read-only; grep CapEff /proc/self/status",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "bar baz");
    assert_eq!(lines[1], "/tmp/work");
    assert_eq!(lines[2], "65534");
    assert_eq!(lines[3], "65534");
    assert_eq!(lines[4], "read-only");
    // A non-root user has no effective capabilities.
    assert_eq!(lines[5].split_whitespace().nth(1), Some("0000000000000000"));
    let root_caps = env.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CHOWN",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    // CAP_CHOWN is bit 0.
    assert_eq!(
        root_caps.split_whitespace().nth(1),
        Some("0000000000000001"),
        "{root_caps}"
    );
}

#[test]
fn oom_kill_gives_137_and_oomkilled() {
    let Some(env) = Env::new() else { return };
    let name = berth_testutil::unique_name("oom");
    let o = env.run(&[
        "run",
        "--name",
        &name,
        "-m",
        "8m",
        "--memory-swap",
        "8m",
        "busybox",
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(o.status.code(), Some(137), "stderr: {}", stderr(&o));
    assert_eq!(env.inspect(&name, "{{.State.OOMKilled}}"), "true");
    assert_eq!(env.inspect(&name, "{{.State.ExitCode}}"), "137");
    env.ok(&["rm", &name]);
}

#[test]
fn init_runs_as_pid_1_and_passes_the_exit_code() {
    let Some(env) = Env::new() else { return };
    let out = env.run(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; exit 6",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().contains("init"), "{text}");
    assert_ne!(
        lines.next(),
        Some("1"),
        "the command is not PID 1 under --init"
    );
}

#[test]
fn stdin_is_forwarded_with_i_and_logs_filter_by_time() {
    let Some(env) = Env::new() else { return };
    let mut child = env
        .cmd(&["run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "piped in\ndone\n");

    let name = berth_testutil::unique_name("since");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo one; sleep 1.5; echo two",
    ]);
    env.wait_for(10, "first line", || env.ok(&["logs", &name]) == "one\n");
    let between = berth_engine::state::status::now_rfc3339();
    env.wait_for(10, "second line", || {
        env.ok(&["logs", &name]) == "one\ntwo\n"
    });
    assert_eq!(env.ok(&["logs", "--since", &between, &name]), "two\n");
    assert_eq!(env.ok(&["logs", "--until", &between, &name]), "one\n");
    assert_eq!(env.ok(&["logs", "--tail", "1", &name]), "two\n");
    env.ok(&["rm", "-f", &name]);
}
