//! Link options for the `berth-oci` binary only.
//!
//! `-z pack-relative-relocs` (DT_RELR): the position-independent binary has ~8000
//! relative relocations; as RELA entries that is a 197 KiB `.rela.dyn` the loader reads
//! in full at every start (resident pages of each `berth-oci` process). Packed as RELR
//! it is under 3 KiB. Needs glibc >= 2.36 at run time (the loader checks the
//! GLIBC_ABI_DT_RELR version) and binutils >= 2.38 or lld to link.
//!
//! `link/hot-text.ld` (made by bench/runtime/hot-text.sh): the functions a container's
//! lifecycle runs, packed at the start of the text. The kernel maps a binary's file pages
//! in 64 KiB windows around each fault, so ~0.7 MiB of code scattered over 2.5 MiB of
//! text made nearly every window resident; packed, peak RSS falls by ~1 MiB. Its patterns
//! are v0 symbol names (.cargo/config.toml) with the metadata-dependent parts wildcarded,
//! so other build metadata still matches; a pattern that matches nothing costs nothing.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let hot_text = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-text.ld");
    println!("cargo:rerun-if-changed={}", hot_text.display());
    println!("cargo:rerun-if-env-changed=BERTH_OCI_LINK_MAP");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=berth-oci=-Wl,-z,pack-relative-relocs");
        // Optimised builds only: its ~1300 glob patterns against the ~10^5 sections of an
        // unoptimised build take the linker ~50 s, and there the layout buys nothing.
        if std::env::var("OPT_LEVEL").is_ok_and(|o| o != "0") {
            println!(
                "cargo:rustc-link-arg-bin=berth-oci=-Wl,-T,{}",
                hot_text.display()
            );
        }
        // bench/runtime/hot-text.sh reads where each function landed from a link map.
        // Asked for here rather than through RUSTFLAGS, which would replace the v0
        // mangling flag and change every crate's build.
        if let Some(map) = std::env::var_os("BERTH_OCI_LINK_MAP") {
            println!(
                "cargo:rustc-link-arg-bin=berth-oci=-Wl,-Map={}",
                std::path::Path::new(&map).display()
            );
        }
    }
}
