//! Container records: the static part in SQLite (`containers` table of `<root>/berth.db`),
//! the live part in each container directory's `status.json`.

pub mod db;
pub mod record;
pub mod status;

pub use db::ContainerDb;
pub use record::{ContainerConfig, ContainerRecord, MountPoint};
pub use status::{LiveState, Status};
