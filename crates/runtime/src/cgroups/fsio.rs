//! Minimal-syscall reads and writes of cgroup control files.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::Path;

use super::error::CgroupError;

/// Writes `value` to an existing control file: open(O_WRONLY|O_TRUNC) + write + close.
/// Never creates the file: a missing control file means the kernel lacks the knob.
/// (O_TRUNC is a no-op on cgroupfs, as for a shell's `>`; on a plain file it keeps
/// only the last value, which is what tests of fake trees read back.)
pub(crate) fn write_raw(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    // Control files take one value per write(2); write_all would split on short writes.
    let n = f.write(value.as_bytes())?;
    if n != value.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
    }
    Ok(())
}

/// Writes `value` to `dir/file`, naming `field` on failure.
pub(crate) fn write_field(
    dir: &Path,
    file: &str,
    value: &str,
    field: &str,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    write_raw(&path, value).map_err(|source| CgroupError::Write {
        field: field.to_owned(),
        path,
        source,
    })
}

/// Reads a control file into a string with one read buffer, no stat.
pub(crate) fn read_raw(path: &Path) -> io::Result<String> {
    let mut f = OpenOptions::new().read(true).open(path)?;
    let mut s = String::with_capacity(256);
    f.read_to_string(&mut s)?;
    Ok(s)
}

pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    read_raw(&path).map_err(|e| CgroupError::io("reading", path, e))
}

/// Reads a single-number file; "max" reads as u64::MAX.
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let s = read_file(dir, file)?;
    parse_u64(s.trim()).ok_or_else(|| {
        CgroupError::io(
            "parsing",
            dir.join(file),
            io::Error::new(io::ErrorKind::InvalidData, format!("not a number: {s:?}")),
        )
    })
}

pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse::<u64>().ok()
}

/// Parses "key value" lines (memory.stat, cpu.stat, memory.events, ...).
pub(crate) fn parse_flat_keyed(s: &str) -> Vec<(&str, u64)> {
    s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = parse_u64(it.next()?)?;
            Some((k, v))
        })
        .collect()
}

/// Whether an error from a write means "this kernel has no such knob".
pub(crate) fn is_missing_knob(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP)
    ) || e.raw_os_error() == Some(524) // ENOTSUPP (kernel-internal, leaks from cgroupfs)
}
