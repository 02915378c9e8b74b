//! Link options for the `berth-oci` binary only.
//!
//! `-z pack-relative-relocs` (DT_RELR): the position-independent binary has ~8000
//! relative relocations; as RELA entries that is a 197 KiB `.rela.dyn` the loader reads
//! in full at every start (resident pages of each `berth-oci` process). Packed as RELR
//! it is under 3 KiB. Needs glibc >= 2.36 at run time (the loader checks the
//! GLIBC_ABI_DT_RELR version) and binutils >= 2.38 or lld to link.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=berth-oci=-Wl,-z,pack-relative-relocs");
    }
}
