//! Seccomp: compile the spec's filter, install it, hand NOTIFY listeners to their agent.
//!
//! [`SeccompFilter::compile`] runs in the parent before fork and does all the work
//! (validation, libseccomp rule building, BPF generation); [`SeccompFilter::install`] in
//! the child is a single seccomp(2) call loading the ready BPF program.

mod cache;
mod compile;
mod install;
mod listener;

pub use listener::send_listener;

/// A compiled filter, ready to load.
#[derive(Debug, Clone)]
pub struct SeccompFilter {
    /// The BPF program as libseccomp generated it.
    program: Vec<libc::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* from linux.seccomp.flags.
    flags: libc::c_ulong,
    notify: bool,
    warnings: Vec<String>,
}

impl SeccompFilter {
    /// Whether some rule (or the default action) is SCMP_ACT_NOTIFY: `install` then
    /// returns the listener fd, which goes to linux.seccomp.listenerPath.
    pub fn uses_notify(&self) -> bool {
        self.notify
    }

    /// Non-fatal findings of `compile`, e.g. syscall names this libseccomp does not
    /// know (ignored like runc does). The caller decides whether to log them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of BPF instructions (for diagnostics and benchmarks).
    pub fn instructions(&self) -> usize {
        self.program.len()
    }
}

#[derive(thiserror::Error, Debug)]
pub enum SeccompError {
    /// A field of linux.seccomp is invalid; `field` is its JSON path.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// libseccomp refused something while building the filter.
    #[error("{what}: {source}")]
    Libseccomp {
        what: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// A syscall failed (seccomp(2), the listener socket, ...).
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::errno::Errno,
    },
}
