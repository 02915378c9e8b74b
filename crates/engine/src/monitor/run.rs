//! The monitor's life: create and start the container through the runtime, hold its
//! stdio (pipes or a pty master), write its logs, reap it (as child subreaper), record the
//! exit, run health checks, restart it by policy, and clean up at the end.

use super::config::{next_backoff, MonitorConfig, STOP_MARKER};
use super::health::HealthState;
use super::sys;
use crate::logs::{JsonFileWriter, Stream};
use crate::state::status::{self, now_rfc3339, LiveState, Status};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How the monitor was started.
pub struct MonitorArgs {
    pub dir: PathBuf,
    /// Foreground `berth run`: also copy the container's output to our stdout/stderr,
    /// our stdin to it, and forward signals.
    pub attach: bool,
    /// Descriptor to report "ok" or the start error on, then close.
    pub sync_fd: Option<OwnedFd>,
}

/// The container's stdio as the monitor holds it.
enum Io {
    Pipes {
        stdout: Option<File>,
        stderr: Option<File>,
        stdin: Option<File>,
    },
    Pty {
        master: Option<File>,
    },
}

/// A started container.
struct Running {
    pid: Pid,
    io: Io,
    started: Instant,
}

/// Start failure: message and Docker's exit code for it.
struct StartError {
    msg: String,
    code: i32,
}

/// Runs the monitor to the end; returns the container's last exit code.
pub fn run(args: MonitorArgs) -> i32 {
    let dir = args.dir.clone();
    let cfg: MonitorConfig = match std::fs::read(dir.join(super::config::MONITOR_CONFIG_FILE))
        .map_err(|e| e.to_string())
        .and_then(|d| serde_json::from_slice(&d).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            report(args.sync_fd, &format!("err 125 monitor config: {e}"));
            return 125;
        }
    };
    if let Err(e) = std::env::set_current_dir(&dir) {
        report(
            args.sync_fd,
            &format!("err 125 chdir {}: {e}", dir.display()),
        );
        return 125;
    }
    let mut m = Monitor {
        cfg,
        dir,
        attach: args.attach,
        sync: args.sync_fd,
        state: status::read(&args.dir).unwrap_or_else(|_| LiveState::new_created()),
        stdin_tty: None,
        // Without the socket the container still runs; only `attach` is refused.
        attach_server: super::attach::AttachServer::bind().ok(),
    };
    m.main()
}

fn report(fd: Option<OwnedFd>, msg: &str) {
    if let Some(fd) = fd {
        let mut f = File::from(fd);
        let _ = f.write_all(msg.as_bytes());
    }
}

struct Monitor {
    cfg: MonitorConfig,
    dir: PathBuf,
    attach: bool,
    sync: Option<OwnedFd>,
    state: LiveState,
    /// Our terminal's settings before raw mode, restored at the end.
    stdin_tty: Option<nix::sys::termios::Termios>,
    /// `berth attach` clients.
    attach_server: Option<super::attach::AttachServer>,
}

impl Monitor {
    fn main(&mut self) -> i32 {
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGQUIT,
            Signal::SIGWINCH,
        ] {
            mask.add(s);
        }
        let _ = mask.thread_block();
        let sigfd =
            match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
                Ok(f) => f,
                Err(e) => {
                    return self.fail_start(StartError {
                        msg: format!("signalfd: {e}"),
                        code: 125,
                    })
                }
            };
        let mut writer = match JsonFileWriter::open(
            &self.cfg.log_path,
            self.cfg.log_max_size,
            self.cfg.log_max_file,
        ) {
            Ok(w) => w,
            Err(e) => {
                return self.fail_start(StartError {
                    msg: format!("open log {}: {e}", self.cfg.log_path.display()),
                    code: 125,
                })
            }
        };
        self.state.monitor_pid = std::process::id() as i32;
        self.state.monitor_start_time =
            status::process_start_time(self.state.monitor_pid).unwrap_or(0);
        let mut backoff = Duration::ZERO;
        let mut first = true;
        loop {
            let running = match self.start_container() {
                Ok(r) => r,
                Err(e) => {
                    if first {
                        return self.fail_start(e);
                    }
                    self.state.error = e.msg;
                    self.state.exit_code = e.code;
                    break;
                }
            };
            self.state.status = Status::Running;
            self.state.pid = running.pid.as_raw();
            self.state.started_at = now_rfc3339();
            self.state.error.clear();
            self.state.oom_killed = false;
            let mut health = self.cfg.health.clone().map(HealthState::new);
            self.state.health = health.as_ref().map(|h| h.snapshot());
            self.save();
            if first {
                report(self.sync.take(), "ok\n");
                first = false;
                // Start-up code is done with; an idle monitor keeps only what it uses.
                sys::release_code_pages();
            }
            let ran = running.started;
            let code = self.supervise(running, &sigfd, &mut writer, health.as_mut());
            let _ = writer.flush_partial();
            self.state.oom_killed = self.oom_killed();
            self.delete_container();
            self.state.exit_code = code;
            self.state.pid = 0;
            self.state.finished_at = now_rfc3339();
            let stopped = self.dir.join(STOP_MARKER).exists();
            // `update --restart` may have changed the policy while the container ran.
            if let Some(c) = std::fs::read(super::config::MONITOR_CONFIG_FILE)
                .ok()
                .and_then(|b| serde_json::from_slice::<MonitorConfig>(&b).ok())
            {
                self.cfg.restart = c.restart;
            }
            if !self
                .cfg
                .restart
                .should_restart(code, self.state.restart_count, stopped)
            {
                break;
            }
            backoff = next_backoff(backoff, ran.elapsed());
            self.state.status = Status::Restarting;
            self.save();
            if !self.sleep_unless_stopped(backoff) {
                break;
            }
            self.state.restart_count += 1;
        }
        self.state.status = Status::Exited;
        self.state.pid = 0;
        self.save();
        self.restore_terminal();
        self.finish();
        self.state.exit_code
    }

    fn save(&self) {
        if let Err(e) = status::write(&self.dir, &self.state) {
            eprintln!("berth-monitor: write status: {e}");
        }
    }

    /// Records a failure to start, tells the waiting CLI, cleans up.
    fn fail_start(&mut self, e: StartError) -> i32 {
        self.state.status = Status::Exited;
        self.state.exit_code = e.code;
        self.state.error = e.msg.clone();
        self.state.pid = 0;
        self.state.finished_at = now_rfc3339();
        self.save();
        report(self.sync.take(), &format!("err {} {}", e.code, e.msg));
        self.restore_terminal();
        self.finish();
        e.code
    }

    /// Backoff sleep that ends early (false) when a stop is requested.
    fn sleep_unless_stopped(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.dir.join(STOP_MARKER).exists() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
        }
        !self.dir.join(STOP_MARKER).exists()
    }

    fn runtime(&self) -> Command {
        let mut c = Command::new(&self.cfg.runtime);
        c.arg("--root").arg(&self.cfg.runtime_root);
        c
    }

    fn start_container(&mut self) -> Result<Running, StartError> {
        let id = self.cfg.id.clone();
        let pid_file = self.dir.join("init.pid");
        let _ = std::fs::remove_file(&pid_file);
        // A leftover from a crash would make create fail with "already exists" (runc's
        // layout, which runtimes share: one state directory per id under --root).
        if self.cfg.runtime_root.join(&id).exists() {
            self.delete_container();
        }
        let mut create = self.runtime();
        create
            .arg("create")
            .arg("--bundle")
            .arg(&self.cfg.bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        let io = if self.cfg.tty {
            self.create_with_pty(create, &id)?
        } else {
            self.create_with_pipes(create, &id)?
        };
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| StartError {
                msg: "runtime create wrote no pid file".into(),
                code: 125,
            })?;
        let out = self
            .runtime()
            .args(["start", &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| StartError {
                msg: format!("run {}: {e}", self.cfg.runtime.display()),
                code: 125,
            })?;
        if !out.status.success() {
            self.delete_container();
            return Err(classify(&String::from_utf8_lossy(&out.stderr)));
        }
        Ok(Running {
            pid: Pid::from_raw(pid),
            io,
            started: Instant::now(),
        })
    }

    fn create_with_pipes(&mut self, mut create: Command, id: &str) -> Result<Io, StartError> {
        let perr = |e: nix::Error| StartError {
            msg: format!("pipe: {e}"),
            code: 125,
        };
        let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
        let (out_r, out_w) = nix::unistd::pipe2(cloexec).map_err(perr)?;
        let (err_r, err_w) = nix::unistd::pipe2(cloexec).map_err(perr)?;
        let (stdin_keep, stdin_child) = if self.cfg.stdin {
            let (r, w) = nix::unistd::pipe2(cloexec).map_err(perr)?;
            (Some(File::from(w)), Stdio::from(r))
        } else {
            (None, Stdio::null())
        };
        create
            .arg(id)
            .stdin(stdin_child)
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(err_w));
        let status = create.status();
        drop(create);
        let mut stdout = File::from(out_r);
        let mut stderr = File::from(err_r);
        match status {
            Ok(s) if s.success() => Ok(Io::Pipes {
                stdout: Some(stdout),
                stderr: Some(stderr),
                stdin: stdin_keep,
            }),
            Ok(_) => {
                // The runtime's error went to the stream it shares with the container.
                let mut msg = drain_now(&mut stderr);
                msg.push_str(&drain_now(&mut stdout));
                self.delete_container();
                Err(classify(&msg))
            }
            Err(e) => Err(StartError {
                msg: format!("run {}: {e}", self.cfg.runtime.display()),
                code: 125,
            }),
        }
    }

    fn create_with_pty(&mut self, mut create: Command, id: &str) -> Result<Io, StartError> {
        // Relative to our working directory (the container directory): a full path can
        // exceed sun_path's 108 bytes.
        let sock_path = PathBuf::from("console.sock");
        let _ = std::fs::remove_file(&sock_path);
        let listener =
            std::os::unix::net::UnixListener::bind(&sock_path).map_err(|e| StartError {
                msg: format!("console socket {}: {e}", sock_path.display()),
                code: 125,
            })?;
        let mut child = create
            .current_dir(&self.dir)
            .arg("--console-socket")
            .arg(&sock_path)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| StartError {
                msg: format!("run {}: {e}", self.cfg.runtime.display()),
                code: 125,
            })?;
        // Accept the runtime's connection, unless it fails before connecting.
        let mut master = None;
        let _ = listener.set_nonblocking(true);
        loop {
            match listener.accept() {
                Ok((conn, _)) => {
                    let _ = conn.set_nonblocking(false);
                    master = sys::recv_fd(&conn).ok();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => break,
            }
        }
        let _ = std::fs::remove_file(&sock_path);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let ok = child.wait().map(|s| s.success()).unwrap_or(false);
        match (ok, master) {
            (true, Some(m)) => {
                let master = File::from(m);
                if self.attach {
                    if let Some(ws) = sys::get_winsize(&io::stdin()) {
                        let _ = sys::set_winsize(&master, &ws);
                    }
                    self.raw_terminal();
                }
                Ok(Io::Pty {
                    master: Some(master),
                })
            }
            _ => {
                self.delete_container();
                Err(classify(&err))
            }
        }
    }

    /// Puts our terminal (foreground `-it`) in raw mode.
    fn raw_terminal(&mut self) {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = io::stdin();
        if let Ok(orig) = tcgetattr(stdin.as_fd()) {
            let mut raw = orig.clone();
            cfmakeraw(&mut raw);
            if tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).is_ok() {
                self.stdin_tty = Some(orig);
            }
        }
    }

    fn restore_terminal(&mut self) {
        if let Some(t) = self.stdin_tty.take() {
            let _ = nix::sys::termios::tcsetattr(
                io::stdin().as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                &t,
            );
        }
    }

    /// Copies output to the log (and our terminal when attached) until the container has
    /// exited and its streams are drained; returns its exit code.
    fn supervise(
        &mut self,
        mut r: Running,
        sigfd: &SignalFd,
        writer: &mut JsonFileWriter,
        mut health: Option<&mut HealthState>,
    ) -> i32 {
        let mut exit: Option<i32> = None;
        let mut exited_at: Option<Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        let stdin_fd = io::stdin();
        let mut forward_stdin = self.attach
            && match &r.io {
                Io::Pipes { stdin, .. } => stdin.is_some(),
                Io::Pty { .. } => self.cfg.stdin,
            };
        loop {
            let open_streams = match &r.io {
                Io::Pipes { stdout, stderr, .. } => stdout.is_some() || stderr.is_some(),
                Io::Pty { master } => master.is_some(),
            };
            if let Some(code) = exit {
                // Give leftover writers a moment, but never hang on a pipe kept open.
                if !open_streams || exited_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2))
                {
                    if let Some(srv) = self.attach_server.as_mut() {
                        srv.close_clients();
                    }
                    return code;
                }
            }
            let timeout = match (&health, exit) {
                (_, Some(_)) => 100,
                (Some(h), None) => h.ms_until_due().min(60_000) as i32,
                (None, None) => -1,
            };
            // Poll set: [sigfd, out|master, err, stdin]
            let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN)];
            let mut kinds = vec![0u8];
            match &r.io {
                Io::Pipes { stdout, stderr, .. } => {
                    if let Some(f) = stdout {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                        kinds.push(1);
                    }
                    if let Some(f) = stderr {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                        kinds.push(2);
                    }
                }
                Io::Pty { master } => {
                    if let Some(f) = master {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                        kinds.push(1);
                    }
                }
            }
            if forward_stdin {
                fds.push(PollFd::new(stdin_fd.as_fd(), PollFlags::POLLIN));
                kinds.push(3);
            }
            if let Some(srv) = &self.attach_server {
                fds.push(PollFd::new(srv.listener_fd(), PollFlags::POLLIN));
                kinds.push(4);
                for (i, fd) in srv.client_fds().into_iter().enumerate() {
                    fds.push(PollFd::new(fd, PollFlags::POLLIN));
                    kinds.push(10 + i as u8);
                }
            }
            let pt = if timeout < 0 {
                PollTimeout::NONE
            } else {
                PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX)
            };
            match poll(&mut fds, pt) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => return exit.unwrap_or(255),
            }
            let mut ready: Vec<(u8, bool)> = fds
                .iter()
                .zip(&kinds)
                .map(|(f, k)| (*k, f.revents().is_some_and(|r| !r.is_empty())))
                .collect();
            drop(fds);
            // Clients last and highest first: reading one may drop it and shift the rest.
            ready.sort_by_key(|(k, _)| {
                if *k >= 10 {
                    1000 - *k as i32
                } else {
                    *k as i32
                }
            });
            for (kind, is_ready) in ready {
                if !is_ready {
                    continue;
                }
                match kind {
                    0 => {
                        while let Ok(Some(si)) = sigfd.read_signal() {
                            let sig = si.ssi_signo as i32;
                            if sig == libc::SIGCHLD {
                                if let Some(c) = reap(r.pid) {
                                    exit = Some(c);
                                    exited_at = Some(Instant::now());
                                }
                            } else if sig == libc::SIGWINCH {
                                if let Io::Pty { master: Some(m) } = &r.io {
                                    if let Some(ws) = sys::get_winsize(&io::stdin()) {
                                        let _ = sys::set_winsize(m, &ws);
                                    }
                                }
                            } else if self.attach && exit.is_none() {
                                if let Ok(s) = Signal::try_from(sig) {
                                    let _ = nix::sys::signal::kill(r.pid, s);
                                }
                            }
                        }
                    }
                    1 | 2 => {
                        let (slot, stream) = match (&mut r.io, kind) {
                            (Io::Pipes { stdout, .. }, 1) => (stdout, Stream::Stdout),
                            (Io::Pipes { stderr, .. }, _) => (stderr, Stream::Stderr),
                            (Io::Pty { master }, _) => (master, Stream::Stdout),
                        };
                        let n = match slot.as_mut().map(|f| f.read(&mut buf)) {
                            Some(Ok(n)) => n,
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                            _ => 0, // EOF, or EIO from a pty whose other side closed
                        };
                        if n == 0 {
                            *slot = None;
                            continue;
                        }
                        let _ = writer.write(stream, &buf[..n]);
                        if let Some(srv) = self.attach_server.as_mut() {
                            let id = match stream {
                                Stream::Stdout => super::attach::STREAM_STDOUT,
                                Stream::Stderr => super::attach::STREAM_STDERR,
                            };
                            srv.broadcast(id, &buf[..n]);
                        }
                        if self.attach {
                            let _ = match stream {
                                Stream::Stdout => {
                                    let mut o = io::stdout().lock();
                                    o.write_all(&buf[..n]).and_then(|_| o.flush())
                                }
                                Stream::Stderr => io::stderr().lock().write_all(&buf[..n]),
                            };
                        }
                    }
                    4 => {
                        if let Some(srv) = self.attach_server.as_mut() {
                            srv.accept();
                        }
                    }
                    k if k >= 10 => {
                        let Some(srv) = self.attach_server.as_mut() else {
                            continue;
                        };
                        for input in srv.read_client((k - 10) as usize) {
                            match input {
                                super::attach::Input::Data(d) => {
                                    let target = match &mut r.io {
                                        Io::Pipes { stdin, .. } => stdin,
                                        Io::Pty { master } => master,
                                    };
                                    if let Some(t) = target.as_mut() {
                                        let _ = t.write_all(&d);
                                    }
                                }
                                super::attach::Input::Resize { rows, cols } => {
                                    if let Io::Pty { master: Some(m) } = &r.io {
                                        let ws = nix::pty::Winsize {
                                            ws_row: rows,
                                            ws_col: cols,
                                            ws_xpixel: 0,
                                            ws_ypixel: 0,
                                        };
                                        let _ = sys::set_winsize(m, &ws);
                                    }
                                }
                            }
                        }
                    }
                    _ => {
                        let n = nix::unistd::read(stdin_fd.as_fd(), &mut buf).unwrap_or(0);
                        let target = match &mut r.io {
                            Io::Pipes { stdin, .. } => stdin,
                            Io::Pty { master } => master,
                        };
                        if n == 0 {
                            forward_stdin = false;
                            if let Io::Pipes { stdin, .. } = &mut r.io {
                                *stdin = None; // the container sees EOF
                            }
                            continue;
                        }
                        if let Some(t) = target.as_mut() {
                            let _ = t.write_all(&buf[..n]);
                        }
                    }
                }
            }
            if exit.is_none() {
                if let Some(h) = health.as_deref_mut() {
                    if h.ms_until_due() == 0 {
                        let (code, out) = self.exec_health_check(h);
                        h.record(code, out);
                        self.state.health = Some(h.snapshot());
                        self.save();
                    }
                }
            }
        }
    }

    /// Runs the health check command in the container with its timeout.
    fn exec_health_check(&self, h: &HealthState) -> (i32, String) {
        let (rd, wr) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok(p) => p,
            Err(e) => return (-1, format!("pipe: {e}")),
        };
        let wr2 = match wr.try_clone() {
            Ok(w) => w,
            Err(e) => return (-1, format!("pipe: {e}")),
        };
        let mut cmd = self.runtime();
        cmd.args(["exec", &self.cfg.id])
            .args(&h.check.argv)
            .stdin(Stdio::null())
            .stdout(Stdio::from(wr))
            .stderr(Stdio::from(wr2));
        let child = cmd.spawn();
        drop(cmd);
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return (-1, format!("exec {}: {e}", self.cfg.runtime.display())),
        };
        let mut out = File::from(rd);
        let deadline = Instant::now() + Duration::from_millis(h.check.timeout_ms);
        let mut output = Vec::new();
        let mut buf = [0u8; 4096];
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                timed_out = true;
                break;
            }
            let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32 + 1)
                .unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, ms) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => break,
            }
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if output.len() < 4096 {
                        output.extend_from_slice(&buf[..n.min(4096 - output.len())]);
                    }
                }
            }
        }
        if timed_out {
            let _ = child.kill();
            let _ = child.wait();
            return (
                -1,
                format!(
                    "Health check exceeded timeout ({}s)",
                    h.check.timeout_ms as f64 / 1000.0
                ),
            );
        }
        let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        (code, String::from_utf8_lossy(&output).into_owned())
    }

    fn delete_container(&self) {
        let _ = self
            .runtime()
            .args(["delete", "--force", &self.cfg.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Whether the kernel OOM-killed something in the container's cgroup (v1 memory
    /// controller's `oom_kill` count, or cgroup v2's memory.events).
    fn oom_killed(&self) -> bool {
        let rel = self.cfg.cgroup_path.trim_start_matches('/');
        if rel.is_empty() {
            return false;
        }
        let candidates = [
            Path::new("/sys/fs/cgroup/memory")
                .join(rel)
                .join("memory.oom_control"),
            Path::new("/sys/fs/cgroup").join(rel).join("memory.events"),
        ];
        candidates.iter().any(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
        })
    }

    /// Hands the rest to `berth`: unmount, release the network, and remove under `--rm`.
    fn finish(&self) {
        let mut c = Command::new(&self.cfg.berth_exe);
        c.arg("--root")
            .arg(&self.cfg.berth_root)
            .arg("container-cleanup");
        if self.cfg.auto_remove {
            c.arg("--remove");
        }
        c.arg(&self.cfg.id)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if self.attach {
            c.stderr(Stdio::null());
        }
        let _ = c.status();
    }
}

/// Reaps every exited child; returns the container's exit code if it was among them.
fn reap(container: Pid) -> Option<i32> {
    let mut found = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p == container => found = Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p == container => found = Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}

/// Whatever is readable now, without waiting for writers that are gone anyway.
fn drain_now(f: &mut File) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [PollFd::new(f.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(200u8)) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

/// Docker's exit codes for start failures: 127 command not found, 126 not executable,
/// 125 anything else.
fn classify(msg: &str) -> StartError {
    let msg = msg.trim().to_string();
    let lower = msg.to_lowercase();
    let code = if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        127
    } else if lower.contains("permission denied") || lower.contains("is a directory") {
        126
    } else {
        125
    };
    StartError { msg, code }
}
