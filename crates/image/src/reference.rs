//! Image references parsed as Docker parses them.
//!
//! Grammar (distribution/reference): `[domain/]path[:tag][@digest]` where the first
//! `/`-separated component is a domain only if it contains `.` or `:`, is `localhost`,
//! or has an upper-case letter (which makes it invalid as a path component anyway).
//! Without a domain the name belongs to Docker Hub (`docker.io`), and a single-component
//! Hub name lives under `library/`. With neither tag nor digest the tag is `latest`.

use std::fmt;

/// Docker Hub's canonical domain.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// Legacy spelling of Docker Hub's domain, normalized to [`DEFAULT_REGISTRY`].
const LEGACY_REGISTRY: &str = "index.docker.io";
/// Namespace of Docker Hub's official images.
const OFFICIAL_NAMESPACE: &str = "library";
/// Tag implied when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository name (domain + path) Docker accepts.
const MAX_NAME_LEN: usize = 255;
/// Longest tag Docker accepts.
const MAX_TAG_LEN: usize = 128;

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: empty reference")]
    Empty,
    #[error("invalid reference format: {reference:?}: {reason}")]
    Format { reference: String, reason: String },
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error(
        "invalid reference format: repository name {0:?} must not be more than 255 characters"
    )]
    NameTooLong(String),
    #[error("invalid reference format: tag {0:?} must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}")]
    Tag(String),
    #[error("invalid reference format: digest {digest:?}: {reason}")]
    Digest { digest: String, reason: String },
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier(String),
}

/// A normalized image reference: registry, repository, optional tag and digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Parses `s` the way `docker pull` does (ParseNormalizedNamed + TagNameOnly).
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ReferenceError::HexIdentifier(s.to_string()));
        }
        let format_err = |reason: &str| ReferenceError::Format {
            reference: s.to_string(),
            reason: reason.to_string(),
        };

        // Split off the digest first: everything after the first '@'.
        let (name_and_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                validate_digest(d)?;
                (n, Some(d.to_string()))
            }
            None => (s, None),
        };

        // A tag is after the last ':' provided no '/' follows it (else it's a port).
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(i) if !name_and_tag[i + 1..].contains('/') => {
                let t = &name_and_tag[i + 1..];
                validate_tag(t)?;
                (&name_and_tag[..i], Some(t.to_string()))
            }
            _ => (name_and_tag, None),
        };
        if name.is_empty() {
            return Err(format_err("missing repository name"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong(name.to_string()));
        }

        let (registry, path) = split_domain(name);
        if let Some(domain) = registry {
            if !is_domain(domain) {
                return Err(format_err(&format!("invalid registry host {domain:?}")));
            }
        }
        if path.is_empty() {
            return Err(format_err("missing repository name"));
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(path.to_string()));
        }
        for component in path.split('/') {
            if !is_path_component(component) {
                return Err(format_err(&format!(
                    "invalid repository path component {component:?}"
                )));
            }
        }

        let mut registry = registry.unwrap_or(DEFAULT_REGISTRY).to_string();
        if registry == LEGACY_REGISTRY {
            registry = DEFAULT_REGISTRY.to_string();
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}/{path}")
        } else {
            path.to_string()
        };
        let tag = match (&tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            _ => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Registry host, with port if given: `docker.io`, `127.0.0.1:5000`, `localhost`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Repository path within the registry: `library/busybox`, `team/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Tag, if any (`latest` is implied when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Digest (`sha256:<64 hex>`), if given.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `registry/repository` without tag or digest: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Docker's short form of the name: `busybox`, `team/app`, `127.0.0.1:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            match self.repository.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            self.name()
        }
    }

    /// Docker's short form with tag and digest: `busybox:latest`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        validate_tag(tag)?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest (the tag is kept for display).
    pub fn with_digest(&self, digest: &str) -> Result<Reference, ReferenceError> {
        validate_digest(digest)?;
        Ok(Reference {
            digest: Some(digest.to_string()),
            ..self.clone()
        })
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Splits `name` into (domain, path) by Docker's rule for the first component.
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// `host[:port]` where host is dot-separated alphanumeric-and-dash labels or `[ipv6]`.
fn is_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn validate_tag(t: &str) -> Result<(), ReferenceError> {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let ok = !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::Tag(t.to_string()))
    }
}

/// `algorithm:hex`; the registered algorithms get their exact lengths and lower-case hex.
pub fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let err = |reason: &str| ReferenceError::Digest {
        digest: d.to_string(),
        reason: reason.to_string(),
    };
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(err("missing ':' between algorithm and hex"));
    };
    // algorithm-component ([a-z0-9]+) joined by [+._-]
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !alg_ok {
        return Err(err("invalid algorithm"));
    }
    let expected_len = match alg {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    match expected_len {
        Some(n) => {
            if hex.len() != n || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(err(&format!("{alg} needs {n} lower-case hex digits")));
            }
        }
        None => return Err(err(&format!("unsupported digest algorithm {alg:?}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = p(s);
        (
            r.registry().to_string(),
            r.repository().to_string(),
            r.tag().map(str::to_string),
            r.digest().map(str::to_string),
        )
    }

    fn o(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn official_image_gets_hub_library_and_latest() {
        let r = p("busybox");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(r.familiar_name(), "busybox");
    }

    #[test]
    fn hub_user_repository() {
        let r = p("team/app:1.0");
        assert_eq!(r.to_string(), "docker.io/team/app:1.0");
        assert_eq!(r.familiar(), "team/app:1.0");
        assert_eq!(p("docker.io/library/busybox").familiar(), "busybox:latest");
        assert_eq!(
            p("docker.io/busybox").to_string(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            p("index.docker.io/busybox").to_string(),
            "docker.io/library/busybox:latest"
        );
        // library/ with a deeper path is not official and keeps its prefix.
        assert_eq!(p("library/a/b").familiar(), "library/a/b:latest");
    }

    #[test]
    fn registry_with_port() {
        assert_eq!(
            parts("127.0.0.1:5000/repo:tag"),
            ("127.0.0.1:5000".into(), "repo".into(), o("tag"), None)
        );
        assert_eq!(
            parts("registry.example.com:443/a/b/c"),
            (
                "registry.example.com:443".into(),
                "a/b/c".into(),
                o("latest"),
                None
            )
        );
        // A port with no tag: the ':' is followed by '/', so it's not a tag.
        assert_eq!(p("host:5000/x").tag(), Some("latest"));
        assert_eq!(p("host:5000/x").familiar(), "host:5000/x:latest");
    }

    #[test]
    fn first_component_is_domain_only_with_dot_colon_or_localhost() {
        assert_eq!(parts("localhost/x").0, "localhost");
        assert_eq!(parts("localhost:5000/x").0, "localhost:5000");
        assert_eq!(parts("ghcr.io/o/r").0, "ghcr.io");
        // No dot/colon: a Hub namespace, even if it looks like a host name.
        assert_eq!(
            parts("myregistry/x"),
            ("docker.io".into(), "myregistry/x".into(), o("latest"), None)
        );
        assert_eq!(parts("localhostx/y").0, "docker.io");
        // Single component is always a repository.
        assert_eq!(parts("localhost").1, "library/localhost");
    }

    #[test]
    fn digests() {
        let r = p(&format!("busybox@{D}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.familiar(), format!("busybox@{D}"));

        let r = p(&format!("127.0.0.1:5000/a/b:v1@{D}"));
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:v1@{D}"));
    }

    #[test]
    fn bad_digests_are_refused() {
        for bad in [
            "busybox@sha256:abc",
            "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "busybox@sha256",
            "busybox@md5:0123456789abcdef0123456789abcdef",
            "busybox@:0123",
            "busybox@",
        ] {
            assert!(
                matches!(Reference::parse(bad), Err(ReferenceError::Digest { .. })),
                "{bad} accepted"
            );
        }
        assert!(validate_digest(D).is_ok());
        assert!(validate_digest(&format!("sha512:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn uppercase_repository_refused() {
        assert_eq!(
            Reference::parse("Busybox"),
            Err(ReferenceError::Uppercase("Busybox".into()))
        );
        assert!(matches!(
            Reference::parse("team/App"),
            Err(ReferenceError::Uppercase(_))
        ));
        // Upper case in the first component makes it a domain (Docker does the same).
        let r = p("Registry/app");
        assert_eq!(r.registry(), "Registry");
        assert_eq!(r.repository(), "app");
        // Upper case in tags is fine.
        assert_eq!(p("busybox:V1").tag(), Some("V1"));
    }

    #[test]
    fn tags() {
        assert_eq!(p("busybox:1.36.1-musl_x").tag(), Some("1.36.1-musl_x"));
        assert_eq!(p("busybox:_x").tag(), Some("_x"));
        let long = "a".repeat(128);
        assert_eq!(p(&format!("busybox:{long}")).tag(), Some(long.as_str()));
        for bad in ["busybox:", "busybox:-x", "busybox:.x", "busybox:a+b"] {
            assert!(
                matches!(Reference::parse(bad), Err(ReferenceError::Tag(_))),
                "{bad}"
            );
        }
        let too_long = "a".repeat(129);
        assert!(Reference::parse(&format!("busybox:{too_long}")).is_err());
    }

    #[test]
    fn path_components() {
        for good in ["a/b.c", "a/b_c", "a/b__c", "a/b---c", "a0/9z", "x.y-z/w"] {
            p(good);
        }
        for bad in [
            "a//b",
            "a/",
            "/a",
            "a/.b",
            "a/b.",
            "a/b..c",
            "a/b___c",
            "a/-b",
            "a/b-",
            "a/b_-c",
            "a b",
            ":tag",
            "@sha256:x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn domains() {
        p("a-b.example.com/x");
        p("[::1]:5000/x");
        p("[fe80::1]/x");
        for bad in [
            "-a.com/x",
            "a-.com/x",
            "a..com/x",
            "host:/x",
            "host:port/x",
            "[::1/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn hex_identifier_and_empty_and_length() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(matches!(
            Reference::parse(&hex),
            Err(ReferenceError::HexIdentifier(_))
        ));
        assert_eq!(Reference::parse(""), Err(ReferenceError::Empty));
        let long = format!("x/{}", "a".repeat(260));
        assert!(matches!(
            Reference::parse(&long),
            Err(ReferenceError::NameTooLong(_))
        ));
    }

    #[test]
    fn display_roundtrips() {
        for s in [
            "docker.io/library/busybox:latest",
            "127.0.0.1:5000/a/b:v1",
            &format!("localhost/x@{D}"),
        ] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
        assert_eq!(
            p("busybox:1").with_tag("2").unwrap().to_string(),
            "docker.io/library/busybox:2"
        );
        assert_eq!("busybox".parse::<Reference>().unwrap(), p("busybox"));
    }
}
