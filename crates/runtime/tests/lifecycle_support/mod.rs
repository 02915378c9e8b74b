//! Shared helpers for the berth-oci lifecycle tests: busybox bundles, a private state
//! root per test, and running the real binary.

#![allow(dead_code)]

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_testutil::{busybox_rootfs, unique_name, TempDir};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-oci");

/// A busybox bundle (config from `berth-oci spec`) plus its own --root.
pub struct Bundle {
    pub dir: TempDir,
    pub root: PathBuf,
    pub id: String,
}

impl Bundle {
    /// `edit` changes the default config (terminal is off, args set by the caller).
    pub fn new(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        let dir = TempDir::new("berth-oci-test").unwrap();
        busybox_rootfs(&dir.path().join("rootfs")).unwrap();
        let out = Command::new(BIN)
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cfg: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        cfg["process"]["terminal"] = Value::Bool(false);
        cfg["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        edit(&mut cfg);
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_vec_pretty(&cfg).unwrap(),
        )
        .unwrap();
        let root = dir.path().join("state");
        Bundle {
            dir,
            root,
            id: unique_name("c"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `berth-oci --root <root> <args...>` with stdin from /dev/null, output captured.
    pub fn oci(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A command whose container may outlive it (create, run -d): its stdio must not be
    /// pipes we wait on, so output goes to files in the bundle.
    pub fn oci_detached(&self, args: &[&str]) -> (i32, String) {
        let out = std::fs::File::create(self.path().join("detached.out")).unwrap();
        let err = std::fs::File::create(self.path().join("detached.err")).unwrap();
        let st = Command::new(BIN)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap();
        let e = std::fs::read_to_string(self.path().join("detached.err")).unwrap();
        (st.code().unwrap_or(-1), e)
    }

    /// `create --console-socket`: the pty master berth-oci sends for a terminal process.
    pub fn create_with_console(&self) -> OwnedFd {
        let sock = self.path().join("console.sock");
        let l = UnixListener::bind(&sock).unwrap();
        let (code, err) = self.oci_detached(&[
            "create",
            "--console-socket",
            sock.to_str().unwrap(),
            "--bundle",
            self.path().to_str().unwrap(),
            &self.id,
        ]);
        let master = recv_fd(&l);
        assert_eq!(code, 0, "create: {err}");
        master
    }

    pub fn run(&self) -> Output {
        self.oci(&["run", "--bundle", self.path().to_str().unwrap(), &self.id])
    }

    pub fn create(&self) {
        let (code, err) = self.oci_detached(&[
            "create",
            "--bundle",
            self.path().to_str().unwrap(),
            &self.id,
        ]);
        assert_eq!(code, 0, "create failed: {err}");
    }

    pub fn state(&self) -> Value {
        let out = self.oci(&["state", &self.id]);
        assert!(
            out.status.success(),
            "state: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap().to_string()
    }

    /// Waits until the container reports `want` (polling; no timing assertions).
    pub fn wait_status(&self, want: &str) {
        for _ in 0..500 {
            if self.status() == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("container never became {want}: {}", self.status());
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = self.oci(&["delete", "--force", &self.id]);
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn skip_unless_root() -> bool {
    if !berth_testutil::is_root() {
        eprintln!("skipped: needs root");
        return true;
    }
    false
}

/// Receives the pty master that berth-oci sends to --console-socket (SCM_RIGHTS).
pub fn recv_fd(l: &UnixListener) -> OwnedFd {
    let (s, _) = l.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        s.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed this fd for us.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received on the console socket");
}
