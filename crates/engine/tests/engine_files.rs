//! `cp` both ways (and that it stays inside the container), `diff`, `export`, `port`,
//! `stats`, `update`, `container prune`.

mod engine_support;

use berth_testutil::{unique_name, TempDir};
use engine_support::{stderr, Env};

#[test]
fn cp_both_ways_stays_inside_the_container() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("cp");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo inside > /data/sub/f && ln -s / /escape && sleep 100",
    ]);
    env.wait_for(10, "files made", || {
        env.run(&["exec", &name, "test", "-L", "/escape"])
            .status
            .success()
    });
    let tmp = TempDir::new("berth-cp").unwrap();
    // container → host: a directory, then a single file to a new name.
    env.ok(&[
        "cp",
        &format!("{name}:/data"),
        &tmp.path().display().to_string(),
    ]);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("data/sub/f")).unwrap(),
        "inside\n"
    );
    let single = tmp.path().join("copy.txt");
    env.ok(&[
        "cp",
        &format!("{name}:/data/sub/f"),
        &single.display().to_string(),
    ]);
    assert_eq!(std::fs::read_to_string(&single).unwrap(), "inside\n");
    // host → container.
    let host_file = tmp.path().join("from-host.txt");
    std::fs::write(&host_file, "from host\n").unwrap();
    env.ok(&[
        "cp",
        &host_file.display().to_string(),
        &format!("{name}:/data/"),
    ]);
    assert_eq!(
        env.ok(&["exec", &name, "cat", "/data/from-host.txt"]),
        "from host\n"
    );
    // Through a symlink planted in the container: it resolves inside the container.
    let marker = unique_name("berth-cp-escape");
    let host_target = std::path::Path::new("/tmp").join(&marker);
    let src = tmp.path().join(&marker);
    std::fs::write(&src, "x").unwrap();
    env.ok(&[
        "cp",
        &src.display().to_string(),
        &format!("{name}:/escape/tmp/"),
    ]);
    assert!(
        !host_target.exists(),
        "cp wrote through the container's symlink to the host"
    );
    assert_eq!(
        env.ok(&["exec", &name, "cat", &format!("/tmp/{marker}")]),
        "x"
    );
    // Reading through it stays inside too: /escape/etc/passwd is the container's.
    let pw = tmp.path().join("passwd");
    env.ok(&[
        "cp",
        &format!("{name}:/escape/etc/passwd"),
        &pw.display().to_string(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&pw).unwrap(),
        env.ok(&["exec", &name, "cat", "/etc/passwd"])
    );
    let o = env.run(&[
        "cp",
        &format!("{name}:/no/such"),
        &tmp.path().display().to_string(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("Could not find the file /no/such"),
        "{}",
        stderr(&o)
    );

    // diff shows what the container changed.
    let diff = env.ok(&["diff", &name]);
    assert!(diff.lines().any(|l| l == "A /data"), "{diff}");
    assert!(diff.lines().any(|l| l == "A /escape"), "{diff}");
    assert!(diff.lines().any(|l| l == "C /tmp"), "{diff}");
    // export is a tar of the whole filesystem.
    let out = tmp.path().join("export.tar");
    env.ok(&["export", "-o", &out.display().to_string(), &name]);
    let list = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&out)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.trim_start_matches("./") == "data/sub/f"),
        "{list}"
    );
    assert!(list
        .lines()
        .any(|l| l.trim_start_matches("./") == "bin/busybox"));
    env.ok(&["rm", "-f", &name]);
}

#[test]
fn stats_update_and_prune() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("stats");
    let id = env
        .ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--pids-limit",
            "50",
            "busybox",
            "sleep",
            "100",
        ])
        .trim()
        .to_string();
    let pids_max = format!("/sys/fs/cgroup/pids/berth/{id}/pids.max");
    assert_eq!(std::fs::read_to_string(&pids_max).unwrap().trim(), "50");
    let s = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        &name,
    ]);
    assert_eq!(s, format!("{name} 1\n"));
    env.ok(&["update", "-m", "64m", "--pids-limit", "20", &name]);
    assert_eq!(std::fs::read_to_string(&pids_max).unwrap().trim(), "20");
    assert_eq!(
        std::fs::read_to_string(format!(
            "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
        ))
        .unwrap()
        .trim(),
        "67108864"
    );
    env.ok(&["pause", &name]);
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "paused");
    assert!(env.ok(&["ps"]).contains("(Paused)"));
    env.ok(&["unpause", &name]);
    assert_eq!(env.inspect(&name, "{{.State.Status}}"), "running");
    let top = env.ok(&["top", &name]);
    assert!(top.contains("sleep 100"), "{top}");
    assert!(
        top.starts_with("UID") && top.contains("STIME"),
        "ps -ef columns: {top}"
    );
    // ps options pass through, as `docker top CONTAINER -o pid,comm`.
    let top = env.ok(&["top", &name, "-o", "pid,comm"]);
    let rows: Vec<Vec<&str>> = top
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["PID", "COMMAND"], "{top}");
    assert!(rows[1..].iter().any(|r| r[1] == "sleep"), "{top}");
    env.ok(&["create", "busybox", "true"]);
    // A stopped container that wrote 300 kB: prune reports that space reclaimed.
    env.ok(&[
        "run",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/big",
        "bs=1000",
        "count=300",
    ]);
    let pruned = env.ok(&["container", "prune", "-f"]);
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space: 300kB"), "{pruned}");
    assert_eq!(env.ok(&["ps", "-aq"]).trim(), &id[..12]);
    let renamed = unique_name("renamed");
    env.ok(&["rename", &name, &renamed]);
    assert_eq!(env.inspect(&id, "{{.Name}}"), format!("/{renamed}"));
    env.ok(&["rm", "-f", &renamed]);
}

#[test]
fn info_version_and_system_df() {
    let Some(env) = Env::new() else { return };
    let id = env
        .ok(&["run", "-d", "busybox", "sleep", "100"])
        .trim()
        .to_string();
    env.ok(&["create", "busybox", "true"]);
    let images = env.ok(&["images", "-q"]).lines().count();
    assert_eq!(
        env.ok(&[
            "info",
            "-f",
            "{{.ContainersRunning}} {{.ContainersStopped}} {{.Images}}"
        ]),
        format!("1 1 {images}\n")
    );
    assert!(env
        .ok(&["system", "info"])
        .contains("Logging Driver: json-file"));
    assert_eq!(
        env.ok(&["version", "-f", "{{.Server.Version}}"]).trim(),
        env!("CARGO_PKG_VERSION")
    );
    let df = env.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert!(df.contains(&format!("Images {images} 1\n")), "{df}");
    assert!(df.contains("Containers 2 1\n"), "{df}");
    let pruned = env.ok(&["system", "prune", "-f"]);
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    assert_eq!(env.ok(&["ps", "-aq"]).trim(), &id[..12]);
    // Tagged images stay without -a; with -a every image no container uses goes.
    assert_eq!(env.ok(&["images", "-q"]).lines().count(), images);
    let maker = unique_name("maker");
    env.ok(&["run", "--name", &maker, "busybox", "touch", "/x"]);
    env.ok(&["commit", &maker, "spare:1"]);
    let pruned = env.ok(&["system", "prune", "-a", "-f"]);
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    let left = env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(
        left.trim(),
        "busybox:latest",
        "in use by the running container: {left}"
    );
    env.ok(&["rm", "-f", &id]);
}

#[test]
fn attach_streams_new_output_and_returns_exit_code() {
    let Some(env) = Env::new() else { return };
    let id = env
        .ok(&[
            "run",
            "-d",
            "busybox",
            "sh",
            "-c",
            "sleep 0.5; for i in 1 2 3; do echo tick $i; sleep 0.1; done; exit 4",
        ])
        .trim()
        .to_string();
    let o = env.run(&["attach", &id]);
    assert_eq!(o.status.code(), Some(4));
    assert!(
        engine_support::stdout(&o).ends_with("tick 3\n"),
        "{}",
        engine_support::stdout(&o)
    );
    let o = env.run(&["attach", &id]);
    assert!(stderr(&o).contains("You cannot attach to a stopped container"));
    env.ok(&["rm", &id]);
}

#[test]
fn commit_makes_an_image_of_the_container() {
    let Some(env) = Env::new() else { return };
    let name = unique_name("commit");
    env.ok(&[
        "run",
        "--name",
        &name,
        "-e",
        "FOO=bar",
        "-w",
        "/srv",
        "busybox",
        "sh",
        "-c",
        "echo made > /madefile",
    ]);
    let tag = format!("{name}:v1");
    let id = env.ok(&["commit", "-c", "ENV EXTRA=1", &name, &tag]);
    assert!(id.starts_with("sha256:"), "{id}");
    let out = env.ok(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "cat /madefile; echo $FOO $EXTRA; pwd",
    ]);
    assert_eq!(out, "made\nbar 1\n/srv\n");
    // One new layer on top of the image's, with the author and message in its history.
    let layers = |r: &str| -> usize {
        env.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", r])
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(layers(&tag), layers("busybox") + 1);
    env.ok(&["rm", &name]);

    // A running container, paused for the snapshot (Docker's default) and resumed after.
    let live = unique_name("commit-live");
    env.ok(&[
        "run",
        "-d",
        "--name",
        &live,
        "busybox",
        "sh",
        "-c",
        "echo live > /livefile; sleep 300",
    ]);
    env.wait_for(10, "file written", || {
        env.run(&["exec", &live, "cat", "/livefile"]).stdout == b"live\n"
    });
    let tag2 = format!("{live}:v2");
    env.ok(&[
        "commit",
        "-a",
        "Jane Doe <jane@example.com>",
        "-m",
        "snap",
        &live,
        &tag2,
    ]);
    assert_eq!(env.inspect(&live, "{{.State.Status}}"), "running");
    assert_eq!(
        env.ok(&["image", "inspect", "-f", "{{.Author}}", &tag2])
            .trim(),
        "Jane Doe <jane@example.com>"
    );
    let hist = env.ok(&["history", "--format", "{{.Comment}}", &tag2]);
    assert_eq!(hist.lines().next(), Some("snap"), "{hist}");
    assert_eq!(
        env.ok(&["run", "--rm", "--entrypoint", "cat", &tag2, "/livefile"]),
        "live\n"
    );
    env.ok(&["rm", "-f", &live]);
}

#[test]
fn named_volume_persists_across_containers_and_rm_v() {
    let Some(env) = Env::new() else { return };
    let vol = unique_name("vol");
    env.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "-v",
            &format!("{vol}:/data:ro"),
            "busybox",
            "cat",
            "/data/f"
        ]),
        "kept\n"
    );
    let name = unique_name("volc");
    env.ok(&[
        "create",
        "--name",
        &name,
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "true",
    ]);
    assert_eq!(
        env.inspect(
            &name,
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}"
        ),
        format!("volume {vol} /data")
    );
    env.ok(&["rm", "-v", &name]);
    // A named volume outlives `rm -v` (only anonymous ones go).
    assert!(env.ok(&["volume", "ls", "-q"]).lines().any(|l| l == vol));
    env.ok(&["volume", "rm", &vol]);
}
