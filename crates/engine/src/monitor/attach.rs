//! `berth attach`: the monitor listens on `attach.sock` in the container directory and
//! serves any number of clients while the container runs.
//!
//! Monitor → client: frames of `[stream, 0, 0, 0, len u32 BE] data` with stream 1 for
//! stdout and 2 for stderr (Docker's stdcopy header, so one demultiplexer fits both).
//! Client → monitor: frames of `[kind, 0, 0, 0, len u32 BE] payload`: kind 0 is input
//! for the container's stdin (or pty), kind 1 a terminal size (rows u16 BE, cols u16 BE).
//! Clients are non-blocking: one that cannot keep up is dropped, never waited for, so a
//! stalled `attach` can not stall the container's output or its log.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};

/// Socket file name, relative to the container directory (the monitor's cwd: a full path
/// could exceed sun_path's 108 bytes).
pub const ATTACH_SOCKET: &str = "attach.sock";

pub const STREAM_STDOUT: u8 = 1;
pub const STREAM_STDERR: u8 = 2;
pub const INPUT_DATA: u8 = 0;
pub const INPUT_RESIZE: u8 = 1;
/// Bound on one client frame: input arrives in terminal-sized pieces.
const MAX_FRAME: usize = 1 << 20;
/// Bound on concurrent clients: each costs a descriptor and a buffer.
const MAX_CLIENTS: usize = 16;

/// What a client sent.
pub enum Input {
    Data(Vec<u8>),
    Resize { rows: u16, cols: u16 },
}

struct Client {
    stream: UnixStream,
    pending: Vec<u8>,
}

pub struct AttachServer {
    listener: UnixListener,
    clients: Vec<Client>,
}

pub fn header(kind: u8, len: usize) -> [u8; 8] {
    let n = (len as u32).to_be_bytes();
    [kind, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

/// Splits complete frames off the front of `buf`: (kind, payload) pairs.
pub fn take_frames(buf: &mut Vec<u8>) -> io::Result<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 8 {
            return Ok(out);
        }
        let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "attach frame too large",
            ));
        }
        if buf.len() < 8 + len {
            return Ok(out);
        }
        out.push((buf[0], buf[8..8 + len].to_vec()));
        buf.drain(..8 + len);
    }
}

impl AttachServer {
    /// Binds the socket in the current directory (replacing a stale one).
    pub fn bind() -> io::Result<AttachServer> {
        let _ = std::fs::remove_file(ATTACH_SOCKET);
        let listener = UnixListener::bind(ATTACH_SOCKET)?;
        listener.set_nonblocking(true)?;
        Ok(AttachServer {
            listener,
            clients: Vec::new(),
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    pub fn client_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.clients.iter().map(|c| c.stream.as_fd()).collect()
    }

    pub fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if self.clients.len() >= MAX_CLIENTS || stream.set_nonblocking(true).is_err() {
                continue; // dropped: closes the connection
            }
            self.clients.push(Client {
                stream,
                pending: Vec::new(),
            });
        }
    }

    /// Reads what client `i` sent; a closed or misbehaving client is dropped.
    pub fn read_client(&mut self, i: usize) -> Vec<Input> {
        let Some(c) = self.clients.get_mut(i) else {
            return Vec::new();
        };
        let mut buf = [0u8; 16 * 1024];
        let mut closed = false;
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => c.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let frames = match take_frames(&mut c.pending) {
            Ok(f) => f,
            Err(_) => {
                closed = true;
                Vec::new()
            }
        };
        if closed {
            self.clients.remove(i);
        }
        frames
            .into_iter()
            .filter_map(|(kind, p)| match kind {
                INPUT_DATA => Some(Input::Data(p)),
                INPUT_RESIZE if p.len() == 4 => Some(Input::Resize {
                    rows: u16::from_be_bytes([p[0], p[1]]),
                    cols: u16::from_be_bytes([p[2], p[3]]),
                }),
                _ => None,
            })
            .collect()
    }

    /// Sends container output to every client.
    pub fn broadcast(&mut self, stream: u8, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let mut frame = Vec::with_capacity(8 + data.len());
        frame.extend_from_slice(&header(stream, data.len()));
        frame.extend_from_slice(data);
        self.clients
            .retain_mut(|c| c.stream.write_all(&frame).is_ok());
    }

    /// The container ended: clients see EOF.
    pub fn close_clients(&mut self) {
        self.clients.clear();
    }
}

impl Drop for AttachServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(ATTACH_SOCKET);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_at_their_boundaries() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&header(INPUT_DATA, 3));
        buf.extend_from_slice(b"abc");
        buf.extend_from_slice(&header(INPUT_RESIZE, 4));
        buf.extend_from_slice(&[0, 24]);
        let f = take_frames(&mut buf).unwrap();
        assert_eq!(f, vec![(INPUT_DATA, b"abc".to_vec())]);
        assert_eq!(buf.len(), 10, "the incomplete frame stays");
        buf.extend_from_slice(&[0, 80]);
        let f = take_frames(&mut buf).unwrap();
        assert_eq!(f, vec![(INPUT_RESIZE, vec![0, 24, 0, 80])]);
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_frames_are_refused() {
        let mut buf = header(INPUT_DATA, MAX_FRAME + 1).to_vec();
        assert!(take_frames(&mut buf).is_err());
    }
}
