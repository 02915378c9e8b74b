//! Pull and push against a real registry (Debian's docker-registry on 127.0.0.1),
//! checked with skopeo from the other side.

mod registry_common;

use berth_image::reference::Reference;
use berth_image::registry::sources::BlobSources;
use berth_image::registry::{self, Platform, PullOptions, PushOptions};
use berth_testutil::Registry;
use registry_common::*;

fn pull_opts(root: &std::path::Path) -> PullOptions {
    PullOptions {
        sources: Some(BlobSources::under(root)),
        ..Default::default()
    }
}

#[test]
fn pull_what_skopeo_pushed_then_push_back_keeps_digests() {
    let reg = Registry::start();
    let repo = reg.unique_repo("busybox");
    skopeo_push_busybox("latest", &format!("{repo}:latest"), &[]);
    let served = skopeo_raw(&format!("{repo}:latest"));

    let (dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{repo}:latest")).unwrap();
    let out = registry::pull(store.clone(), &r, &pull_opts(dir.path())).unwrap();
    assert_eq!(out.manifest_digest, sha256(&served));
    assert_eq!(out.repo_digest, sha256(&served));
    assert!(!out.up_to_date);
    assert_eq!(out.layers_downloaded, 1);
    let rec = store.resolve(&format!("{repo}:latest")).unwrap();
    assert_eq!(rec.manifest_digest.to_string(), out.manifest_digest);
    assert_eq!(
        store.manifest_bytes(&rec).unwrap(),
        served,
        "manifest stored byte for byte"
    );
    // Unpacked while downloading: the layer directory holds busybox.
    let layer = &rec.layers[0];
    assert!(store.is_layer_unpacked(layer));
    assert!(store.layer_dir(layer).join("bin/busybox").exists());

    // Pulling again downloads nothing.
    let again = registry::pull(store.clone(), &r, &pull_opts(dir.path())).unwrap();
    assert!(again.up_to_date);
    assert_eq!(again.layers_downloaded, 0);

    // Push under another name in the same registry: blobs are mounted, digest unchanged.
    let other = reg.unique_repo("copy");
    store
        .tag(&format!("{repo}:latest"), &format!("{other}:v1"))
        .unwrap();
    let target = Reference::parse(&format!("{other}:v1")).unwrap();
    let push_opts = PushOptions {
        sources: Some(BlobSources::under(dir.path())),
        ..Default::default()
    };
    let pushed =
        registry::push(store.clone(), &format!("{other}:v1"), &target, &push_opts).unwrap();
    assert_eq!(pushed.digest, out.manifest_digest);
    assert_eq!(
        pushed.mounted, 2,
        "layer and config mounted from {repo}: {pushed:?}"
    );
    assert_eq!(pushed.uploaded, 0);
    // skopeo reads what Berth pushed, byte for byte.
    assert_eq!(skopeo_raw(&format!("{other}:v1")), served);
    let inspect = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{other}:v1"))
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["Digest"], out.manifest_digest);
    assert_eq!(v["Layers"][0], layer.to_string());

    // Pushing the same again: every blob already there.
    let again = registry::push(store.clone(), &format!("{other}:v1"), &target, &push_opts).unwrap();
    assert_eq!((again.skipped, again.uploaded, again.mounted), (2, 0, 0));
}

#[test]
fn push_uploads_to_a_fresh_registry_and_pull_gets_the_same_digests() {
    // Source registry -> store A -> push to registry 2 (nothing there: real uploads)
    // -> pull into store B: same manifest digest and layers.
    let src = Registry::start();
    let dst = Registry::start();
    let repo = src.unique_repo("bb");
    skopeo_push_busybox("latest", &format!("{repo}:latest"), &[]);
    let (dir_a, a) = registry_common::store();
    let r = Reference::parse(&format!("{repo}:latest")).unwrap();
    let pulled = registry::pull(a.clone(), &r, &pull_opts(dir_a.path())).unwrap();

    let target_name = format!("{}/up/bb:t1", dst.host());
    a.tag(&format!("{repo}:latest"), &target_name).unwrap();
    let target = Reference::parse(&target_name).unwrap();
    let pushed = registry::push(a.clone(), &target_name, &target, &PushOptions::default()).unwrap();
    assert_eq!(pushed.uploaded, 2);
    assert_eq!(pushed.digest, pulled.manifest_digest);

    let (dir_b, b) = registry_common::store();
    let back = registry::pull(b.clone(), &target, &pull_opts(dir_b.path())).unwrap();
    assert_eq!(back.manifest_digest, pulled.manifest_digest);
    let ra = a.resolve(&target_name).unwrap();
    let rb = b.resolve(&target_name).unwrap();
    assert_eq!(ra.id, rb.id);
    assert_eq!(ra.layers, rb.layers);
}

#[test]
fn pull_docker_schema2_manifest() {
    let reg = Registry::start();
    let repo = reg.unique_repo("v2s2");
    skopeo_push_busybox("latest", &format!("{repo}:v2s2"), &["--format", "v2s2"]);
    let served = skopeo_raw(&format!("{repo}:v2s2"));
    let v: serde_json::Value = serde_json::from_slice(&served).unwrap();
    assert_eq!(
        v["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let (dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{repo}:v2s2")).unwrap();
    let out = registry::pull(store.clone(), &r, &pull_opts(dir.path())).unwrap();
    assert_eq!(out.manifest_digest, sha256(&served));
    let rec = store.resolve(&format!("{repo}:v2s2")).unwrap();
    assert!(store.layer_dir(&rec.layers[0]).join("bin/busybox").exists());

    // And it pushes back as schema 2, unchanged.
    let target_name = format!("{}:again", reg.unique_repo("v2s2b"));
    store.tag(&format!("{repo}:v2s2"), &target_name).unwrap();
    let target = Reference::parse(&target_name).unwrap();
    registry::push(store, &target_name, &target, &PushOptions::default()).unwrap();
    assert_eq!(skopeo_raw(&target_name), served);
}

fn platform_label(store: &berth_image::Store, name: &str) -> String {
    let rec = store.resolve(name).unwrap();
    let cfg = store.config(&rec).unwrap();
    cfg.config()
        .as_ref()
        .and_then(|c| c.labels().as_ref())
        .and_then(|l| l.get("org.example.platform").cloned())
        .unwrap_or_default()
}

#[test]
fn pull_index_chooses_host_platform_or_the_requested_one() {
    let reg = Registry::start();
    let repo = reg.unique_repo("multi");
    skopeo_push_busybox("multi", &format!("{repo}:multi"), &["--multi-arch", "all"]);
    let index = skopeo_raw(&format!("{repo}:multi"));
    let iv: serde_json::Value = serde_json::from_slice(&index).unwrap();
    assert_eq!(
        iv["manifests"][0]["platform"]["architecture"], "arm64",
        "fixture: arm64 first"
    );

    let (dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{repo}:multi")).unwrap();
    let out = registry::pull(store.clone(), &r, &pull_opts(dir.path())).unwrap();
    assert_eq!(out.repo_digest, sha256(&index));
    assert_eq!(
        out.manifest_digest,
        iv["manifests"][1]["digest"].as_str().unwrap(),
        "the amd64 entry"
    );
    assert_eq!(
        platform_label(&store, &format!("{repo}:multi")),
        "linux/amd64"
    );

    // --platform linux/arm64 picks the other entry.
    let (dir2, store2) = registry_common::store();
    let opts = PullOptions {
        platform: Some(Platform::parse("linux/arm64").unwrap()),
        ..pull_opts(dir2.path())
    };
    let arm = registry::pull(store2.clone(), &r, &opts).unwrap();
    assert_eq!(
        arm.manifest_digest,
        iv["manifests"][0]["digest"].as_str().unwrap()
    );
    // (the fixture's arm64 image is a relabelled copy)
    assert_eq!(
        platform_label(&store2, &format!("{repo}:multi")),
        "linux/arm64-fake"
    );

    // A platform the index lacks: a clear error naming it, nothing stored.
    let (dir3, store3) = registry_common::store();
    let before = snapshot(dir3.path());
    let opts = PullOptions {
        platform: Some(Platform::parse("linux/s390x").unwrap()),
        ..pull_opts(dir3.path())
    };
    let e = registry::pull(store3.clone(), &r, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("linux/s390x") && e.contains(&sha256(&index)),
        "{e}"
    );
    assert_eq!(snapshot(dir3.path()), before);
}

#[test]
fn pull_by_digest_and_unknown_tag() {
    let reg = Registry::start();
    let repo = reg.unique_repo("bydigest");
    skopeo_push_busybox("latest", &format!("{repo}:latest"), &[]);
    let digest = sha256(&skopeo_raw(&format!("{repo}:latest")));
    let (dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{repo}@{digest}")).unwrap();
    let out = registry::pull(store.clone(), &r, &pull_opts(dir.path())).unwrap();
    assert_eq!(out.manifest_digest, digest);
    assert_eq!(
        store
            .resolve(&format!("{repo}@{digest}"))
            .unwrap()
            .manifest_digest
            .to_string(),
        digest
    );

    let missing = Reference::parse(&format!("{repo}:nope")).unwrap();
    let e = registry::pull(store, &missing, &pull_opts(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("manifest unknown") && e.contains("nope"), "{e}");
}

#[test]
fn mirror_serves_a_registry_and_platform_must_match_single_images() {
    // registry.invalid never answers: its mirror (our loopback registry) serves it.
    let mirror = Registry::start();
    let repo_path = berth_testutil::unique_name("mirrored");
    skopeo_push_busybox(
        "latest",
        &format!("{}/{repo_path}:latest", mirror.host()),
        &[],
    );
    let (dir, store) = registry_common::store();
    let mut cfg = berth_image::registry::RegistriesConfig::default();
    cfg.mirrors.insert(
        "registry.invalid".into(),
        vec![format!("http://{}", mirror.host())],
    );
    let opts = PullOptions {
        registries: cfg,
        ..pull_opts(dir.path())
    };
    let name = format!("registry.invalid/{repo_path}:latest");
    let r = Reference::parse(&name).unwrap();
    let out = registry::pull(store.clone(), &r, &opts).unwrap();
    assert_eq!(out.endpoint, mirror.host());
    assert_eq!(
        store.resolve(&name).unwrap().manifest_digest.to_string(),
        out.manifest_digest
    );

    // busybox:latest is a single linux/amd64 manifest: --platform linux/arm64 is refused.
    let (dir2, store2) = registry_common::store();
    let before = snapshot(dir2.path());
    let opts = PullOptions {
        platform: Some(Platform::parse("linux/arm64").unwrap()),
        ..pull_opts(dir2.path())
    };
    let direct = Reference::parse(&format!("{}/{repo_path}:latest", mirror.host())).unwrap();
    let e = registry::pull(store2, &direct, &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not match the specified platform (linux/arm64)"),
        "{e}"
    );
    assert_eq!(snapshot(dir2.path()), before);
}
