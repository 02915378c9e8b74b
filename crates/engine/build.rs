//! Builds berth-init (init/berth-init.rs), the `--init` PID 1, as a separate, statically
//! linked executable that the engine embeds (spec::init). It runs inside any image, even
//! one without a C library, and crt-static cannot be scoped to one Cargo target
//! (a workspace-wide crt-static breaks proc-macros), so rustc is invoked directly here.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "init/berth-init.rs";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("berth-init");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").expect("TARGET");
    let status = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "--crate-name",
            "berth_init",
        ])
        .args(["--target", &target])
        .args(["-C", "target-feature=+crt-static"])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
            "-C",
            "lto=fat",
        ])
        .arg("-o")
        .arg(&out)
        .arg(src)
        .status()
        .expect("run rustc for berth-init");
    assert!(status.success(), "compiling {src} failed");
}
