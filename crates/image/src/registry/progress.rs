//! Per-layer progress of a pull or push: bars on a terminal (indicatif), Docker-style
//! status lines otherwise, nothing when quiet. Lines go to stdout, as Docker's do.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stdout is a terminal, lines otherwise.
    Auto,
    /// Status lines only.
    Plain,
    /// Nothing.
    Quiet,
}

enum Out {
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
    Lines,
    Quiet,
}

pub struct Progress {
    out: Out,
}

/// Docker's 12-hex-digit short id of a digest.
pub fn short_id(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

impl Progress {
    pub fn new(mode: ProgressMode) -> Progress {
        let out = match mode {
            ProgressMode::Quiet => Out::Quiet,
            ProgressMode::Plain => Out::Lines,
            ProgressMode::Auto if std::io::stdout().is_terminal() => Out::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
                bars: Mutex::new(HashMap::new()),
            },
            ProgressMode::Auto => Out::Lines,
        };
        Progress { out }
    }

    pub fn is_quiet(&self) -> bool {
        matches!(self.out, Out::Quiet)
    }

    /// A line of its own (e.g. `latest: Pulling from library/busybox`), unless quiet.
    pub fn line(&self, s: &str) {
        match &self.out {
            Out::Quiet => {}
            Out::Lines => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{s}");
            }
            Out::Bars { multi, .. } => {
                let _ = multi.println(s);
            }
        }
    }

    /// A layer's status changed (`Pulling fs layer`, `Already exists`, `Pull complete`).
    pub fn status(&self, digest: &str, status: &str) {
        let id = short_id(digest);
        match &self.out {
            Out::Quiet => {}
            Out::Lines => self.line(&format!("{id}: {status}")),
            Out::Bars { bars, .. } => {
                let bars = bars.lock().unwrap_or_else(|e| e.into_inner());
                match bars.get(digest) {
                    Some(b) => b.set_message(status.to_string()),
                    None => {
                        drop(bars);
                        let b = self.bar(digest, 0);
                        b.set_message(status.to_string());
                        b.finish();
                    }
                }
            }
        }
    }

    /// Starts a byte-counting bar for a layer of `size` bytes.
    pub fn start(&self, digest: &str, size: u64, verb: &str) {
        match &self.out {
            Out::Bars { .. } => {
                let b = self.bar(digest, size);
                b.set_message(
                    if verb == "Pulling fs layer" {
                        "Downloading"
                    } else {
                        verb
                    }
                    .to_string(),
                );
            }
            _ => self.status(digest, verb),
        }
    }

    /// `n` more bytes of a layer arrived.
    pub fn advance(&self, digest: &str, n: u64) {
        if let Out::Bars { bars, .. } = &self.out {
            if let Some(b) = bars.lock().unwrap_or_else(|e| e.into_inner()).get(digest) {
                b.inc(n);
            }
        }
    }

    /// A layer is done; `status` is its final word (`Pull complete`, `Pushed`).
    pub fn finish(&self, digest: &str, status: &str) {
        match &self.out {
            Out::Bars { bars, .. } => {
                if let Some(b) = bars.lock().unwrap_or_else(|e| e.into_inner()).get(digest) {
                    b.set_style(
                        ProgressStyle::with_template("{prefix}: {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.finish_with_message(status.to_string());
                }
            }
            _ => self.status(digest, status),
        }
    }

    fn bar(&self, digest: &str, size: u64) -> ProgressBar {
        let Out::Bars { multi, bars } = &self.out else {
            return ProgressBar::hidden();
        };
        let b = multi.add(ProgressBar::new(size));
        b.set_style(
            ProgressStyle::with_template(
                "{prefix}: {msg:18} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_prefix(short_id(digest).to_string());
        bars.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(digest.to_string(), b.clone());
        b
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_ids() {
        assert_eq!(
            super::short_id("sha256:0123456789abcdef0123"),
            "0123456789ab"
        );
        assert_eq!(super::short_id("abc"), "abc");
    }
}
