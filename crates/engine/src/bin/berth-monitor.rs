//! `berth-monitor [--attach] [--sync-fd N] CONTAINER_DIR`: supervises one container.
//! Started by `berth start`/`run`; see berth_engine::monitor.

use std::path::PathBuf;

fn main() {
    let mut attach = false;
    let mut sync_fd = None;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--attach" => attach = true,
            "--sync-fd" => sync_fd = args.next().and_then(|s| s.parse::<i32>().ok()),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: berth-monitor [--attach] [--sync-fd N] CONTAINER_DIR");
        std::process::exit(2);
    };
    let sync_fd = match sync_fd.map(berth_engine::monitor::adopt_fd) {
        Some(Ok(fd)) => {
            // Never let the sync pipe reach the runtime or the container.
            let _ = nix::fcntl::fcntl(
                &fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            Some(fd)
        }
        Some(Err(e)) => {
            eprintln!("berth-monitor: --sync-fd: {e}");
            std::process::exit(2);
        }
        None => None,
    };
    if !attach {
        // Detached: own session, stdio away from whoever started us; our own messages
        // go to the container directory.
        let _ = nix::unistd::setsid();
        if let Ok(null) = std::fs::File::open("/dev/null") {
            let _ = nix::unistd::dup2_stdin(&null);
            let _ = nix::unistd::dup2_stdout(&null);
        }
        if let Ok(log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("monitor.log"))
        {
            let _ = nix::unistd::dup2_stderr(&log);
        }
    }
    let code = berth_engine::monitor::run(berth_engine::monitor::MonitorArgs {
        dir,
        attach,
        sync_fd,
    });
    std::process::exit(code);
}
