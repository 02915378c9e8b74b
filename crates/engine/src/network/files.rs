//! The container's /etc/hosts, /etc/resolv.conf and /etc/hostname contents.

use std::net::IpAddr;

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// /etc/hosts: localhost entries, `--add-host` entries, then the container's own address.
pub fn hosts(
    extra: &[(String, String)],
    own_ip: Option<IpAddr>,
    hostname: &str,
    domainname: Option<&str>,
) -> String {
    let mut s = String::from(HOSTS_BASE);
    for (name, ip) in extra {
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(ip) = own_ip {
        match domainname {
            Some(d) if !d.is_empty() => s.push_str(&format!("{ip}\t{hostname}.{d} {hostname}\n")),
            _ => s.push_str(&format!("{ip}\t{hostname}\n")),
        }
    }
    s
}

/// The host's resolv.conf split into (nameservers, search, options).
pub fn host_resolv() -> (Vec<String>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    parse_resolv(&text)
}

pub fn parse_resolv(text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut ns, mut search, mut opts) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => ns.extend(f.next().map(str::to_string)),
            Some("search") | Some("domain") => {
                search = f.map(str::to_string).collect();
            }
            Some("options") => opts.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    (ns, search, opts)
}

/// Nameservers usable from inside a network namespace: the host's loopback resolvers are not.
pub fn reachable_nameservers(ns: Vec<String>) -> Vec<String> {
    ns.into_iter()
        .filter(|n| {
            n.parse::<IpAddr>()
                .map(|ip| !ip.is_loopback())
                .unwrap_or(false)
        })
        .collect()
}

pub fn resolv_conf(nameservers: &[String], search: &[String], options: &[String]) -> String {
    let mut s = String::new();
    for n in nameservers {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_parse_and_filter() {
        let (ns, search, opts) = parse_resolv(
            "# c\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:2\n",
        );
        assert_eq!(reachable_nameservers(ns), vec!["10.0.0.2"]);
        assert_eq!(search, vec!["a.example", "b.example"]);
        assert_eq!(
            resolv_conf(&["10.0.0.2".into()], &search, &opts),
            "nameserver 10.0.0.2\nsearch a.example b.example\noptions ndots:2\n"
        );
    }

    #[test]
    fn hosts_has_own_entry_and_extra() {
        let h = hosts(
            &[("db".into(), "10.1.1.1".into())],
            Some("172.18.0.2".parse().unwrap()),
            "web",
            Some("example.org"),
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.1.1.1\tdb\n"));
        assert!(h.ends_with("172.18.0.2\tweb.example.org web\n"));
    }
}
