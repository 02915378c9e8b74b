//! Hostile and flaky registries, served by a tiny HTTP server of the test's own (a real
//! registry verifies what it stores, so it cannot serve wrong content): each bad answer
//! is refused with an error naming the digest, and the store is left unchanged.
//! Transient failures (503, a connection cut mid-blob) are retried and resumed.

mod registry_common;

use berth_image::reference::Reference;
use berth_image::registry::{self, PullOptions};
use registry_common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Clone)]
enum Behavior {
    /// Serve as is (honouring Range).
    Ok,
    /// Answer `status` this many times first.
    FailFirst(u32, u16),
    /// First time: announce the full length but close after this many bytes.
    CutFirstAfter(usize),
    /// Announce and send only this many bytes.
    Truncate(usize),
}

#[derive(Clone)]
struct Route {
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    behavior: Behavior,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    hits: HashMap<String, u32>,
}

/// The fake registry: `/v2/` answers 200; other paths come from `routes`.
struct FakeRegistry {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeRegistry {
    fn start() -> FakeRegistry {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, st2) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st2.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((c, _)) => {
                        let s = s2.clone();
                        std::thread::spawn(move || {
                            let _ = c.set_nonblocking(false);
                            let _ = serve(c, &s);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeRegistry {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn route(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)], behavior: Behavior) {
        self.state.lock().unwrap().routes.insert(
            path.to_string(),
            Route {
                body,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                behavior,
            },
        );
    }

    fn hits(&self, path: &str) -> u32 {
        *self.state.lock().unwrap().hits.get(path).unwrap_or(&0)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut c: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(c.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts
        .next()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    let mut range_from: Option<usize> = None;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range_from = v
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|x| x.split('-').next())
                    .and_then(|x| x.parse().ok());
            }
        }
    }
    if path == "/v2/" {
        return write!(
            c,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
    }
    let (route, hit) = {
        let mut s = state.lock().unwrap();
        let n = {
            let e = s.hits.entry(path.clone()).or_insert(0);
            *e += 1;
            *e
        };
        (s.routes.get(&path).cloned(), n)
    };
    let Some(route) = route else {
        let body = r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#;
        return write!(
            c,
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    let mut head = String::new();
    for (k, v) in &route.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = &route.body;
    match route.behavior {
        Behavior::FailFirst(n, status) if hit <= n => {
            return write!(
                c,
                "HTTP/1.1 {status} Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Behavior::CutFirstAfter(k) if hit == 1 && method == "GET" => {
            write!(
                c,
                "HTTP/1.1 200 OK\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            c.write_all(&body[..k])?;
            c.flush()?;
            return c.shutdown(std::net::Shutdown::Both);
        }
        Behavior::Truncate(k) => {
            write!(
                c,
                "HTTP/1.1 200 OK\r\n{head}Content-Length: {k}\r\nConnection: close\r\n\r\n"
            )?;
            if method == "GET" {
                c.write_all(&body[..k])?;
            }
            return Ok(());
        }
        _ => {}
    }
    match range_from {
        Some(from) if from > 0 && from < body.len() => {
            write!(
                c,
                "HTTP/1.1 206 Partial Content\r\n{head}Content-Range: bytes {from}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() - 1,
                body.len(),
                body.len() - from
            )?;
            if method == "GET" {
                c.write_all(&body[from..])?;
            }
        }
        _ => {
            write!(
                c,
                "HTTP/1.1 200 OK\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method == "GET" {
                c.write_all(body)?;
            }
        }
    }
    Ok(())
}

/// A one-layer image: (layer tar.gz, config, manifest built from descriptors).
struct Image {
    layer: Vec<u8>,
    config: Vec<u8>,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the name bytes raw so hostile names ("../x") go in unchanged.
        let n = name.as_bytes();
        h.as_old_mut().name[..n.len()].copy_from_slice(n);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn image_with_tar(tar: Vec<u8>) -> Image {
    let layer = gzip(&tar);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
    }))
    .unwrap();
    Image { layer, config }
}

fn image() -> Image {
    image_with_tar(tar_with(&[(
        "hello.txt",
        b"hello from a hostile registry test\n",
    )]))
}

fn manifest(config: (&str, usize), layer: (&str, usize, &str)) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1},
        "layers": [{"mediaType": layer.2, "digest": layer.0, "size": layer.1}],
    }))
    .unwrap()
}

/// Serves `img` under repo `x`, tag `t`; `mutate` may change what is served.
fn serve_image(fake: &FakeRegistry, img: &Image, m: &[u8]) {
    fake.route(
        "/v2/x/manifests/t",
        m.to_vec(),
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &sha256(m)),
        ],
        Behavior::Ok,
    );
    fake.route(
        &format!("/v2/x/blobs/{}", sha256(&img.config)),
        img.config.clone(),
        &[],
        Behavior::Ok,
    );
    fake.route(
        &format!("/v2/x/blobs/{}", sha256(&img.layer)),
        img.layer.clone(),
        &[],
        Behavior::Ok,
    );
}

fn good_manifest(img: &Image) -> Vec<u8> {
    manifest(
        (&sha256(&img.config), img.config.len()),
        (&sha256(&img.layer), img.layer.len(), LAYER_GZIP),
    )
}

/// Pulls `<fake>/x:t` (or `reference_suffix`) into a fresh store and expects a refusal
/// whose message contains every string in `needles`; the store must be unchanged.
fn expect_refused(fake: &FakeRegistry, reference_suffix: &str, needles: &[&str]) -> String {
    let (dir, store) = registry_common::store();
    let before = snapshot(dir.path());
    let r = Reference::parse(&format!("{}/x{reference_suffix}", fake.host())).unwrap();
    let e = registry::pull(store.clone(), &r, &PullOptions::default())
        .expect_err("hostile pull must fail")
        .to_string();
    for n in needles {
        assert!(e.contains(n), "error {e:?} should mention {n:?}");
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "store changed by a refused pull ({e})"
    );
    assert!(store.list().unwrap().is_empty());
    e
}

#[test]
fn sane_fake_registry_pulls_fine() {
    // The baseline the other cases break: this image pulls and unpacks.
    let fake = FakeRegistry::start();
    let img = image();
    serve_image(&fake, &img, &good_manifest(&img));
    let (_dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{}/x:t", fake.host())).unwrap();
    let out = registry::pull(store.clone(), &r, &PullOptions::default()).unwrap();
    let rec = store.resolve(&format!("{}/x:t", fake.host())).unwrap();
    assert_eq!(out.manifest_digest, rec.manifest_digest.to_string());
    assert!(store.layer_dir(&rec.layers[0]).join("hello.txt").exists());
}

#[test]
fn manifest_digest_mismatch_is_refused() {
    let fake = FakeRegistry::start();
    let img = image();
    let m = good_manifest(&img);
    serve_image(&fake, &img, &m);
    // The registry claims another digest for the manifest than its content has.
    let claimed = sha256(b"something else");
    fake.route(
        "/v2/x/manifests/t",
        m.clone(),
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &claimed),
        ],
        Behavior::Ok,
    );
    expect_refused(&fake, ":t", &[&claimed]);

    // Pulled by digest, the body served does not hash to it.
    let wanted = sha256(b"the manifest we asked for");
    fake.route(
        &format!("/v2/x/manifests/{wanted}"),
        m,
        &[("Content-Type", OCI_MANIFEST)],
        Behavior::Ok,
    );
    expect_refused(&fake, &format!("@{wanted}"), &[&wanted]);
}

#[test]
fn blob_with_wrong_content_is_refused() {
    let fake = FakeRegistry::start();
    let img = image();
    serve_image(&fake, &img, &good_manifest(&img));
    let layer_digest = sha256(&img.layer);
    let mut bad = img.layer.clone();
    let n = bad.len();
    bad[n / 2] ^= 0xff;
    fake.route(
        &format!("/v2/x/blobs/{layer_digest}"),
        bad,
        &[],
        Behavior::Ok,
    );
    expect_refused(&fake, ":t", &[&layer_digest]);

    // Same for the config.
    let fake = FakeRegistry::start();
    serve_image(&fake, &img, &good_manifest(&img));
    let config_digest = sha256(&img.config);
    let mut bad = img.config.clone();
    bad[0] = b' ';
    fake.route(
        &format!("/v2/x/blobs/{config_digest}"),
        bad,
        &[],
        Behavior::Ok,
    );
    expect_refused(&fake, ":t", &[&config_digest, "digest mismatch"]);
}

#[test]
fn truncated_blob_is_refused() {
    let fake = FakeRegistry::start();
    let img = image();
    serve_image(&fake, &img, &good_manifest(&img));
    let d = sha256(&img.layer);
    fake.route(
        &format!("/v2/x/blobs/{d}"),
        img.layer.clone(),
        &[],
        Behavior::Truncate(img.layer.len() / 2),
    );
    expect_refused(&fake, ":t", &[&d, "size mismatch"]);
}

#[test]
fn wrong_size_in_manifest_is_refused() {
    let img = image();
    let d = sha256(&img.layer);
    for claimed in [img.layer.len() + 10, img.layer.len() - 10] {
        let fake = FakeRegistry::start();
        let m = manifest(
            (&sha256(&img.config), img.config.len()),
            (&d, claimed, LAYER_GZIP),
        );
        serve_image(&fake, &img, &m);
        expect_refused(&fake, ":t", &[&d, "size mismatch"]);
    }
}

#[test]
fn unknown_media_type_is_refused() {
    let fake = FakeRegistry::start();
    let img = image();
    let d = sha256(&img.layer);
    let m = manifest(
        (&sha256(&img.config), img.config.len()),
        (&d, img.layer.len(), "application/vnd.example.mystery"),
    );
    serve_image(&fake, &img, &m);
    expect_refused(&fake, ":t", &[&d, "application/vnd.example.mystery"]);

    // An unknown manifest media type.
    let fake = FakeRegistry::start();
    let weird =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.example.manifest+json","layers":[]}"#
            .to_vec();
    serve_image(&fake, &img, &weird);
    expect_refused(
        &fake,
        ":t",
        &[&sha256(&weird), "application/vnd.example.manifest+json"],
    );
}

#[test]
fn manifest_pointing_at_missing_blob_is_refused() {
    let fake = FakeRegistry::start();
    let img = image();
    let missing = sha256(b"no such layer");
    let m = manifest(
        (&sha256(&img.config), img.config.len()),
        (&missing, 100, LAYER_GZIP),
    );
    serve_image(&fake, &img, &m);
    expect_refused(&fake, ":t", &[&missing, "blob unknown"]);
}

#[test]
fn hostile_layer_entry_is_refused_through_pull() {
    // A layer whose tar escapes with "../": the store refuses it mid-stream.
    let fake = FakeRegistry::start();
    let img = image_with_tar(tar_with(&[("../escaped.txt", b"out")]));
    serve_image(&fake, &img, &good_manifest(&img));
    let e = expect_refused(&fake, ":t", &[&sha256(&img.layer)]);
    assert!(e.contains("escaped"), "{e}");
}

#[test]
fn transient_errors_are_retried_and_cut_downloads_resumed() {
    let fake = FakeRegistry::start();
    // A bigger, incompressible-ish layer so the cut lands mid-stream.
    let payload: Vec<u8> = (0..400_000u32)
        .flat_map(|i| (i.wrapping_mul(2654435761)).to_le_bytes())
        .collect();
    let img = image_with_tar(tar_with(&[("blob.bin", &payload)]));
    let m = good_manifest(&img);
    serve_image(&fake, &img, &m);
    let ld = sha256(&img.layer);
    fake.route(
        "/v2/x/manifests/t",
        m.clone(),
        &[
            ("Content-Type", OCI_MANIFEST),
            ("Docker-Content-Digest", &sha256(&m)),
        ],
        Behavior::FailFirst(2, 503),
    );
    fake.route(
        &format!("/v2/x/blobs/{ld}"),
        img.layer.clone(),
        &[],
        Behavior::CutFirstAfter(img.layer.len() / 3),
    );
    let (_dir, store) = registry_common::store();
    let r = Reference::parse(&format!("{}/x:t", fake.host())).unwrap();
    registry::pull(store.clone(), &r, &PullOptions::default()).unwrap();
    assert_eq!(fake.hits("/v2/x/manifests/t"), 3, "two 503s then success");
    assert!(
        fake.hits(&format!("/v2/x/blobs/{ld}")) >= 2,
        "the cut download was resumed"
    );
    let rec = store.resolve(&format!("{}/x:t", fake.host())).unwrap();
    assert_eq!(
        std::fs::read(store.layer_dir(&rec.layers[0]).join("blob.bin")).unwrap(),
        payload
    );
}
