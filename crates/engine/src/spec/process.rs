//! The container's command line, environment and working directory, merged from the image
//! config and the run options as Docker merges them.

use oci_spec::image::Config;

use super::error::SpecError;
use super::options::RunOptions;

/// Docker's PATH when neither the image nor `-e` sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Entrypoint + Cmd: `--entrypoint` (even empty) replaces the image's entrypoint and drops
/// its Cmd; arguments after the image replace Cmd.
pub fn command(img: Option<&Config>, opts: &RunOptions) -> Result<Vec<String>, SpecError> {
    let (entrypoint, cmd) = match &opts.entrypoint {
        Some(ep) => (ep.clone(), opts.cmd.clone()),
        None => {
            let ep = img.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
            let cmd = if opts.cmd.is_empty() {
                img.and_then(|c| c.cmd().clone()).unwrap_or_default()
            } else {
                opts.cmd.clone()
            };
            (ep, cmd)
        }
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(SpecError::Invalid("No command specified".into()));
    }
    Ok(args)
}

fn key(kv: &str) -> &str {
    kv.split_once('=').map_or(kv, |(k, _)| k)
}

/// Docker's ReplaceOrAppendEnvValues: an override replaces the same key in place or is
/// appended; an override without `=` removes the key.
pub fn replace_or_append(base: &mut Vec<String>, overrides: &[String]) {
    for o in overrides {
        let k = key(o);
        match base.iter().position(|b| key(b) == k) {
            Some(i) if o.contains('=') => base[i] = o.clone(),
            Some(i) => {
                base.remove(i);
            }
            None if o.contains('=') => base.push(o.clone()),
            None => {}
        }
    }
}

/// The container's environment: PATH (default), HOSTNAME, TERM=xterm with -t, then the
/// container env (`-e`/`--env-file` first, then image entries not overridden) replacing
/// or appending, and HOME from passwd if still unset.
pub fn environment(
    img: Option<&Config>,
    opts: &RunOptions,
    hostname: &str,
    home: &str,
) -> Vec<String> {
    let mut config_env: Vec<String> = opts.env.clone();
    for e in img.and_then(|c| c.env().clone()).unwrap_or_default() {
        if !config_env.iter().any(|u| key(u) == key(&e)) {
            config_env.push(e);
        }
    }
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if opts.tty {
        env.push("TERM=xterm".into());
    }
    replace_or_append(&mut env, &config_env);
    if !env.iter().any(|e| key(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

/// The working directory: `-w`, else the image's WorkingDir, else `/`; must be absolute.
pub fn working_dir(img: Option<&Config>, opts: &RunOptions) -> Result<String, SpecError> {
    let wd = match opts.workdir.as_deref().filter(|w| !w.is_empty()) {
        Some(w) => {
            if !w.starts_with('/') {
                return Err(SpecError::flag(
                    "-w, --workdir",
                    w,
                    format!(
                        "the working directory '{w}' is invalid, it needs to be an absolute path"
                    ),
                ));
            }
            w.to_string()
        }
        None => match img
            .and_then(|c| c.working_dir().clone())
            .filter(|w| !w.is_empty())
        {
            Some(w) if w.starts_with('/') => w,
            Some(w) => format!("/{w}"),
            None => "/".into(),
        },
    };
    Ok(clean_path(&wd))
}

/// Lexically cleans an absolute path: no `.`, `..` or duplicate slashes.
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ConfigBuilder;

    fn img(ep: &[&str], cmd: &[&str]) -> Config {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut b = ConfigBuilder::default();
        if !ep.is_empty() {
            b = b.entrypoint(v(ep));
        }
        if !cmd.is_empty() {
            b = b.cmd(v(cmd));
        }
        b.env(v(&["PATH=/img/bin", "A=image", "B=image"]))
            .working_dir("app")
            .build()
            .unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_merging() {
        let i = img(&["/ep", "x"], &["c1", "c2"]);
        let o = RunOptions::default();
        assert_eq!(command(Some(&i), &o).unwrap(), s(&["/ep", "x", "c1", "c2"]));
        let o = RunOptions {
            cmd: s(&["a"]),
            ..Default::default()
        };
        assert_eq!(command(Some(&i), &o).unwrap(), s(&["/ep", "x", "a"]));
        // --entrypoint drops the image's Cmd.
        let o = RunOptions {
            entrypoint: Some(s(&["/other"])),
            ..Default::default()
        };
        assert_eq!(command(Some(&i), &o).unwrap(), s(&["/other"]));
        let o = RunOptions {
            entrypoint: Some(vec![]),
            cmd: s(&["sh"]),
            ..Default::default()
        };
        assert_eq!(command(Some(&i), &o).unwrap(), s(&["sh"]));
        let o = RunOptions {
            entrypoint: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            command(Some(&i), &o).unwrap_err().to_string(),
            "No command specified"
        );
        assert!(command(None, &RunOptions::default()).is_err());
    }

    #[test]
    fn env_merging() {
        let i = img(&[], &["sh"]);
        let o = RunOptions {
            env: s(&["B=user", "C=user"]),
            tty: true,
            ..Default::default()
        };
        let env = environment(Some(&i), &o, "abc123", "/root");
        assert_eq!(
            env,
            s(&[
                "PATH=/img/bin",
                "HOSTNAME=abc123",
                "TERM=xterm",
                "B=user",
                "C=user",
                "A=image",
                "HOME=/root"
            ])
        );
        let env = environment(
            None,
            &RunOptions {
                env: s(&["HOME=/h"]),
                ..Default::default()
            },
            "h",
            "/root",
        );
        assert_eq!(
            env,
            s(&[&format!("PATH={DEFAULT_PATH}"), "HOSTNAME=h", "HOME=/h"])
        );
    }

    #[test]
    fn workdir_rules() {
        let i = img(&[], &["sh"]);
        assert_eq!(
            working_dir(Some(&i), &RunOptions::default()).unwrap(),
            "/app"
        );
        assert_eq!(working_dir(None, &RunOptions::default()).unwrap(), "/");
        let o = RunOptions {
            workdir: Some("/a/./b/../c/".into()),
            ..Default::default()
        };
        assert_eq!(working_dir(Some(&i), &o).unwrap(), "/a/c");
        let o = RunOptions {
            workdir: Some("rel".into()),
            ..Default::default()
        };
        assert!(working_dir(None, &o)
            .unwrap_err()
            .to_string()
            .contains("needs to be an absolute path"));
    }
}
