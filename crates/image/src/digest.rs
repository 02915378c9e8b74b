//! sha256 digests: parsing (only canonical sha256 is accepted, so a digest is always
//! safe to use as a file name), hashing, verification.

use crate::ImageError;
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};
use std::str::FromStr;

/// Parses `sha256:<64 lowercase hex>`; anything else is refused.
pub fn parse(s: &str) -> Result<Digest, ImageError> {
    let hex = s
        .strip_prefix("sha256:")
        .ok_or_else(|| ImageError::UnsupportedDigest(s.to_owned()))?;
    if !is_sha256_hex(hex) {
        return Err(ImageError::UnsupportedDigest(s.to_owned()));
    }
    Digest::from_str(s).map_err(|_| ImageError::UnsupportedDigest(s.to_owned()))
}

/// Checks a digest taken from a manifest is a canonical sha256 one.
pub fn check(d: &Digest) -> Result<(), ImageError> {
    parse(d.as_ref()).map(|_| ())
}

pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The hex part of a digest (a file name in the blob store).
pub fn hex(d: &Digest) -> &str {
    d.digest()
}

pub fn of_bytes(data: &[u8]) -> Digest {
    from_hasher(Sha256::new_with_prefix(data))
}

pub fn from_hasher(h: Sha256) -> Digest {
    let s = format!("sha256:{}", hex::encode(h.finalize()));
    Digest::from_str(&s).expect("a sha256 digest is valid")
}

/// Compares what was read against what was expected; the error names the expected digest.
pub fn verify(
    expected: &Digest,
    expected_size: Option<u64>,
    actual: &Digest,
    actual_size: u64,
) -> Result<(), ImageError> {
    if let Some(size) = expected_size {
        if size != actual_size {
            return Err(ImageError::SizeMismatch {
                digest: expected.to_string(),
                expected: size,
                actual: actual_size,
            });
        }
    }
    if expected.as_ref() != actual.as_ref() {
        return Err(ImageError::DigestMismatch {
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// The short form Docker prints: 12 hex characters.
pub fn short(d: &Digest) -> String {
    d.digest().chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_canonical_sha256() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert!(parse(&ok).is_ok());
        assert!(parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(parse(&format!("sha512:{}", "a".repeat(128))).is_err());
        assert!(parse("sha256:../../etc/passwd").is_err());
        assert!(parse(&format!("sha256:{}", "a".repeat(63))).is_err());
    }

    #[test]
    fn verify_reports_digest_and_size_mismatch() {
        let d = of_bytes(b"hello");
        assert_eq!(
            d.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(verify(&d, Some(5), &of_bytes(b"hello"), 5).is_ok());
        let e = verify(&d, None, &of_bytes(b"hellO"), 5).unwrap_err();
        assert!(e.to_string().contains(d.as_ref()), "{e}");
        let e = verify(&d, Some(4), &d, 5).unwrap_err();
        assert!(matches!(e, ImageError::SizeMismatch { .. }), "{e}");
    }
}
