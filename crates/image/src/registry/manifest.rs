//! Manifests as registries serve them: OCI image manifest and index, Docker schema 2
//! manifest and manifest list. Media types are checked, digests are canonical sha256,
//! and an index is narrowed to one platform.

use super::RegistryError;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What Berth asks registries for (Accept), best first.
pub const ACCEPTED_MANIFESTS: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
];

/// A manifest fetched from a registry, parsed by kind. (Short-lived, one at a time: the
/// size difference between the variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Fetched {
    Image(ImageManifest),
    Index(ImageIndex),
}

/// Parses a manifest body, by its `mediaType` field (or by shape when the field is absent,
/// as OCI allows). `digest` names it in errors.
pub fn parse(body: &[u8], digest: &str) -> Result<(Fetched, String), RegistryError> {
    let bad = |reason: String| RegistryError::BadManifest {
        digest: digest.to_string(),
        reason,
    };
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
    if v.get("schemaVersion").and_then(|s| s.as_i64()) != Some(2) {
        return Err(bad(
            "schemaVersion is not 2 (schema 1 manifests are not supported)".into(),
        ));
    }
    let media_type = match v.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None if v.get("manifests").is_some() => OCI_INDEX.to_string(),
        None if v.get("layers").is_some() => OCI_MANIFEST.to_string(),
        None => return Err(bad("no mediaType and neither layers nor manifests".into())),
    };
    let fetched = match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let m: ImageManifest = serde_json::from_value(v)
                .map_err(|e| bad(format!("invalid image manifest: {e}")))?;
            check_image_manifest(&m, digest)?;
            Fetched::Image(m)
        }
        OCI_INDEX | DOCKER_LIST => {
            let i: ImageIndex =
                serde_json::from_value(v).map_err(|e| bad(format!("invalid image index: {e}")))?;
            for d in i.manifests() {
                check_digest(d, digest)?;
            }
            Fetched::Index(i)
        }
        other => {
            return Err(RegistryError::UnknownMediaType {
                digest: digest.to_string(),
                media_type: other.to_string(),
            })
        }
    };
    Ok((fetched, media_type))
}

fn check_digest(d: &Descriptor, manifest: &str) -> Result<(), RegistryError> {
    let s = d.digest().to_string();
    crate::reference::validate_digest(&s).map_err(|e| RegistryError::BadManifest {
        digest: manifest.to_string(),
        reason: e.to_string(),
    })?;
    if !s.starts_with("sha256:") {
        return Err(RegistryError::BadManifest {
            digest: manifest.to_string(),
            reason: format!("{s}: only sha256 digests are supported"),
        });
    }
    Ok(())
}

/// Config and layer media types Berth can use; digests canonical; no foreign URLs.
fn check_image_manifest(m: &ImageManifest, digest: &str) -> Result<(), RegistryError> {
    let c = m.config();
    check_digest(c, digest)?;
    let ct = c.media_type().to_string();
    if !CONFIG_TYPES.contains(&ct.as_str()) {
        return Err(RegistryError::UnknownMediaType {
            digest: c.digest().to_string(),
            media_type: ct,
        });
    }
    for l in m.layers() {
        check_digest(l, digest)?;
        let lt = l.media_type().to_string();
        if !LAYER_TYPES.contains(&lt.as_str()) {
            return Err(RegistryError::UnknownMediaType {
                digest: l.digest().to_string(),
                media_type: lt,
            });
        }
    }
    Ok(())
}

/// A platform `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The machine Berth runs on, in OCI/Go names.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" => ("ppc64le", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            other => (other, None),
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: arch.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Parses `os/arch[/variant]` (the `--platform` flag).
    pub fn parse(s: &str) -> Result<Platform, RegistryError> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || RegistryError::Platform(format!("{s:?}: expected os/arch[/variant]"));
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: normalize_arch(arch),
                variant: None,
            }),
            [os, arch, variant] => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: normalize_arch(arch),
                variant: Some(variant.to_ascii_lowercase()),
            }),
            _ => Err(bad()),
        }
    }

    /// Whether an index entry's platform fits this one. A variant is compared only when
    /// this platform names one (arm64's implied variant is v8).
    pub fn accepts(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != normalize_arch(arch) {
            return false;
        }
        match (&self.variant, variant) {
            (None, _) => true,
            (Some(want), Some(v)) => want == v,
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn normalize_arch(a: &str) -> String {
    match a.to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        other => other.into(),
    }
}

/// The index entry for `platform`: the first that matches (a variant-less request prefers
/// nothing in particular, as Docker's first-match does for one variant per arch).
pub fn select_platform<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
    index_digest: &str,
) -> Result<&'a Descriptor, RegistryError> {
    index
        .manifests()
        .iter()
        .filter(|d| {
            let mt = d.media_type().to_string();
            mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
        })
        .find(|d| {
            d.platform().as_ref().is_some_and(|p| {
                platform.accepts(
                    &p.os().to_string(),
                    &p.architecture().to_string(),
                    p.variant().as_deref(),
                )
            })
        })
        .ok_or_else(|| RegistryError::NoMatchingPlatform {
            digest: index_digest.to_string(),
            platform: platform.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn index(media: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":10,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D3}","size":10,"platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}}]}}"#
        )
    }

    fn manifest(media: &str, layer_type: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media}",
              "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":5}},
              "layers":[{{"mediaType":"{layer_type}","digest":"{D2}","size":7}}]}}"#
        )
    }

    #[test]
    fn platform_selection() {
        for media in [OCI_INDEX, DOCKER_LIST] {
            let (f, mt) = parse(index(media).as_bytes(), "sha256:idx").unwrap();
            assert_eq!(mt, media);
            let Fetched::Index(i) = f else { panic!() };
            let pick = |p: &str| {
                select_platform(&i, &Platform::parse(p).unwrap(), "idx")
                    .map(|d| d.digest().to_string())
            };
            assert_eq!(pick("linux/amd64").unwrap(), D2);
            assert_eq!(pick("linux/x86_64").unwrap(), D2);
            assert_eq!(pick("linux/arm64").unwrap(), D1);
            assert_eq!(pick("linux/arm64/v8").unwrap(), D1);
            assert_eq!(pick("linux/arm/v6").unwrap(), D3);
            let e = pick("linux/arm/v7").unwrap_err().to_string();
            assert!(e.contains("linux/arm/v7") && e.contains("idx"), "{e}");
            assert!(pick("windows/amd64").is_err());
        }
    }

    #[test]
    fn host_platform_is_linux_amd64_here() {
        if cfg!(target_arch = "x86_64") {
            assert_eq!(Platform::host().to_string(), "linux/amd64");
        }
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn image_manifests_of_both_kinds() {
        for media in [OCI_MANIFEST, DOCKER_MANIFEST] {
            let (f, _) = parse(
                manifest(media, "application/vnd.oci.image.layer.v1.tar+gzip").as_bytes(),
                "m",
            )
            .unwrap();
            let Fetched::Image(m) = f else { panic!() };
            assert_eq!(m.layers().len(), 1);
        }
        // mediaType is optional in OCI: the shape decides.
        let no_mt = manifest(OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar")
            .replace(&format!(r#""mediaType":"{OCI_MANIFEST}","#), "");
        assert!(matches!(
            parse(no_mt.as_bytes(), "m").unwrap().0,
            Fetched::Image(_)
        ));
    }

    #[test]
    fn unknown_media_types_are_refused_naming_the_digest() {
        let e = parse(manifest("application/x-what", "x").as_bytes(), "sha256:m").unwrap_err();
        assert!(e.to_string().contains("application/x-what") && e.to_string().contains("sha256:m"));
        let e = parse(
            manifest(
                OCI_MANIFEST,
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            )
            .as_bytes(),
            "m",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(D2) && e.contains("nondistributable"), "{e}");
        let e = parse(br#"{"schemaVersion":1,"name":"x"}"#, "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema"), "{e}");
        assert!(parse(b"nope", "m").is_err());
    }
}
