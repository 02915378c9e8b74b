//! An on-disk cache of compiled filters. libseccomp needs ~15 ms to generate the BPF of
//! a Docker/Podman-style profile for x86_64+x86+x32; the same profile is used for most
//! containers, so the program is kept keyed by the exact profile.
//!
//! File: magic, key (libseccomp version + the profile's JSON), flags, notify, warnings,
//! instructions. The key is stored in full and compared on load, so a hash collision in
//! the file name can never hand out another profile's program.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

use super::{SeccompError, SeccompFilter};

const MAGIC: &[u8; 8] = b"BRTHSCM1";

fn key(s: &LinuxSeccomp) -> Result<Vec<u8>, SeccompError> {
    let v = libseccomp::ScmpVersion::current().map_err(|source| SeccompError::Libseccomp {
        what: "libseccomp version".into(),
        source,
    })?;
    let mut k = format!("{}.{}.{}\n", v.major, v.minor, v.micro).into_bytes();
    serde_json::to_writer(&mut k, s).map_err(|e| SeccompError::Invalid {
        field: "linux.seccomp".into(),
        reason: e.to_string(),
    })?;
    Ok(k)
}

fn file_for(dir: &Path, key: &[u8]) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    dir.join(format!("{:016x}.bpf", h.finish()))
}

fn encode(key: &[u8], f: &SeccompFilter) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + key.len() + f.program.len() * 8);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&(key.len() as u32).to_le_bytes());
    b.extend_from_slice(key);
    // c_ulong is u32 on 32-bit targets; the file always holds 64 bits.
    #[allow(clippy::useless_conversion)]
    let flags = u64::from(f.flags);
    b.extend_from_slice(&flags.to_le_bytes());
    b.push(u8::from(f.notify));
    b.extend_from_slice(&(f.warnings.len() as u32).to_le_bytes());
    for w in &f.warnings {
        b.extend_from_slice(&(w.len() as u32).to_le_bytes());
        b.extend_from_slice(w.as_bytes());
    }
    b.extend_from_slice(&(f.program.len() as u32).to_le_bytes());
    for i in &f.program {
        b.extend_from_slice(&i.code.to_le_bytes());
        b.push(i.jt);
        b.push(i.jf);
        b.extend_from_slice(&i.k.to_le_bytes());
    }
    b
}

/// Reads what `encode` wrote; None on any mismatch or truncation.
fn decode(b: &[u8], key: &[u8]) -> Option<SeccompFilter> {
    struct R<'a>(&'a [u8]);
    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, rest) = self.0.split_at(n);
            self.0 = rest;
            Some(a)
        }
        fn u32(&mut self) -> Option<u32> {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
        }
    }
    let mut r = R(b);
    if r.take(8)? != MAGIC {
        return None;
    }
    let klen = r.u32()? as usize;
    if r.take(klen)? != key {
        return None;
    }
    let flags = u64::from_le_bytes(r.take(8)?.try_into().ok()?) as libc::c_ulong;
    let notify = r.take(1)?[0] != 0;
    let nw = r.u32()? as usize;
    let mut warnings = Vec::with_capacity(nw.min(1024));
    for _ in 0..nw {
        let l = r.u32()? as usize;
        warnings.push(String::from_utf8(r.take(l)?.to_vec()).ok()?);
    }
    let n = r.u32()? as usize;
    let insns = r.take(n.checked_mul(8)?)?;
    if !r.0.is_empty() || n == 0 {
        return None;
    }
    let program = insns
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(SeccompFilter {
        program,
        flags,
        notify,
        warnings,
    })
}

impl SeccompFilter {
    /// Like [`SeccompFilter::compile`], but reuses a program compiled earlier for the
    /// identical profile from `cache_dir` (created if missing), and stores new ones
    /// there. A cache that cannot be read or written only costs the compile.
    pub fn compile_cached(
        s: &LinuxSeccomp,
        cache_dir: &Path,
    ) -> Result<SeccompFilter, SeccompError> {
        let Ok(key) = key(s) else {
            return Self::compile(s);
        };
        let path = file_for(cache_dir, &key);
        if let Some(f) = std::fs::read(&path).ok().and_then(|b| decode(&b, &key)) {
            return Ok(f);
        }
        let f = Self::compile(s)?;
        let _ = store(cache_dir, &path, &encode(&key, &f));
        Ok(f)
    }
}

/// Writes atomically (temp file + rename) so concurrent starts never read half a file.
fn store(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    let r = f
        .write_all(bytes)
        .and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> SeccompFilter {
        SeccompFilter {
            program: vec![
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 4,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 1,
                    jf: 2,
                    k: 0x7fff_0000,
                },
            ],
            flags: 5,
            notify: true,
            warnings: vec!["w1".into()],
        }
    }

    #[test]
    fn round_trip_and_key_mismatch() {
        let f = filter();
        let b = encode(b"key", &f);
        let g = decode(&b, b"key").expect("decodes");
        assert_eq!(g.flags, 5);
        assert!(g.notify);
        assert_eq!(g.warnings, vec!["w1".to_string()]);
        assert_eq!(g.program.len(), 2);
        assert_eq!(
            (g.program[1].jt, g.program[1].jf, g.program[1].k),
            (1, 2, 0x7fff_0000)
        );
        assert!(decode(&b, b"other").is_none());
        assert!(decode(&b[..b.len() - 1], b"key").is_none());
    }
}
