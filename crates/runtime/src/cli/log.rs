//! Error and debug output: always stderr, plus --log in text or json (conmon and podman
//! read the json form, one object per line, to show runtime errors).

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Logger {
    file: Option<PathBuf>,
    json: bool,
    pub debug: bool,
}

impl Logger {
    pub fn new(file: Option<&Path>, format: &str, debug: bool) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            json: format == "json",
            debug,
        }
    }

    fn write(&self, level: &str, msg: &str) {
        let time = crate::state::now_rfc3339();
        if let Some(f) = &self.file {
            let line = if self.json {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            } else {
                format!("time=\"{time}\" level={level} msg={msg:?}")
            };
            if let Ok(mut fh) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(f)
            {
                let _ = writeln!(fh, "{line}");
            }
        }
    }

    pub fn error(&self, msg: &str) {
        eprintln!("berth-oci: {msg}");
        self.write("error", msg);
    }

    pub fn warn(&self, msg: &str) {
        eprintln!("berth-oci: warning: {msg}");
        self.write("warning", msg);
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            eprintln!("berth-oci: debug: {msg}");
            self.write("debug", msg);
        }
    }
}
