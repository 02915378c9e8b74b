//! Reading json-file logs back for `berth logs` (--tail, --since, --until, -t, -f).

use super::writer::rotated_path;
use serde::Deserialize;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// One json-file record.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LogRecord {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Parses records from json-file text, skipping lines that are not records (a torn last
/// line while the writer is mid-write is left for the next read).
pub fn parse_records(text: &str) -> Vec<LogRecord> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// All records of `path` and its rotated files, oldest first.
pub fn read_all(path: &Path) -> io::Result<Vec<LogRecord>> {
    let mut rotated = Vec::new();
    let mut n = 1;
    while rotated_path(path, n).exists() {
        rotated.push(rotated_path(path, n));
        n += 1;
    }
    let mut out = Vec::new();
    for p in rotated.iter().rev() {
        out.extend(parse_records(&std::fs::read_to_string(p)?));
    }
    match std::fs::read_to_string(path) {
        Ok(t) => out.extend(parse_records(&t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Follows the current log file from a byte offset: returns complete new records and the
/// new offset. A file shorter than the offset was rotated: start again from 0.
pub fn read_from(path: &Path, offset: u64) -> io::Result<(Vec<LogRecord>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut off = if len < offset { 0 } else { offset };
    f.seek(SeekFrom::Start(off))?;
    let mut r = BufReader::new(f.take(len - off));
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        off += n as u64;
        if let Ok(rec) = serde_json::from_str(line.trim_end()) {
            out.push(rec);
        }
    }
    Ok((out, off))
}

/// Size of the current log file (where following starts).
pub fn current_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rotated_files_in_order_and_follows() {
        let dir = std::env::temp_dir().join(format!("berth-logr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.log");
        let rec = |s: &str| {
            format!("{{\"log\":\"{s}\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00.000000000Z\"}}\n")
        };
        std::fs::write(rotated_path(&p, 2), rec("a")).unwrap();
        std::fs::write(rotated_path(&p, 1), rec("b")).unwrap();
        std::fs::write(&p, rec("c") + "{\"log\":\"tor").unwrap();
        let all = read_all(&p).unwrap();
        let logs: Vec<_> = all.iter().map(|r| r.log.as_str()).collect();
        assert_eq!(logs, ["a\n", "b\n", "c\n"]);
        let (recs, off) = read_from(&p, 0).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(off, rec("c").len() as u64);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
