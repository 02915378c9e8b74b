//! Real networking: CNI plugins, network namespaces, iptables, the DNS responder.
//! Every test uses its own network (unique name, own /24 under 10.213.0.0/16) and cleans
//! up through Drop guards, even when an assertion fails.

use berth_engine::network::{
    parse_publish, AttachRequest, NetworkCreateOptions, NetworkError, NetworkManager, NetworkMode,
    NetworkSetup,
};
use berth_testutil::{is_root, unique_name, TempDir};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Env {
    _root: TempDir,
    nm: NetworkManager,
    containers: std::cell::RefCell<Vec<String>>,
    networks: std::cell::RefCell<Vec<String>>,
}

impl Env {
    fn new() -> Env {
        let root = TempDir::new("berth-net-test").unwrap();
        let nm = NetworkManager::open(root.path())
            .unwrap()
            .with_dns_binary(Path::new(env!("CARGO_BIN_EXE_berth-dns")));
        Env {
            _root: root,
            nm,
            containers: Default::default(),
            networks: Default::default(),
        }
    }

    fn network(&self, subnet: &str) -> String {
        let name = unique_name("bnt");
        let opts = NetworkCreateOptions {
            subnet: Some(subnet.to_string()),
            ..Default::default()
        };
        self.nm.create(&name, &opts).unwrap();
        self.networks.borrow_mut().push(name.clone());
        name
    }

    fn request(&self, name: &str, mode: NetworkMode) -> AttachRequest {
        let mut raw = [0u8; 32];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut raw)
            .unwrap();
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let mut r = AttachRequest::new(&id, name, mode);
        r.hostname = name.to_string();
        r
    }

    fn setup(&self, req: &AttachRequest) -> Result<NetworkSetup, NetworkError> {
        self.containers.borrow_mut().push(req.container_id.clone());
        self.nm.setup(req)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in self.containers.borrow().iter() {
            let _ = self.nm.teardown(c);
        }
        for n in self.networks.borrow().iter() {
            let _ = self.nm.remove(n);
        }
    }
}

/// A process running in a network namespace, killed on drop.
struct NsProcess(Child);

impl Drop for NsProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_netns(netns: &Path, args: &[&str]) -> std::process::Output {
    Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(args)
        .output()
        .unwrap()
}

fn bridge_ports(bridge: &str) -> usize {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn iptables_lines_mentioning(needles: &[String]) -> Vec<String> {
    let out = Command::new("iptables-save").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n.as_str())))
        .map(str::to_string)
        .collect()
}

fn nslookup(netns: &Path, name: &str, server: &str) -> (bool, String) {
    let out = in_netns(netns, &["busybox", "nslookup", "-type=a", name, server]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// An A query over TCP; returns the first address of the answer.
fn dns_tcp_query(name: &str, server: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut q = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut conn = std::net::TcpStream::connect((server, 53)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut msg = (q.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(&q);
    conn.write_all(&msg).unwrap();
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).unwrap();
    let mut r = vec![0u8; u16::from_be_bytes(len) as usize];
    conn.read_exact(&mut r).unwrap();
    assert_eq!(&r[0..2], &[0xAB, 0xCD]);
    let answers = u16::from_be_bytes([r[6], r[7]]);
    if answers == 0 {
        return None;
    }
    let ip = &r[r.len() - 4..];
    Some(format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]))
}

#[test]
fn containers_resolve_each_other_by_name_alias_and_short_id() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.21.0/24");
    let mut a = env.request(&unique_name("web"), NetworkMode::Named(net.clone()));
    a.aliases = vec!["webalias".into()];
    let sa = env.setup(&a).unwrap();
    let b = env.request(&unique_name("client"), NetworkMode::Named(net.clone()));
    let sb = env.setup(&b).unwrap();
    let a_ip = sa.attachments[0].ip.to_string();
    assert!(a_ip.starts_with("10.213.21."), "{a_ip}");
    assert!(
        sb.resolv_conf.contains("nameserver 10.213.21.1\n"),
        "{}",
        sb.resolv_conf
    );
    let netns_b = sb.netns_path.clone().unwrap();
    for name in [
        a.container_name.clone(),
        "webalias".into(),
        a.container_id[..12].to_string(),
    ] {
        let (ok, text) = nslookup(&netns_b, &name, "10.213.21.1");
        assert!(ok, "lookup of {name} failed: {text}");
        assert!(text.contains(&format!("Address: {a_ip}")), "{name}: {text}");
    }
    let (ok, text) = nslookup(&netns_b, "nosuchcontainer", "10.213.21.1");
    assert!(!ok || !text.contains("Address: 10.213.21."), "{text}");
    // The other direction, over TCP-less UDP as resolvers do, and reachability.
    let (ok, text) = nslookup(
        sa.netns_path.as_ref().unwrap(),
        &b.container_name,
        "10.213.21.1",
    );
    assert!(
        ok && text.contains(&format!("Address: {}", sb.attachments[0].ip)),
        "{text}"
    );
    let ping = in_netns(&netns_b, &["busybox", "ping", "-c", "1", "-W", "5", &a_ip]);
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );

    // Over TCP too (from the host, where the responder listens on the gateway address).
    assert_eq!(
        dns_tcp_query(&a.container_name, "10.213.21.1"),
        Some(a_ip.clone())
    );
    assert_eq!(dns_tcp_query("nosuchcontainer", "10.213.21.1"), None);

    // The responder stops with the last container.
    let rec = env.nm.inspect(&net).unwrap();
    assert_eq!(rec.containers.len(), 2);
    env.nm.teardown(&a.container_id).unwrap();
    let (ok, text) = nslookup(&netns_b, &a.container_name, "10.213.21.1");
    assert!(
        !ok || !text.contains(&a_ip),
        "removed name still resolves: {text}"
    );
    env.nm.teardown(&b.container_id).unwrap();
    let (ok, _) = nslookup(&sa.netns_path.clone().unwrap(), "x", "10.213.21.1");
    assert!(!ok);
    let ss = Command::new("ss").args(["-lnu"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ss.stdout).contains("10.213.21.1:53"),
        "DNS responder still listening"
    );
}

#[test]
fn published_port_serves_http_to_the_host_and_teardown_leaves_nothing() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.22.0/24");
    let bridge = env.nm.inspect(&net).unwrap().bridge;
    let mut req = env.request(&unique_name("httpd"), NetworkMode::Named(net.clone()));
    req.ports = parse_publish("0:80").unwrap();
    let setup = env.setup(&req).unwrap();
    let hp = setup.ports[0].host_port;
    assert!(hp != 0);
    let netns = setup.netns_path.clone().unwrap();
    let www = TempDir::new("berth-www").unwrap();
    std::fs::write(www.path().join("index.html"), "hello from berth test\n").unwrap();
    let _httpd = NsProcess(
        Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["busybox", "httpd", "-f", "-p", "80", "-h"])
            .arg(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let get = |host: &str| {
        Command::new("curl")
            .args(["-s", "--max-time", "5", &format!("http://{host}:{hp}/")])
            .output()
            .unwrap()
    };
    // Wait until httpd listens (readiness, not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut body = String::new();
    while Instant::now() < deadline {
        body = String::from_utf8_lossy(&get("127.0.0.1").stdout).to_string();
        if body.contains("hello") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(body, "hello from berth test\n", "via 127.0.0.1:{hp}");
    let body = String::from_utf8_lossy(&get("10.213.22.1").stdout).to_string();
    assert_eq!(body, "hello from berth test\n", "via the bridge address");

    // The same host port for another container: Docker's error, nothing half-created.
    let mut other = env.request(&unique_name("dup"), NetworkMode::Named(net.clone()));
    other.ports = parse_publish(&format!("{hp}:8080")).unwrap();
    let err = env.setup(&other).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("Bind for 0.0.0.0:{hp} failed: port is already allocated")
    );
    assert!(!berth_engine::network::netns_path(&other.container_id).exists());
    assert_eq!(env.nm.inspect(&net).unwrap().containers.len(), 1);
    assert_eq!(bridge_ports(&bridge), 1);

    let ip = format!("{}/32", setup.attachments[0].ip);
    let needles = vec![req.container_id.clone(), ip];
    assert!(!iptables_lines_mentioning(&needles).is_empty());
    env.nm.teardown(&req.container_id).unwrap();
    assert_eq!(iptables_lines_mentioning(&needles), Vec::<String>::new());
    assert_eq!(bridge_ports(&bridge), 0, "veth left on {bridge}");
    assert!(!netns.exists());
    assert!(env.nm.ports(&req.container_id).unwrap().is_empty());
    // Idempotent.
    env.nm.teardown(&req.container_id).unwrap();
}

#[test]
fn network_rm_refuses_while_containers_are_attached() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.23.0/24");
    let rec = env.nm.inspect(&net).unwrap();
    let req = env.request(&unique_name("c"), NetworkMode::Named(net.clone()));
    env.setup(&req).unwrap();
    let err = env.nm.remove(&net).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "error while removing network: network {net} id {} has active endpoints",
            rec.id
        )
    );
    assert_eq!(env.nm.prune().unwrap(), Vec::<String>::new());
    env.nm.teardown(&req.container_id).unwrap();
    assert!(Path::new("/sys/class/net").join(&rec.bridge).exists());
    let rules = vec![format!("berth:{}", rec.bridge)];
    assert_eq!(
        iptables_lines_mentioning(&rules).len(),
        3,
        "per-network masquerade and forward rules"
    );
    env.nm.remove(&net).unwrap();
    assert!(!Path::new("/sys/class/net").join(&rec.bridge).exists());
    assert_eq!(iptables_lines_mentioning(&rules), Vec::<String>::new());
    assert!(matches!(
        env.nm.inspect(&net),
        Err(NetworkError::NotFound(_))
    ));
}

#[test]
fn none_mode_has_only_loopback_up() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let req = env.request(&unique_name("none"), NetworkMode::None);
    let s = env.setup(&req).unwrap();
    let netns = s.netns_path.clone().unwrap();
    assert!(s.attachments.is_empty());
    let out = in_netns(&netns, &["ip", "-o", "link"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("lo:") && text.contains("UP"), "{text}");
    env.nm.teardown(&req.container_id).unwrap();
    assert!(!netns.exists());
}

#[test]
fn connect_and_disconnect_a_second_network() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let n1 = env.network("10.213.24.0/24");
    let n2 = env.network("10.213.25.0/24");
    let mut req = env.request(&unique_name("multi"), NetworkMode::Named(n1.clone()));
    req.ip = Some("10.213.24.77".parse().unwrap());
    req.mac = Some("02:42:0a:d5:18:4d".into());
    let s = env.setup(&req).unwrap();
    assert_eq!(s.attachments[0].ip.to_string(), "10.213.24.77");
    assert_eq!(s.attachments[0].mac, "02:42:0a:d5:18:4d");
    let netns = s.netns_path.clone().unwrap();
    let out = in_netns(&netns, &["ip", "-o", "link", "show", "eth0"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("02:42:0a:d5:18:4d"));
    let a = env
        .nm
        .connect(&n2, &req.container_id, &["second".into()])
        .unwrap();
    assert_eq!(a.interface, "eth1");
    assert!(a.ip.to_string().starts_with("10.213.25."));
    let out = in_netns(&netns, &["ip", "-o", "-4", "addr"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&a.ip.to_string()));
    let err = env.nm.connect(&n2, &req.container_id, &[]).unwrap_err();
    assert!(
        matches!(err, NetworkError::AlreadyConnected { .. }),
        "{err}"
    );
    assert_eq!(env.nm.inspect(&n2).unwrap().containers.len(), 1);
    env.nm.disconnect(&n2, &req.container_id, false).unwrap();
    let out = in_netns(&netns, &["ip", "-o", "link"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("eth1"));
    assert!(env.nm.inspect(&n2).unwrap().containers.is_empty());
    assert!(env.nm.disconnect(&n2, &req.container_id, false).is_err());
    env.nm.disconnect(&n2, &req.container_id, true).unwrap();
}

#[test]
fn create_validates_and_lists_predefined_networks() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let names: Vec<String> = env.nm.list().unwrap().into_iter().map(|n| n.name).collect();
    for p in ["bridge", "host", "none"] {
        assert!(names.contains(&p.to_string()), "{names:?}");
    }
    assert!(matches!(
        env.nm.remove("bridge"),
        Err(NetworkError::Predefined(_))
    ));
    let net = env.network("10.213.26.0/24");
    let dup = env
        .nm
        .create(&net, &NetworkCreateOptions::default())
        .unwrap_err();
    assert_eq!(
        dup.to_string(),
        format!("network with name {net} already exists")
    );
    let overlap = NetworkCreateOptions {
        subnet: Some("10.213.26.128/25".into()),
        ..Default::default()
    };
    let e = env.nm.create(&unique_name("ov"), &overlap).unwrap_err();
    assert!(matches!(e, NetworkError::PoolOverlap(_)), "{e}");
    let badgw = NetworkCreateOptions {
        subnet: Some("10.213.27.0/24".into()),
        gateway: Some("10.213.28.1".into()),
        ..Default::default()
    };
    assert!(env.nm.create(&unique_name("gw"), &badgw).is_err());
    let internal = NetworkCreateOptions {
        subnet: Some("10.213.27.0/24".into()),
        gateway: Some("10.213.27.254".into()),
        ip_range: Some("10.213.27.128/25".into()),
        internal: true,
        labels: vec![("k".into(), "v".into())],
        ..Default::default()
    };
    let name = unique_name("int");
    let rec = env.nm.create(&name, &internal).unwrap();
    env.networks.borrow_mut().push(name.clone());
    assert_eq!(
        (rec.gateway.as_str(), rec.internal),
        ("10.213.27.254", true)
    );
    assert_eq!(rec.labels.get("k").map(String::as_str), Some("v"));
    let by_prefix = env.nm.inspect(&rec.id[..10]).unwrap();
    assert_eq!(by_prefix.name, name);
    let req = env.request(&unique_name("in"), NetworkMode::Named(name.clone()));
    let s = env.setup(&req).unwrap();
    let ip: std::net::Ipv4Addr = s.attachments[0].ip.to_string().parse().unwrap();
    assert!(ip.octets()[3] >= 128, "{ip} outside --ip-range");
    env.nm.teardown(&req.container_id).unwrap();
    let pruned = env.nm.prune().unwrap();
    assert!(
        pruned.contains(&name) && pruned.contains(&net),
        "{pruned:?}"
    );
}

#[test]
fn default_bridge_uses_berth0_and_the_hosts_resolvers() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let bridge = env.nm.inspect("bridge").unwrap();
    assert_eq!(bridge.bridge, "berth0");
    let req = env.request(&unique_name("dflt"), NetworkMode::Default);
    let s = env.setup(&req).unwrap();
    assert_eq!(s.attachments[0].network, "bridge");
    assert_eq!(
        s.attachments[0].gateway.map(|g| g.to_string()),
        Some(bridge.gateway.clone())
    );
    // No name resolution on the default network: the host's resolvers, minus loopback ones.
    assert!(
        !s.resolv_conf.contains(&bridge.gateway),
        "{}",
        s.resolv_conf
    );
    for line in s
        .resolv_conf
        .lines()
        .filter(|l| l.starts_with("nameserver"))
    {
        assert!(!line.contains(" 127."), "{line}");
    }
    assert!(s
        .hosts
        .contains(&format!("{}\t{}", s.attachments[0].ip, req.hostname)));
    // A second data root sees the same berth0 address (the bridge is host-wide).
    let other = TempDir::new("berth-net-test2").unwrap();
    let nm2 = NetworkManager::open(other.path()).unwrap();
    assert_eq!(nm2.inspect("bridge").unwrap().subnet, bridge.subnet);
    env.nm.teardown(&req.container_id).unwrap();
    let mut fixed = env.request(&unique_name("fixed"), NetworkMode::Default);
    fixed.ip = Some("172.17.9.9".parse().unwrap());
    let e = env.setup(&fixed).unwrap_err().to_string();
    assert!(e.contains("supported on user defined networks only"), "{e}");
    assert!(!berth_engine::network::netns_path(&fixed.container_id).exists());
}

#[test]
fn publish_all_picks_host_ports_for_exposed_ports() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.28.0/24");
    let mut req = env.request(&unique_name("pall"), NetworkMode::Named(net));
    req.publish_all = true;
    req.exposed_ports = vec![(80, "tcp".into()), (53, "udp".into())];
    req.ports = parse_publish("127.0.0.1::8080").unwrap();
    let s = env.setup(&req).unwrap();
    assert_eq!(s.ports.len(), 3, "{:?}", s.ports);
    for p in &s.ports {
        assert!(p.host_port != 0, "{p:?}");
    }
    assert!(s
        .ports
        .iter()
        .any(|p| p.container_port == 53 && p.protocol == "udp"));
    assert_eq!(env.nm.ports(&req.container_id).unwrap().len(), 3);
    env.nm.teardown(&req.container_id).unwrap();
    assert!(env.nm.ports(&req.container_id).unwrap().is_empty());
    assert_eq!(
        iptables_lines_mentioning(&[req.container_id.clone()]),
        Vec::<String>::new()
    );
}

#[test]
fn parallel_setups_on_one_network_get_distinct_addresses_and_one_responder() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.29.0/24");
    let reqs: Vec<AttachRequest> = (0..6)
        .map(|_| env.request(&unique_name("par"), NetworkMode::Named(net.clone())))
        .collect();
    for r in &reqs {
        env.containers.borrow_mut().push(r.container_id.clone());
    }
    let root = env._root.path().to_path_buf();
    // One manager per thread, as separate `berth` processes would have.
    let setups: Vec<NetworkSetup> = std::thread::scope(|s| {
        let handles: Vec<_> = reqs
            .iter()
            .map(|r| {
                let root = root.clone();
                s.spawn(move || {
                    NetworkManager::open(&root)
                        .unwrap()
                        .with_dns_binary(Path::new(env!("CARGO_BIN_EXE_berth-dns")))
                        .setup(r)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ips: Vec<String> = setups
        .iter()
        .map(|s| s.attachments[0].ip.to_string())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), reqs.len(), "{ips:?}");
    let pids = Command::new("pgrep")
        .args(["-f", "berth-dns --listen 10.213.29.1 "])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pids.stdout).lines().count(), 1);
    let last = &reqs[reqs.len() - 1];
    let (ok, text) = nslookup(
        setups[0].netns_path.as_ref().unwrap(),
        &last.container_name,
        "10.213.29.1",
    );
    assert!(
        ok && text.contains(&setups[reqs.len() - 1].attachments[0].ip.to_string()),
        "{text}"
    );
    std::thread::scope(|s| {
        for r in &reqs {
            let root = root.clone();
            s.spawn(move || {
                NetworkManager::open(&root)
                    .unwrap()
                    .teardown(&r.container_id)
                    .unwrap()
            });
        }
    });
    assert!(env.nm.inspect(&net).unwrap().containers.is_empty());
    let pids = Command::new("pgrep")
        .args(["-f", "berth-dns --listen 10.213.29.1 "])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pids.stdout).trim(), "");
}

#[test]
fn reconcile_tears_down_containers_that_are_not_running() {
    if !is_root() {
        return;
    }
    let env = Env::new();
    let net = env.network("10.213.30.0/24");
    let keep = env.request(&unique_name("keep"), NetworkMode::Named(net.clone()));
    let stale = env.request(&unique_name("stale"), NetworkMode::Named(net.clone()));
    env.setup(&keep).unwrap();
    let ss = env.setup(&stale).unwrap();
    // A second setup without teardown (a restart after a crash) starts clean.
    let sk = env.setup(&keep).unwrap();
    assert_eq!(env.nm.attachments(&keep.container_id).unwrap().len(), 1);
    let cleaned = env.nm.reconcile(&|id| id == keep.container_id).unwrap();
    assert_eq!(cleaned, vec![stale.container_id.clone()]);
    assert!(!ss.netns_path.unwrap().exists());
    assert!(sk.netns_path.unwrap().exists());
    let rec = env.nm.inspect(&net).unwrap();
    assert_eq!(
        rec.containers.keys().cloned().collect::<Vec<_>>(),
        vec![keep.container_id.clone()]
    );
}
