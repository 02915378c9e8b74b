//! `berth attach`: a client of the monitor's attach socket (see `monitor::attach`). Our
//! stdin goes to the container (raw when both sides are terminals), its output comes
//! back demultiplexed to our stdout and stderr, until it exits or the detach keys
//! (Docker's ctrl-p ctrl-q by default) are typed.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::monitor::attach::{
    header, take_frames, ATTACH_SOCKET, INPUT_DATA, INPUT_RESIZE, STREAM_STDERR,
};
use crate::state::status::Status;
use crate::state::ContainerRecord;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

pub struct AttachOptions {
    /// Forward our stdin (`--no-stdin` clears it; only if the container keeps stdin open).
    pub stdin: bool,
    /// The byte sequence that detaches (`--detach-keys`).
    pub detach_keys: Vec<u8>,
}

/// How an attach ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AttachEnd {
    Exited(i32),
    Detached,
}

/// Docker's `--detach-keys` syntax: comma-separated `ctrl-<letter>`, `ctrl-@`, `ctrl-[`,
/// ... or single characters.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    let bad = || EngineError::Invalid(format!("Invalid detach keys ({spec}) provided"));
    spec.split(',')
        .map(|k| {
            let k = k.trim();
            if let Some(c) = k.strip_prefix("ctrl-") {
                let mut ch = c.chars();
                let (Some(c), None) = (ch.next(), ch.next()) else {
                    return Err(bad());
                };
                match c {
                    'a'..='z' => Ok(c as u8 - b'a' + 1),
                    '@' => Ok(0),
                    '[' | '\\' | ']' | '^' | '_' => Ok(c as u8 - b'@'),
                    _ => Err(bad()),
                }
            } else if k.len() == 1 {
                Ok(k.as_bytes()[0])
            } else {
                Err(bad())
            }
        })
        .collect()
}

/// Connects to a socket whose path may be longer than sun_path allows, through an
/// O_PATH descriptor's /proc/self/fd name.
fn connect_long(path: &std::path::Path) -> io::Result<UnixStream> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(path)?;
    use std::os::fd::AsRawFd;
    UnixStream::connect(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// Finds `keys` across reads: returns the bytes to forward and whether the full sequence
/// was typed (a partial match is held back until it completes or breaks).
struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            return (input.to_vec(), false);
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }
}

impl Engine {
    pub fn attach(&self, rec: &ContainerRecord, opts: &AttachOptions) -> Result<AttachEnd> {
        let st = self.live_state(rec);
        match st.status {
            Status::Running | Status::Restarting => {}
            Status::Paused => {
                return Err(EngineError::Conflict(
                    "You cannot attach to a paused container, unpause it first".into(),
                ))
            }
            _ => {
                return Err(EngineError::Conflict(
                    "You cannot attach to a stopped container, start it first".into(),
                ))
            }
        }
        let sock = self.layout.container(&rec.id).join(ATTACH_SOCKET);
        let stream = connect_long(&sock)
            .map_err(|e| EngineError::io(format!("attach to {}", sock.display()), e))?;
        let tty = rec.config.tty;
        let stdin = io::stdin();
        let forward = opts.stdin && rec.config.open_stdin;
        let raw = if forward && tty {
            raw_mode(&stdin)
        } else {
            None
        };
        if tty {
            if let Some(ws) = crate::monitor::sys::get_winsize(&io::stdout()) {
                let mut m = header(INPUT_RESIZE, 4).to_vec();
                m.extend_from_slice(&ws.ws_row.to_be_bytes());
                m.extend_from_slice(&ws.ws_col.to_be_bytes());
                let _ = (&stream).write_all(&m);
            }
        }
        let (detach_tx, detach_rx) = std::sync::mpsc::channel::<()>();
        if forward {
            let mut to_monitor = stream
                .try_clone()
                .map_err(|e| EngineError::io("attach socket", e))?;
            let keys = opts.detach_keys.clone();
            std::thread::spawn(move || {
                let mut matcher = DetachMatcher { keys, matched: 0 };
                let mut buf = [0u8; 4096];
                let mut input = io::stdin().lock();
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(0) | Err(_) => return, // EOF: the container's stdin stays open
                        Ok(n) => n,
                    };
                    let (data, detach) = matcher.feed(&buf[..n]);
                    if !data.is_empty() {
                        let mut m = header(INPUT_DATA, data.len()).to_vec();
                        m.extend_from_slice(&data);
                        if to_monitor.write_all(&m).is_err() {
                            return;
                        }
                    }
                    if detach {
                        let _ = detach_tx.send(());
                        let _ = to_monitor.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                }
            });
        }
        let mut from_monitor = &stream;
        let mut pending = Vec::new();
        let mut buf = [0u8; 32 * 1024];
        loop {
            let n = match from_monitor.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            let Ok(frames) = take_frames(&mut pending) else {
                break;
            };
            for (kind, data) in frames {
                let _ = if kind == STREAM_STDERR {
                    io::stderr().lock().write_all(&data)
                } else {
                    let mut o = io::stdout().lock();
                    o.write_all(&data).and_then(|_| o.flush())
                };
            }
        }
        if let Some(t) = raw {
            let _ =
                nix::sys::termios::tcsetattr(stdin.as_fd(), nix::sys::termios::SetArg::TCSANOW, &t);
        }
        if detach_rx.try_recv().is_ok() {
            return Ok(AttachEnd::Detached);
        }
        Ok(AttachEnd::Exited(self.wait(rec)))
    }
}

/// Puts our terminal in raw mode; returns the settings to restore.
fn raw_mode(stdin: &io::Stdin) -> Option<nix::sys::termios::Termios> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let orig = tcgetattr(stdin.as_fd()).ok()?;
    let mut raw = orig.clone();
    cfmakeraw(&mut raw);
    tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
    Some(orig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker_spells_them() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-@,a").unwrap(), vec![0, b'a']);
        assert!(parse_detach_keys("ctrl-pp").is_err());
        assert!(parse_detach_keys("alt-x").is_err());
    }

    #[test]
    fn detach_sequence_is_found_across_reads_and_partial_matches_pass_through() {
        let mut m = DetachMatcher {
            keys: vec![16, 17],
            matched: 0,
        };
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(m.feed(b"\x10"), (Vec::new(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
    }
}
