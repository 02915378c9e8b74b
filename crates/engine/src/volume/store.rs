//! Volume state in the shared SQLite database: volumes and which container uses which.

use super::error::VolumeError;
use super::VolumeRecord;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY, driver TEXT NOT NULL, mountpoint TEXT NOT NULL,
    labels TEXT NOT NULL, options TEXT NOT NULL, created TEXT NOT NULL,
    anonymous INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS volume_refs (
    name TEXT NOT NULL, container_id TEXT NOT NULL, PRIMARY KEY (name, container_id));
";

pub fn open(root: &Path) -> Result<Connection, VolumeError> {
    std::fs::create_dir_all(root).map_err(|e| VolumeError::io(root.display().to_string(), e))?;
    let conn = Connection::open(root.join("berth.db"))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

fn bad_json(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRecord> {
    let labels: String = r.get(3)?;
    let options: String = r.get(4)?;
    Ok(VolumeRecord {
        name: r.get(0)?,
        driver: r.get(1)?,
        mountpoint: r.get(2)?,
        labels: serde_json::from_str(&labels).map_err(bad_json)?,
        options: serde_json::from_str(&options).map_err(bad_json)?,
        created_at: r.get(5)?,
        anonymous: r.get::<_, i64>(6)? != 0,
        scope: "local".into(),
        containers: Vec::new(),
    })
}

const COLS: &str = "name, driver, mountpoint, labels, options, created, anonymous";

pub fn insert(conn: &Connection, v: &VolumeRecord) -> Result<(), VolumeError> {
    conn.execute(
        &format!("INSERT INTO volumes ({COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7)"),
        params![
            v.name,
            v.driver,
            v.mountpoint,
            serde_json::to_string(&v.labels).unwrap_or_default(),
            serde_json::to_string(&v.options).unwrap_or_default(),
            v.created_at,
            v.anonymous as i64
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, name: &str) -> Result<Option<VolumeRecord>, VolumeError> {
    let v = conn
        .query_row(
            &format!("SELECT {COLS} FROM volumes WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?;
    match v {
        Some(mut v) => {
            v.containers = users(conn, name)?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

pub fn list(conn: &Connection) -> Result<Vec<VolumeRecord>, VolumeError> {
    let mut st = conn.prepare(&format!("SELECT {COLS} FROM volumes ORDER BY name"))?;
    let mut out: Vec<VolumeRecord> = st.query_map([], from_row)?.collect::<Result<_, _>>()?;
    for v in &mut out {
        v.containers = users(conn, &v.name)?;
    }
    Ok(out)
}

pub fn delete(conn: &Connection, name: &str) -> Result<(), VolumeError> {
    conn.execute("DELETE FROM volumes WHERE name = ?1", [name])?;
    Ok(())
}

pub fn users(conn: &Connection, name: &str) -> Result<Vec<String>, VolumeError> {
    let mut st =
        conn.prepare("SELECT container_id FROM volume_refs WHERE name = ?1 ORDER BY container_id")?;
    let rows = st.query_map([name], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn add_ref(conn: &Connection, name: &str, container_id: &str) -> Result<(), VolumeError> {
    conn.execute(
        "INSERT OR IGNORE INTO volume_refs (name, container_id) VALUES (?1, ?2)",
        [name, container_id],
    )?;
    Ok(())
}

/// Drops a container's references; returns the volumes it used.
pub fn drop_refs(conn: &Connection, container_id: &str) -> Result<Vec<String>, VolumeError> {
    let mut st = conn.prepare("SELECT name FROM volume_refs WHERE container_id = ?1")?;
    let names: Vec<String> = st
        .query_map([container_id], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    conn.execute(
        "DELETE FROM volume_refs WHERE container_id = ?1",
        [container_id],
    )?;
    Ok(names)
}
