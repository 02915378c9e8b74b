//! Docker's json-file log format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-01T00:00:00.000000000Z"}`,
//! rotated to `<log>.1`, `<log>.2`, ... when `max-size` is reached (`max-file` files kept).

use crate::state::status::now_rfc3339;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Longest partial line held before it is written without a newline (Docker's 16 KiB).
const MAX_PARTIAL: usize = 16 * 1024;

/// Which stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Appends log records, splitting on newlines and rotating by size.
pub struct JsonFileWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_file: u32,
    partial: [Vec<u8>; 2],
}

impl JsonFileWriter {
    /// Opens (appends to) `path`. `max_size` 0 means never rotate.
    pub fn open(path: &Path, max_size: u64, max_file: u32) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(JsonFileWriter {
            path: path.to_owned(),
            file,
            size,
            max_size,
            max_file: max_file.max(1),
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Takes bytes read from a stream; complete lines are written at once.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        let idx = stream as usize;
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[idx]);
            line.extend_from_slice(&data[..=nl]);
            self.record(stream, &line)?;
            data = &data[nl + 1..];
        }
        self.partial[idx].extend_from_slice(data);
        if self.partial[idx].len() >= MAX_PARTIAL {
            let line = std::mem::take(&mut self.partial[idx]);
            self.record(stream, &line)?;
        }
        Ok(())
    }

    /// Writes whatever partial lines remain (at end of stream).
    pub fn flush_partial(&mut self) -> io::Result<()> {
        for (idx, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
            if !self.partial[idx].is_empty() {
                let line = std::mem::take(&mut self.partial[idx]);
                self.record(stream, &line)?;
            }
        }
        Ok(())
    }

    fn record(&mut self, stream: Stream, line: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        let mut rec = Vec::with_capacity(line.len() + 80);
        rec.extend_from_slice(b"{\"log\":");
        serde_json::to_writer(&mut rec, &text).map_err(io::Error::other)?;
        rec.extend_from_slice(b",\"stream\":\"");
        rec.extend_from_slice(stream.name().as_bytes());
        rec.extend_from_slice(b"\",\"time\":\"");
        rec.extend_from_slice(now_rfc3339().as_bytes());
        rec.extend_from_slice(b"\"}\n");
        if self.max_size > 0 && self.size > 0 && self.size + rec.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&rec)?;
        self.size += rec.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_file <= 1 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..self.max_file - 1).rev() {
            let from = rotated_path(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated_path(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated_path(&self.path, 1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// `<log>.N`.
pub fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_rotates() {
        let dir = std::env::temp_dir().join(format!("berth-logw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.log");
        let mut w = JsonFileWriter::open(&p, 300, 3).unwrap();
        w.write(Stream::Stdout, b"hel").unwrap();
        w.write(Stream::Stderr, b"err\n").unwrap();
        w.write(Stream::Stdout, b"lo\n\"q\"\n").unwrap();
        w.flush_partial().unwrap();
        let all = std::fs::read_to_string(&p).unwrap();
        let recs: Vec<serde_json::Value> = all
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs[0]["log"], "err\n");
        assert_eq!(recs[0]["stream"], "stderr");
        assert_eq!(recs[1]["log"], "hello\n");
        assert_eq!(recs[2]["log"], "\"q\"\n");
        for _ in 0..20 {
            w.write(Stream::Stdout, b"0123456789\n").unwrap();
        }
        assert!(rotated_path(&p, 1).exists());
        assert!(rotated_path(&p, 2).exists());
        assert!(!rotated_path(&p, 3).exists());
        assert!(std::fs::metadata(&p).unwrap().len() <= 300);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
