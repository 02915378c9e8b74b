//! Container logs in Docker's json-file format: the monitor writes, `berth logs` reads.

pub mod reader;
pub mod writer;

pub use writer::{JsonFileWriter, Stream};

/// `logs --since/--until`: RFC 3339, Unix seconds, or a duration before now (`10m`),
/// normalized to the records' own time format so they compare as strings.
pub fn parse_time_bound(s: &str) -> Result<String, crate::EngineError> {
    use crate::state::status::rfc3339_nanos;
    use std::time::Duration;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(rfc3339_nanos(t.with_timezone(&chrono::Utc).into()));
    }
    if let Ok(secs) = s.parse::<f64>() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0));
        return Ok(rfc3339_nanos(t));
    }
    let d = crate::spec::parse::parse_duration("--since", s).map_err(|_| {
        crate::EngineError::Invalid(format!(
            "invalid time value {s:?}: expected a timestamp or a duration such as 10m"
        ))
    })?;
    Ok(rfc3339_nanos(std::time::SystemTime::now() - d))
}
