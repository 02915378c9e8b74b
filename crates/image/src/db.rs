//! The embedded database shared by the image store and the engine: `<root>/berth.db`,
//! SQLite in WAL mode. The image tables are created here; the engine adds its own.

use crate::ImageError;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

const IMAGE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS images (
    id              TEXT PRIMARY KEY,      -- config digest
    manifest_digest TEXT NOT NULL,
    size            INTEGER NOT NULL,
    created         TEXT,
    added           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names (
    name     TEXT PRIMARY KEY,             -- normalized, e.g. docker.io/library/busybox:latest
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS image_names_by_image ON image_names(image_id);
CREATE TABLE IF NOT EXISTS layers (
    digest     TEXT PRIMARY KEY,           -- compressed blob digest
    diff_id    TEXT,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    unpacked_size INTEGER
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id     TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,         -- 0 = bottom layer
    layer_digest TEXT NOT NULL REFERENCES layers(digest),
    PRIMARY KEY (image_id, position)
);
CREATE INDEX IF NOT EXISTS image_layers_by_layer ON image_layers(layer_digest);
CREATE TABLE IF NOT EXISTS rootfs (
    container_id TEXT PRIMARY KEY,
    image_id     TEXT NOT NULL,            -- no foreign key: `rmi -f` may drop the image
    lowers       TEXT NOT NULL,            -- JSON array of layer digests, top first
    created      TEXT NOT NULL
);
";

/// Opens (creating if needed) `<root>/berth.db` with WAL, a 10 s busy timeout and
/// foreign keys on, and makes sure the image tables exist.
pub fn open(root: &Path) -> Result<Connection, ImageError> {
    std::fs::create_dir_all(root)
        .map_err(|e| ImageError::io(format!("create data root {}", root.display()), e))?;
    let conn = Connection::open(root.join("berth.db"))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(IMAGE_SCHEMA)?;
    Ok(conn)
}
