//! Random container names in Docker's style: `adjective_surname`.

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
    "eager", "early", "fancy", "fierce", "gentle", "glad", "golden", "happy", "humble", "jolly",
    "keen", "kind", "lively", "lucid", "lucky", "mellow", "merry", "mighty", "nimble", "noble",
    "patient", "polite", "proud", "quick", "quiet", "rapid", "serene", "sharp", "shiny", "silent",
    "sleepy", "smart", "snappy", "steady", "sunny", "swift", "tender", "tidy", "upbeat", "vivid",
    "warm", "wise", "witty", "zealous",
];

/// Scientists and engineers.
const SURNAMES: &[&str] = &[
    "agnesi",
    "babbage",
    "banach",
    "bohr",
    "boole",
    "cantor",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hawking",
    "hilbert",
    "hopper",
    "hypatia",
    "kepler",
    "knuth",
    "lamarr",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "pascal",
    "pasteur",
    "planck",
    "ramanujan",
    "riemann",
    "ritchie",
    "shannon",
    "sinoussi",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wiles",
    "wozniak",
    "yalow",
    "zuse",
];

/// A random `adjective_surname`; after `attempt` collisions a number is appended.
pub fn random_name(attempt: u32) -> String {
    let r = random_u64();
    let a = ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize];
    let s = SURNAMES[((r >> 20) % SURNAMES.len() as u64) as usize];
    if attempt == 0 {
        format!("{a}_{s}")
    } else {
        format!("{a}_{s}{}", (r >> 40) % 100)
    }
}

/// A new container id: 32 random bytes as 64 lowercase hex digits.
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    fill_random(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    fill_random(&mut b);
    u64::from_le_bytes(b)
}

fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if ok.is_err() {
        // No /dev/urandom: time and pid still make collisions very unlikely.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64
            ^ ((std::process::id() as u64) << 32);
        let mut x = seed | 1;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphanumeric())
        && name.len() >= 2
        && c.all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, new_id());
        assert!(random_name(0).contains('_'));
        assert!(valid_name("web-1"));
        assert!(!valid_name("-web"));
        assert!(!valid_name("a"));
        assert!(!valid_name("we b"));
    }
}
