//! Fixtures shared by Berth's tests. Tests run as root against the real kernel;
//! these helpers build what they need from Debian's busybox-static.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's busybox-static puts its statically linked binary.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Applets every busybox rootfs gets as symlinks (busybox `--list` gives all of them).
fn applets() -> Vec<String> {
    let out = std::process::Command::new(HOST_BUSYBOX)
        .arg("--list")
        .output()
        .expect("run /bin/busybox --list (install busybox-static)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|a| !a.is_empty() && a != "busybox")
        .collect()
}

/// Fills `root` with a minimal busybox root filesystem: /bin/busybox, one symlink per
/// applet, /etc/passwd and /etc/group with root and nobody, and the usual empty dirs.
pub fn busybox_rootfs(root: &Path) -> io::Result<()> {
    for d in [
        "bin", "dev", "etc", "proc", "sys", "tmp", "root", "home", "usr/bin", "var",
    ] {
        fs::create_dir_all(root.join(d))?;
    }
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    fs::copy(HOST_BUSYBOX, root.join("bin/busybox"))?;
    fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o755))?;
    for a in applets() {
        let link = root.join("bin").join(&a);
        if !link.exists() {
            symlink("busybox", link)?;
        }
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    )?;
    fs::write(root.join("etc/group"), "root:x:0:\nnobody:x:65534:\n")?;
    Ok(())
}

/// A name unique within this machine for this test run: `<prefix>-<pid>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> io::Result<Self> {
        let p = std::env::temp_dir().join(unique_name(prefix));
        fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether the tests run as root (they need to; CI does).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Directory holding the workspace's built binaries (target/debug or target/release),
/// found from the running test executable (target/<profile>/deps/<test>).
pub fn target_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("profile dir").to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// Path of a workspace binary, e.g. `workspace_bin("berth-oci")`. Panics with a hint if it
/// was not built (`cargo test --workspace` builds every binary first).
pub fn workspace_bin(name: &str) -> PathBuf {
    let p = target_bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// A real registry for tests (docker-registry on 127.0.0.1).
pub mod registry;
pub use registry::Registry;
