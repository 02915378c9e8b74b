//! `login`: checks credentials against a registry before they are stored, as Docker does.
//!
//! oci-client can fetch tokens but has no "are these credentials good" call (with a
//! Basic-only registry it never checks them), so this is a direct, small exchange:
//! GET /v2/; on a Basic challenge repeat it with the credentials; on a Bearer challenge
//! ask the token realm with the credentials and no scope (Docker's login does the same).

use super::config::RegistriesConfig;
use super::credentials::Credentials;
use super::RegistryError;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::StatusCode;

/// Verifies `creds` against `server` (`host[:port]`).
pub async fn check_credentials(
    server: &str,
    config: &RegistriesConfig,
    creds: &Credentials,
) -> Result<(), RegistryError> {
    let http = |reason: String| RegistryError::Http {
        what: format!("login to {server}"),
        reason,
    };
    let endpoint = match super::credentials::normalize_server(server).as_str() {
        "docker.io" => "registry-1.docker.io".to_string(),
        h => h.to_string(),
    };
    let scheme = if config.is_insecure(&endpoint) {
        "http"
    } else {
        "https"
    };
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| http(e.to_string()))?;
    let url = format!("{scheme}://{endpoint}/v2/");
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| http(format!("{url}: {e}")))?;
    if res.status().is_success() {
        return Ok(());
    }
    if res.status() != StatusCode::UNAUTHORIZED {
        return Err(http(format!("{url}: unexpected status {}", res.status())));
    }
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let denied = || RegistryError::Unauthorized("incorrect username or password".into());
    let (kind, params) = challenge
        .split_once(' ')
        .unwrap_or((challenge.as_str(), ""));
    if kind.eq_ignore_ascii_case("basic") {
        let res = client
            .get(&url)
            .basic_auth(&creds.username, Some(&creds.password))
            .send()
            .await
            .map_err(|e| http(format!("{url}: {e}")))?;
        return if res.status().is_success() {
            Ok(())
        } else {
            Err(denied())
        };
    }
    if kind.eq_ignore_ascii_case("bearer") {
        let params = parse_challenge(params);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| http(format!("Bearer challenge without realm: {challenge}")))?;
        let mut query: Vec<(&str, &str)> = vec![("account", &creds.username)];
        if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
            query.push(("service", s));
        }
        let mut req_url =
            reqwest::Url::parse(&realm).map_err(|e| http(format!("realm {realm}: {e}")))?;
        req_url.query_pairs_mut().extend_pairs(query);
        let res = client
            .get(req_url)
            .basic_auth(&creds.username, Some(&creds.password))
            .send()
            .await
            .map_err(|e| http(format!("{realm}: {e}")))?;
        return if res.status().is_success() {
            Ok(())
        } else {
            Err(denied())
        };
    }
    Err(http(format!(
        "unsupported authentication challenge {challenge:?}"
    )))
}

/// `realm="x",service="y"` -> [(realm, x), (service, y)]; quoted values may hold commas.
pub fn parse_challenge(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn challenge_params() {
        let p = super::parse_challenge(
            r#"realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
        assert_eq!(super::parse_challenge("realm=x, service=y").len(), 2);
    }
}
