//! Engine: containers, networks, volumes, logs, state DB, monitor.

pub mod container;
pub mod error;
pub mod lock;
pub mod logs;
pub mod monitor;
pub mod names;
pub mod network;
pub mod paths;
pub mod runtime_client;
pub mod spec;
pub mod state;
pub mod volume;

pub use container::Engine;
pub use error::EngineError;
