//! IPv4 subnets: parsing, overlap, the default pools and the host's routes.

use super::error::NetworkError;
use std::net::Ipv4Addr;

/// An IPv4 network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, NetworkError> {
        let bad = || NetworkError::InvalidOption(format!("invalid CIDR address: {s}"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }
    pub fn network(&self) -> u32 {
        u32::from(self.addr) & self.mask()
    }
    pub fn broadcast(&self) -> u32 {
        self.network() | !self.mask()
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == self.network()
    }
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let m = self.mask() & other.mask();
        self.network() & m == other.network() & m
    }
    /// The canonical form with host bits cleared.
    pub fn canonical(&self) -> Cidr {
        Cidr {
            addr: Ipv4Addr::from(self.network()),
            prefix: self.prefix,
        }
    }
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network() + 1)
    }
    pub fn last_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.broadcast() - 1)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The host's IPv4 routes (except the default route), from /proc/net/route.
pub fn host_routes() -> Vec<Cidr> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints the network-order bytes as a native-endian integer.
            let dest = Ipv4Addr::from(dest.to_ne_bytes());
            let mask = u32::from_be_bytes(mask.to_ne_bytes());
            if mask == 0 {
                return None;
            }
            Some(Cidr {
                addr: dest,
                prefix: mask.count_ones() as u8,
            })
        })
        .collect()
}

/// The first IPv4 address of a network device and its subnet (`ip -4 -o addr show dev X`).
pub fn device_address(dev: &str) -> Option<(Ipv4Addr, Cidr)> {
    if !std::path::Path::new("/sys/class/net").join(dev).exists() {
        return None;
    }
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", dev])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    words.find(|w| *w == "inet")?;
    let c = Cidr::parse(words.next()?).ok()?;
    Some((c.addr, c.canonical()))
}

/// Candidate subnets for the default bridge network, in order of preference.
pub const DEFAULT_BRIDGE_POOL: &[&str] = &["172.17.0.0/16", "10.87.0.0/16", "10.86.0.0/16"];

/// Candidates for user-defined networks: 172.18-31.0.0/16, then 10.90.x.0/24.
pub fn user_pool() -> impl Iterator<Item = Cidr> {
    (18u8..=31)
        .map(|b| Cidr {
            addr: Ipv4Addr::new(172, b, 0, 0),
            prefix: 16,
        })
        .chain((0u8..=255).map(|c| Cidr {
            addr: Ipv4Addr::new(10, 90, c, 0),
            prefix: 24,
        }))
}

/// The first candidate that overlaps neither the host's routes nor `taken`.
pub fn pick_free(candidates: impl Iterator<Item = Cidr>, taken: &[Cidr]) -> Option<Cidr> {
    let routes = host_routes();
    candidates
        .into_iter()
        .find(|c| !routes.iter().chain(taken.iter()).any(|t| t.overlaps(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_overlap() {
        let a = Cidr::parse("10.1.0.0/16").unwrap();
        let b = Cidr::parse("10.1.5.0/24").unwrap();
        let c = Cidr::parse("10.2.0.0/24").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert_eq!(b.first_host().to_string(), "10.1.5.1");
        assert_eq!(b.last_host().to_string(), "10.1.5.254");
        assert!(Cidr::parse("10.1.0.0").is_err());
        assert!(Cidr::parse("10.1.0.0/33").is_err());
        assert_eq!(
            Cidr::parse("10.1.2.3/16").unwrap().canonical().to_string(),
            "10.1.0.0/16"
        );
    }

    #[test]
    fn host_routes_include_a_local_subnet() {
        // Compare with the kernel's own view (`ip -4 route`): every non-default route is found.
        let out = std::process::Command::new("ip")
            .args(["-4", "route"])
            .output()
            .unwrap();
        let routes = host_routes();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let dst = line.split_whitespace().next().unwrap_or("");
            if dst == "default" || !dst.contains('/') {
                continue;
            }
            let c = Cidr::parse(dst).unwrap();
            assert!(routes.contains(&c), "{c} missing from {routes:?}");
        }
    }
}
