//! berth-init on the host as a child of the test: exit codes, signal forwarding, zombie
//! reaping (it makes itself a subreaper when not PID 1), and that it is static.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_engine::spec::{install_init, BERTH_INIT};
use berth_testutil::TempDir;

fn init(dir: &TempDir) -> PathBuf {
    install_init(dir.path()).unwrap()
}

/// Spawns `cmd`, retrying while the freshly written binary is "text busy": another test
/// thread's fork can briefly hold a copy of our write descriptor until it execs.
fn spawn(cmd: &mut Command) -> std::process::Child {
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            r => return r.unwrap(),
        }
    }
}

fn status(cmd: &mut Command) -> std::process::ExitStatus {
    spawn(cmd).wait().unwrap()
}

/// Polls `cond` (for up to a minute, a hang guard, not a performance bound).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// Whether an ELF64 image has a PT_INTERP program header (asks for a dynamic loader).
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 3
    })
}

#[test]
fn embedded_binary_is_static() {
    assert_eq!(&BERTH_INIT[..4], b"\x7fELF");
    assert_eq!(BERTH_INIT[4], 2, "ELF64");
    assert!(
        !has_interpreter(BERTH_INIT),
        "berth-init asks for a dynamic loader"
    );
    // And it runs with an empty environment and no library path to find.
    let d = TempDir::new("berth-init-static").unwrap();
    let st = status(
        Command::new(init(&d))
            .args(["--", "/bin/busybox", "true"])
            .env_clear(),
    );
    assert!(st.success());
}

#[test]
fn install_is_idempotent() {
    let d = TempDir::new("berth-init-install").unwrap();
    let a = install_init(d.path()).unwrap();
    let b = install_init(d.path()).unwrap();
    assert_eq!(a, b);
    assert_eq!(std::fs::read(&a).unwrap(), BERTH_INIT);
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
}

#[test]
fn exit_status_and_death_by_signal() {
    let d = TempDir::new("berth-init-exit").unwrap();
    let i = init(&d);
    let code = |args: &[&str]| status(Command::new(&i).args(args)).code();
    assert_eq!(code(&["--", "sh", "-c", "exit 3"]), Some(3));
    assert_eq!(code(&["true"]), Some(0));
    assert_eq!(code(&["--", "sh", "-c", "kill -9 $$"]), Some(137));
    assert_eq!(code(&["--", "/nonexistent/berth-cmd"]), Some(127));
    assert_eq!(code(&[]), Some(2));
}

#[test]
fn forwards_sigterm_and_sigusr1() {
    let d = TempDir::new("berth-init-signals").unwrap();
    let i = init(&d);
    let ready = d.path().join("ready");
    let script = format!(
        "trap 'exit 42' TERM; trap 'echo usr1 > {}/got-usr1' USR1; touch {}; while :; do sleep 0.05; done",
        d.path().display(),
        ready.display()
    );
    let mut child = spawn(Command::new(&i).args(["--", "sh", "-c", &script]));
    wait_for("trap set", || ready.exists());
    kill(child.id(), libc::SIGUSR1);
    wait_for("USR1 handled", || d.path().join("got-usr1").exists());
    kill(child.id(), libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(42));
}

fn gone(pid: &str) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn ppid(pid: &str) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn reaps_orphaned_grandchildren() {
    let d = TempDir::new("berth-init-reap").unwrap();
    let i = init(&d);
    let pidfile = d.path().join("orphan.pid");
    let go = d.path().join("go");
    // The subshell exits at once, orphaning the inner sh, which records its pid, waits for
    // the test's go-ahead and exits.
    let script = format!(
        "(sh -c 'echo $$ > {p}.tmp; mv {p}.tmp {p}; while [ ! -e {g} ]; do sleep 0.05; done' &); \
         while :; do sleep 0.05; done",
        p = pidfile.display(),
        g = go.display()
    );
    let mut child = spawn(
        Command::new(&i)
            .args(["--", "sh", "-c", &script])
            .stdout(Stdio::null()),
    );
    wait_for("orphan pid", || pidfile.exists());
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    // berth-init (a subreaper outside a PID namespace) adopts the orphan...
    wait_for("orphan adopted by berth-init", || {
        ppid(&pid) == Some(child.id())
    });
    std::fs::write(&go, "").unwrap();
    // ...and reaps it while the main command is still running.
    wait_for("orphan reaped", || gone(&pid));
    assert!(
        child.try_wait().unwrap().is_none(),
        "main command still runs"
    );
    kill(child.id(), libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(143));
}
