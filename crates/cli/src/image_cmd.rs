//! `berth` image commands: images, tag, rmi, history, load, save, import, and the
//! `image …` group (ls, rm, inspect, prune, tag, history, load, save, import) — with
//! Docker's flags, output and error wording ("Error: No such image: x", exit 1).

use crate::Globals;
use berth_image::inspect::{self, repo_digests};
use berth_image::{names, ArchiveFormat, ImageRecord, ImportOptions, RemovedItem, Store};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    Images(ListArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    Rmi(RmArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Manage images
    Image {
        #[command(subcommand)]
        cmd: ImageSub,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageSub {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ListArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Filter output (dangling=true|false, reference=PATTERN)
    #[arg(short, long)]
    filter: Vec<String>,
    /// Format output: table, json, or a Go template
    #[arg(long)]
    format: Option<String>,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    source: String,
    /// TARGET_IMAGE[:TAG]
    target: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents (accepted; Berth has no parent images)
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a Go template or json
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Format output: table, json, or a Go template
    #[arg(long)]
    format: Option<String>,
    image: String,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Archive format: docker (what `docker save` writes) or oci
    #[arg(long, default_value = "docker")]
    format: String,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform (only the host's is supported)
    #[arg(long)]
    platform: Option<String>,
    /// file|- (a rootfs tarball, plain, gzip or zstd)
    file: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

/// Errors are printed as Docker prints them and give exit status 1.
pub fn run(cmd: ImageCommand, g: &Globals) -> anyhow::Result<i32> {
    match dispatch(cmd, g) {
        Ok(code) => Ok(code),
        Err(e) => {
            // `berth images | head` closing the pipe early is not an error.
            let broken_pipe = e
                .chain()
                .filter_map(|c| c.downcast_ref::<io::Error>())
                .any(|io| io.kind() == io::ErrorKind::BrokenPipe);
            if broken_pipe {
                return Ok(0);
            }
            eprintln!("Error: {e:#}");
            Ok(1)
        }
    }
}

fn dispatch(cmd: ImageCommand, g: &Globals) -> anyhow::Result<i32> {
    let store = || Store::open(&g.root);
    match cmd {
        ImageCommand::Images(a)
        | ImageCommand::Image {
            cmd: ImageSub::Ls(a),
        } => list(&store()?, &a),
        ImageCommand::Tag(a)
        | ImageCommand::Image {
            cmd: ImageSub::Tag(a),
        } => {
            store()?.tag(&a.source, &a.target)?;
            Ok(0)
        }
        ImageCommand::Rmi(a)
        | ImageCommand::Image {
            cmd: ImageSub::Rm(a),
        } => rmi(&store()?, &a),
        ImageCommand::History(a)
        | ImageCommand::Image {
            cmd: ImageSub::History(a),
        } => history(&store()?, &a),
        ImageCommand::Load(a)
        | ImageCommand::Image {
            cmd: ImageSub::Load(a),
        } => load(&store()?, &a),
        ImageCommand::Save(a)
        | ImageCommand::Image {
            cmd: ImageSub::Save(a),
        } => save(&store()?, &a),
        ImageCommand::Import(a)
        | ImageCommand::Image {
            cmd: ImageSub::Import(a),
        } => import(&store()?, &a),
        ImageCommand::Image {
            cmd: ImageSub::Inspect(a),
        } => inspect_cmd(&store()?, &a),
        ImageCommand::Image {
            cmd: ImageSub::Prune(a),
        } => prune(&store()?, &a),
    }
}

/// Docker's human sizes: decimal units, three significant digits (`4.26MB`, `127MB`).
pub fn human_size(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[i])
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = s / 60;
    let hours = (s as f64 / 3600.0).round() as i64;
    let days = s / 86400;
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if days < 7 * 2 {
        format!("{days} days")
    } else if days < 30 * 3 {
        format!("{} weeks", days / 7)
    } else if days < 365 * 2 {
        format!("{} months", days / 30)
    } else {
        format!("{} years", days / 365)
    }
}

fn since(created: Option<&str>) -> String {
    match created.and_then(inspect::seconds_since) {
        Some(secs) => format!("{} ago", human_duration(secs)),
        None => "N/A".into(),
    }
}

fn short_id(img: &ImageRecord, no_trunc: bool) -> String {
    if no_trunc {
        img.id.to_string()
    } else {
        img.id.digest()[..12].to_string()
    }
}

/// One row per (image, name); dangling images get one `<none>` row.
fn image_rows(imgs: &[ImageRecord], no_trunc: bool) -> Vec<Value> {
    let mut rows = Vec::new();
    for img in imgs {
        let created_at = img
            .created
            .as_deref()
            .and_then(inspect::created_at)
            .unwrap_or_default();
        let digests = repo_digests(img);
        let mut push = |repo: String, tag: String| {
            let digest = digests
                .iter()
                .find(|d| d.split('@').next() == Some(repo.as_str()))
                .and_then(|d| d.split('@').nth(1))
                .unwrap_or("<none>")
                .to_string();
            rows.push(json!({
                "Containers": "N/A",
                "CreatedAt": created_at,
                "CreatedSince": since(img.created.as_deref()),
                "Digest": digest,
                "ID": short_id(img, no_trunc),
                "Repository": repo,
                "SharedSize": "N/A",
                "Size": human_size(img.size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": human_size(img.size),
            }));
        };
        if img.names.is_empty() {
            push("<none>".into(), "<none>".into());
        }
        for n in &img.names {
            let (repo, tag) = names::split_tagged(n);
            push(names::display_repository(repo).to_string(), tag.to_string());
        }
    }
    rows
}

fn list(store: &Store, a: &ListArgs) -> anyhow::Result<i32> {
    let mut imgs = store.list()?;
    for f in &a.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
        match k {
            "dangling" => {
                let want = match v {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => anyhow::bail!("invalid filter 'dangling={v}'"),
                };
                imgs.retain(|i| i.names.is_empty() == want);
            }
            "reference" => {
                let v = v.to_string();
                imgs.retain(|i| {
                    i.names.iter().any(|n| {
                        let d = names::display_name(n);
                        d == v || d.starts_with(&format!("{v}:")) || n == &v
                    })
                });
            }
            _ => anyhow::bail!("invalid filter '{k}'"),
        }
    }
    let mut rows = image_rows(&imgs, a.no_trunc);
    if let Some(r) = &a.reference {
        let (repo, tag) = match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
            _ => (r.clone(), None),
        };
        let full_repo = names::parse(&repo).map(|p| p.repository).ok();
        rows.retain(|row| {
            let rrepo = row["Repository"].as_str().unwrap_or("");
            let repo_ok = rrepo == repo
                || full_repo
                    .as_deref()
                    .is_some_and(|f| names::display_repository(f) == rrepo);
            repo_ok && tag.as_deref().is_none_or(|t| row["Tag"] == t)
        });
    }
    let mut out = io::stdout().lock();
    if a.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            let id = r["ID"].as_str().unwrap_or("").to_string();
            if seen.insert(id.clone()) {
                writeln!(out, "{id}")?;
            }
        }
        return Ok(0);
    }
    let format = match a.format.as_deref() {
        None | Some("table") => {
            if a.digests {
                "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                    .to_string()
            } else {
                "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_string()
            }
        }
        Some(f) => f.to_string(),
    };
    let titles = |f: &str| -> Option<String> {
        Some(
            match f {
                "ID" => "IMAGE ID",
                "CreatedSince" => "CREATED",
                "CreatedAt" => "CREATED AT",
                "Size" => "SIZE",
                "Repository" => "REPOSITORY",
                "Tag" => "TAG",
                "Digest" => "DIGEST",
                _ => return None,
            }
            .to_string(),
        )
    };
    let text = berth_template::render_rows(&format, &rows, &titles)?;
    out.write_all(text.as_bytes())?;
    Ok(0)
}

fn rmi(store: &Store, a: &RmArgs) -> anyhow::Result<i32> {
    let mut code = 0;
    for name in &a.images {
        match store.remove(name, a.force) {
            Ok(items) => print_removed(&items, "Untagged", "Deleted"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

fn print_removed(items: &[RemovedItem], untagged: &str, deleted: &str) {
    for it in items {
        match it {
            RemovedItem::Untagged(n) => println!("{untagged}: {n}"),
            RemovedItem::Deleted(d) => println!("{deleted}: {d}"),
        }
    }
}

fn inspect_cmd(store: &Store, a: &InspectArgs) -> anyhow::Result<i32> {
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for n in &a.images {
        match store.resolve(n) {
            Ok(img) => values.push(inspect::inspect_json(store, &img)?),
            Err(berth_image::ImageError::NotFound(_)) => missing.push(n.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    let mut out = io::stdout().lock();
    match a.format.as_deref() {
        None => {
            serde_json::to_writer_pretty(&mut out, &values)?;
            writeln!(out)?;
        }
        Some(f) => {
            for v in &values {
                let s = berth_template::render(f, v)?;
                writeln!(out, "{s}")?;
            }
        }
    }
    if !missing.is_empty() {
        for m in &missing {
            eprintln!("Error: No such image: {m}");
        }
        return Ok(1);
    }
    Ok(0)
}

/// Removes dangling images (all unused ones with `all`) that no container uses; returns
/// what went and the bytes reclaimed.
pub fn remove_unused(store: &Store, all: bool) -> anyhow::Result<(Vec<RemovedItem>, u64)> {
    let mut deleted = Vec::new();
    let mut reclaimed = 0u64;
    for img in store.list()? {
        if !all && !img.names.is_empty() {
            continue;
        }
        if !store.containers_using(&img.id)?.is_empty() {
            continue;
        }
        match store.remove(img.id.as_ref(), true) {
            Ok(items) => {
                reclaimed += img.size;
                deleted.extend(items);
            }
            Err(berth_image::ImageError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((deleted, reclaimed))
}

/// Prints `rmi`/`prune` results in Docker's words.
pub fn print_removed_images(items: &[RemovedItem]) {
    print_removed(items, "untagged", "deleted");
}

fn prune(store: &Store, a: &PruneArgs) -> anyhow::Result<i32> {
    if !a.force {
        let what = if a.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        eprint!("{what}\nAre you sure you want to continue? [y/N] ");
        io::stderr().flush()?;
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let (deleted, reclaimed) = remove_unused(store, a.all)?;
    if !deleted.is_empty() {
        println!("Deleted Images:");
        print_removed(&deleted, "untagged", "deleted");
        println!();
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    Ok(0)
}

fn history(store: &Store, a: &HistoryArgs) -> anyhow::Result<i32> {
    let img = store.resolve(&a.image)?;
    let rows = inspect::history(store, &img)?;
    let mut out = io::stdout().lock();
    if a.quiet {
        for r in &rows {
            let id = if a.no_trunc || r.id == "<missing>" {
                r.id.clone()
            } else {
                r.id.trim_start_matches("sha256:")[..12].to_string()
            };
            writeln!(out, "{id}")?;
        }
        return Ok(0);
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| {
            let id = if a.no_trunc || r.id == "<missing>" {
                r.id.clone()
            } else {
                r.id.trim_start_matches("sha256:")[..12].to_string()
            };
            let mut created_by = r.created_by.replace('\t', " ");
            if !a.no_trunc && created_by.chars().count() > 45 {
                created_by = created_by.chars().take(44).collect::<String>() + "…";
            }
            json!({
                "ID": id,
                "CreatedSince": if a.human { since(r.created.as_deref()) } else { r.created.clone().unwrap_or_default() },
                "CreatedAt": r.created.clone().unwrap_or_default(),
                "CreatedBy": created_by,
                "Size": if a.human { human_size(r.size) } else { r.size.to_string() },
                "Comment": r.comment,
            })
        })
        .collect();
    let format = a.format.clone().unwrap_or_else(|| {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into()
    });
    let titles = |f: &str| -> Option<String> {
        Some(
            match f {
                "ID" => "IMAGE",
                "CreatedSince" => "CREATED",
                "CreatedBy" => "CREATED BY",
                "Size" => "SIZE",
                "Comment" => "COMMENT",
                _ => return None,
            }
            .to_string(),
        )
    };
    out.write_all(berth_template::render_rows(&format, &values, &titles)?.as_bytes())?;
    Ok(0)
}

fn print_loaded(imgs: &[ImageRecord]) {
    for img in imgs {
        if img.names.is_empty() {
            println!("Loaded image ID: {}", img.id);
        }
        for n in &img.names {
            println!("Loaded image: {}", names::display_name(n));
        }
    }
}

fn load(store: &Store, a: &LoadArgs) -> anyhow::Result<i32> {
    let imgs = match &a.input {
        Some(p) => {
            let f =
                std::fs::File::open(p).map_err(|e| anyhow::anyhow!("open {}: {e}", p.display()))?;
            berth_image::load(store, io::BufReader::with_capacity(1 << 20, f))?
        }
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty");
            }
            berth_image::load(store, io::BufReader::with_capacity(1 << 20, stdin.lock()))?
        }
    };
    print_loaded(&imgs);
    Ok(0)
}

fn save(store: &Store, a: &SaveArgs) -> anyhow::Result<i32> {
    let format: ArchiveFormat = a.format.parse()?;
    match &a.output {
        Some(path) => {
            // Write beside the target and rename: a failed save leaves no partial file.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let tmp = path.with_file_name(format!(
                ".{}.berth-tmp-{}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("save"),
                std::process::id()
            ));
            let result = (|| {
                let f = std::fs::File::create(&tmp)?;
                let mut w = io::BufWriter::with_capacity(1 << 20, f);
                berth_image::save(store, &a.images, &mut w, format)?;
                let f = w.into_inner().map_err(|e| e.into_error())?;
                f.sync_all()?;
                std::fs::rename(&tmp, path)?;
                anyhow::Ok(())
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            let _ = dir;
            result?;
        }
        None => {
            let stdout = io::stdout();
            if stdout.is_terminal() {
                anyhow::bail!(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect"
                );
            }
            let mut w = io::BufWriter::with_capacity(1 << 20, stdout.lock());
            berth_image::save(store, &a.images, &mut w, format)?;
            w.flush()?;
        }
    }
    Ok(0)
}

fn import(store: &Store, a: &ImportArgs) -> anyhow::Result<i32> {
    if let Some(p) = &a.platform {
        let host = format!("linux/{}", host_arch());
        if p != &host {
            anyhow::bail!("unsupported platform {p}: only {host} can be imported here");
        }
    }
    if a.file.starts_with("http://") || a.file.starts_with("https://") {
        anyhow::bail!("importing from a URL is not supported: download the tarball first");
    }
    let opts = ImportOptions {
        name: a.reference.clone(),
        changes: a.change.clone(),
        message: a.message.clone(),
    };
    let img = if a.file == "-" {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            anyhow::bail!("requested import from stdin, but stdin is a terminal");
        }
        berth_image::import(store, stdin.lock(), &opts)?
    } else {
        let f =
            std::fs::File::open(&a.file).map_err(|e| anyhow::anyhow!("open {}: {e}", a.file))?;
        berth_image::import(
            store,
            io::BufReader::with_capacity(1 << 20, f).take(u64::MAX),
            &opts,
        )?
    };
    println!("{}", img.id);
    Ok(0)
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_like_dockers() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1234), "1.23kB");
        assert_eq!(human_size(4_263_936), "4.26MB");
        assert_eq!(human_size(127_000_000), "127MB");
        assert_eq!(human_size(10_500_000), "10.5MB");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(30), "30 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(3 * 365 * 86400), "3 years");
    }
}
