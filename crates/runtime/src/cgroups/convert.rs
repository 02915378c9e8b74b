//! Pure conversions between the spec's (v1-shaped) values and cgroup v2 files.

use super::error::CgroupError;

/// cpu.shares (2..=262144) to cpu.weight (1..=10000) with the log-quadratic mapping
/// runc (>= 1.3.2) and crun (>= 1.23) use, which keeps the defaults aligned:
/// 2 -> 1, 1024 -> 100, 262144 -> 10000 (rounded up).
///
/// Computed without libm (`f64::log2`/`powf` are libm calls): this was the runtime's only
/// use of libm, and a dynamically loaded libm.so costs every `berth-oci` process ~300 KiB
/// of resident pages (the loader resolves its IFUNCs at startup). A unit test checks that
/// the result equals the libm formula for every input.
pub fn shares_to_weight(shares: u64) -> u64 {
    let l = log2(shares.clamp(2, 262_144) as f64);
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    (ceil(exp10(exponent)) as u64).clamp(1, 10_000)
}

/// log2 of a finite x >= 1: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), then
/// ln(m) = 2 * atanh(s), s = (m - 1) / (m + 1), |s| < 0.172 (the series converges fast).
fn log2(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..16 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    e as f64 + 2.0 * sum * std::f64::consts::LOG2_E
}

/// 10^y for |y| < 1000: 2^n * e^(f * ln 2) with y * log2(10) = n + f, f in [0, 1).
fn exp10(y: f64) -> f64 {
    let t = y * std::f64::consts::LOG2_10;
    let mut n = t as i64;
    if n as f64 > t {
        n -= 1;
    }
    let r = (t - n as f64) * std::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..24 {
        term *= r / f64::from(k);
        sum += term;
    }
    sum * f64::from_bits(((1023 + n) as u64) << 52)
}

/// ceil for 0 <= x < 2^52 (enough for a weight).
fn ceil(x: f64) -> f64 {
    let t = x as u64 as f64;
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// blkio.weight (10..=1000) to io.weight (1..=10000), linear: 10 -> 1, 1000 -> 10000.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(10, 1000));
    1 + ((w - 10) * 9999) / 990
}

/// The cpu.max line for a quota and period (quota None or -1 = "max").
/// Errors name the field for a quota below -1 or a zero period.
pub fn cpu_max(quota: Option<i64>, period: u64) -> Result<String, CgroupError> {
    if period == 0 {
        return Err(CgroupError::invalid(
            "linux.resources.cpu.period",
            "must be greater than 0",
        ));
    }
    match quota {
        None | Some(-1) => Ok(format!("max {period}")),
        Some(q) if q > 0 => Ok(format!("{q} {period}")),
        Some(q) => Err(CgroupError::invalid(
            "linux.resources.cpu.quota",
            format!("{q} is neither -1 (unlimited) nor positive"),
        )),
    }
}

/// memory.swap.max from the spec's memory+swap total and the memory limit:
/// swap - limit, "max" for -1. Errors as the spec field linux.resources.memory.swap.
pub fn memory_swap_v2(swap: i64, limit: Option<i64>) -> Result<String, CgroupError> {
    const F: &str = "linux.resources.memory.swap";
    if swap == -1 {
        return Ok("max".into());
    }
    if swap < -1 {
        return Err(CgroupError::invalid(F, format!("{swap} is below -1")));
    }
    match limit {
        None | Some(0) | Some(-1) => Err(CgroupError::invalid(
            F,
            "a swap limit needs linux.resources.memory.limit set too (cgroup v2 limits swap separately)",
        )),
        Some(l) if l > swap => Err(CgroupError::invalid(
            F,
            format!("memory+swap {swap} is below linux.resources.memory.limit {l}"),
        )),
        Some(l) => Ok((swap - l).to_string()),
    }
}

/// "hugetlb.2MB" for a spec page size "2MB"; rejects anything that is not
/// digits followed by KB, MB or GB (it becomes part of a file name).
pub fn hugetlb_file_prefix(page_size: &str, field: &str) -> Result<String, CgroupError> {
    let digits = page_size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &page_size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !matches!(unit, "KB" | "MB" | "GB")
    {
        return Err(CgroupError::invalid(
            field,
            format!("page size {page_size:?} is not of the form <number>KB|MB|GB"),
        ));
    }
    Ok(format!("hugetlb.{page_size}"))
}

/// A memory value for v1 files: -1 stays -1 (unlimited).
pub(crate) fn mem_v1(v: i64) -> String {
    v.to_string()
}

/// A memory value for v2 files: -1 becomes "max".
pub(crate) fn mem_v2(v: i64) -> String {
    if v == -1 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// The spec uses 0 for "not set" in memory fields (as runc reads them), -1 for
/// unlimited; anything below -1 is invalid.
pub(crate) fn checked_mem(v: Option<i64>, field: &str) -> Result<Option<i64>, CgroupError> {
    match v {
        None | Some(0) => Ok(None),
        Some(x) if x >= -1 => Ok(Some(x)),
        Some(x) => Err(CgroupError::invalid(field, format!("{x} is below -1"))),
    }
}

/// Device number for a "major:minor" line; rejects negatives.
pub(crate) fn dev(major: i64, minor: i64, field: &str) -> Result<String, CgroupError> {
    if major < 0 || minor < 0 {
        return Err(CgroupError::invalid(
            field,
            format!("device {major}:{minor} has a negative number"),
        ));
    }
    Ok(format!("{major}:{minor}"))
}

/// One io.max line: "8:0 rbps=1048576"; a rate of 0 means no limit ("max").
pub fn io_max_line(
    major: i64,
    minor: i64,
    key: &str,
    rate: u64,
    field: &str,
) -> Result<String, CgroupError> {
    let dv = dev(major, minor, field)?;
    if rate == 0 {
        Ok(format!("{dv} {key}=max"))
    } else {
        Ok(format!("{dv} {key}={rate}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight_matches_libm_for_every_input() {
        let libm = |shares: u64| {
            let l = (shares.clamp(2, 262_144) as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            (10f64.powf(exponent).ceil() as u64).clamp(1, 10_000)
        };
        for shares in 0..=300_000 {
            assert_eq!(shares_to_weight(shares), libm(shares), "shares {shares}");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(cpu_max(Some(50_000), 100_000).unwrap(), "50000 100000");
        assert_eq!(cpu_max(Some(-1), 100_000).unwrap(), "max 100000");
        assert!(cpu_max(Some(-5), 100_000)
            .unwrap_err()
            .to_string()
            .contains("linux.resources.cpu.quota"));
        assert_eq!(memory_swap_v2(300, Some(100)).unwrap(), "200");
        assert_eq!(memory_swap_v2(-1, Some(100)).unwrap(), "max");
        assert!(memory_swap_v2(50, Some(100)).is_err());
        assert!(memory_swap_v2(50, None).is_err());
        assert_eq!(hugetlb_file_prefix("2MB", "f").unwrap(), "hugetlb.2MB");
        assert!(hugetlb_file_prefix("2MB/../x", "f").is_err());
        assert!(hugetlb_file_prefix("MB", "f").is_err());
    }
}
