//! pause/resume: the v1 freezer controller, or cgroup.freeze on cgroup2.

use std::path::Path;
use std::time::{Duration, Instant};

use super::error::CgroupError;
use super::fsio;
use super::Cgroup;

/// How long to wait for the kernel to settle a freeze or thaw.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    fn freezer(&self) -> Result<Freezer<'_>, CgroupError> {
        if let Some(d) = self
            .v1
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == "freezer"))
        {
            return Ok(Freezer::V1(&d.dir));
        }
        match &self.unified {
            Some(u) => Ok(Freezer::V2(&u.dir)),
            None => Err(CgroupError::Discovery(
                "no freezer: neither a v1 freezer hierarchy nor cgroup2".into(),
            )),
        }
    }

    /// Freezes every task and waits until the kernel reports the cgroup frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Freezer::V1(d) => {
                let r = settle_v1(d, "FROZEN");
                if r.is_err() {
                    // Do not leave the container half-frozen.
                    let _ = settle_v1(d, "THAWED");
                }
                r
            }
            Freezer::V2(d) => {
                let r = settle_v2(d, true);
                if r.is_err() {
                    let _ = settle_v2(d, false);
                }
                r
            }
        }
    }

    /// Thaws every task and waits until the kernel reports it.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Freezer::V1(d) => settle_v1(d, "THAWED"),
            Freezer::V2(d) => settle_v2(d, false),
        }
    }

    /// Whether the cgroup is (fully) frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.freezer()? {
            Freezer::V1(d) => Ok(fsio::read_file(d, "freezer.state")?.trim() == "FROZEN"),
            Freezer::V2(d) => Ok(events_frozen(d)?),
        }
    }
}

/// Backoff for polling: 100 µs doubling up to 10 ms.
struct Backoff(Duration);
impl Backoff {
    fn wait(&mut self) {
        std::thread::sleep(self.0);
        self.0 = (self.0 * 2).min(Duration::from_millis(10));
    }
}

fn settle_v1(d: &Path, want: &str) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut backoff = Backoff(Duration::from_micros(100));
    let mut writes = 0u32;
    loop {
        // Re-writing the state nudges tasks that were forking while we froze.
        if writes == 0 || (want == "FROZEN" && writes % 8 == 0) {
            fsio::write_field(d, "freezer.state", want, "freezer.state")?;
        }
        writes += 1;
        let state = fsio::read_file(d, "freezer.state")?;
        if state.trim() == want {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return Err(CgroupError::Freezer {
                path: d.to_path_buf(),
                reason: format!(
                    "still {} after {:?}, wanted {want}",
                    state.trim(),
                    SETTLE_TIMEOUT
                ),
            });
        }
        backoff.wait();
    }
}

fn events_frozen(d: &Path) -> Result<bool, CgroupError> {
    let ev = fsio::read_file(d, "cgroup.events")?;
    Ok(ev.lines().any(|l| l.trim() == "frozen 1"))
}

fn settle_v2(d: &Path, freeze: bool) -> Result<(), CgroupError> {
    fsio::write_field(
        d,
        "cgroup.freeze",
        if freeze { "1" } else { "0" },
        "cgroup.freeze",
    )?;
    let start = Instant::now();
    let mut backoff = Backoff(Duration::from_micros(100));
    loop {
        if events_frozen(d)? == freeze {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return Err(CgroupError::Freezer {
                path: d.to_path_buf(),
                reason: format!(
                    "cgroup.events did not report frozen={} in time",
                    u8::from(freeze)
                ),
            });
        }
        backoff.wait();
    }
}
