//! Bridges an async download to the synchronous store: chunks go through a bounded
//! channel (so a slow unpack slows the download instead of buffering it all) and come
//! out of a `Read` on a blocking thread. An `Err` sent down the channel surfaces as a
//! read error, which makes the store abandon the layer.

use bytes::Bytes;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks in flight between download and unpack.
const DEPTH: usize = 32;

pub fn channel() -> (Feeder, ChannelReader) {
    let (tx, rx) = mpsc::channel(DEPTH);
    let complete = Arc::new(AtomicBool::new(false));
    (
        Feeder {
            tx,
            complete: complete.clone(),
        },
        ChannelReader {
            rx,
            current: Bytes::new(),
            done: false,
            complete,
        },
    )
}

/// The download side. Dropping it without [`Feeder::finish`] makes the reader fail, so an
/// abandoned download can never look like a complete blob.
pub struct Feeder {
    tx: mpsc::Sender<io::Result<Bytes>>,
    complete: Arc<AtomicBool>,
}

impl Feeder {
    /// Hands a chunk over; `false` when the reader is gone (the store gave up).
    pub async fn send(&self, b: Bytes) -> bool {
        self.tx.send(Ok(b)).await.is_ok()
    }

    /// Makes the reader fail with `e`.
    pub async fn fail(self, e: io::Error) {
        let _ = self.tx.send(Err(e)).await;
    }

    /// The blob was delivered whole and verified: the reader sees end of file.
    pub fn finish(self) {
        self.complete.store(true, Ordering::SeqCst);
    }
}

pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
    complete: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None if self.complete.load(Ordering::SeqCst) => {
                    self.done = true;
                    return Ok(0);
                }
                None => {
                    self.done = true;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "download abandoned before the blob was complete",
                    ));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_arrive_in_order_and_errors_surface() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, mut r) = channel();
        let t = std::thread::spawn(move || {
            let mut s = String::new();
            let res = r.read_to_string(&mut s);
            (s, res.is_err())
        });
        rt.block_on(async {
            assert!(tx.send(Bytes::from_static(b"hello ")).await);
            assert!(tx.send(Bytes::from_static(b"world")).await);
            tx.fail(io::Error::other("bad digest")).await;
        });
        let (s, failed) = t.join().unwrap();
        assert!(failed);
        assert!(s.is_empty() || s.starts_with("hello"));

        let (tx, mut r) = channel();
        rt.block_on(async { assert!(tx.send(Bytes::from_static(b"ok")).await) });
        tx.finish();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ok");

        // Dropped without finish: an error, not a short blob.
        let (tx, mut r) = channel();
        rt.block_on(async { assert!(tx.send(Bytes::from_static(b"part")).await) });
        drop(tx);
        let mut s = String::new();
        assert!(r.read_to_string(&mut s).is_err());
    }
}
