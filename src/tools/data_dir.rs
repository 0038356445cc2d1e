//! The development data directory, which holds the signing secret and the embedded
//! database: private to its owner.

use anyhow::Context;

/// Creates `dir` (and its parents) when missing and makes it private to its owner (mode
/// 0700): the development data directory holds the signing secret and the database.
pub fn private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))
}
