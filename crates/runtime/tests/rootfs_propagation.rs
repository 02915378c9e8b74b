//! Real-kernel tests of mount propagation (linux.rootfsPropagation and per-mount
//! propagation options) and of recursive mount attributes.

mod rootfs_support;

use std::fs;

use rootfs_support::*;

fn with_propagation(p: &str) -> String {
    format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [{{"destination": "/proc", "type": "proc", "source": "proc"}}],
        "linux": {{"rootfsPropagation": "{p}"}}}}"#
    )
}

#[test]
fn rootfs_propagation_is_applied_to_the_new_root() {
    if skip() {
        return;
    }
    for (prop, want_shared) in [
        ("rshared", true),
        ("shared", true),
        ("rprivate", false),
        ("private", false),
        ("rslave", false),
    ] {
        let b = Bundle::new();
        let s = spec(&with_propagation(prop));
        in_child(|| {
            setup(&s, &b)?;
            let root = top_mount("/")?;
            let shared = root.optional.contains("shared:");
            ensure(shared == want_shared, || {
                format!("{prop}: / has {:?}", root.optional)
            })?;
            if prop.ends_with("private") {
                ensure(!root.optional.contains("master:"), || {
                    format!("{prop}: / still a slave: {:?}", root.optional)
                })?;
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{prop}: {e}"));
    }
    let b = Bundle::new();
    let err = in_child(|| setup(&spec(&with_propagation("sideways")), &b)).unwrap_err();
    assert!(err.contains("linux.rootfsPropagation"), "{err}");
}

#[test]
fn mount_propagation_and_recursive_attributes() {
    if skip() {
        return;
    }
    let b = Bundle::new();
    // A source tree with a submount, to see what the recursive options reach.
    let src = b.path().join("tree");
    fs::create_dir_all(src.join("sub")).unwrap();
    let s = spec(&format!(
        r#"{{"ociVersion": "1.2.0", "root": {{"path": "rootfs"}},
        "mounts": [
          {{"destination": "/proc", "type": "proc", "source": "proc"}},
          {{"destination": "/srcsub", "type": "tmpfs", "source": "tmpfs"}},
          {{"destination": "/shared", "type": "tmpfs", "source": "tmpfs", "options": ["shared"]}},
          {{"destination": "/unb", "type": "bind", "source": "{src}", "options": ["rbind", "unbindable"]}},
          {{"destination": "/rro", "type": "bind", "source": "{src}", "options": ["rbind", "rro", "rnosuid"]}}
        ]}}"#,
        src = src.display()
    ));
    // The submount is made inside the child's namespace, before setup, on the host path.
    let sub = src.join("sub");
    in_child(|| {
        nix::mount::mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| format!("submount: {e}"))?;
        setup(&s, &b)?;
        let sh = top_mount("/shared")?;
        ensure(sh.optional.contains("shared:"), || {
            format!("/shared: {sh:?}")
        })?;
        let unb = top_mount("/unb")?;
        ensure(unb.optional.contains("unbindable"), || {
            format!("/unb: {unb:?}")
        })?;
        for p in ["/rro", "/rro/sub"] {
            let m = top_mount(p)?;
            ensure(
                has_opt(&m.mount_opts, "ro") && has_opt(&m.mount_opts, "nosuid"),
                || format!("{p}: {m:?}"),
            )?;
        }
        let e = fs::write("/rro/sub/x", "x").expect_err("rro submount writable");
        ensure(errno_of(&e) == libc::EROFS, || format!("rro: {e}"))?;
        // The umask is restored after setup.
        // SAFETY: umask only swaps the process mask; it is set back right away.
        let old = unsafe { libc::umask(0o022) };
        ensure(old == 0o022, || format!("umask left at {old:o}"))
    })
    .unwrap();
}
