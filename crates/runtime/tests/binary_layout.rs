//! The berth-oci binary is linked as build.rs says: RELR relocations, and in optimised
//! builds the lifecycle's functions packed into `.text.hot` (link/hot-text.ld) ahead of
//! the rest of the text. Both only show as peak RSS in bench/runtime; these checks catch
//! the wiring breaking, or the hot-text patterns going stale, in the ordinary test run.

use std::path::Path;

/// One ELF64 section header: name, type, address, offset, size, linked section.
struct Section {
    name: String,
    kind: u32,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn c_str(b: &[u8], at: usize) -> &str {
    let len = b[at..].iter().position(|&c| c == 0).unwrap();
    std::str::from_utf8(&b[at..at + len]).unwrap_or("")
}

/// The section headers of a little-endian ELF64 file.
fn sections(b: &[u8]) -> Vec<Section> {
    assert_eq!(&b[..4], b"\x7fELF", "not ELF");
    assert_eq!((b[4], b[5]), (2, 1), "expected little-endian ELF64");
    let shoff = u64_at(b, 0x28) as usize;
    let shentsize = u16_at(b, 0x3a) as usize;
    let shnum = u16_at(b, 0x3c) as usize;
    let shstrndx = u16_at(b, 0x3e) as usize;
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(b, header(shstrndx) + 0x18) as usize;
    (0..shnum)
        .map(|i| {
            let h = header(i);
            Section {
                name: c_str(b, strtab + u32_at(b, h) as usize).to_owned(),
                kind: u32_at(b, h + 4),
                addr: u64_at(b, h + 0x10),
                offset: u64_at(b, h + 0x18),
                size: u64_at(b, h + 0x20),
                link: u32_at(b, h + 0x28),
            }
        })
        .collect()
}

/// Names of the function symbols in the ELF64 symbol table (empty when stripped).
fn function_names(b: &[u8]) -> Vec<String> {
    const SHT_SYMTAB: u32 = 2;
    const STT_FUNC: u8 = 2;
    let secs = sections(b);
    let Some(symtab) = secs.iter().find(|s| s.kind == SHT_SYMTAB) else {
        return Vec::new();
    };
    let strtab = secs[symtab.link as usize].offset as usize;
    (0..symtab.size as usize / 24)
        .map(|i| symtab.offset as usize + i * 24)
        .filter(|&e| b[e + 4] & 0xf == STT_FUNC)
        .map(|e| c_str(b, strtab + u32_at(b, e) as usize).to_owned())
        .collect()
}

/// A v0 symbol name as bench/runtime/hot-text.sh writes it into a pattern: crate
/// disambiguators and back-references (`Cs<base62>_`, `B<base62>_`) and the
/// instantiating crate at the end become `*`. A symbol matches a pattern if both
/// come out the same.
fn pattern_of(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let tag = if b[i..].starts_with(b"Cs") {
            2
        } else {
            usize::from(b[i] == b'B')
        };
        if tag > 0 {
            let run = b[i + tag..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if b.get(i + tag + run) == Some(&b'_') {
                out.push_str(&name[i..i + tag]);
                out.push_str("*_");
                i += tag + run + 1;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    if let Some(stem) = out.strip_suffix("B*_") {
        return format!("{stem}*");
    }
    // A trailing crate root whose identifier runs exactly to the end.
    if let Some(at) = out.rfind("Cs*_") {
        let tail = &out[at + 4..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(len) = tail[..digits].parse::<usize>() {
            let ident = &tail[digits..];
            let ident = if ident.len() == len + 1 {
                ident.strip_prefix('_').unwrap_or(ident)
            } else {
                ident
            };
            if ident.len() == len && !ident.contains('*') {
                return format!("{}*", &out[..at]);
            }
        }
    }
    out
}

/// The patterns of link/hot-text.ld, without the `.text.` / `.text.unlikely.` prefix.
fn hot_text_patterns() -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-text.ld");
    let text = std::fs::read_to_string(&script).unwrap();
    let mut patterns: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("*("))
        .flat_map(|l| l.trim_end_matches(')').split_whitespace())
        .map(|p| {
            let p = p
                .strip_prefix(".text.")
                .unwrap_or_else(|| panic!("{p}: not .text"));
            p.strip_prefix("unlikely.").unwrap_or(p).to_owned()
        })
        .collect();
    patterns.dedup();
    patterns
}

#[test]
fn berth_oci_is_linked_with_relr_and_in_optimised_builds_hot_text() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_berth-oci")).unwrap();
    let secs = sections(&bin);
    let find = |n: &str| secs.iter().find(|s| s.name == n);
    assert!(
        find(".relr.dyn").is_some(),
        "no .relr.dyn: berth-oci is no longer linked with -z pack-relative-relocs"
    );
    if cfg!(debug_assertions) {
        // build.rs leaves the script out of unoptimised builds (link time).
        assert!(
            find(".text.hot").is_none(),
            "unoptimised build linked with hot-text.ld"
        );
        return;
    }
    let text = find(".text").expect("no .text");
    let hot = find(".text.hot")
        .expect("no .text.hot: crates/runtime/build.rs no longer links with link/hot-text.ld");
    assert!(hot.addr < text.addr, ".text.hot must come before .text");
    assert!(
        hot.size >= 256 * 1024,
        ".text.hot holds only {} bytes: do link/hot-text.ld's patterns still match?",
        hot.size
    );
}

/// The patterns were made from a release build; this test binary's berth-oci is another
/// build (other profile, other metadata, little inlining), so most of the lifecycle's
/// functions exist in it too, under names that differ in every crate disambiguator. If
/// the patterns still name most of them, they survive a change of build metadata; if
/// they are stale (renamed code) or in another mangling (RUSTFLAGS replacing
/// .cargo/config.toml's v0), few match.
#[test]
fn hot_text_patterns_name_functions_of_another_build() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_berth-oci")).unwrap();
    let names = function_names(&bin);
    if names.is_empty() {
        // Only a release build (strip = true) has no symbols to match against.
        if cfg!(debug_assertions) {
            panic!("the debug berth-oci has no symbols");
        }
        return;
    }
    let built: std::collections::HashSet<String> = names.iter().map(|n| pattern_of(n)).collect();
    let patterns = hot_text_patterns();
    let matched = patterns
        .iter()
        .filter(|p| built.contains(p.as_str()))
        .count();
    eprintln!(
        "{matched} of {} hot-text patterns name a function here",
        patterns.len()
    );
    assert!(
        matched * 3 >= patterns.len() * 2,
        "only {matched} of {} hot-text patterns name a function of this build: \
         regenerate link/hot-text.ld with bench/runtime/hot-text.sh",
        patterns.len()
    );
}

#[test]
fn pattern_of_wildcards_metadata_only() {
    assert_eq!(
        pattern_of("_RNvCsabc123XYZ_9berth_oci4main"),
        "_RNvCs*_9berth_oci4main"
    );
    assert_eq!(
        pattern_of(
            "_RNvXs1i_NtCsgEmfK2I1SDS_4core3fmtReNtB6_7Display3fmtCs23QidMtzUK1_10libseccomp"
        ),
        "_RNvXs1i_NtCs*_4core3fmtReNtB*_7Display3fmt*"
    );
    assert_eq!(
        pattern_of("_RINvNtCsX1_3std3foopEB5_"),
        "_RINvNtCs*_3std3foopE*"
    );
    assert_eq!(pattern_of("main"), "main");
}

/// Generated patterns must not carry the parts of a symbol name that change with build
/// metadata, or they silently stop matching after the next dependency or profile change.
#[test]
fn hot_text_patterns_leave_out_metadata_hashes() {
    let patterns = hot_text_patterns();
    assert!(patterns.len() > 100, "only {} patterns", patterns.len());
    for name in patterns {
        // C symbols (main, _start) have no metadata in their names; legacy Rust ones do.
        assert!(
            !name.starts_with("_ZN"),
            "{name}: legacy mangling carries a hash"
        );
        // A crate disambiguator (Cs<base62>_, a 64-bit hash: ~11 base62 digits) must be
        // a wildcard: it changes with the crate's metadata.
        for (at, _) in name.match_indices("Cs") {
            let rest = &name[at + 2..];
            let digits = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let concrete = digits >= 8 && rest[digits..].starts_with('_');
            assert!(!concrete, "{name}: concrete crate disambiguator at {at}");
        }
    }
}
