//! Disk space (the earlier implementation's CI host filled up twice, and pruning every image then
//! ran into Docker Hub's rate limit). `[disk]` in the server's configuration:
//!
//! - [`floor`]: before a run starts, the free space under the data dir and under Docker's data
//!   root must be at least `min_free_gib`; below it runs stay queued (an error in the log, an
//!   alert, `/healthz`) and start once there is room again;
//! - [`cleanup`]: what no run, canonical copy or infrastructure app needs is removed after each
//!   sweep — dangling images (never one an enrolled recipe names), the objects of runs that are
//!   not live, snapshots nothing points at — optionally only images carrying `cleanup_label`;
//! - [`usage`]: how much images, volumes, snapshots and runs take, for the dashboard and
//!   `/metrics`.

pub mod cleanup;
pub mod floor;
pub mod usage;

use std::ffi::CString;
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Deserialize;

/// Default for `[disk] min_free_gib`.
pub const DEFAULT_MIN_FREE_GIB: f64 = 5.0;
const GIB: f64 = (1u64 << 30) as f64;

/// `[disk]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    min_free_gib: Option<f64>,
    cleanup: Option<bool>,
    cleanup_label: Option<String>,
}

/// `[disk]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskConfig {
    /// Runs start only while at least this much is free (GiB, fractions allowed).
    pub min_free_gib: f64,
    /// Whether each sweep ends with the clean-up.
    pub cleanup: bool,
    /// When set, the clean-up removes only images carrying this label (`key` or `key=value`):
    /// for an engine cc-ci shares with other users.
    pub cleanup_label: Option<String>,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig { min_free_gib: DEFAULT_MIN_FREE_GIB, cleanup: true, cleanup_label: None }
    }
}

impl DiskConfig {
    /// The floor in bytes.
    pub fn min_free_bytes(&self) -> u64 {
        (self.min_free_gib * GIB).round() as u64
    }
}

/// Validates `[disk]`; errors name the key.
pub fn parse(raw: RawDisk) -> Result<DiskConfig, (String, String)> {
    let min_free_gib = raw.min_free_gib.unwrap_or(DEFAULT_MIN_FREE_GIB);
    if !min_free_gib.is_finite() || min_free_gib < 0.0 {
        return Err(("disk.min_free_gib".into(), format!("{min_free_gib} is not a size in GiB (0 or more)")));
    }
    let cleanup_label = raw.cleanup_label.map(|l| l.trim().to_string());
    if let Some(label) = &cleanup_label {
        if label.is_empty() || label.starts_with('=') || label.contains(char::is_whitespace) {
            return Err((
                "disk.cleanup_label".into(),
                format!("{label:?} is not a label filter (`key` or `key=value`)"),
            ));
        }
    }
    Ok(DiskConfig { min_free_gib, cleanup: raw.cleanup.unwrap_or(true), cleanup_label })
}

/// `[disk]` in the effective configuration.
pub fn write_effective(out: &mut String, config: &DiskConfig) {
    let _ = writeln!(out, "\n[disk]\nmin_free_gib = {}\ncleanup = {}", config.min_free_gib, config.cleanup);
    match &config.cleanup_label {
        Some(label) => {
            let _ = writeln!(out, "cleanup_label = {}", toml::Value::String(label.clone()));
        }
        None => {
            let _ = writeln!(out, "# cleanup_label: not set (the clean-up considers every dangling image)");
        }
    }
}

/// `1.5 GiB`.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

/// Bytes available to unprivileged users on the file system holding `path` (as `df` counts
/// "Avail").
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `stat` a buffer statvfs fills on success.
    if unsafe { libc::statvfs(c.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fractions_and_bad_values() {
        assert_eq!(parse(RawDisk::default()).unwrap(), DiskConfig::default());
        let c = parse(RawDisk { min_free_gib: Some(0.25), cleanup: Some(false), cleanup_label: Some("a=b".into()) })
            .unwrap();
        assert_eq!((c.min_free_bytes(), c.cleanup, c.cleanup_label.as_deref()), (1 << 28, false, Some("a=b")));
        for bad in [-1.0, f64::NAN] {
            let raw = RawDisk { min_free_gib: Some(bad), ..Default::default() };
            assert_eq!(parse(raw).unwrap_err().0, "disk.min_free_gib");
        }
        let raw = RawDisk { cleanup_label: Some("has space".into()), ..Default::default() };
        assert_eq!(parse(raw).unwrap_err().0, "disk.cleanup_label");
    }

    #[test]
    fn free_space_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
        assert!(free_bytes(&dir.path().join("missing")).is_err());
    }
}
