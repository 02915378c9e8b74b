//! The `--init` binary (berth-init, built statically by build.rs and embedded here) and
//! how the engine puts it on disk for `SpecContext::init_path`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The statically linked berth-init executable.
pub static BERTH_INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/berth-init"));

/// Writes berth-init to `dir/berth-init` (mode 0755) unless an identical copy is there,
/// and returns its path. The file is replaced atomically, so running containers that
/// bind-mount an older copy keep theirs.
pub fn install_init(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("berth-init");
    if std::fs::read(&path).is_ok_and(|have| have == BERTH_INIT) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".berth-init.{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(BERTH_INIT)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(path)
}
