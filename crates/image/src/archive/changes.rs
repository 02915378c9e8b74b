//! `import --change` instructions (Dockerfile syntax) applied to an image config.

use crate::ImageError;
use oci_spec::image::Config;
use std::collections::HashMap;

fn bad(change: &str, why: &str) -> ImageError {
    ImageError::Invalid(format!("invalid --change {change:?}: {why}"))
}

/// `["a","b"]` (JSON form) or shell form, which runs under `/bin/sh -c`.
fn command_form(change: &str, args: &str) -> Result<Vec<String>, ImageError> {
    let t = args.trim();
    if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t)
            .map_err(|_| bad(change, "not a JSON array of strings"))
    } else if t.is_empty() {
        Err(bad(change, "missing command"))
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), t.to_owned()])
    }
}

/// `ENV k=v k2="v 2"` or the legacy `ENV k v`.
fn env_pairs(change: &str, args: &str) -> Result<Vec<(String, String)>, ImageError> {
    let t = args.trim();
    if !t.contains('=')
        || t.split_whitespace()
            .next()
            .is_some_and(|w| !w.contains('='))
    {
        let (k, v) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(change, "expected KEY=VALUE"))?;
        return Ok(vec![(k.to_owned(), v.trim().to_owned())]);
    }
    let mut out = Vec::new();
    let mut chars = t.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            chars.next();
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => break,
                (_, '\\') => {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
                (_, c) => word.push(c),
            }
        }
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| bad(change, "expected KEY=VALUE"))?;
        if k.is_empty() {
            return Err(bad(change, "empty variable name"));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Applies one Dockerfile-style instruction to the config.
pub fn apply(config: &mut Config, change: &str) -> Result<(), ImageError> {
    let t = change.trim();
    let (instr, args) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    match instr.to_ascii_uppercase().as_str() {
        "CMD" => {
            config.set_cmd(Some(command_form(change, args)?));
        }
        "ENTRYPOINT" => {
            config.set_entrypoint(Some(command_form(change, args)?));
        }
        "ENV" => {
            let mut env = config.env().clone().unwrap_or_default();
            for (k, v) in env_pairs(change, args)? {
                env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
            config.set_env(Some(env));
        }
        "WORKDIR" => {
            let d = args.trim();
            if d.is_empty() {
                return Err(bad(change, "missing directory"));
            }
            config.set_working_dir(Some(d.to_owned()));
        }
        "USER" => {
            let u = args.trim();
            if u.is_empty() {
                return Err(bad(change, "missing user"));
            }
            config.set_user(Some(u.to_owned()));
        }
        "STOPSIGNAL" => {
            let s = args.trim();
            if s.is_empty() {
                return Err(bad(change, "missing signal"));
            }
            config.set_stop_signal(Some(s.to_owned()));
        }
        "EXPOSE" => {
            let mut ports = config.exposed_ports().clone().unwrap_or_default();
            for p in args.split_whitespace() {
                let p = if p.contains('/') { p.to_owned() } else { format!("{p}/tcp") };
                let num = p.split('/').next().unwrap_or("");
                if num.parse::<u16>().is_err() {
                    return Err(bad(change, "invalid port"));
                }
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
            config.set_exposed_ports(Some(ports));
        }
        "VOLUME" => {
            let vols: Vec<String> = if args.trim().starts_with('[') {
                serde_json::from_str(args.trim()).map_err(|_| bad(change, "not a JSON array"))?
            } else {
                args.split_whitespace().map(str::to_owned).collect()
            };
            let mut v = config.volumes().clone().unwrap_or_default();
            for x in vols {
                if !v.contains(&x) {
                    v.push(x);
                }
            }
            config.set_volumes(Some(v));
        }
        "LABEL" => {
            let mut labels: HashMap<String, String> = config.labels().clone().unwrap_or_default();
            for (k, v) in env_pairs(change, args)? {
                labels.insert(k, v);
            }
            config.set_labels(Some(labels));
        }
        other => {
            return Err(bad(
                change,
                &format!("unsupported instruction {other} (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, VOLUME, LABEL, STOPSIGNAL)"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_like_dockerfile_instructions() {
        let mut c = Config::default();
        apply(&mut c, r#"CMD ["sh", "-c", "echo hi"]"#).unwrap();
        assert_eq!(c.cmd().as_ref().unwrap(), &["sh", "-c", "echo hi"]);
        apply(&mut c, "CMD echo $HOME").unwrap();
        assert_eq!(c.cmd().as_ref().unwrap(), &["/bin/sh", "-c", "echo $HOME"]);
        apply(&mut c, r#"ENTRYPOINT ["/bin/busybox"]"#).unwrap();
        assert_eq!(c.entrypoint().as_ref().unwrap(), &["/bin/busybox"]);
        apply(&mut c, r#"ENV A=1 B="two words""#).unwrap();
        apply(&mut c, "ENV C three words").unwrap();
        apply(&mut c, "ENV A=changed").unwrap();
        assert_eq!(
            c.env().as_ref().unwrap(),
            &["B=two words", "C=three words", "A=changed"]
        );
        apply(&mut c, "WORKDIR /srv").unwrap();
        assert_eq!(c.working_dir().as_deref(), Some("/srv"));
        apply(&mut c, "user nobody").unwrap();
        assert_eq!(c.user().as_deref(), Some("nobody"));
        apply(&mut c, "EXPOSE 80 53/udp").unwrap();
        assert_eq!(c.exposed_ports().as_ref().unwrap(), &["80/tcp", "53/udp"]);
        apply(&mut c, "LABEL a=b").unwrap();
        assert_eq!(c.labels().as_ref().unwrap()["a"], "b");
        assert!(apply(&mut c, "RUN rm -rf /").is_err());
        assert!(apply(&mut c, "CMD [broken").is_err());
        assert!(apply(&mut c, "EXPOSE http").is_err());
    }
}
