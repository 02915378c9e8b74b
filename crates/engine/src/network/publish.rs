//! Docker's `-p` syntax: `[ip:][hostPort:]containerPort[/proto]` with port ranges and `[v6]` addresses.

use super::error::NetworkError;
use super::types::PortMapping;
use std::net::IpAddr;

fn invalid(spec: &str, reason: impl Into<String>) -> NetworkError {
    NetworkError::InvalidPort {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

/// Parses "80", "80-81", returning the inclusive range.
fn parse_range(spec: &str, s: &str, what: &str) -> Result<(u16, u16), NetworkError> {
    let bad = || invalid(spec, format!("invalid {what}: {s:?}"));
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if b < a {
        return Err(invalid(spec, format!("invalid {what} range: {s:?}")));
    }
    Ok((a, b))
}

/// Splits off the host IP: "[::1]:80:80" or "127.0.0.1:80:80"; returns (ip, rest).
fn split_ip<'a>(spec: &str, s: &'a str) -> Result<(Option<IpAddr>, &'a str), NetworkError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, rest) = rest
            .split_once(']')
            .ok_or_else(|| invalid(spec, "unterminated [ in host IP"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| invalid(spec, format!("invalid IP address: {ip}")))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| invalid(spec, "expected ':' after host IP"))?;
        return Ok((Some(ip), rest));
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts.len() {
        1 | 2 => Ok((None, s)),
        3 => {
            let ip = parts[0];
            let idx = ip.len() + 1;
            if ip.is_empty() {
                return Ok((None, &s[idx..]));
            }
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| invalid(spec, format!("invalid IP address: {ip}")))?;
            Ok((Some(ip), &s[idx..]))
        }
        _ => {
            // An unbracketed IPv6 address: everything before the last two fields.
            let n = parts.len();
            let ip_str = parts[..n - 2].join(":");
            let ip: IpAddr = ip_str
                .parse()
                .map_err(|_| invalid(spec, format!("invalid IP address: {ip_str}")))?;
            let idx = ip_str.len() + 1;
            Ok((Some(ip), &s[idx..]))
        }
    }
}

/// Parses one `-p` value into one mapping per port of its range.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>, NetworkError> {
    let s = spec.trim();
    if s.is_empty() {
        return Err(invalid(spec, "empty port specification"));
    }
    let (body, proto) = match s.rsplit_once('/') {
        Some((b, p)) => (b, p.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if proto != "tcp" && proto != "udp" {
        return Err(invalid(spec, format!("invalid proto: {proto}")));
    }
    let (host_ip, rest) = split_ip(spec, body)?;
    let (host, container) = match rest.rsplit_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    if container.is_empty() {
        return Err(invalid(spec, "no port specified"));
    }
    let (c0, c1) = parse_range(spec, container, "containerPort")?;
    if c0 == 0 {
        return Err(invalid(spec, "invalid containerPort: 0"));
    }
    let host_range = if host.is_empty() {
        None
    } else {
        Some(parse_range(spec, host, "hostPort")?)
    };
    let count = (c1 - c0) as u32 + 1;
    if let Some((h0, h1)) = host_range {
        let hcount = (h1 - h0) as u32 + 1;
        if hcount != count {
            return Err(invalid(
                spec,
                format!(
                    "host port range {host} and container port range {container} differ in length"
                ),
            ));
        }
    }
    Ok((0..count)
        .map(|i| PortMapping {
            host_ip,
            host_port: host_range.map_or(0, |(h0, _)| h0 + i as u16),
            container_port: c0 + i as u16,
            protocol: proto.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> PortMapping {
        let v = parse_publish(s).unwrap();
        assert_eq!(v.len(), 1, "{s}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn container_port_only_picks_host_port() {
        let m = one("80");
        assert_eq!((m.host_ip, m.host_port, m.container_port), (None, 0, 80));
        assert_eq!(m.protocol, "tcp");
    }

    #[test]
    fn host_and_container_port_with_proto() {
        let m = one("8080:80/udp");
        assert_eq!((m.host_port, m.container_port), (8080, 80));
        assert_eq!(m.protocol, "udp");
    }

    #[test]
    fn ip_host_container() {
        let m = one("127.0.0.1:8080:80/tcp");
        assert_eq!(m.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!((m.host_port, m.container_port), (8080, 80));
        let m = one("127.0.0.1::80");
        assert_eq!((m.host_port, m.container_port), (0, 80));
    }

    #[test]
    fn ipv6_bracketed_and_bare() {
        let m = one("[::1]:8080:80");
        assert_eq!(m.host_ip, Some("::1".parse().unwrap()));
        assert_eq!(m.host_port, 8080);
        let m = one("::1:8081:81");
        assert_eq!(m.host_ip, Some("::1".parse().unwrap()));
        assert_eq!((m.host_port, m.container_port), (8081, 81));
    }

    #[test]
    fn ranges_expand() {
        let v = parse_publish("8000-8002:80-82").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!((v[2].host_port, v[2].container_port), (8002, 82));
        let v = parse_publish("7000-7001").unwrap();
        assert_eq!(
            v.iter().map(|m| m.container_port).collect::<Vec<_>>(),
            vec![7000, 7001]
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse_publish("abc").unwrap_err().to_string();
        assert!(e.contains("invalid containerPort"), "{e}");
        let e = parse_publish("x:80").unwrap_err().to_string();
        assert!(e.contains("invalid hostPort"), "{e}");
        let e = parse_publish("80/sctpx").unwrap_err().to_string();
        assert!(e.contains("invalid proto"), "{e}");
        let e = parse_publish("8000-8001:80").unwrap_err().to_string();
        assert!(e.contains("differ in length"), "{e}");
        assert!(parse_publish("1.2.3:80:80").is_err());
        assert!(parse_publish("70000").is_err());
        assert!(parse_publish("").is_err());
    }
}
