//! Authenticated registries: htpasswd Basic, and the token flow through the tests' own
//! token server. `berth login/logout` write Docker's config.json; pull and push use it.

mod registry_common;

use berth_image::reference::Reference;
use berth_image::registry::{self, DockerConfig, PullOptions, PushOptions};
use berth_testutil::{workspace_bin, Registry, TempDir};
use registry_common::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

const USER: &str = "tester";
const PASS: &str = "s3cret-pass";

/// Runs `berth` with its Docker config in `docker_dir` and data root `root`.
fn berth(
    docker_dir: &std::path::Path,
    root: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut child = Command::new(workspace_bin("berth"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("DOCKER_CONFIG", docker_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run berth");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Pushes busybox to the protected registry with skopeo (with credentials).
fn seed(reg: &Registry, repo: &str) {
    let creds = format!("{USER}:{PASS}");
    skopeo_push_busybox(
        "latest",
        &format!("{repo}:latest"),
        &["--dest-creds", &creds],
    );
    let _ = reg;
}

fn login_pull_push_logout(reg: Registry) {
    let repo = reg.unique_repo("private");
    seed(&reg, &repo);
    let docker = TempDir::new("berth-dockercfg").unwrap();
    let (root_dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{repo}:latest")).unwrap();

    // Anonymous: refused, nothing stored.
    let before = snapshot(root_dir.path());
    let opts = PullOptions {
        docker_config: Some(DockerConfig::at(docker.path().join("config.json"))),
        ..Default::default()
    };
    let e = registry::pull(store.clone(), &r, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unauthorized"), "{e}");
    assert_eq!(snapshot(root_dir.path()), before);

    // Wrong password: login fails with exit 1 and writes nothing.
    let host = reg.host();
    let (code, _, err) = berth(
        docker.path(),
        root_dir.path(),
        &["login", "-u", USER, "--password-stdin", &host],
        "wrong\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("incorrect username or password"), "{err}");
    assert!(!docker.path().join("config.json").exists());

    // Right password: "Login Succeeded", config.json 0600 with base64(user:pass).
    let (code, out, err) = berth(
        docker.path(),
        root_dir.path(),
        &["login", "-u", USER, "--password-stdin", &host],
        &format!("{PASS}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Login Succeeded"), "{out}");
    let cfg_path = docker.path().join("config.json");
    let mode = std::fs::metadata(&cfg_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    assert_eq!(
        cfg["auths"][host.as_str()]["auth"],
        berth_testutil::registry::base64(format!("{USER}:{PASS}").as_bytes(), false)
    );

    // Pull with the stored credentials (library) ...
    let out = registry::pull(store.clone(), &r, &opts).unwrap();
    assert_eq!(
        out.manifest_digest,
        sha256(&skopeo_raw_creds(&format!("{repo}:latest")))
    );

    // ... and through the CLI into another root, then push from there to a new repo.
    let root2 = TempDir::new("berth-regroot").unwrap();
    let (code, out, err) = berth(
        docker.path(),
        root2.path(),
        &["pull", &format!("{repo}:latest")],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}:latest")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Digest: {}", out_digest(&out))),
        "{out}"
    );

    let target = format!("{}:pushed", reg.unique_repo("pushed"));
    store.tag(&format!("{repo}:latest"), &target).unwrap();
    let push_opts = PushOptions {
        docker_config: Some(DockerConfig::at(cfg_path.clone())),
        ..Default::default()
    };
    let pushed = registry::push(
        store.clone(),
        &target,
        &Reference::parse(&target).unwrap(),
        &push_opts,
    )
    .unwrap();
    assert_eq!(pushed.digest, out_digest_from(&skopeo_raw_creds(&target)));

    // Logout removes the entry; pulls are anonymous (refused) again.
    let (code, out, _) = berth(docker.path(), root_dir.path(), &["logout", &host], "");
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("Removing login credentials for {host}")),
        "{out}"
    );
    let (_, out, _) = berth(docker.path(), root_dir.path(), &["logout", &host], "");
    assert!(out.contains("Not logged in"), "{out}");
    let root3 = TempDir::new("berth-regroot").unwrap();
    let (code, _, err) = berth(
        docker.path(),
        root3.path(),
        &["pull", "-q", &format!("{repo}:latest")],
        "",
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unauthorized"), "{err}");
}

fn out_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or("none")
        .to_string()
}

fn out_digest_from(raw: &[u8]) -> String {
    sha256(raw)
}

fn skopeo_raw_creds(reference: &str) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
        .arg(format!("{USER}:{PASS}"))
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn htpasswd_basic_auth() {
    login_pull_push_logout(Registry::start_with_htpasswd(USER, PASS));
}

#[test]
fn bearer_token_flow() {
    login_pull_push_logout(Registry::start_with_token(USER, PASS));
}
