//! T3 data markers: which marker a run uses, decided once from the per-recipe config and the
//! rendered app, before the first tier (carrying it out is `crate::marker_steps`).
//!
//! - [`Marker::Configured`]: the recipe's own commands (`marker.write` and `marker.check`, and
//!   optionally `marker.spoil`, in its per-recipe config), e.g. an SQL row;
//! - [`Marker::File`] (the default): a file `.ccci-marker` in the app's data. The volume is the
//!   first one the backup covers (backupbot labels), else the first named volume of `app`; the
//!   service is the one mounting it (a backup service first). Its directory is picked inside the
//!   running container at the first write: the first backed-up path that is a directory; when the
//!   backup is limited to paths that are files (a dump a pre-hook writes, like `backup.tar`), the
//!   marker must sit in the live data the dump is made from, so the first directory at the volume
//!   root; else the volume root.
//! - [`Marker::Absent`]: the app has no volume to hold one; marker checks are skipped, saying so.

use recipe::config::{Hook, MarkerHooks};

use crate::app::App;
use crate::backupbot;

/// The data marker of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    Configured {
        write: Hook,
        check: Hook,
        spoil: Option<Hook>,
    },
    File {
        /// The compose service to exec into.
        service: String,
        /// Where the volume is mounted in that service.
        mount: String,
        /// Backed-up paths inside the volume (relative), tried in order for the directory.
        paths: Vec<String>,
    },
    Absent,
}

impl Marker {
    /// The marker for `app` (the app the install tier deploys) under the recipe's `configured`
    /// marker commands.
    pub fn resolve(configured: &MarkerHooks, app: &App) -> Marker {
        if let (Some(write), Some(check)) = (&configured.write, &configured.check) {
            return Marker::Configured { write: write.clone(), check: check.clone(), spoil: configured.spoil.clone() };
        }
        let plan = backupbot::plan(&app.doc, &app.stack);
        let backed_up = plan.volumes.iter().find_map(|v| v.mounted_by.clone().map(|(s, t)| (s, t, v.paths.clone())));
        let (service, mount, paths) = match backed_up {
            Some(found) => found,
            None => match backupbot::volume_mounts(&app.doc, "app").into_iter().next() {
                Some((_, target)) => ("app".to_string(), target, Vec::new()),
                None => return Marker::Absent,
            },
        };
        let paths = paths.iter().map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty()).collect();
        Marker::File { service, mount, paths }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::app_from as app;

    #[test]
    fn the_backed_up_volume_wins_over_the_apps_first_volume() {
        let doc = "services:\n  app: {image: a:1, volumes: ['web:/srv']}\n  db:\n    image: d:1\n    volumes: ['data:/var/lib/db']\n    deploy: {labels: {backupbot.backup: 'true', backupbot.backup.volumes.web: 'false', backupbot.backup.volumes.data.path: 'dump/,backup.tar'}}\nvolumes: {web: {}, data: {}}\n";
        let m = Marker::resolve(&MarkerHooks::default(), &app(doc));
        assert_eq!(
            m,
            Marker::File {
                service: "db".into(),
                mount: "/var/lib/db".into(),
                paths: vec!["dump".into(), "backup.tar".into()]
            }
        );
    }

    #[test]
    fn configured_commands_win_and_no_volume_means_no_marker() {
        let hook = |c: &str| Hook::new(Some("db"), recipe::config::Command::Shell(c.into()));
        let configured = MarkerHooks { write: Some(hook("w")), check: Some(hook("c")), spoil: None };
        assert!(matches!(
            Marker::resolve(&configured, &app("services: {app: {image: a:1}}")),
            Marker::Configured { .. }
        ));
        let write_only = MarkerHooks { write: Some(hook("w")), ..Default::default() };
        assert_eq!(Marker::resolve(&write_only, &app("services: {app: {image: a:1}}")), Marker::Absent);
    }
}
