//! Setting up the container process itself, in the order the init (and exec) apply it:
//! rlimits, scheduling, identity, capabilities, and finally execve.

pub mod caps;
pub mod exec;
pub mod limits;
pub mod user;

pub use exec::Executable;
