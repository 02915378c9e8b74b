//! Health checks: the image's `Healthcheck` (a Docker extension the OCI image config type
//! drops, so it is read from the raw config JSON) merged with `--health-*` flags.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::SpecError;
use super::options::RunOptions;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: u32 = 3;

/// Docker's HealthConfig: durations in nanoseconds in JSON, zero meaning "default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["CMD", args...]`, `["CMD-SHELL", "cmd"]` or `["NONE"]`.
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default, with = "nanos")]
    pub interval: Duration,
    #[serde(default, with = "nanos")]
    pub timeout: Duration,
    #[serde(default, with = "nanos")]
    pub start_period: Duration,
    #[serde(default, with = "nanos")]
    pub start_interval: Duration,
    #[serde(default)]
    pub retries: u32,
}

mod nanos {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.as_nanos() as i64)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let n: i64 = serde::Deserialize::deserialize(d)?;
        Ok(Duration::from_nanos(n.max(0) as u64))
    }
}

impl HealthConfig {
    /// Whether this config turns checks off (`NONE` or no test).
    pub fn is_disabled(&self) -> bool {
        self.test.is_empty() || self.test[0] == "NONE"
    }
    pub fn effective_interval(&self) -> Duration {
        if self.interval.is_zero() {
            DEFAULT_INTERVAL
        } else {
            self.interval
        }
    }
    pub fn effective_timeout(&self) -> Duration {
        if self.timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            self.timeout
        }
    }
    pub fn effective_start_interval(&self) -> Duration {
        if self.start_interval.is_zero() {
            DEFAULT_START_INTERVAL
        } else {
            self.start_interval
        }
    }
    pub fn effective_retries(&self) -> u32 {
        if self.retries == 0 {
            DEFAULT_RETRIES
        } else {
            self.retries
        }
    }
}

/// The `config.Healthcheck` of a raw image config blob (Docker's image config JSON).
pub fn image_healthcheck(raw_config: &[u8]) -> Result<Option<HealthConfig>, SpecError> {
    #[derive(Deserialize)]
    struct Outer {
        config: Option<Inner>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Inner {
        healthcheck: Option<HealthConfig>,
    }
    let o: Outer = serde_json::from_slice(raw_config)
        .map_err(|e| SpecError::Invalid(format!("image config Healthcheck: {e}")))?;
    Ok(o.config.and_then(|c| c.healthcheck))
}

/// The health check the container runs, or None. Flags override the image field by
/// field (a zero/unset flag keeps the image's value); `--no-healthcheck` or `NONE`
/// disables. Durations stay zero for "default" (see `effective_*`).
pub fn healthcheck(
    image: Option<&HealthConfig>,
    opts: &RunOptions,
) -> Result<Option<HealthConfig>, SpecError> {
    let h = &opts.health;
    let any_flag = h.cmd.is_some()
        || h.interval.is_some()
        || h.timeout.is_some()
        || h.start_period.is_some()
        || h.start_interval.is_some()
        || h.retries.is_some();
    if h.no_healthcheck {
        if any_flag {
            return Err(SpecError::Invalid(
                "--no-healthcheck conflicts with --health-* options".into(),
            ));
        }
        return Ok(None);
    }
    for (flag, d) in [
        ("--health-interval", h.interval),
        ("--health-start-interval", h.start_interval),
    ] {
        if let Some(d) = d {
            if !d.is_zero() && d < Duration::from_millis(1) {
                return Err(SpecError::Invalid(format!("{flag} must be at least 1ms")));
            }
        }
    }
    let mut out = image.cloned().unwrap_or_default();
    if let Some(c) = &h.cmd {
        out.test = vec!["CMD-SHELL".into(), c.clone()];
    }
    let set = |dst: &mut Duration, v: Option<Duration>| {
        if let Some(v) = v.filter(|v| !v.is_zero()) {
            *dst = v;
        }
    };
    set(&mut out.interval, h.interval);
    set(&mut out.timeout, h.timeout);
    set(&mut out.start_period, h.start_period);
    set(&mut out.start_interval, h.start_interval);
    if let Some(r) = h.retries.filter(|r| *r != 0) {
        out.retries = r;
    }
    if out.is_disabled() {
        return Ok(None);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::options::HealthOptions;

    #[test]
    fn image_healthcheck_from_raw_config() {
        let raw = br#"{"architecture":"amd64","os":"linux","config":{"Healthcheck":
            {"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":2}}}"#;
        let h = image_healthcheck(raw).unwrap().unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "true"]);
        assert_eq!(h.interval, Duration::from_secs(5));
        assert_eq!(h.effective_timeout(), DEFAULT_TIMEOUT);
        assert_eq!(h.retries, 2);
        assert!(image_healthcheck(br#"{"config":{}}"#).unwrap().is_none());
    }

    #[test]
    fn flags_override_image_field_by_field() {
        let img = HealthConfig {
            test: vec!["CMD".into(), "/check".into()],
            interval: Duration::from_secs(10),
            retries: 5,
            ..Default::default()
        };
        let o = RunOptions {
            health: HealthOptions {
                timeout: Some(Duration::from_secs(2)),
                ..Default::default()
            },
            ..Default::default()
        };
        let h = healthcheck(Some(&img), &o).unwrap().unwrap();
        assert_eq!(h.test, ["CMD", "/check"]);
        assert_eq!(h.interval, Duration::from_secs(10));
        assert_eq!(h.timeout, Duration::from_secs(2));
        assert_eq!(h.retries, 5);
        let o = RunOptions {
            health: HealthOptions {
                cmd: Some("curl x".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let h = healthcheck(None, &o).unwrap().unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "curl x"]);
        assert_eq!(h.effective_interval(), DEFAULT_INTERVAL);
        assert_eq!(h.effective_retries(), 3);
    }

    #[test]
    fn disabling() {
        let img = HealthConfig {
            test: vec!["CMD".into(), "x".into()],
            ..Default::default()
        };
        let o = RunOptions {
            health: HealthOptions {
                no_healthcheck: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(healthcheck(Some(&img), &o).unwrap().is_none());
        let none = HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert!(healthcheck(Some(&none), &RunOptions::default())
            .unwrap()
            .is_none());
        assert!(healthcheck(None, &RunOptions::default()).unwrap().is_none());
        let o = RunOptions {
            health: HealthOptions {
                no_healthcheck: true,
                cmd: Some("x".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(healthcheck(None, &o)
            .unwrap_err()
            .to_string()
            .contains("conflicts"));
    }
}
