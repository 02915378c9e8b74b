//! Registry credentials in Docker's client config (`~/.docker/config.json`, or
//! `$DOCKER_CONFIG/config.json`): `{"auths": {"<server>": {"auth": base64("user:pass")}}}`.
//! Other keys in the file are kept untouched; the file is written atomically, mode 0600.
//! Credential helpers (`credsStore`, `credHelpers`) are not supported.

use super::RegistryError;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Docker Hub's key in `auths` (what `docker login` with no server writes).
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The Docker client config file holding credentials.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    path: PathBuf,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_location() -> Result<Self, RegistryError> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Ok(Self::at(PathBuf::from(dir).join("config.json")));
        }
        let home = std::env::var_os("HOME").ok_or_else(|| {
            RegistryError::Config("HOME is not set: cannot find ~/.docker/config.json".into())
        })?;
        Ok(Self::at(PathBuf::from(home).join(".docker/config.json")))
    }

    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Map<String, Value>, RegistryError> {
        let bad = |e: String| RegistryError::Config(format!("{}: {e}", self.path.display()));
        match std::fs::read(&self.path) {
            Ok(d) if d.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
            Ok(d) => match serde_json::from_slice(&d).map_err(|e| bad(e.to_string()))? {
                Value::Object(m) => Ok(m),
                _ => Err(bad("not a JSON object".into())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    fn write(&self, m: &Map<String, Value>) -> Result<(), RegistryError> {
        let io = |e: std::io::Error| RegistryError::Config(format!("{}: {e}", self.path.display()));
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
        let mut data = serde_json::to_vec_pretty(&Value::Object(m.clone()))
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        data.push(b'\n');
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(&data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Credentials stored for `server` (a registry host, Docker Hub under any of its names).
    pub fn get(&self, server: &str) -> Result<Option<Credentials>, RegistryError> {
        let m = self.read()?;
        let Some(Value::Object(auths)) = m.get("auths") else {
            return Ok(None);
        };
        let want = normalize_server(server);
        for (key, entry) in auths {
            if normalize_server(key) != want {
                continue;
            }
            if let Some(c) = decode_entry(entry) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Stores credentials for `server` (replacing any under an equivalent key).
    pub fn store(&self, server: &str, creds: &Credentials) -> Result<(), RegistryError> {
        let mut m = self.read()?;
        let auths = m
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        let Value::Object(auths) = auths else {
            unreachable!("just made it an object")
        };
        let want = normalize_server(server);
        auths.retain(|k, _| normalize_server(k) != want);
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", creds.username, creds.password));
        let mut entry = Map::new();
        entry.insert("auth".into(), Value::String(token));
        auths.insert(auth_key(server), Value::Object(entry));
        self.write(&m)
    }

    /// Removes credentials for `server`; returns whether there were any.
    pub fn remove(&self, server: &str) -> Result<bool, RegistryError> {
        let mut m = self.read()?;
        let Some(Value::Object(auths)) = m.get_mut("auths") else {
            return Ok(false);
        };
        let want = normalize_server(server);
        let before = auths.len();
        auths.retain(|k, _| normalize_server(k) != want);
        if auths.len() == before {
            return Ok(false);
        }
        self.write(&m)?;
        Ok(true)
    }
}

/// The key `docker login SERVER` writes: Docker Hub's legacy URL, else the bare host.
pub fn auth_key(server: &str) -> String {
    match normalize_server(server).as_str() {
        "docker.io" => DOCKER_HUB_AUTH_KEY.to_string(),
        host => host.to_string(),
    }
}

/// `https://host:port/v1/` -> `host:port`; Docker Hub's names -> `docker.io`.
pub fn normalize_server(server: &str) -> String {
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        _ => host,
    }
}

fn decode_entry(entry: &Value) -> Option<Credentials> {
    if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        return Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        });
    }
    let u = entry.get("username").and_then(Value::as_str)?;
    let p = entry.get("password").and_then(Value::as_str)?;
    Some(Credentials {
        username: u.into(),
        password: p.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp_config(name: &str) -> (PathBuf, DockerConfig) {
        let dir = std::env::temp_dir().join(format!("berth-creds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (dir.clone(), DockerConfig::at(dir.join("sub/config.json")))
    }

    #[test]
    fn store_get_remove_roundtrip_with_mode_0600() {
        let (dir, c) = tmp_config("rt");
        let creds = Credentials {
            username: "alice".into(),
            password: "p:ss".into(),
        };
        assert_eq!(c.get("127.0.0.1:5000").unwrap(), None);
        c.store("127.0.0.1:5000", &creds).unwrap();
        let mode = std::fs::metadata(c.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let v: Value = serde_json::from_slice(&std::fs::read(c.path()).unwrap()).unwrap();
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "YWxpY2U6cDpzcw==");
        assert_eq!(c.get("127.0.0.1:5000").unwrap(), Some(creds.clone()));
        assert_eq!(c.get("http://127.0.0.1:5000/v2/").unwrap(), Some(creds));
        assert!(c.remove("127.0.0.1:5000").unwrap());
        assert!(!c.remove("127.0.0.1:5000").unwrap());
        assert_eq!(c.get("127.0.0.1:5000").unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn other_keys_kept_and_hub_names_unified() {
        let (dir, c) = tmp_config("keep");
        std::fs::create_dir_all(c.path().parent().unwrap()).unwrap();
        std::fs::write(
            c.path(),
            r#"{"psFormat":"x","auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"other:1":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        assert_eq!(c.get("docker.io").unwrap().unwrap().username, "u");
        assert_eq!(c.get("other:1").unwrap().unwrap().password, "b");
        c.store(
            "index.docker.io",
            &Credentials {
                username: "n".into(),
                password: "q".into(),
            },
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(c.path()).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "x");
        assert_eq!(v["auths"].as_object().unwrap().len(), 2);
        assert_eq!(c.get("docker.io").unwrap().unwrap().username, "n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let (dir, c) = tmp_config("bad");
        std::fs::create_dir_all(c.path().parent().unwrap()).unwrap();
        std::fs::write(c.path(), "{nope").unwrap();
        let e = c.get("x").unwrap_err().to_string();
        assert!(e.contains("config.json"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
