//! The per-container monitor (binary `berth-monitor`): no daemon, one small process per
//! running container.

pub mod attach;
pub mod config;
pub mod health;
pub mod run;
pub(crate) mod sys;

pub use config::{HealthCheck, MonitorConfig, RestartPolicy};
pub use run::{run, MonitorArgs};
pub use sys::adopt_fd;
