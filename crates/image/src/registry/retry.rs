//! Retries for transient registry failures: connection errors, 5xx, 429.

use oci_client::errors::{OciDistributionError, OciErrorCode};
use std::time::Duration;

/// Attempts per request, including the first.
pub const ATTEMPTS: u32 = 5;

/// Backoff before retry `n` (1-based): 250 ms, 500 ms, 1 s, 2 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(250u64 << (n.saturating_sub(1)).min(4))
}

/// Whether a failed request may succeed if sent again.
pub fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => {
            r.is_connect() || r.is_timeout() || r.is_body() || r.is_request() || r.is_decode()
        }
        OciDistributionError::IoError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Toomanyrequests)),
        _ => false,
    }
}

/// Runs `f` until it succeeds, fails for good, or runs out of attempts.
pub async fn retry<T, F, Fut>(mut f: F) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
{
    let mut n = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if n < ATTEMPTS && is_transient(&e) => {
                tracing::debug!("transient registry error (attempt {n}): {e}");
                tokio::time::sleep(backoff(n)).await;
                n += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
