//! One registry endpoint with its client, protocol and credentials.

use super::config::RegistriesConfig;
use super::credentials::Credentials;
use super::retry::retry;
use super::RegistryError;
use bytes::Bytes;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use sha2::{Digest as _, Sha256};

/// A connection to one registry endpoint (the registry itself or one of its mirrors).
#[derive(Clone)]
pub struct Session {
    client: Client,
    auth: RegistryAuth,
    /// Registry as written in references (`docker.io`, `127.0.0.1:5000`).
    registry: String,
    /// Host actually contacted (a mirror, or the registry).
    endpoint: String,
    insecure: bool,
}

impl Session {
    /// A session to `endpoint` serving `registry`'s repositories, with `creds` if any.
    pub fn new(
        registry: &str,
        endpoint: &str,
        config: &RegistriesConfig,
        creds: Option<Credentials>,
    ) -> Result<Session, RegistryError> {
        let insecure = config.is_insecure(endpoint);
        let cc = ClientConfig {
            protocol: if insecure {
                ClientProtocol::HttpsExcept(vec![endpoint.to_string()])
            } else {
                ClientProtocol::Https
            },
            // Berth checks sizes and digests itself and picks the platform itself.
            platform_resolver: None,
            use_monolithic_push: true,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(std::time::Duration::from_secs(120)),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Client::try_from(cc).map_err(|e| RegistryError::Registry {
            what: format!("client for {endpoint}"),
            source: e,
        })?;
        let auth = match creds {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        Ok(Session {
            client,
            auth,
            registry: registry.to_string(),
            endpoint: endpoint.to_string(),
            insecure,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// oci-client's reference for `repository` at `tag` or `digest`, routed to our endpoint.
    pub fn oci_ref(
        &self,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> oci_client::Reference {
        let mut r = match (tag, digest) {
            (_, Some(d)) => oci_client::Reference::with_digest(
                self.registry.clone(),
                repository.to_string(),
                d.to_string(),
            ),
            (t, None) => oci_client::Reference::with_tag(
                self.registry.clone(),
                repository.to_string(),
                t.unwrap_or(crate::reference::DEFAULT_TAG).to_string(),
            ),
        };
        if self.endpoint != self.registry {
            r.set_mirror_registry(self.endpoint.clone());
        }
        r
    }

    /// Makes the credentials known to the client and gets a token for `op` if the
    /// registry wants one.
    pub async fn authenticate(
        &self,
        r: &oci_client::Reference,
        op: RegistryOperation,
    ) -> Result<(), RegistryError> {
        self.client
            .store_auth_if_needed(r.resolve_registry(), &self.auth)
            .await;
        retry(|| self.client.auth(r, &self.auth, op))
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("authenticate to {}", self.endpoint), e))
    }

    /// Fetches a manifest; its digest is checked against the reference's digest and the
    /// registry's Docker-Content-Digest header when there are any. Returns body and digest.
    pub async fn manifest(
        &self,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<(Bytes, String), RegistryError> {
        let r = self.oci_ref(repository, tag, digest);
        let what = format!("{}/{}", self.registry, repository);
        let (body, got) = retry(|| {
            self.client
                .pull_manifest_raw(&r, &self.auth, super::manifest::ACCEPTED_MANIFESTS)
        })
        .await
        .map_err(|e| match e {
            OciDistributionError::DigestError(
                oci_client::errors::DigestError::VerificationError { expected, actual },
            ) => RegistryError::DigestMismatch { expected, actual },
            e => self.manifest_error(&what, tag.or(digest).unwrap_or_default(), e),
        })?;
        // oci-client only hashes when it has a digest to compare with; hash anyway so
        // the digest Berth records is always the content's.
        let computed = sha256(&body);
        if let Some(d) = digest {
            if d != computed {
                return Err(RegistryError::DigestMismatch {
                    expected: d.to_string(),
                    actual: computed,
                });
            }
        }
        if got != computed {
            return Err(RegistryError::DigestMismatch {
                expected: got,
                actual: computed,
            });
        }
        Ok((body, computed))
    }

    fn manifest_error(&self, what: &str, which: &str, e: OciDistributionError) -> RegistryError {
        match &e {
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                }) =>
            {
                RegistryError::ManifestUnknown(format!("{what}:{which}"))
            }
            OciDistributionError::ServerError { code: 404, .. } => {
                RegistryError::ManifestUnknown(format!("{what}:{which}"))
            }
            _ => self.error(&format!("fetch manifest {what}:{which}"), e),
        }
    }

    /// Wraps an oci-client error, making 401s Docker-like.
    pub fn error(&self, what: &str, e: OciDistributionError) -> RegistryError {
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => {
                RegistryError::Unauthorized(format!(
                    "{what}: authentication required (run `berth login {}`)",
                    self.registry
                ))
            }
            OciDistributionError::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    matches!(
                        x.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                }) =>
            {
                RegistryError::Unauthorized(format!("{what}: {envelope}"))
            }
            source => RegistryError::Registry {
                what: what.to_string(),
                source,
            },
        }
    }
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}
