//! The `berth` image commands end to end: load, images (table, -q, --format), tag,
//! image inspect, history, save | load through pipes, import, rmi, prune; Docker's
//! error wording and exit status 1.

mod common;

use berth_testutil::{workspace_bin, TempDir};
use common::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Berth {
    root: TempDir,
}

impl Berth {
    fn new() -> Berth {
        Berth {
            root: TempDir::new("img-cli").unwrap(),
        }
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(workspace_bin("berth"));
        c.arg("--root").arg(self.root.path());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}

#[test]
fn images_commands_behave_like_dockers() {
    if !require_root() {
        return;
    }
    let b = Berth::new();
    let out = b.ok(&[
        "load",
        "-i",
        shared_archive("layers.oci.tar").to_str().unwrap(),
    ]);
    assert!(out.contains("Loaded image: layers:latest\n"), "{out}");
    let archive = std::fs::read(shared_archive("busybox.oci.tar")).unwrap();
    let o = b.with_stdin(&["load"], &archive);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Loaded image: busybox:latest"));

    let table = b.ok(&["images"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.starts_with("REPOSITORY") && header.contains("TAG") && header.contains("IMAGE ID"),
        "{header}"
    );
    assert!(header.contains("CREATED") && header.contains("SIZE"));
    let busybox_line = table
        .lines()
        .find(|l| l.starts_with("busybox ") && l.contains(" latest "))
        .unwrap();
    assert!(busybox_line.contains("MB"), "{busybox_line}");

    let ids = b.ok(&["images", "-q"]);
    assert_eq!(ids.lines().count(), 6, "{ids}");
    assert!(ids.lines().all(|l| l.len() == 12));
    let fmt = b.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", "layers"]);
    let mut tags: Vec<&str> = fmt.lines().collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            "layers:latest",
            "layers:nobody",
            "layers:uid",
            "layers:workdir-missing"
        ]
    );
    let json_line = b.ok(&["images", "--format", "json", "busybox:latest"]);
    let v: serde_json::Value = serde_json::from_str(json_line.lines().next().unwrap()).unwrap();
    assert_eq!(v["Repository"], "busybox");
    assert_eq!(v["Tag"], "latest");

    b.ok(&["tag", "busybox", "127.0.0.1:5000/bb:v1"]);
    let inspect = b.ok(&["image", "inspect", "127.0.0.1:5000/bb:v1"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let tags = v[0]["RepoTags"].as_array().unwrap();
    assert!(
        tags.contains(&"busybox:latest".into()) && tags.contains(&"127.0.0.1:5000/bb:v1".into())
    );
    assert_eq!(v[0]["Config"]["Cmd"][0], "sh");
    assert_eq!(v[0]["RootFS"]["Type"], "layers");
    assert_eq!(v[0]["Os"], "linux");
    assert!(v[0]["Id"].as_str().unwrap().starts_with("sha256:"));
    let f = b.ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.WorkingDir}} {{index .Config.Labels \"org.example.image\"}}",
        "layers",
    ]);
    assert_eq!(f, "/data layers\n");

    let hist = b.ok(&["history", "layers"]);
    assert!(hist.starts_with("IMAGE"), "{hist}");
    assert_eq!(
        hist.lines().count(),
        12,
        "11 history entries + header:\n{hist}"
    );

    // Errors: Docker's wording, exit status 1.
    let o = b.run(&["rmi", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: No such image: nosuch\n"
    );
    let o = b.run(&["image", "inspect", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such image: nosuch"));
    let o = b.run(&["history", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));

    // save | load through a pipe into another root keeps the ids.
    let saved = b.run(&["save", "layers:latest"]);
    assert!(saved.status.success());
    let b2 = Berth::new();
    let o = b2.with_stdin(&["load", "-q"], &saved.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        b2.ok(&["images", "-q", "--no-trunc"]),
        b.ok(&["images", "-q", "--no-trunc", "layers:latest"])
    );

    // rmi: an extra tag is only untagged; the last one deletes.
    let out = b.ok(&["rmi", "127.0.0.1:5000/bb:v1"]);
    assert_eq!(out, "Untagged: 127.0.0.1:5000/bb:v1\n");
    let out = b.ok(&["rmi", "busybox:multi"]);
    assert!(
        out.starts_with("Untagged: busybox:multi\nDeleted: sha256:"),
        "{out}"
    );
}

#[test]
fn import_and_prune_from_the_command_line() {
    if !require_root() {
        return;
    }
    let rootfs = TempDir::new("img-cli-rootfs").unwrap();
    berth_testutil::busybox_rootfs(rootfs.path()).unwrap();
    let mut tb = tar::Builder::new(Vec::new());
    tb.follow_symlinks(false);
    tb.append_dir_all(".", rootfs.path()).unwrap();
    let tarball = tb.into_inner().unwrap();
    let b = Berth::new();
    let o = b.with_stdin(
        &[
            "import",
            "-c",
            "CMD [\"sh\"]",
            "-c",
            "WORKDIR /tmp",
            "-",
            "bb-import:1",
        ],
        &tarball,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = String::from_utf8(o.stdout).unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    let f = b.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Cmd}} {{.Config.WorkingDir}}",
        "bb-import:1",
    ]);
    assert_eq!(f, "[\"sh\"] /tmp\n");
    // Unnamed import: dangling, then pruned.
    let file = rootfs.path().join("../rootfs-cli.tar");
    std::fs::write(&file, &tarball).unwrap();
    let o = b.run(&["import", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(o.status.success());
    let dangling = b.ok(&["images", "-f", "dangling=true", "-q"]);
    assert_eq!(dangling.lines().count(), 1);
    let out = b.ok(&["image", "prune", "-f"]);
    assert!(out.contains("deleted: sha256:"), "{out}");
    assert!(b.ok(&["images", "-f", "dangling=true", "-q"]).is_empty());
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
    let o = b.run(&["import", "-c", "RUN true", "-"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RUN"));
}
