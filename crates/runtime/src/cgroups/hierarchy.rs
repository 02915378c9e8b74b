//! Which cgroup hierarchies the host has mounted, found once from /proc/self/mountinfo.
//!
//! The root of every hierarchy is a parameter so that tests can point a whole
//! `Hierarchies` at a fake tree in a temp dir.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::error::CgroupError;
use super::fsio;
use super::Layout;

/// One mounted cgroup v1 hierarchy, e.g. `cpu,cpuacct` at /sys/fs/cgroup/cpu,cpuacct.
#[derive(Debug, Clone)]
pub struct V1Mount {
    /// Name as /proc/self/cgroup spells it: "cpu,cpuacct", "memory", "name=systemd".
    pub name: String,
    /// Controllers bound to this hierarchy (empty for named ones like name=systemd).
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    /// The mount's root inside the hierarchy ("/" unless bind-mounted or namespaced).
    pub root: String,
}

/// The cgroup2 hierarchy (the whole tree on v2 hosts, /sys/fs/cgroup/unified on hybrid).
#[derive(Debug, Clone)]
pub struct UnifiedMount {
    pub mount_point: PathBuf,
    pub root: String,
    /// Controllers listed in the mount root's cgroup.controllers.
    pub controllers: Vec<String>,
}

/// All cgroup hierarchies of a host (or of a fake tree).
#[derive(Debug, Clone)]
pub struct Hierarchies {
    pub layout: Layout,
    pub v1: Vec<V1Mount>,
    pub unified: Option<UnifiedMount>,
}

static HOST: OnceLock<Hierarchies> = OnceLock::new();

impl Hierarchies {
    /// The running host's hierarchies, read from /proc/self/mountinfo once per process.
    pub fn host() -> Result<&'static Hierarchies, CgroupError> {
        if let Some(h) = HOST.get() {
            return Ok(h);
        }
        let text = fsio::read_raw(Path::new("/proc/self/mountinfo"))
            .map_err(|e| CgroupError::io("reading", "/proc/self/mountinfo", e))?;
        let h = Self::from_mountinfo(&text)?;
        let _ = HOST.set(h);
        Ok(HOST.get().expect("set above"))
    }

    /// Builds the hierarchy list from mountinfo text. Reads the cgroup2 root's
    /// cgroup.controllers from disk to learn which v2 controllers exist.
    pub fn from_mountinfo(text: &str) -> Result<Hierarchies, CgroupError> {
        let mut v1: Vec<V1Mount> = Vec::new();
        let mut unified: Option<UnifiedMount> = None;
        for line in text.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 5 || post.len() < 3 {
                continue;
            }
            let (root, mount_point) = (unescape(pre[3]), PathBuf::from(unescape(pre[4])));
            match post[0] {
                // Keep the first cgroup2 mount whose root is the hierarchy root.
                "cgroup2"
                    if unified
                        .as_ref()
                        .is_none_or(|u| u.root != "/" && root == "/") =>
                {
                    unified = Some(UnifiedMount {
                        mount_point,
                        root,
                        controllers: Vec::new(),
                    });
                }
                "cgroup" => {
                    let mut controllers = Vec::new();
                    let mut named = None;
                    for opt in post[2].split(',') {
                        if let Some(n) = opt.strip_prefix("name=") {
                            named = Some(format!("name={n}"));
                        } else if is_controller_option(opt) {
                            controllers.push(opt.to_owned());
                        }
                    }
                    // As /proc/self/cgroup spells it: "cpu,cpuacct", "name=systemd",
                    // or "cpu,name=x" for a named hierarchy that also has controllers.
                    let name = match named {
                        Some(n) if controllers.is_empty() => n,
                        Some(n) => format!("{},{n}", controllers.join(",")),
                        None => controllers.join(","),
                    };
                    if name.is_empty() {
                        continue;
                    }
                    match v1.iter_mut().find(|m| m.name == name) {
                        Some(m) if m.root != "/" && root == "/" => {
                            m.mount_point = mount_point;
                            m.root = root;
                        }
                        Some(_) => {}
                        None => v1.push(V1Mount {
                            name,
                            controllers,
                            mount_point,
                            root,
                        }),
                    }
                }
                _ => {}
            }
        }
        if let Some(u) = unified.as_mut() {
            u.controllers = read_controllers(&u.mount_point);
        }
        let layout = match (v1.is_empty(), unified.is_some()) {
            (true, true) => Layout::V2,
            (false, true) => Layout::Hybrid,
            (false, false) => Layout::V1,
            (true, false) => {
                return Err(CgroupError::Discovery(
                    "no cgroup or cgroup2 file system is mounted".into(),
                ))
            }
        };
        Ok(Hierarchies {
            layout,
            v1,
            unified,
        })
    }

    /// A pure cgroup v2 tree rooted at `root` (reads root/cgroup.controllers).
    pub fn v2_at(root: &Path) -> Hierarchies {
        Hierarchies {
            layout: Layout::V2,
            v1: Vec::new(),
            unified: Some(UnifiedMount {
                mount_point: root.to_path_buf(),
                root: "/".into(),
                controllers: read_controllers(root),
            }),
        }
    }

    /// A v1 tree with one hierarchy per name, each at `root/<name>`
    /// (e.g. "cpu,cpuacct", "memory", "name=systemd" at root/systemd); plus an
    /// optional cgroup2 tree at `root/unified` for a hybrid layout.
    pub fn v1_at(root: &Path, names: &[&str], with_unified: bool) -> Hierarchies {
        let v1 = names
            .iter()
            .map(|n| {
                let (dir, controllers) = match n.strip_prefix("name=") {
                    Some(d) => (d.to_owned(), Vec::new()),
                    None => (n.to_string(), n.split(',').map(str::to_owned).collect()),
                };
                V1Mount {
                    name: n.to_string(),
                    controllers,
                    mount_point: root.join(dir),
                    root: "/".into(),
                }
            })
            .collect();
        let unified = with_unified.then(|| {
            let mp = root.join("unified");
            UnifiedMount {
                controllers: read_controllers(&mp),
                mount_point: mp,
                root: "/".into(),
            }
        });
        Hierarchies {
            layout: if with_unified {
                Layout::Hybrid
            } else {
                Layout::V1
            },
            v1,
            unified,
        }
    }

    /// The v1 hierarchy that carries `controller`, if any.
    pub fn v1_with(&self, controller: &str) -> Option<&V1Mount> {
        self.v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))
    }
}

fn read_controllers(dir: &Path) -> Vec<String> {
    fsio::read_raw(&dir.join("cgroup.controllers"))
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Mount options of a v1 cgroup mount that are not controller names.
fn is_controller_option(opt: &str) -> bool {
    !matches!(
        opt,
        "rw" | "ro" | "noprefix" | "clone_children" | "xattr" | "cpuset_v2_mode" | "favordynmods"
    ) && !opt.contains('=')
}

/// mountinfo escapes space, tab, newline and backslash as \ooo octal.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses /proc/self/cgroup: hierarchy name ("" for cgroup2) -> path of our cgroup.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let names = it.next()?;
            let path = it.next()?;
            Some((names.to_owned(), path.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hybrid_mountinfo() {
        let mi = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
        let h = Hierarchies::from_mountinfo(mi).unwrap();
        assert_eq!(h.layout, Layout::Hybrid);
        let names: Vec<_> = h.v1.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["cpu", "cpu,cpuacct", "name=systemd"]);
        assert!(h.v1[2].controllers.is_empty());
        assert_eq!(
            h.unified.unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
