//! `berth-dns`: the DNS responder of one user-defined Berth network.
//! Started on demand by the engine; see berth_engine::network::dns_server.

fn main() {
    let opts =
        match berth_engine::network::dns_server::ServerOptions::from_args(std::env::args().skip(1))
        {
            Ok(o) => o,
            Err(e) => {
                eprintln!("berth-dns: {e}");
                std::process::exit(2);
            }
        };
    if let Err(e) = berth_engine::network::dns_server::run(opts) {
        eprintln!("berth-dns: {e}");
        std::process::exit(1);
    }
}
