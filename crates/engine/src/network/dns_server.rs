//! The DNS responder of one user-defined network (run by the `berth-dns` binary).
//!
//! It answers A queries for the names in its records file ("IP name alias..." per line,
//! re-read when it changes), answers single-label unknown names with NXDOMAIN, and relays
//! everything else to the host's resolvers from /etc/resolv.conf. UDP and TCP on port 53
//! of the network's gateway address. It exits when its records file disappears.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const RCODE_SERVFAIL: u8 = 2;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_FORMERR: u8 = 1;
const TTL: u32 = 10;

/// Names to addresses, from the records file.
#[derive(Default)]
struct Records {
    stamp: Option<(SystemTime, u64)>,
    map: HashMap<String, Vec<Ipv4Addr>>,
}

fn parse_records(text: &str) -> HashMap<String, Vec<Ipv4Addr>> {
    let mut map: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(Ok(ip)) = f.next().map(str::parse::<Ipv4Addr>) else {
            continue;
        };
        for name in f {
            let v = map.entry(name.to_ascii_lowercase()).or_default();
            if !v.contains(&ip) {
                v.push(ip);
            }
        }
    }
    map
}

struct Shared {
    records_path: PathBuf,
    records: Mutex<Records>,
    upstreams: Vec<SocketAddr>,
}

impl Shared {
    /// Re-reads the records when the file changed; false when it is gone.
    fn refresh(&self) -> bool {
        let Ok(meta) = std::fs::metadata(&self.records_path) else {
            return false;
        };
        let stamp = (
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        let mut r = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if r.stamp != Some(stamp) {
            if let Ok(text) = std::fs::read_to_string(&self.records_path) {
                r.map = parse_records(&text);
                r.stamp = Some(stamp);
            }
        }
        true
    }
    fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        self.refresh();
        let r = self.records.lock().unwrap_or_else(|p| p.into_inner());
        r.map.get(name).cloned()
    }
}

/// The question of a query: (lowercased name without trailing dot, qtype, end offset).
fn parse_question(msg: &[u8]) -> Option<(String, u16, usize)> {
    if msg.len() < 12 || u16::from_be_bytes([msg[4], msg[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        let label = msg.get(i..i + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]);
    Some((labels.join("."), qtype, i + 4))
}

/// A response carrying the query's question and the given A answers.
fn response(query: &[u8], q_end: usize, rcode: u8, answers: &[Ipv4Addr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q_end + answers.len() * 16);
    out.extend_from_slice(&query[0..2]);
    // QR, the query's opcode and RD, AA, RA.
    let flags_hi = 0x80 | (query[2] & 0x79) | 0x04;
    out.push(flags_hi);
    out.push(0x80 | (rcode & 0x0F));
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&query[12..q_end]);
    for ip in answers {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    out
}

fn error_response(query: &[u8], rcode: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(query.get(0..2).unwrap_or(&[0, 0]));
    out.push(0x80 | (query.get(2).copied().unwrap_or(0) & 0x79));
    out.push(0x80 | rcode);
    out.extend_from_slice(&[0; 8]);
    out
}

/// Relays a query to the upstream resolvers over UDP, first answer wins.
fn forward(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    for up in &shared.upstreams {
        let bind: SocketAddr = if up.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let Ok(sock) = UdpSocket::bind(bind) else {
            continue;
        };
        let _ = sock.set_read_timeout(Some(Duration::from_secs(3)));
        if sock.send_to(query, up).is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if from == *up && n >= 2 && buf[0..2] == query[0..2] {
                buf.truncate(n);
                return Some(buf);
            }
        }
    }
    None
}

/// Answers locally, or None when the query must be relayed.
fn answer_locally(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    let Some((name, qtype, q_end)) = parse_question(query) else {
        return Some(error_response(query, RCODE_FORMERR));
    };
    if let Some(ips) = shared.lookup(&name) {
        // A known name: its IPv4 addresses, and an empty NOERROR for other types.
        let answers = if qtype == TYPE_A { ips } else { Vec::new() };
        return Some(response(query, q_end, 0, &answers));
    }
    if !name.contains('.') {
        // Single-label names are container names; an unknown one goes no further.
        let _ = TYPE_AAAA;
        return Some(response(query, q_end, RCODE_NXDOMAIN, &[]));
    }
    None
}

fn handle(shared: &Shared, query: &[u8]) -> Vec<u8> {
    if let Some(r) = answer_locally(shared, query) {
        return r;
    }
    forward(shared, query).unwrap_or_else(|| match parse_question(query) {
        Some((_, _, q_end)) => response(query, q_end, RCODE_SERVFAIL, &[]),
        None => error_response(query, RCODE_SERVFAIL),
    })
}

fn serve_tcp(shared: Arc<Shared>, mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).is_err() {
            return;
        }
        let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
        if conn.read_exact(&mut q).is_err() {
            return;
        }
        let r = handle(&shared, &q);
        let mut out = (r.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&r);
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}

/// Upstream resolvers from the host's resolv.conf (the responder runs in the host's
/// network namespace, so loopback resolvers work too).
fn upstreams() -> Vec<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// Options of the responder process.
pub struct ServerOptions {
    pub listen: IpAddr,
    pub records: PathBuf,
    pub pidfile: PathBuf,
    /// Stay in the foreground (for debugging); by default the process forks once the
    /// sockets are bound so that the caller knows it is ready when it exits.
    pub foreground: bool,
}

impl ServerOptions {
    /// Parses `--listen IP --records FILE --pidfile FILE [--foreground]`.
    pub fn from_args(args: impl Iterator<Item = String>) -> Result<ServerOptions, String> {
        let (mut listen, mut records, mut pidfile, mut foreground) = (None, None, None, false);
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            let mut val = || args.next().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--listen" => {
                    let v = val()?;
                    listen = Some(
                        v.parse::<IpAddr>()
                            .map_err(|_| format!("bad --listen {v}"))?,
                    )
                }
                "--records" => records = Some(PathBuf::from(val()?)),
                "--pidfile" => pidfile = Some(PathBuf::from(val()?)),
                "--foreground" => foreground = true,
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(ServerOptions {
            listen: listen.ok_or("--listen is required")?,
            records: records.ok_or("--records is required")?,
            pidfile: pidfile.ok_or("--pidfile is required")?,
            foreground,
        })
    }
}

fn write_pidfile(path: &Path, pid: i32) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Binds, daemonizes (unless foreground) and serves until the records file is removed.
/// Must be called while the process is single-threaded.
pub fn run(opts: ServerOptions) -> std::io::Result<()> {
    let addr = SocketAddr::new(opts.listen, 53);
    let udp = UdpSocket::bind(addr)?;
    let tcp = TcpListener::bind(addr)?;
    if !opts.foreground {
        // SAFETY: the process is single-threaded here (the caller's contract), so the
        // child may run arbitrary code after fork.
        match unsafe { nix::unistd::fork() }.map_err(std::io::Error::from)? {
            nix::unistd::ForkResult::Parent { child } => {
                write_pidfile(&opts.pidfile, child.as_raw())?;
                std::process::exit(0);
            }
            nix::unistd::ForkResult::Child => {
                let _ = nix::unistd::setsid();
                // Let go of the caller's pipes: it waits for them to close.
                let null = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")?;
                nix::unistd::dup2_stdin(&null)?;
                nix::unistd::dup2_stdout(&null)?;
                nix::unistd::dup2_stderr(&null)?;
            }
        }
    } else {
        write_pidfile(&opts.pidfile, std::process::id() as i32)?;
    }
    let shared = Arc::new(Shared {
        records_path: opts.records.clone(),
        records: Mutex::new(Records::default()),
        upstreams: upstreams(),
    });
    shared.refresh();
    {
        let shared = shared.clone();
        std::thread::spawn(move || {
            for conn in tcp.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve_tcp(shared, conn));
            }
        });
    }
    udp.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = vec![0u8; 4096];
    loop {
        match udp.recv_from(&mut buf) {
            Ok((n, from)) => {
                let q = buf[..n].to_vec();
                if let Some(r) = answer_locally(&shared, &q) {
                    let _ = udp.send_to(&r, from);
                    continue;
                }
                let (shared, udp) = (shared.clone(), udp.try_clone()?);
                std::thread::spawn(move || {
                    let r = handle(&shared, &q);
                    let _ = udp.send_to(&r, from);
                });
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if !shared.refresh() {
                    let _ = std::fs::remove_file(&opts.pidfile);
                    return Ok(());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    fn shared(records: &str, dir: &Path) -> Shared {
        let p = dir.join("records");
        std::fs::write(&p, records).unwrap();
        Shared {
            records_path: p,
            records: Mutex::new(Records::default()),
            upstreams: Vec::new(),
        }
    }

    #[test]
    fn answers_known_names_case_insensitively() {
        let dir = std::env::temp_dir().join(format!("berth-dns-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = shared("10.5.0.2 web alias1\n10.5.0.3 db\n", &dir);
        let r = answer_locally(&s, &query("WEB", TYPE_A)).unwrap();
        assert_eq!(&r[0..2], &[0x12, 0x34]);
        assert_eq!(r[3] & 0x0F, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1, "one answer");
        assert_eq!(&r[r.len() - 4..], &[10, 5, 0, 2]);
        let r = answer_locally(&s, &query("alias1", TYPE_AAAA)).unwrap();
        assert_eq!((r[3] & 0x0F, u16::from_be_bytes([r[6], r[7]])), (0, 0));
        let r = answer_locally(&s, &query("nosuch", TYPE_A)).unwrap();
        assert_eq!(r[3] & 0x0F, RCODE_NXDOMAIN);
        assert!(answer_locally(&s, &query("example.org", TYPE_A)).is_none());
        std::fs::write(dir.join("records"), "10.5.0.9 web\n").unwrap();
        // A changed file (different length) is re-read.
        let r = answer_locally(&s, &query("web", TYPE_A)).unwrap();
        assert_eq!(&r[r.len() - 4..], &[10, 5, 0, 9]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_names_are_relayed_upstream() {
        let dir = std::env::temp_dir().join(format!("berth-dns-unit3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A stand-in upstream resolver on loopback that answers every query with 192.0.2.77.
        let up = UdpSocket::bind("127.0.0.1:0").unwrap();
        let up_addr = up.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = up.recv_from(&mut buf).unwrap();
            let (_, _, q_end) = parse_question(&buf[..n]).unwrap();
            let r = response(&buf[..n], q_end, 0, &["192.0.2.77".parse().unwrap()]);
            up.send_to(&r, from).unwrap();
        });
        let mut s = shared("10.5.0.2 web\n", &dir);
        s.upstreams = vec![up_addr];
        let r = handle(&s, &query("host.example.org", TYPE_A));
        t.join().unwrap();
        assert_eq!(&r[0..2], &[0x12, 0x34]);
        assert_eq!(&r[r.len() - 4..], &[192, 0, 2, 77]);
        // No upstream at all: SERVFAIL rather than silence.
        s.upstreams.clear();
        let r = handle(&s, &query("host.example.org", TYPE_A));
        assert_eq!(r[3] & 0x0F, RCODE_SERVFAIL);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_query_is_formerr() {
        let dir = std::env::temp_dir().join(format!("berth-dns-unit2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = shared("", &dir);
        let r = answer_locally(&s, &[1, 2, 3]).unwrap();
        assert_eq!(r[3] & 0x0F, RCODE_FORMERR);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
