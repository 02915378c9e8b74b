//! OCI runtime: turns a bundle (config.json + rootfs) into an isolated process.

pub mod cgroups;
pub mod rootfs;
pub mod seccomp;
