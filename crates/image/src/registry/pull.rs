//! `pull`: manifest (index narrowed to one platform), config, and layers fetched in
//! parallel, each streamed into the store's unpacker while it downloads. Every byte is
//! checked against the manifest's digest and size before the store sees end of file.

use super::config::RegistriesConfig;
use super::content::ImageContent;
use super::credentials::DockerConfig;
use super::manifest::{self, Fetched, Platform};
use super::pipe;
use super::progress::{Progress, ProgressMode};
use super::retry::{backoff, is_transient, ATTEMPTS};
use super::session::Session;
use super::sources::BlobSources;
use super::RegistryError;
use crate::reference::Reference;
use futures_util::StreamExt;
use oci_client::client::BlobResponse;
use oci_client::RegistryOperation;
use oci_spec::image::{Descriptor, MediaType};
use sha2::{Digest as _, Sha256};
use std::str::FromStr;
use std::sync::Arc;

/// Layers downloaded at once (Docker's default too).
pub const DEFAULT_CONCURRENT_DOWNLOADS: usize = 3;

#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Platform to pick from an index; the host's when `None`.
    pub platform: Option<Platform>,
    pub progress: ProgressMode,
    pub registries: RegistriesConfig,
    /// Where credentials are read; none means anonymous.
    pub docker_config: Option<DockerConfig>,
    /// Where to note blob origins (for cross-repository mounts on push).
    pub sources: Option<BlobSources>,
    pub max_concurrent_downloads: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            progress: ProgressMode::Quiet,
            registries: RegistriesConfig::default(),
            docker_config: None,
            sources: None,
            max_concurrent_downloads: DEFAULT_CONCURRENT_DOWNLOADS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The reference as pulled (normalized).
    pub reference: Reference,
    /// Digest the reference resolved to in the registry (the index's, if it was one).
    pub repo_digest: String,
    /// Digest of the platform-specific image manifest now in the store.
    pub manifest_digest: String,
    /// Layers fetched this time (the others were already in the store).
    pub layers_downloaded: usize,
    /// Nothing had to be downloaded.
    pub up_to_date: bool,
    /// The endpoint that served the pull (a mirror or the registry).
    pub endpoint: String,
}

/// Pulls `reference` into `store`. Blocking; runs its own async runtime.
pub fn pull<S: ImageContent>(
    store: Arc<S>,
    reference: &Reference,
    opts: &PullOptions,
) -> Result<PullOutcome, RegistryError> {
    runtime()?.block_on(pull_async(store, reference, opts))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, RegistryError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RegistryError::Other(format!("cannot start async runtime: {e}")))
}

pub async fn pull_async<S: ImageContent>(
    store: Arc<S>,
    reference: &Reference,
    opts: &PullOptions,
) -> Result<PullOutcome, RegistryError> {
    let progress = Arc::new(Progress::new(opts.progress));
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);
    let repo = reference.repository();

    // Mirrors first, the registry last; the first endpoint that serves the manifest wins.
    let mut last_err = None;
    let mut found = None;
    for endpoint in opts.registries.endpoints(reference.registry()) {
        let creds = match &opts.docker_config {
            Some(c) => c.get(&endpoint)?,
            None => None,
        };
        let session = Session::new(reference.registry(), &endpoint, &opts.registries, creds)?;
        match session
            .manifest(repo, reference.tag(), reference.digest())
            .await
        {
            Ok(m) => {
                found = Some((session, m));
                break;
            }
            Err(e) => {
                if endpoint != reference.registry() {
                    tracing::warn!("mirror {endpoint} failed for {reference}: {e}");
                }
                last_err = Some(e);
            }
        }
    }
    let (session, (top_body, top_digest)) = match found {
        Some(f) => f,
        None => return Err(last_err.unwrap_or_else(|| RegistryError::Other("no endpoint".into()))),
    };

    let tag_or_digest = reference.tag().or(reference.digest()).unwrap_or_default();
    progress.line(&format!(
        "{}: Pulling from {}",
        tag_or_digest,
        reference.repository()
    ));

    // Narrow an index to one platform's manifest (fetched by digest, so verified).
    let (fetched, media_type) = manifest::parse(&top_body, &top_digest)?;
    let from_index = matches!(fetched, Fetched::Index(_));
    let (image, manifest_body, manifest_digest, manifest_media_type) = match fetched {
        Fetched::Image(m) => (m, top_body.clone(), top_digest.clone(), media_type),
        Fetched::Index(index) => {
            let entry = manifest::select_platform(&index, &platform, &top_digest)?;
            let d = entry.digest().to_string();
            let (body, digest) = session.manifest(repo, None, Some(&d)).await?;
            if body.len() as u64 != entry.size() {
                return Err(RegistryError::SizeMismatch {
                    digest: d,
                    expected: entry.size(),
                    actual: body.len() as u64,
                });
            }
            match manifest::parse(&body, &digest)? {
                (Fetched::Image(m), mt) => (m, body, digest, mt),
                (Fetched::Index(_), _) => {
                    return Err(RegistryError::BadManifest {
                        digest,
                        reason: "an index entry for a platform is itself an index".into(),
                    })
                }
            }
        }
    };

    // Layers, deduplicated, those not yet in the store.
    let mut layers: Vec<Descriptor> = Vec::new();
    for l in image.layers() {
        if !layers.iter().any(|x| x.digest() == l.digest()) {
            layers.push(l.clone());
        }
    }
    let config = image.config().clone();
    let missing: Vec<Descriptor> = layers
        .iter()
        .filter(|l| {
            let have = store.has_blob(l.digest().as_ref());
            if have {
                progress.status(l.digest().as_ref(), "Already exists");
            }
            !have
        })
        .cloned()
        .collect();
    let up_to_date = missing.is_empty()
        && store.has_blob(config.digest().as_ref())
        && store.has_blob(&manifest_digest);

    let oci_ref = session.oci_ref(repo, None, Some(&manifest_digest));
    session
        .authenticate(&oci_ref, RegistryOperation::Pull)
        .await?;

    // Config first, held in memory (it is small) and stored only once every layer is in:
    // a failed pull leaves no config or manifest behind.
    let config_body = if store.has_blob(config.digest().as_ref()) {
        None
    } else {
        Some(fetch_to_memory(&session, &oci_ref, &config).await?)
    };
    // An explicit --platform must match a single-platform image too (as in Docker).
    if let (Some(want), false) = (&opts.platform, from_index) {
        let body = match &config_body {
            Some(b) => b.clone(),
            None => store
                .read_blob(config.digest().as_ref())
                .map_err(|source| RegistryError::Store {
                    context: format!("read config {}", config.digest()),
                    source,
                })?,
        };
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let os = v["os"].as_str().unwrap_or_default();
        let arch = v["architecture"].as_str().unwrap_or_default();
        let variant = v["variant"].as_str();
        if !want.accepts(os, arch, variant) {
            return Err(RegistryError::PlatformMismatch {
                reference: reference.to_string(),
                found: format!(
                    "{os}/{arch}{}",
                    variant.map(|v| format!("/{v}")).unwrap_or_default()
                ),
                wanted: want.to_string(),
            });
        }
    }
    let results: Vec<Result<(), RegistryError>> =
        futures_util::stream::iter(missing.iter().map(|l| {
            let session = &session;
            let oci_ref = &oci_ref;
            let store = store.clone();
            let progress = progress.clone();
            async move {
                let d = l.digest().to_string();
                progress.start(&d, l.size(), "Pulling fs layer");
                let r = fetch_layer(session, oci_ref, l, store, progress.as_ref()).await;
                if r.is_ok() {
                    progress.finish(&d, "Pull complete");
                } else {
                    progress.finish(&d, "Failed");
                }
                r
            }
        }))
        .buffer_unordered(opts.max_concurrent_downloads.max(1))
        .collect()
        .await;
    if let Some(e) = results.into_iter().find_map(Result::err) {
        return Err(e);
    }

    if let Some(body) = config_body {
        write_blob(store.clone(), &config, body).await?;
    }
    // The manifest last: once it is stored, the image is complete.
    let mdesc = Descriptor::new(
        MediaType::from(manifest_media_type.as_str()),
        manifest_body.len() as u64,
        oci_spec::image::Digest::from_str(&manifest_digest).map_err(|e| {
            RegistryError::BadManifest {
                digest: manifest_digest.clone(),
                reason: e.to_string(),
            }
        })?,
    );
    if !store.has_blob(&manifest_digest) {
        write_blob(store.clone(), &mdesc, manifest_body.to_vec()).await?;
    }
    // A pull by digest alone names nothing (as in Docker); the image is found by digest.
    let names: Vec<String> = match reference.tag() {
        Some(t) => vec![reference.with_tag(t)?.to_string()],
        None => Vec::new(),
    };
    {
        let s = store.clone();
        let md = manifest_digest.clone();
        tokio::task::spawn_blocking(move || s.register_image(&names, &md))
            .await
            .map_err(|e| RegistryError::Other(format!("store task: {e}")))?
            .map_err(|source| RegistryError::Store {
                context: format!("register {reference}"),
                source,
            })?;
    }
    if let Some(src) = &opts.sources {
        for l in &layers {
            src.record(l.digest().as_ref(), reference.registry(), repo);
        }
        src.record(config.digest().as_ref(), reference.registry(), repo);
    }
    Ok(PullOutcome {
        reference: reference.clone(),
        repo_digest: top_digest,
        manifest_digest,
        layers_downloaded: missing.len(),
        up_to_date,
        endpoint: session.endpoint().to_string(),
    })
}

/// Streams layer `desc` from the registry into the store, which unpacks it on the way.
async fn fetch_layer<S: ImageContent>(
    session: &Session,
    oci_ref: &oci_client::Reference,
    desc: &Descriptor,
    store: Arc<S>,
    progress: &Progress,
) -> Result<(), RegistryError> {
    let digest = desc.digest().to_string();
    let (feeder, mut reader) = pipe::channel();
    let d2 = desc.clone();
    let consumer = tokio::task::spawn_blocking(move || store.ingest_layer(&d2, &mut reader));
    let downloaded = download(session, oci_ref, desc, &feeder, Some(progress)).await;
    match &downloaded {
        Ok(()) => feeder.finish(),
        Err(e) => feeder.fail(std::io::Error::other(e.to_string())).await,
    }
    let stored = consumer
        .await
        .map_err(|e| RegistryError::Other(format!("store task for {digest}: {e}")))?;
    match (downloaded, stored) {
        // The store refused the layer (e.g. a hostile tar entry) and stopped reading.
        (Err(RegistryError::Other(m)), Err(source)) if m == CONSUMER_GONE => {
            Err(RegistryError::Store {
                context: format!("layer {digest}"),
                source,
            })
        }
        (Err(e), _) => Err(e),
        (Ok(()), Err(source)) => Err(RegistryError::Store {
            context: format!("layer {digest}"),
            source,
        }),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// Downloads a small blob (a config) into memory, verified.
async fn fetch_to_memory(
    session: &Session,
    oci_ref: &oci_client::Reference,
    desc: &Descriptor,
) -> Result<Vec<u8>, RegistryError> {
    let (feeder, mut reader) = pipe::channel();
    let consumer = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut v).map(|_| v)
    });
    let downloaded = download(session, oci_ref, desc, &feeder, None).await;
    match &downloaded {
        Ok(()) => feeder.finish(),
        Err(e) => feeder.fail(std::io::Error::other(e.to_string())).await,
    }
    let read = consumer
        .await
        .map_err(|e| RegistryError::Other(format!("read task: {e}")))?;
    downloaded?;
    read.map_err(|e| RegistryError::Other(format!("blob {}: {e}", desc.digest())))
}

async fn write_blob<S: ImageContent>(
    store: Arc<S>,
    desc: &Descriptor,
    body: Vec<u8>,
) -> Result<(), RegistryError> {
    let d = desc.clone();
    tokio::task::spawn_blocking(move || store.write_blob(&d, &mut body.as_slice()))
        .await
        .map_err(|e| RegistryError::Other(format!("store task: {e}")))?
        .map_err(|source| RegistryError::Store {
            context: format!("store blob {}", desc.digest()),
            source,
        })
}

const CONSUMER_GONE: &str = "store stopped reading";

/// Downloads blob `desc` into `feeder`, resuming with a Range request after a broken
/// connection; fails on more bytes than the descriptor's size, on fewer, and on a digest
/// mismatch — all before the consumer sees end of file.
async fn download(
    session: &Session,
    oci_ref: &oci_client::Reference,
    desc: &Descriptor,
    feeder: &pipe::Feeder,
    progress: Option<&Progress>,
) -> Result<(), RegistryError> {
    let expected = desc.digest().to_string();
    let size = desc.size();
    let client = session.client();
    let mut hasher = Sha256::new();
    let mut offset: u64 = 0;
    let mut attempt = 1;
    loop {
        let opened = if offset == 0 {
            client
                .pull_blob_stream(oci_ref, expected.as_str())
                .await
                .map(|s| (s, 0u64))
        } else {
            client
                .pull_blob_stream_partial(oci_ref, expected.as_str(), offset, None)
                .await
                .map(|r| match r {
                    // The server ignored the Range: skip what we already have.
                    BlobResponse::Full(s) => (s, offset),
                    BlobResponse::Partial(s) => (s, 0),
                })
        };
        let (sized, mut skip) = match opened {
            Ok(s) => s,
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            Err(oci_client::errors::OciDistributionError::ServerError { code: 404, .. }) => {
                return Err(RegistryError::BlobUnknown {
                    digest: expected,
                    repository: format!("{}/{}", session.registry(), oci_ref.repository()),
                })
            }
            Err(oci_client::errors::OciDistributionError::RegistryError { envelope, .. })
                if envelope
                    .errors
                    .iter()
                    .any(|e| matches!(e.code, oci_client::errors::OciErrorCode::BlobUnknown)) =>
            {
                return Err(RegistryError::BlobUnknown {
                    digest: expected,
                    repository: format!("{}/{}", session.registry(), oci_ref.repository()),
                })
            }
            Err(e) => return Err(session.error(&format!("fetch blob {expected}"), e)),
        };
        let announced = sized.content_length;
        let mut stream = sized.stream;
        let mut broken = None;
        let mut received: u64 = 0;
        while let Some(item) = stream.next().await {
            let mut chunk = match item {
                Ok(c) => c,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            };
            received += chunk.len() as u64;
            if skip > 0 {
                let n = skip.min(chunk.len() as u64) as usize;
                let _ = chunk.split_to(n);
                skip -= n as u64;
                if chunk.is_empty() {
                    continue;
                }
            }
            let n = chunk.len() as u64;
            if offset + n > size {
                return Err(RegistryError::SizeMismatch {
                    digest: expected,
                    expected: size,
                    actual: offset + n,
                });
            }
            hasher.update(&chunk);
            offset += n;
            if let Some(p) = progress {
                p.advance(&expected, n);
            }
            if !feeder.send(chunk).await {
                return Err(RegistryError::Other(CONSUMER_GONE.into()));
            }
        }
        if offset == size {
            // All bytes are here: our own hash decides (any error oci-client raised at the
            // end was its own verification of the same bytes).
            let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
            if actual != expected {
                return Err(RegistryError::DigestMismatch { expected, actual });
            }
            return Ok(());
        }
        // The body ended where the server said it would (an error here is oci-client's
        // own digest check at the end): the blob is short, not the connection broken.
        if announced.is_some_and(|n| n == received) {
            broken = None;
        }
        match broken {
            Some(e) if attempt < ATTEMPTS => {
                tracing::debug!(
                    "blob {expected}: connection broken at {offset}/{size}: {e}; resuming"
                );
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Some(e) => {
                return Err(RegistryError::Http {
                    what: format!("fetch blob {expected}"),
                    reason: format!("{e} (after {ATTEMPTS} attempts, {offset} of {size} bytes)"),
                })
            }
            // The server ended the body cleanly: the blob is shorter than the manifest says.
            None => {
                return Err(RegistryError::SizeMismatch {
                    digest: expected,
                    expected: size,
                    actual: offset,
                })
            }
        }
    }
}
