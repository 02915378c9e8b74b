//! `push`: a stored image's blobs (skipping those the registry has, mounting those
//! another repository of the same registry has), then its manifest, byte for byte as
//! stored so the digest stays the same.

use super::config::RegistriesConfig;
use super::content::ImageContent;
use super::credentials::DockerConfig;
use super::manifest::{self, Fetched};
use super::progress::{Progress, ProgressMode};
use super::retry::retry;
use super::session::{sha256, Session};
use super::sources::BlobSources;
use super::RegistryError;
use crate::reference::Reference;
use futures_util::StreamExt;
use oci_client::RegistryOperation;
use oci_spec::image::Descriptor;
use std::sync::Arc;

/// Blobs uploaded at once (Docker's default is 5).
pub const DEFAULT_CONCURRENT_UPLOADS: usize = 3;

#[derive(Debug, Clone)]
pub struct PushOptions {
    pub progress: ProgressMode,
    pub registries: RegistriesConfig,
    pub docker_config: Option<DockerConfig>,
    pub sources: Option<BlobSources>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            progress: ProgressMode::Quiet,
            registries: RegistriesConfig::default(),
            docker_config: None,
            sources: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PushOutcome {
    pub reference: Reference,
    /// Digest of the pushed manifest (same as in the local store).
    pub digest: String,
    /// Size of the manifest in bytes.
    pub size: usize,
    pub uploaded: usize,
    pub mounted: usize,
    pub skipped: usize,
}

/// Pushes the image stored under `local` (a name or id the store resolves) to `target`.
pub fn push<S: ImageContent>(
    store: Arc<S>,
    local: &str,
    target: &Reference,
    opts: &PushOptions,
) -> Result<PushOutcome, RegistryError> {
    super::pull::runtime()?.block_on(push_async(store, local, target, opts))
}

enum Done {
    Skipped,
    Mounted(String),
    Uploaded,
}

pub async fn push_async<S: ImageContent>(
    store: Arc<S>,
    local: &str,
    target: &Reference,
    opts: &PushOptions,
) -> Result<PushOutcome, RegistryError> {
    let progress = Progress::new(opts.progress);
    let store_err = |context: String| move |source| RegistryError::Store { context, source };
    let manifest_digest = store
        .resolve(local)
        .map_err(store_err(format!("resolve {local}")))?;
    let body = store
        .read_blob(&manifest_digest)
        .map_err(store_err(format!("read manifest {manifest_digest}")))?;
    if sha256(&body) != manifest_digest {
        return Err(RegistryError::DigestMismatch {
            expected: manifest_digest,
            actual: sha256(&body),
        });
    }
    let (fetched, media_type) = manifest::parse(&body, &manifest_digest)?;
    let Fetched::Image(image) = fetched else {
        return Err(RegistryError::BadManifest {
            digest: manifest_digest,
            reason: "pushing an image index is not supported".into(),
        });
    };

    let registry = target.registry();
    let repo = target.repository();
    let creds = match &opts.docker_config {
        Some(c) => c.get(registry)?,
        None => None,
    };
    let session = Session::new(registry, registry, &opts.registries, creds)?;
    let tag = target.tag().unwrap_or(crate::reference::DEFAULT_TAG);
    let oci_ref = session.oci_ref(repo, Some(tag), None);
    progress.line(&format!(
        "The push refers to repository [{}]",
        target.name()
    ));
    session
        .authenticate(&oci_ref, RegistryOperation::Push)
        .await?;

    let mut blobs: Vec<Descriptor> = Vec::new();
    for d in image.layers().iter().chain(std::iter::once(image.config())) {
        if !blobs.iter().any(|x| x.digest() == d.digest()) {
            blobs.push(d.clone());
        }
    }
    let results: Vec<Result<Done, RegistryError>> =
        futures_util::stream::iter(blobs.iter().map(|d| {
            let session = &session;
            let oci_ref = &oci_ref;
            let store = store.clone();
            let progress = &progress;
            async move {
                let digest = d.digest().to_string();
                let r = push_blob(session, oci_ref, d, store, opts.sources.as_ref()).await;
                match &r {
                    Ok(Done::Skipped) => progress.status(&digest, "Layer already exists"),
                    Ok(Done::Mounted(from)) => {
                        progress.status(&digest, &format!("Mounted from {from}"))
                    }
                    Ok(Done::Uploaded) => progress.status(&digest, "Pushed"),
                    Err(_) => {}
                }
                r
            }
        }))
        .buffer_unordered(DEFAULT_CONCURRENT_UPLOADS)
        .collect()
        .await;
    let (mut uploaded, mut mounted, mut skipped) = (0, 0, 0);
    for r in results {
        match r? {
            Done::Skipped => skipped += 1,
            Done::Mounted(_) => mounted += 1,
            Done::Uploaded => uploaded += 1,
        }
    }

    let content_type = reqwest::header::HeaderValue::from_str(&media_type).map_err(|e| {
        RegistryError::BadManifest {
            digest: manifest_digest.clone(),
            reason: format!("media type {media_type:?}: {e}"),
        }
    })?;
    retry(|| {
        session
            .client()
            .push_manifest_raw(&oci_ref, body.clone(), content_type.clone())
    })
    .await
    .map_err(|e| session.error(&format!("push manifest {manifest_digest} to {target}"), e))?;
    if let Some(src) = &opts.sources {
        for d in &blobs {
            src.record(d.digest().as_ref(), registry, repo);
        }
    }
    progress.line(&format!(
        "{tag}: digest: {manifest_digest} size: {}",
        body.len()
    ));
    Ok(PushOutcome {
        reference: target.clone(),
        digest: manifest_digest,
        size: body.len(),
        uploaded,
        mounted,
        skipped,
    })
}

async fn push_blob<S: ImageContent>(
    session: &Session,
    oci_ref: &oci_client::Reference,
    d: &Descriptor,
    store: Arc<S>,
    sources: Option<&BlobSources>,
) -> Result<Done, RegistryError> {
    let digest = d.digest().to_string();
    let client = session.client();
    let exists = retry(|| client.blob_exists(oci_ref, &digest))
        .await
        .map_err(|e| session.error(&format!("check blob {digest}"), e))?;
    if exists {
        return Ok(Done::Skipped);
    }
    if let Some(from) =
        sources.and_then(|s| s.mount_source(&digest, session.registry(), oci_ref.repository()))
    {
        let src = session.oci_ref(&from, None, None);
        match client.mount_blob(oci_ref, &src, &digest).await {
            // A registry may answer a mount with an upload session instead (e.g. when the
            // token does not grant pull on the source); then the blob is uploaded.
            Ok(())
                if retry(|| client.blob_exists(oci_ref, &digest))
                    .await
                    .unwrap_or(false) =>
            {
                return Ok(Done::Mounted(from))
            }
            Ok(()) => {}
            Err(e) => tracing::debug!("mount of {digest} from {from} refused: {e}; uploading"),
        }
    }
    let data = {
        let digest = digest.clone();
        tokio::task::spawn_blocking(move || store.read_blob(&digest))
            .await
            .map_err(|e| RegistryError::Other(format!("store task: {e}")))?
            .map_err(|source| RegistryError::Store {
                context: format!("read blob {}", d.digest()),
                source,
            })?
    };
    if data.len() as u64 != d.size() || sha256(&data) != digest {
        return Err(RegistryError::DigestMismatch {
            expected: digest,
            actual: format!("{} ({} bytes)", sha256(&data), data.len()),
        });
    }
    let data = bytes::Bytes::from(data);
    retry(|| client.push_blob(oci_ref, data.clone(), &digest))
        .await
        .map_err(|e| session.error(&format!("upload blob {digest}"), e))?;
    Ok(Done::Uploaded)
}
