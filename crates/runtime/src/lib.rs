//! OCI runtime: turns a bundle (config.json + rootfs) into an isolated process.

pub mod cgroups;
pub mod cli;
pub mod config;
pub mod console;
pub mod container;
pub mod error;
pub mod hooks;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod selfexe;
pub mod state;
pub mod sync;
pub mod sys;

pub use error::{Error, Result};
