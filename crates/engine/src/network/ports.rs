//! Host port allocation: a port is free when no Berth container publishes it and the host
//! can bind it (checked by binding). Port 0 asks for a free ephemeral port.

use super::error::NetworkError;
use super::types::PortMapping;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

fn unspecified(ip: Option<IpAddr>) -> bool {
    ip.is_none_or(|i| i.is_unspecified())
}

fn clash(a: &PortMapping, b: &PortMapping) -> bool {
    a.protocol == b.protocol
        && a.host_port == b.host_port
        && (unspecified(a.host_ip) || unspecified(b.host_ip) || a.host_ip == b.host_ip)
}

fn display_addr(m: &PortMapping) -> String {
    let ip = m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    SocketAddr::new(ip, m.host_port).to_string()
}

/// Binds the port (and keeps nothing). Returns the bound port (useful with port 0).
fn try_bind(m: &PortMapping) -> std::io::Result<u16> {
    let addr = SocketAddr::new(
        m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        m.host_port,
    );
    if m.protocol == "udp" {
        Ok(UdpSocket::bind(addr)?.local_addr()?.port())
    } else {
        Ok(TcpListener::bind(addr)?.local_addr()?.port())
    }
}

/// Gives every mapping a concrete, free host port, or fails with Docker's
/// "port is already allocated" naming the first taken one.
pub fn allocate(
    wanted: &[PortMapping],
    in_use: &[PortMapping],
) -> Result<Vec<PortMapping>, NetworkError> {
    let mut done: Vec<PortMapping> = Vec::new();
    for m in wanted {
        let taken = |c: &PortMapping| in_use.iter().chain(done.iter()).any(|u| clash(u, c));
        if m.host_port != 0 {
            if taken(m) || try_bind(m).is_err() {
                return Err(NetworkError::PortAllocated {
                    addr: display_addr(m),
                });
            }
            done.push(m.clone());
            continue;
        }
        let mut picked = None;
        for _ in 0..64 {
            let Ok(port) = try_bind(m) else { break };
            let c = PortMapping {
                host_port: port,
                ..m.clone()
            };
            if !taken(&c) {
                picked = Some(c);
                break;
            }
        }
        match picked {
            Some(c) => done.push(c),
            None => {
                return Err(NetworkError::PortAllocated {
                    addr: display_addr(m),
                })
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ip: Option<&str>, hp: u16, proto: &str) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|i| i.parse().unwrap()),
            host_port: hp,
            container_port: 80,
            protocol: proto.into(),
        }
    }

    #[test]
    fn random_ports_are_distinct_and_nonzero() {
        let got = allocate(&[pm(None, 0, "tcp"), pm(None, 0, "tcp")], &[]).unwrap();
        assert!(got[0].host_port != 0 && got[0].host_port != got[1].host_port);
    }

    #[test]
    fn port_bound_on_host_is_allocated() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let e = allocate(&[pm(Some("127.0.0.1"), port, "tcp")], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
    }

    #[test]
    fn port_published_by_other_container_clashes_by_ip_and_proto() {
        let used = [pm(Some("127.0.0.1"), 40999, "tcp")];
        assert!(allocate(&[pm(None, 40999, "tcp")], &used).is_err());
        assert!(allocate(&[pm(Some("127.0.0.2"), 40999, "tcp")], &used).is_ok());
        assert!(allocate(&[pm(None, 40999, "udp")], &used).is_ok());
    }
}
