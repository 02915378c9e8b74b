//! Podman driving berth-oci as its OCI runtime (`podman --runtime berth-oci ...`), with a
//! busybox image loaded through `podman load` from the shared OCI archive. Skips (with a
//! message) only when podman is not installed.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use berth_testutil::{is_root, unique_name, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_berth-oci");
const IMAGE: &str = "localhost/berth-oci-test/busybox:latest";

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// ../shared/images/busybox.oci.tar beside the checkout (CI), else /work/shared.
fn busybox_archive() -> PathBuf {
    let beside =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images/busybox.oci.tar");
    if beside.exists() {
        beside
    } else {
        PathBuf::from("/work/shared/images/busybox.oci.tar")
    }
}

fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .arg("--runtime")
        .arg(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn load_image() {
    if podman(&["image", "exists", IMAGE]).status.success() {
        return;
    }
    let tmp = TempDir::new("berth-podman-img").unwrap();
    let tar = tmp.path().join("busybox.tar");
    let out = Command::new("skopeo")
        .arg("copy")
        .arg(format!(
            "oci-archive:{}:latest",
            busybox_archive().display()
        ))
        .arg(format!("docker-archive:{}:{IMAGE}", tar.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", text(&out));
    let out = podman(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "podman load: {}", text(&out));
}

struct Rm(String);
impl Drop for Rm {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.0]);
    }
}

#[test]
fn podman_runs_containers_with_berth_oci() {
    if !have("podman") {
        eprintln!("SKIPPED podman_runs_containers_with_berth_oci: podman is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    assert!(is_root(), "podman tests run as root");
    load_image();

    // Plain run: output and exit status.
    let out = podman(&["run", "--rm", IMAGE, "sh", "-c", "echo hello; exit 4"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\n",
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));

    // Limits and hardening flags reach the container.
    let out = podman(&[
        "run",
        "--rm",
        "-m",
        "32m",
        "--pids-limit",
        "50",
        "--read-only",
        "--cap-drop",
        "ALL",
        IMAGE,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
         grep CapEff /proc/self/status; touch /x 2>&1; true",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("33554432\n50\n"), "{}", text(&out));
    assert!(s.contains("CapEff:\t0000000000000000"), "{}", text(&out));
    assert!(s.contains("Read-only file system"), "{}", text(&out));

    // Detached container, exec into it, then stop.
    let name = unique_name("berth-podman");
    let _rm = Rm(name.clone());
    let out = podman(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = podman(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo in-exec; cat /proc/1/cmdline; exit 6",
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("in-exec\nsleep"),
        "{}",
        text(&out)
    );
    let out = podman(&["stop", "-t", "1", &name]);
    assert!(out.status.success(), "{}", text(&out));
    let out = podman(&["inspect", "--format", "{{.State.Status}}", &name]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "exited",
        "{}",
        text(&out)
    );

    // -it through a pseudo-terminal (script gives podman a tty).
    if have("script") {
        let cmd = format!("podman --runtime {BIN} run --rm -it {IMAGE} sh -c 'tty; echo it-ok'");
        // stdin stays open (an early EOF would reach the container's terminal as ^D).
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _stdin = child.stdin.take();
        let mut stdout = Vec::new();
        std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        let mut out = child.wait_with_output().unwrap();
        out.stdout = stdout;
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            s.contains("/dev/pts/0") && s.contains("it-ok"),
            "{}",
            text(&out)
        );
    }
}
