//! The `manifest.json` of a `docker save` archive: one entry per image, with the
//! archive paths of its config and layers and its repository tags.

use crate::ImageError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct DockerSaveEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

pub fn parse(data: &[u8]) -> Result<Vec<DockerSaveEntry>, ImageError> {
    serde_json::from_slice(data).map_err(|e| ImageError::json("manifest.json", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modern_and_legacy_docker_save_manifests() {
        let modern = br#"[{"Config":"blobs/sha256/aa","RepoTags":["busybox:latest"],
            "Layers":["blobs/sha256/bb"],"LayerSources":{"sha256:bb":{"mediaType":"x","size":1,"digest":"sha256:bb"}}}]"#;
        let v = parse(modern).unwrap();
        assert_eq!(v[0].config, "blobs/sha256/aa");
        assert_eq!(
            v[0].repo_tags.as_deref(),
            Some(&["busybox:latest".to_string()][..])
        );
        assert_eq!(v[0].layers, vec!["blobs/sha256/bb"]);

        let legacy =
            br#"[{"Config":"abc.json","RepoTags":null,"Layers":["l1/layer.tar","l2/layer.tar"]}]"#;
        let v = parse(legacy).unwrap();
        assert_eq!(v[0].repo_tags, None);
        assert_eq!(v[0].layers.len(), 2);

        assert!(parse(b"{}").is_err());
        assert!(parse(br#"[{"Config":"a"}]"#).is_err());
    }
}
