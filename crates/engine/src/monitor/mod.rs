//! The per-container monitor (binary `berth-monitor`): no daemon, one small process per
//! running container.

pub mod config;
pub mod health;
pub mod run;
mod sys;

pub use config::{HealthCheck, MonitorConfig, RestartPolicy};
pub use run::{run, MonitorArgs};
pub use sys::adopt_fd;
