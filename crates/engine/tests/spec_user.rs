//! `resolve_user`: names through the image's passwd/group files, read confined to the rootfs.

use std::os::unix::fs::symlink;

use berth_engine::spec::{resolve_user, resolve_user_with_groups, SpecError};
use berth_testutil::TempDir;

fn rootfs() -> TempDir {
    let d = TempDir::new("berth-spec-user").unwrap();
    std::fs::create_dir_all(d.path().join("etc")).unwrap();
    std::fs::write(
        d.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n\
         app:x:1000:1000:App:/home/app:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("etc/group"),
        "root:x:0:\nwheel:x:10:root,app\napp:x:1000:\naudio:x:29:app\nnogroup:x:65534:\n",
    )
    .unwrap();
    d
}

#[test]
fn default_is_root_with_roots_groups() {
    let r = rootfs();
    let u = resolve_user(r.path(), "").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    assert_eq!(u.additional_gids, [10]);
}

#[test]
fn names_and_numbers() {
    let r = rootfs();
    let u = resolve_user(r.path(), "app").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/home/app"));
    assert_eq!(u.additional_gids, [10, 29]);
    let u = resolve_user(r.path(), "1000").unwrap();
    assert_eq!((u.uid, u.gid), (1000, 1000));
    // Unknown numeric uid: used as is, gid 0, home /.
    let u = resolve_user(r.path(), "4242").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
    let u = resolve_user(r.path(), "app:audio").unwrap();
    assert_eq!((u.uid, u.gid), (1000, 29));
    assert!(u.additional_gids.is_empty());
    let u = resolve_user(r.path(), "4242:4343").unwrap();
    assert_eq!((u.uid, u.gid), (4242, 4343));
    let u = resolve_user_with_groups(r.path(), "nobody", &["audio".into(), "77".into()]).unwrap();
    assert_eq!(u.additional_gids, [29, 77]);
}

#[test]
fn dockers_errors() {
    let r = rootfs();
    let e = resolve_user(r.path(), "ghost").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    let e = resolve_user(r.path(), "app:ghosts").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to find group ghosts: no matching entries in group file"
    );
    let e = resolve_user(r.path(), "-1").unwrap_err();
    assert!(matches!(e, SpecError::Invalid(_)), "{e}");
    assert!(resolve_user_with_groups(r.path(), "", &["ghosts".into()]).is_err());
}

#[test]
fn image_without_passwd_takes_numbers_only() {
    let d = TempDir::new("berth-spec-user-empty").unwrap();
    let u = resolve_user(d.path(), "123:456").unwrap();
    assert_eq!((u.uid, u.gid, u.home.as_str()), (123, 456, "/"));
    assert!(resolve_user(d.path(), "root").is_err());
    assert_eq!(resolve_user(d.path(), "").unwrap().uid, 0);
}

#[test]
fn symlinked_passwd_cannot_reach_the_host() {
    // A file outside the rootfs that names a user; the image links to it three ways.
    let outside = TempDir::new("berth-spec-user-host").unwrap();
    let host_passwd = outside.path().join("passwd");
    std::fs::write(&host_passwd, "evil:x:4242:4242::/evil:/bin/sh\n").unwrap();
    for target in [
        host_passwd.clone(),
        std::path::PathBuf::from(format!("../../../../../../..{}", host_passwd.display())),
    ] {
        let r = TempDir::new("berth-spec-user-hostile").unwrap();
        std::fs::create_dir_all(r.path().join("etc")).unwrap();
        symlink(&target, r.path().join("etc/passwd")).unwrap();
        let e = resolve_user(r.path(), "evil").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user evil: no matching entries in passwd file",
            "link to {}",
            target.display()
        );
    }
    // /etc itself a symlink to the outside directory.
    let r = TempDir::new("berth-spec-user-hostile-etc").unwrap();
    symlink(outside.path(), r.path().join("etc")).unwrap();
    assert!(resolve_user(r.path(), "evil").is_err());
    // And a symlink that stays inside the rootfs is followed.
    let r = rootfs();
    std::fs::rename(
        r.path().join("etc/passwd"),
        r.path().join("etc/passwd.real"),
    )
    .unwrap();
    symlink("/etc/passwd.real", r.path().join("etc/passwd")).unwrap();
    assert_eq!(resolve_user(r.path(), "app").unwrap().uid, 1000);
}

#[test]
fn passwd_that_is_not_a_regular_file_is_refused() {
    // A FIFO would block the engine forever; a device node (e.g. /dev/zero) never ends.
    let r = TempDir::new("berth-spec-user-fifo").unwrap();
    std::fs::create_dir_all(r.path().join("etc")).unwrap();
    nix::unistd::mkfifo(
        &r.path().join("etc/passwd"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let e = resolve_user(r.path(), "app").unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    // Symlinked to a device inside the image (here: the host's /dev/zero must not be reached
    // either, the link resolves inside the rootfs where it does not exist).
    let r = TempDir::new("berth-spec-user-dev").unwrap();
    std::fs::create_dir_all(r.path().join("etc")).unwrap();
    symlink("/dev/zero", r.path().join("etc/passwd")).unwrap();
    let e = resolve_user(r.path(), "app").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to find user app: no matching entries in passwd file"
    );
}
