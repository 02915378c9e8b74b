//! `berth pull` / `berth push` output and exit codes, as Docker prints them.

mod registry_common;

use berth_testutil::{workspace_bin, Registry, TempDir};
use registry_common::*;
use std::process::Command;

fn berth(root: &std::path::Path, docker: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(workspace_bin("berth"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("DOCKER_CONFIG", docker)
        .output()
        .expect("run berth");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pull_and_push_print_like_docker() {
    let reg = Registry::start();
    let repo = reg.unique_repo("cli");
    skopeo_push_busybox("latest", &format!("{repo}:latest"), &[]);
    let digest = sha256(&skopeo_raw(&format!("{repo}:latest")));
    let root = TempDir::new("berth-cliroot").unwrap();
    let docker = TempDir::new("berth-clidocker").unwrap();

    // No tag given: Docker's "Using default tag", the layer lines, Digest, Status, name.
    let (code, out, err) = berth(root.path(), docker.path(), &["pull", &repo]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Using default tag: latest");
    assert!(lines[1].starts_with("latest: Pulling from "), "{out}");
    assert!(out.contains(": Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}:latest")),
        "{out}"
    );
    assert_eq!(lines.last().unwrap(), &format!("{repo}:latest"));

    // -q: only the name; again: up to date.
    let (code, out, _) = berth(
        root.path(),
        docker.path(),
        &["pull", "-q", &format!("{repo}:latest")],
    );
    assert_eq!(code, 0);
    assert_eq!(out, format!("{repo}:latest\n"));
    let (_, out, _) = berth(
        root.path(),
        docker.path(),
        &["pull", &format!("{repo}:latest")],
    );
    assert!(
        out.contains(&format!("Status: Image is up to date for {repo}:latest")),
        "{out}"
    );

    // push: the repository line, each blob, then "<tag>: digest: … size: …".
    let (code, out, err) = berth(
        root.path(),
        docker.path(),
        &["push", &format!("{repo}:latest")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("The push refers to repository [{repo}]")),
        "{out}"
    );
    assert!(out.contains(": Layer already exists"), "{out}");
    let size = skopeo_raw(&format!("{repo}:latest")).len();
    assert!(
        out.contains(&format!("latest: digest: {digest} size: {size}")),
        "{out}"
    );

    // Errors: exit 1 with Docker's wording.
    let (code, _, err) = berth(
        root.path(),
        docker.path(),
        &["push", &format!("{repo}:absent")],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("An image does not exist locally with the tag"),
        "{err}"
    );
    let (code, _, err) = berth(root.path(), docker.path(), &["pull", "Bad/Name"]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid reference format"), "{err}");
    let (code, _, err) = berth(
        root.path(),
        docker.path(),
        &["pull", &format!("{repo}:nope")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("manifest unknown"), "{err}");
    let (code, _, err) = berth(
        root.path(),
        docker.path(),
        &["pull", "--platform", "linux", &repo],
    );
    assert_eq!(code, 1);
    assert!(err.contains("invalid platform"), "{err}");
}
