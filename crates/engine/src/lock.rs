//! Advisory locks (flock) that serialize lifecycle operations on one container, and
//! name allocation across processes.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Held until dropped.
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Lock {
    /// Blocks until the exclusive lock on `path` (created if missing) is ours.
    pub fn exclusive(path: &Path) -> io::Result<Lock> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        Flock::lock(f, FlockArg::LockExclusive)
            .map(Lock)
            .map_err(|(_, e)| io::Error::from(e))
    }
}
