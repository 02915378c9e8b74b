//! Image names as the store keeps them: fully normalized Docker references
//! (`busybox` → `docker.io/library/busybox:latest`), and their short display form.

use crate::reference::Reference;
use crate::ImageError;

/// A name split into repository (normalized, with registry) and tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ParsedName {
    /// `repository:tag` (tag defaults to latest) — the key in the names table.
    pub fn tagged(&self) -> String {
        format!(
            "{}:{}",
            self.repository,
            self.tag.as_deref().unwrap_or("latest")
        )
    }
}

/// Parses a reference the way Docker normalizes it (through [`Reference`]).
pub fn parse(s: &str) -> Result<ParsedName, ImageError> {
    let r = Reference::parse(s).map_err(|e| ImageError::InvalidReference(e.to_string()))?;
    Ok(ParsedName {
        repository: r.name(),
        tag: r.tag().map(str::to_owned),
        digest: r.digest().map(str::to_owned),
    })
}

/// Normalizes a name for tagging: `busybox` → `docker.io/library/busybox:latest`.
pub fn normalize_tagged(s: &str) -> Result<String, ImageError> {
    let p = parse(s)?;
    if p.digest.is_some() {
        return Err(ImageError::InvalidReference(format!(
            "invalid reference format: {s}: a digest cannot be used as a tag"
        )));
    }
    Ok(p.tagged())
}

/// The repository as Docker displays it: docker.io/library/ and docker.io/ are dropped.
pub fn display_repository(repository: &str) -> &str {
    repository
        .strip_prefix("docker.io/library/")
        .or_else(|| repository.strip_prefix("docker.io/"))
        .unwrap_or(repository)
}

/// Splits a stored `repository:tag` name.
pub fn split_tagged(name: &str) -> (&str, &str) {
    match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => (&name[..i], &name[i + 1..]),
        _ => (name, "latest"),
    }
}

/// The short display form of a stored name (`busybox:latest`).
pub fn display_name(name: &str) -> String {
    let (repo, tag) = split_tagged(name);
    format!("{}:{tag}", display_repository(repo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(
            normalize_tagged("busybox").unwrap(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_tagged("user/app:1.0").unwrap(),
            "docker.io/user/app:1.0"
        );
        assert_eq!(
            normalize_tagged("127.0.0.1:5000/busybox").unwrap(),
            "127.0.0.1:5000/busybox:latest"
        );
        assert_eq!(
            normalize_tagged("localhost/a/b:t").unwrap(),
            "localhost/a/b:t"
        );
        let p = parse(&format!("busybox@sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!(p.repository, "docker.io/library/busybox");
        assert!(p.digest.is_some());
        for bad in ["", "UPPER", "a:", "a/../b", "a b", ":tag", "a@sha256:zz"] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn display_shortens_docker_hub_names() {
        assert_eq!(
            display_name("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(display_name("docker.io/user/app:1"), "user/app:1");
        assert_eq!(
            display_name("127.0.0.1:5000/busybox:v2"),
            "127.0.0.1:5000/busybox:v2"
        );
    }
}
