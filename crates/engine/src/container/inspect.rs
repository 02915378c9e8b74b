//! Docker-compatible `inspect` JSON and `ps` rows.

use super::Engine;
use crate::state::status::{LiveState, Status};
use crate::state::ContainerRecord;
use serde_json::{json, Value};

impl Engine {
    /// `docker inspect`'s object for a container.
    pub fn inspect(&self, rec: &ContainerRecord) -> Value {
        let st = self.live_state(rec);
        let c = &rec.config;
        let mut state = json!({
            "Status": st.status.as_str(),
            "Running": matches!(st.status, Status::Running | Status::Paused),
            "Paused": st.status == Status::Paused,
            "Restarting": st.status == Status::Restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == Status::Dead,
            "Pid": st.pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": st.started_at,
            "FinishedAt": st.finished_at,
        });
        if let Some(h) = &st.health {
            state["Health"] = serde_json::to_value(h).unwrap_or(Value::Null);
        }
        let labels: Value = serde_json::to_value(&c.labels).unwrap_or(json!({}));
        let dir = self.layout.container(&rec.id);
        json!({
            "Id": rec.id,
            "Created": rec.created,
            "Path": c.path,
            "Args": c.args,
            "State": state,
            "Image": rec.image_id,
            "ResolvConfPath": dir.join("resolv.conf"),
            "HostnamePath": dir.join("hostname"),
            "HostsPath": dir.join("hosts"),
            "LogPath": self.layout.log(&rec.id),
            "Name": format!("/{}", rec.name),
            "RestartCount": st.restart_count,
            "Driver": "overlay",
            "GraphDriver": self.graph_driver(rec),
            "Platform": "linux",
            "HostConfig": c.host_config,
            "Mounts": c.mounts,
            "Config": {
                "Hostname": c.hostname,
                "Domainname": c.domainname,
                "User": c.user,
                "AttachStdin": false,
                "Tty": c.tty,
                "OpenStdin": c.open_stdin,
                "Env": c.env,
                "Cmd": if c.cmd.is_empty() { Value::Null } else { json!(c.cmd) },
                "Image": rec.image,
                "WorkingDir": c.working_dir,
                "Entrypoint": c.entrypoint,
                "Labels": labels,
                "ExposedPorts": if c.exposed_ports.is_empty() { Value::Null } else {
                    Value::Object(c.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect())
                },
                "Volumes": Self::config_volumes(rec),
                "StopSignal": c.stop_signal,
                "StopTimeout": c.stop_timeout,
                "Healthcheck": c.health.as_ref().map(|h| json!({
                    "Test": if h.test.is_empty() {
                        std::iter::once("CMD".to_string()).chain(h.argv.iter().cloned()).collect::<Vec<_>>()
                    } else {
                        h.test.clone()
                    },
                    "Interval": h.interval_ms * 1_000_000,
                    "Timeout": h.timeout_ms * 1_000_000,
                    "StartPeriod": h.start_period_ms * 1_000_000,
                    "Retries": h.retries,
                })),
            },
            "NetworkSettings": self.network_settings(rec, &st),
        })
    }

    /// Docker's `GraphDriver`: the overlay's directories (null data for `--rootfs`).
    fn graph_driver(&self, rec: &ContainerRecord) -> Value {
        let layout = match rec.config.rootfs {
            Some(_) => None,
            None => self
                .image_store()
                .ok()
                .and_then(|s| s.rootfs_layout(&rec.id).ok()),
        };
        let data = layout.map(|l| {
            let lowers: Vec<String> = l.lowers.iter().map(|p| p.display().to_string()).collect();
            json!({
                "LowerDir": lowers.join(":"),
                "UpperDir": l.upper,
                "WorkDir": l.work,
                "MergedDir": l.merged,
            })
        });
        json!({"Name": "overlay", "Data": data})
    }

    /// Docker's `Config.Volumes` map (null when none).
    fn config_volumes(rec: &ContainerRecord) -> Value {
        if rec.config.volumes.is_empty() {
            Value::Null
        } else {
            Value::Object(
                rec.config
                    .volumes
                    .iter()
                    .map(|v| (v.clone(), json!({})))
                    .collect(),
            )
        }
    }

    /// Docker's `NetworkSettings`: addresses of each attachment and published ports.
    fn network_settings(&self, rec: &ContainerRecord, st: &LiveState) -> Value {
        let live = matches!(
            st.status,
            Status::Running | Status::Paused | Status::Restarting
        );
        let attachments = if live {
            crate::network::NetworkManager::open(&self.layout.root)
                .and_then(|nm| nm.attachments(&rec.id))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut networks = serde_json::Map::new();
        for a in &attachments {
            networks.insert(
                a.network.clone(),
                json!({
                    "NetworkID": a.network_id,
                    "IPAddress": a.ip.to_string(),
                    "IPPrefixLen": a.prefix_len,
                    "Gateway": a.gateway.map(|g| g.to_string()).unwrap_or_default(),
                    "MacAddress": a.mac,
                    "Aliases": a.aliases,
                }),
            );
        }
        if !live {
            // Not running: the networks it will join, without addresses (as Docker shows).
            let c = &rec.config;
            let primary = match crate::network::NetworkMode::parse(&c.network_mode) {
                crate::network::NetworkMode::Default => Some("bridge".to_string()),
                crate::network::NetworkMode::Named(n) => Some(n),
                _ => None,
            };
            for n in primary.into_iter().chain(c.extra_networks.iter().cloned()) {
                networks.insert(
                    n,
                    json!({
                        "NetworkID": "",
                        "IPAddress": "",
                        "IPPrefixLen": 0,
                        "Gateway": "",
                        "MacAddress": "",
                        "Aliases": c.network_aliases,
                    }),
                );
            }
        }
        let mut ports = serde_json::Map::new();
        if live {
            for p in self.ports(rec) {
                let key = format!("{}/{}", p.container_port, p.protocol);
                let entry = ports.entry(key).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(json!({
                        "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
                        "HostPort": p.host_port.to_string(),
                    }));
                }
            }
        }
        let first = attachments.first();
        json!({
            "SandboxKey": if live && rec.config.network_mode != "host" {
                format!("{}/{}", crate::network::NETNS_DIR, rec.id)
            } else {
                String::new()
            },
            "IPAddress": first.map(|a| a.ip.to_string()).unwrap_or_default(),
            "IPPrefixLen": first.map(|a| a.prefix_len).unwrap_or(0),
            "Gateway": first.and_then(|a| a.gateway).map(|g| g.to_string()).unwrap_or_default(),
            "MacAddress": first.map(|a| a.mac.clone()).unwrap_or_default(),
            "Ports": ports,
            "Networks": networks,
        })
    }

    /// One `ps --format json` row (Docker's field names).
    pub fn ps_row(&self, rec: &ContainerRecord, st: &LiveState, no_trunc: bool) -> Value {
        let cmd = std::iter::once(rec.config.path.clone())
            .chain(rec.config.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let command = if no_trunc {
            format!("\"{cmd}\"")
        } else {
            format!("\"{}\"", truncate(&cmd, 20))
        };
        let labels = rec
            .config
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        json!({
            "ID": if no_trunc { rec.id.clone() } else { rec.id[..12].to_string() },
            "Image": rec.image,
            "Command": command,
            "CreatedAt": rec.created,
            "RunningFor": ago(&rec.created),
            "Status": status_text(st),
            "State": st.status.as_str(),
            "Ports": if !matches!(st.status, Status::Running | Status::Paused) { String::new() } else { self.ports(rec).iter().map(|p| format!(
                "{}:{}->{}/{}",
                p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
                p.host_port, p.container_port, p.protocol
            )).collect::<Vec<_>>().join(", ") },
            "Names": rec.name,
            "Labels": labels,
            "LabelMap": rec.config.labels,
            "Mounts": "",
            "Networks": rec.config.network_mode,
            "Size": "",
        })
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Seconds since an RFC 3339 time.
fn since(t: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(
        (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
            .num_seconds()
            .max(0),
    )
}

/// Docker's human durations: "Less than a second", "3 seconds", "About a minute", ...
pub fn human_duration(secs: i64) -> String {
    match secs {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".into(),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s if s < 14 * 86400 => format!("{} days", s / 86400),
        s if s < 60 * 86400 => format!("{} weeks", s / (7 * 86400)),
        s if s < 365 * 86400 => format!("{} months", s / (30 * 86400)),
        s => format!("{} years", s / (365 * 86400)),
    }
}

fn ago(t: &str) -> String {
    since(t)
        .map(|s| format!("{} ago", human_duration(s)))
        .unwrap_or_default()
}

/// `ps`'s STATUS column.
pub fn status_text(st: &LiveState) -> String {
    let up = || {
        since(&st.started_at)
            .map(human_duration)
            .unwrap_or_default()
    };
    match st.status {
        Status::Created => "Created".into(),
        Status::Running | Status::Paused => {
            let mut s = format!("Up {}", up());
            if st.status == Status::Paused {
                s.push_str(" (Paused)");
            } else if let Some(h) = &st.health {
                let hs = if h.status == "starting" {
                    "health: starting"
                } else {
                    h.status.as_str()
                };
                s.push_str(&format!(" ({hs})"));
            }
            s
        }
        Status::Restarting => format!("Restarting ({}) {}", st.exit_code, ago(&st.finished_at)),
        Status::Removing => "Removal In Progress".into(),
        Status::Exited => format!("Exited ({}) {}", st.exit_code, ago(&st.finished_at)),
        Status::Dead => "Dead".into(),
    }
}
