//! Shared helpers of the engine's integration tests: a private data root with the busybox
//! image in it, and the real `berth` binary run against it.

#![allow(dead_code)]

use berth_testutil::{busybox_rootfs, is_root, workspace_bin, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The OCI runtime the tests drive (berth-oci, the default; BERTH_TEST_RUNTIME overrides).
pub fn runtime() -> String {
    std::env::var("BERTH_TEST_RUNTIME").unwrap_or_else(|_| "berth-oci".into())
}

/// `../shared/images/busybox.oci.tar` beside the workspace, when present.
fn shared_busybox() -> Option<PathBuf> {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = ws.join("../shared/images/busybox.oci.tar");
    p.is_file().then_some(p)
}

pub struct Env {
    pub root: TempDir,
}

impl Env {
    /// A fresh data root holding `busybox:latest`; None when not root (tests skip).
    pub fn new() -> Option<Env> {
        if !is_root() {
            eprintln!("skipping: needs root");
            return None;
        }
        let root = TempDir::new("berth-engine-test").expect("temp root");
        let env = Env { root };
        let store = berth_image::Store::open(env.root.path()).expect("open store");
        match shared_busybox() {
            Some(p) => {
                berth_image::load(&store, std::fs::File::open(&p).expect("open archive"))
                    .expect("load busybox archive");
            }
            None => {
                // Build the image from Debian's busybox-static.
                let dir = TempDir::new("berth-bb-rootfs").expect("temp");
                busybox_rootfs(dir.path()).expect("busybox rootfs");
                let tar = Command::new("tar")
                    .args(["-C"])
                    .arg(dir.path())
                    .args(["-cf", "-", "."])
                    .output()
                    .expect("tar");
                assert!(tar.status.success());
                berth_image::import(
                    &store,
                    &tar.stdout[..],
                    &berth_image::ImportOptions {
                        name: Some("busybox:latest".into()),
                        changes: vec!["CMD [\"sh\"]".into()],
                        message: None,
                    },
                )
                .expect("import busybox");
            }
        }
        Some(env)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `berth --root ROOT ARGS`. `run`/`create` get `--network none` unless the test names
    /// a network: the default bridge is host-wide and these tests are about the engine.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(workspace_bin("berth"));
        c.arg("--root").arg(self.root());
        match args.first() {
            Some(&"run") | Some(&"create") if !args.iter().any(|a| a.starts_with("--network")) => {
                c.arg(args[0]).arg("--network=none").args(&args[1..]);
            }
            _ => {
                c.args(args);
            }
        }
        c.env("BERTH_RUNTIME", runtime()).stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run berth")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "berth {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn inspect(&self, name: &str, fmt: &str) -> String {
        self.ok(&["inspect", "-f", fmt, name]).trim().to_string()
    }

    /// Polls `f` until it holds (panics after `secs`).
    pub fn wait_for(&self, secs: u64, what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}");
    }

    /// Removes every container of this root.
    pub fn remove_all(&self) {
        let ids = self.ok(&["ps", "-aq"]);
        for id in ids.split_whitespace() {
            let _ = self.run(&["rm", "-f", id]);
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.remove_all();
        // Networks own host-wide bridges and routes: a failed test must not leave them.
        let nets = self.run(&["network", "ls", "--format", "{{.Name}}"]);
        for n in String::from_utf8_lossy(&nets.stdout).lines() {
            if !matches!(n, "bridge" | "host" | "none") {
                let _ = self.run(&["network", "rm", n]);
            }
        }
        // Unmount anything left under the root so the temp dir can go.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.root().display().to_string();
        for l in mounts.lines() {
            if let Some(mp) = l.split_whitespace().nth(4) {
                if mp.starts_with(&root) {
                    let _ = nix::mount::umount2(mp, nix::mount::MntFlags::MNT_DETACH);
                }
            }
        }
    }
}

/// Mount points under `dir` (from /proc/self/mountinfo).
pub fn mounts_under(dir: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|m| m.contains(dir))
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
