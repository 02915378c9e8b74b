//! Handing a NOTIFY listener fd to the agent at linux.seccomp.listenerPath, as the
//! runtime-spec describes: one message over a unix stream socket whose body is the
//! container process state JSON and whose SCM_RIGHTS carries the fd ("seccompFd").

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use serde_json::Value;

use super::SeccompError;

fn sys(what: impl Into<String>) -> impl FnOnce(Errno) -> SeccompError {
    let what = what.into();
    move |source| SeccompError::Sys { what, source }
}

/// The containerProcessState message: ociVersion, fds ["seccompFd"], pid, metadata and
/// the container's state (`state_json`, the runtime-spec state object).
pub(crate) fn process_state(
    metadata: Option<&str>,
    state_json: &[u8],
) -> Result<Vec<u8>, SeccompError> {
    let state: Value = serde_json::from_slice(state_json).map_err(|e| SeccompError::Invalid {
        field: "container state".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let version = state
        .get("ociVersion")
        .cloned()
        .unwrap_or_else(|| Value::String("1.2.0".into()));
    let pid = state.get("pid").cloned().unwrap_or(Value::from(0));
    let mut msg = serde_json::Map::with_capacity(5);
    msg.insert("ociVersion".into(), version);
    msg.insert("fds".into(), Value::from(vec!["seccompFd"]));
    msg.insert("pid".into(), pid);
    if let Some(m) = metadata {
        msg.insert("metadata".into(), Value::String(m.to_owned()));
    }
    msg.insert("state".into(), state);
    serde_json::to_vec(&Value::Object(msg)).map_err(|e| SeccompError::Invalid {
        field: "container state".into(),
        reason: e.to_string(),
    })
}

/// Connects to `listener_path` and sends the process state with `fd` attached.
pub fn send_listener(
    listener_path: &str,
    metadata: Option<&str>,
    fd: BorrowedFd,
    state_json: &[u8],
) -> Result<(), SeccompError> {
    let body = process_state(metadata, state_json)?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(sys("socket"))?;
    let addr = UnixAddr::new(listener_path)
        .map_err(sys(format!("linux.seccomp.listenerPath {listener_path}")))?;
    connect(sock.as_raw_fd(), &addr).map_err(sys(format!(
        "connect to linux.seccomp.listenerPath {listener_path}"
    )))?;
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let mut sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&body)],
        &cmsg,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(sys("send seccomp listener"))?;
    while sent < body.len() {
        sent += sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(&body[sent..])],
            &[],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(sys("send seccomp listener state"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_state_wraps_state() {
        let st = br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;
        let v: Value = serde_json::from_slice(&process_state(Some("meta"), st).unwrap()).unwrap();
        assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(v["pid"], 42);
        assert_eq!(v["metadata"], "meta");
        assert_eq!(v["state"]["id"], "c1");
        assert_eq!(v["ociVersion"], "1.2.0");
    }

    #[test]
    fn process_state_rejects_bad_json() {
        assert!(process_state(None, b"{").is_err());
    }
}
