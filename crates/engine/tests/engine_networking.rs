//! Containers on a user-defined network: a published port answers an HTTP request from
//! the host, containers resolve each other by name, the CNI firewall plugin admits their
//! traffic, and rm releases the namespace and the rules.

mod engine_support;

use berth_testutil::unique_name;
use engine_support::Env;

#[test]
fn published_port_and_dns_on_a_user_network() {
    let Some(env) = Env::new() else { return };
    let net = unique_name("bnet");
    let web = unique_name("web");
    env.ok(&[
        "network",
        "create",
        "-o",
        "com.berth.network.firewall=iptables",
        &net,
    ]);
    env.ok(&[
        "run",
        "-d",
        "--network",
        &net,
        "--name",
        &web,
        "-p",
        "80",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo hello from busybox httpd > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let port = env.ok(&["port", &web, "80"]);
    let host_port = port.trim().rsplit(':').next().unwrap().to_string();
    assert!(host_port.parse::<u16>().is_ok(), "{port}");
    let addr = format!("127.0.0.1:{host_port}");
    let mut body = String::new();
    env.wait_for(10, "httpd answering through the published port", || {
        let o = std::process::Command::new("curl")
            .args(["-s", "-m", "2", &format!("http://{addr}/")])
            .output()
            .unwrap();
        body = String::from_utf8_lossy(&o.stdout).into_owned();
        body == "hello from busybox httpd\n"
    });
    let ip = env.inspect(
        &web,
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    );
    assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
    // The CNI firewall plugin accepts the container's forwarded traffic while it runs.
    let forward_rules = || {
        let o = std::process::Command::new("iptables")
            .args(["-S", "CNI-FORWARD"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let accept = format!("-A CNI-FORWARD -s {ip}/32 -j ACCEPT");
    assert!(forward_rules().contains(&accept), "{}", forward_rules());
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "sh",
        "-c",
        &format!("wget -q -O - http://{web}/"),
    ]);
    assert_eq!(out, "hello from busybox httpd\n");
    env.ok(&["rm", "-f", &web]);
    assert!(!forward_rules().contains(&accept), "{}", forward_rules());
    env.ok(&["network", "rm", &net]);
    assert!(!std::path::Path::new(&format!("/run/berth/netns/{web}")).exists());
}
