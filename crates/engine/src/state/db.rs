//! The `containers` table in the shared SQLite database `<root>/berth.db` (WAL).

use super::record::{ContainerConfig, ContainerRecord};
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL
)";

pub struct ContainerDb {
    conn: Connection,
}

impl ContainerDb {
    /// Opens (creating) the database under `root` and the containers table.
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)
            .map_err(|e| EngineError::io(format!("create {}", root.display()), e))?;
        let conn = Connection::open(root.join("berth.db"))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute(SCHEMA, [])?;
        Ok(ContainerDb { conn })
    }

    /// Inserts a new record; a taken name gives Docker's conflict error.
    pub fn insert(&self, r: &ContainerRecord) -> Result<()> {
        let cfg =
            serde_json::to_string(&r.config).map_err(|e| EngineError::Other(e.to_string()))?;
        let res = self.conn.execute(
            "INSERT INTO containers (id, name, image, image_id, created, config) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.id, r.name, r.image, r.image_id, r.created, cfg],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let id = self.id_of_name(&r.name)?.unwrap_or_default();
                Err(EngineError::NameInUse {
                    name: r.name.clone(),
                    id,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn name_taken(&self, name: &str) -> Result<bool> {
        Ok(self.id_of_name(name)?.is_some())
    }

    fn id_of_name(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Finds a container by full id, name (with or without `/`), or unique id prefix.
    pub fn find(&self, reference: &str) -> Result<ContainerRecord> {
        let name = reference.strip_prefix('/').unwrap_or(reference);
        if let Some(r) = self.get_where("id = ?1", reference)? {
            return Ok(r);
        }
        if let Some(r) = self.get_where("name = ?1", name)? {
            return Ok(r);
        }
        if !reference.is_empty() && reference.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut stmt = self.conn.prepare(
                "SELECT id, name, image, image_id, created, config FROM containers WHERE id LIKE ?1 || '%'",
            )?;
            let rows: Vec<ContainerRecord> = stmt
                .query_map([reference.to_ascii_lowercase()], row_to_record)?
                .collect::<std::result::Result<_, _>>()?;
            match rows.len() {
                1 => return Ok(rows.into_iter().next().expect("one row")),
                0 => {}
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "multiple IDs found with provided prefix: {reference}"
                    )))
                }
            }
        }
        Err(EngineError::NoSuchContainer(reference.to_string()))
    }

    fn get_where(&self, cond: &str, v: &str) -> Result<Option<ContainerRecord>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT id, name, image, image_id, created, config FROM containers WHERE {cond}"
                ),
                [v],
                row_to_record,
            )
            .optional()?)
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, image, image_id, created, config FROM containers ORDER BY created DESC",
        )?;
        let rows = stmt
            .query_map([], row_to_record)?
            .collect::<std::result::Result<_, _>>()?;
        Ok(rows)
    }

    pub fn rename(&self, id: &str, new_name: &str) -> Result<()> {
        match self.conn.execute(
            "UPDATE containers SET name = ?1 WHERE id = ?2",
            params![new_name, id],
        ) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(EngineError::NameInUse {
                    name: new_name.to_string(),
                    id: self.id_of_name(new_name)?.unwrap_or_default(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn update_config(&self, id: &str, cfg: &ContainerConfig) -> Result<()> {
        let s = serde_json::to_string(cfg).map_err(|e| EngineError::Other(e.to_string()))?;
        self.conn.execute(
            "UPDATE containers SET config = ?1 WHERE id = ?2",
            params![s, id],
        )?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM containers WHERE id = ?1", [id])?;
        Ok(())
    }
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    let cfg: String = r.get(5)?;
    let config = serde_json::from_str(&cfg).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        image: r.get(2)?,
        image_id: r.get(3)?,
        created: r.get(4)?,
        config,
    })
}
