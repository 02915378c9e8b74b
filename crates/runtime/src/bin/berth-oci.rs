//! `berth-oci`: the OCI runtime behind runc's command line.
fn main() {
    eprintln!("berth-oci: not implemented yet");
    std::process::exit(1);
}
