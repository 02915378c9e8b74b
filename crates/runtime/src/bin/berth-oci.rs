//! `berth-oci`: the OCI runtime behind runc's command line.
fn main() {
    std::process::exit(berth_runtime::cli::main());
}
