//! Network state in the shared SQLite database (<root>/berth.db): networks, endpoints,
//! sandboxes (per-container namespaces) and published ports.

use super::error::NetworkError;
use super::types::{EndpointInfo, NetworkRecord, PortMapping};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL,
    subnet TEXT NOT NULL, gateway TEXT NOT NULL, ip_range TEXT, internal INTEGER NOT NULL,
    bridge TEXT NOT NULL, labels TEXT NOT NULL, options TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS network_sandboxes (
    container_id TEXT PRIMARY KEY, name TEXT NOT NULL, netns_path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS network_endpoints (
    container_id TEXT NOT NULL, network_id TEXT NOT NULL, name TEXT NOT NULL,
    aliases TEXT NOT NULL, ip TEXT NOT NULL, prefix_len INTEGER NOT NULL, gateway TEXT,
    mac TEXT NOT NULL, interface TEXT NOT NULL, cni_config TEXT NOT NULL, cni_args TEXT NOT NULL,
    cni_result TEXT NOT NULL, PRIMARY KEY (container_id, network_id));
CREATE TABLE IF NOT EXISTS network_ports (
    container_id TEXT NOT NULL, host_ip TEXT NOT NULL, host_port INTEGER NOT NULL,
    container_port INTEGER NOT NULL, protocol TEXT NOT NULL,
    PRIMARY KEY (protocol, host_ip, host_port));
";

/// Opens the shared database with WAL and a busy timeout so concurrent `berth` commands wait.
pub fn open(root: &Path) -> Result<Connection, NetworkError> {
    std::fs::create_dir_all(root).map_err(|e| NetworkError::io(root.display().to_string(), e))?;
    let conn = Connection::open(root.join("berth.db"))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// One endpoint row, with the CNI data needed to delete it later.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub container_id: String,
    pub network_id: String,
    pub info: EndpointInfo,
    pub gateway: Option<IpAddr>,
    pub cni_config: String,
    pub cni_args: String,
    pub cni_result: String,
}

fn map_err_json(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn network_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    let labels: String = r.get(8)?;
    let options: String = r.get(9)?;
    Ok(NetworkRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        subnet: r.get(3)?,
        gateway: r.get(4)?,
        ip_range: r.get(5)?,
        internal: r.get::<_, i64>(6)? != 0,
        bridge: r.get(7)?,
        labels: serde_json::from_str(&labels).map_err(map_err_json)?,
        options: serde_json::from_str(&options).map_err(map_err_json)?,
        created: r.get(10)?,
        containers: BTreeMap::new(),
    })
}

const NET_COLS: &str =
    "id, name, driver, subnet, gateway, ip_range, internal, bridge, labels, options, created";

pub fn insert_network(conn: &Connection, n: &NetworkRecord) -> Result<(), NetworkError> {
    conn.execute(
        &format!("INSERT INTO networks ({NET_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
        params![
            n.id,
            n.name,
            n.driver,
            n.subnet,
            n.gateway,
            n.ip_range,
            n.internal as i64,
            n.bridge,
            serde_json::to_string(&n.labels).unwrap_or_default(),
            serde_json::to_string(&n.options).unwrap_or_default(),
            n.created
        ],
    )?;
    Ok(())
}

pub fn list_networks(conn: &Connection) -> Result<Vec<NetworkRecord>, NetworkError> {
    let mut st = conn.prepare(&format!(
        "SELECT {NET_COLS} FROM networks ORDER BY created, name"
    ))?;
    let rows = st.query_map([], network_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Finds a network by exact name, exact id, or unique id prefix (Docker's lookup order).
pub fn find_network(conn: &Connection, key: &str) -> Result<Option<NetworkRecord>, NetworkError> {
    let q = format!("SELECT {NET_COLS} FROM networks WHERE name = ?1 OR id = ?1");
    if let Some(n) = conn.query_row(&q, [key], network_from_row).optional()? {
        return Ok(Some(n));
    }
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut st = conn.prepare(&format!(
        "SELECT {NET_COLS} FROM networks WHERE substr(id, 1, length(?1)) = ?1"
    ))?;
    let found: Vec<NetworkRecord> = st
        .query_map([key], network_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(if found.len() == 1 {
        found.into_iter().next()
    } else {
        None
    })
}

pub fn delete_network(conn: &Connection, id: &str) -> Result<(), NetworkError> {
    conn.execute("DELETE FROM networks WHERE id = ?1", [id])?;
    Ok(())
}

pub fn insert_sandbox(
    conn: &Connection,
    container_id: &str,
    name: &str,
    netns: &str,
) -> Result<(), NetworkError> {
    conn.execute(
        "INSERT OR REPLACE INTO network_sandboxes (container_id, name, netns_path) VALUES (?1,?2,?3)",
        params![container_id, name, netns],
    )?;
    Ok(())
}

/// (name, netns path) of a container's sandbox.
pub fn sandbox(
    conn: &Connection,
    container_id: &str,
) -> Result<Option<(String, String)>, NetworkError> {
    Ok(conn
        .query_row(
            "SELECT name, netns_path FROM network_sandboxes WHERE container_id = ?1",
            [container_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Every container with a sandbox or an endpoint.
pub fn containers_with_state(conn: &Connection) -> Result<Vec<String>, NetworkError> {
    let mut st = conn.prepare(
        "SELECT container_id FROM network_sandboxes UNION SELECT container_id FROM network_endpoints UNION SELECT container_id FROM network_ports",
    )?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn delete_sandbox(conn: &Connection, container_id: &str) -> Result<(), NetworkError> {
    conn.execute(
        "DELETE FROM network_sandboxes WHERE container_id = ?1",
        [container_id],
    )?;
    Ok(())
}

fn endpoint_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRow> {
    let aliases: String = r.get(3)?;
    let ip: String = r.get(4)?;
    let gw: Option<String> = r.get(6)?;
    let container_id: String = r.get(0)?;
    Ok(EndpointRow {
        container_id: container_id.clone(),
        network_id: r.get(1)?,
        info: EndpointInfo {
            container_id,
            name: r.get(2)?,
            aliases: serde_json::from_str(&aliases).map_err(map_err_json)?,
            ip: ip
                .parse()
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            prefix_len: r.get(5)?,
            mac: r.get(7)?,
            interface: r.get(8)?,
        },
        gateway: gw.and_then(|g| g.parse().ok()),
        cni_config: r.get(9)?,
        cni_args: r.get(10)?,
        cni_result: r.get(11)?,
    })
}

const EP_COLS: &str = "container_id, network_id, name, aliases, ip, prefix_len, gateway, mac, interface, cni_config, cni_args, cni_result";

pub fn insert_endpoint(conn: &Connection, e: &EndpointRow) -> Result<(), NetworkError> {
    conn.execute(
        &format!("INSERT INTO network_endpoints ({EP_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
        params![
            e.container_id,
            e.network_id,
            e.info.name,
            serde_json::to_string(&e.info.aliases).unwrap_or_default(),
            e.info.ip.to_string(),
            e.info.prefix_len,
            e.gateway.map(|g| g.to_string()),
            e.info.mac,
            e.info.interface,
            e.cni_config,
            e.cni_args,
            e.cni_result
        ],
    )?;
    Ok(())
}

pub fn endpoints_of_network(
    conn: &Connection,
    network_id: &str,
) -> Result<Vec<EndpointRow>, NetworkError> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM network_endpoints WHERE network_id = ?1 ORDER BY interface"
    ))?;
    let rows = st.query_map([network_id], endpoint_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A renamed container keeps its endpoints; their DNS name follows the new name.
pub fn rename_container(
    conn: &Connection,
    container_id: &str,
    name: &str,
) -> Result<(), NetworkError> {
    conn.execute(
        "UPDATE network_endpoints SET name = ?2 WHERE container_id = ?1",
        [container_id, name],
    )?;
    conn.execute(
        "UPDATE network_sandboxes SET name = ?2 WHERE container_id = ?1",
        [container_id, name],
    )?;
    Ok(())
}

pub fn endpoints_of_container(
    conn: &Connection,
    container_id: &str,
) -> Result<Vec<EndpointRow>, NetworkError> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM network_endpoints WHERE container_id = ?1 ORDER BY interface"
    ))?;
    let rows = st.query_map([container_id], endpoint_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn delete_endpoint(
    conn: &Connection,
    container_id: &str,
    network_id: &str,
) -> Result<(), NetworkError> {
    conn.execute(
        "DELETE FROM network_endpoints WHERE container_id = ?1 AND network_id = ?2",
        [container_id, network_id],
    )?;
    Ok(())
}

fn ip_key(ip: Option<IpAddr>) -> String {
    ip.map(|i| i.to_string()).unwrap_or_default()
}

/// Published ports of all containers: (container id, mapping).
pub fn all_ports(conn: &Connection) -> Result<Vec<(String, PortMapping)>, NetworkError> {
    let mut st = conn.prepare(
        "SELECT container_id, host_ip, host_port, container_port, protocol FROM network_ports",
    )?;
    let rows = st.query_map([], |r| {
        let ip: String = r.get(1)?;
        Ok((
            r.get::<_, String>(0)?,
            PortMapping {
                host_ip: ip.parse().ok(),
                host_port: r.get(2)?,
                container_port: r.get(3)?,
                protocol: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn insert_port(
    conn: &Connection,
    container_id: &str,
    m: &PortMapping,
) -> Result<(), NetworkError> {
    conn.execute(
        "INSERT INTO network_ports (container_id, host_ip, host_port, container_port, protocol) VALUES (?1,?2,?3,?4,?5)",
        params![container_id, ip_key(m.host_ip), m.host_port, m.container_port, m.protocol],
    )?;
    Ok(())
}

pub fn ports_of_container(
    conn: &Connection,
    container_id: &str,
) -> Result<Vec<PortMapping>, NetworkError> {
    Ok(all_ports(conn)?
        .into_iter()
        .filter(|(c, _)| c == container_id)
        .map(|(_, m)| m)
        .collect())
}

pub fn delete_ports(conn: &Connection, container_id: &str) -> Result<(), NetworkError> {
    conn.execute(
        "DELETE FROM network_ports WHERE container_id = ?1",
        [container_id],
    )?;
    Ok(())
}
