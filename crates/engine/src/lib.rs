//! Engine: containers, networks, volumes, logs, state DB, monitor.

pub mod network;
pub mod spec;
pub mod volume;
