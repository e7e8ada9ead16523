//! What an update of one infrastructure app would do, without changing anything: the release it
//! runs (its service label), its last-good release and last update (its record), the newest
//! release of its recipe (annotated tags), the target (asked for, pinned by the configuration,
//! or the newest) and the verdict — up to date, install, update, or **held** by the safety gate
//! (SPEC I2, `recipe::update_gate`: a major version change on either side of `+`, or release
//! notes of the target that mention a manual step).

use recipe::versions::Version;
use serde::Serialize;
use swarm::Swarm;

use crate::apps::{self, App, Setup};
use crate::proxy_source;
use crate::state::{self, LastUpdate};

/// What an update would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// It runs the target already.
    UpToDate,
    /// It is not deployed: the target would be deployed.
    Install,
    /// The target would be deployed in place of the running release.
    Update,
    /// The safety gate holds it at the running release.
    Held { reason: String },
    /// It cannot be told (the recipe or the engine did not answer, no such release).
    Unknown { error: String },
}

/// One app's state and what an update would do.
#[derive(Debug, Clone, Serialize)]
pub struct AppStatus {
    pub app: String,
    /// `proxy` or `warm dependency`.
    pub kind: &'static str,
    /// Its recipe's name.
    pub recipe: String,
    pub stack: String,
    pub running: Option<String>,
    pub last_good: Option<String>,
    /// The newest annotated release tag of its recipe.
    pub newest: Option<String>,
    /// The release an update would deploy.
    pub target: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// The target's release notes (`release/<target>`).
    pub notes: Option<String>,
    pub last_update: Option<LastUpdate>,
}

impl AppStatus {
    /// `proxy (proxy): running 1.0.0, last-good 1.0.0, newest 1.1.0; update → 1.1.0`.
    pub fn line(&self) -> String {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        let running = match &self.running {
            Some(v) => format!("running {v}"),
            None => "not deployed".into(),
        };
        let what = match &self.action {
            Action::UpToDate => "up to date".to_string(),
            Action::Install => format!("install {}", show(&self.target)),
            Action::Update => format!("update {} → {}", show(&self.running), show(&self.target)),
            Action::Held { reason } => format!("held at {}: {reason}", show(&self.running)),
            Action::Unknown { error } => format!("cannot tell: {error}"),
        };
        let last = match &self.last_update {
            Some(u) => format!("; last update {} ({} → {}, {})", u.outcome.name(), show(&u.from), u.to, u.at),
            None => String::new(),
        };
        format!(
            "{} ({}): {running}, last-good {}, newest {}; {what}{last}",
            self.app,
            self.kind,
            show(&self.last_good),
            show(&self.newest)
        )
    }
}

/// What an update of `app` to `to` (else its pinned release, else the newest) would do.
pub async fn plan(setup: &Setup, swarm: &Swarm, app: App<'_>, to: Option<&str>) -> AppStatus {
    let name = app.name();
    let (recipe, source) = setup.source(app);
    let stack = setup.stack(app);
    let record = state::load(&setup.init.data_dir, &name).unwrap_or_else(|_| state::AppState::default());
    let mut status = AppStatus {
        app: name,
        kind: app.kind(),
        recipe: recipe.clone(),
        stack: stack.clone(),
        running: None,
        last_good: record.last_good,
        newest: None,
        target: None,
        action: Action::UpToDate,
        notes: None,
        last_update: record.last_update,
    };
    let unknown = |status: &mut AppStatus, error: String| status.action = Action::Unknown { error };
    match apps::running_version(swarm, &stack).await {
        Ok(running) => status.running = running,
        Err(e) => {
            unknown(&mut status, format!("the engine does not answer about {stack}: {e}"));
            return status;
        }
    }
    let repo = match proxy_source::repository(&recipe, &source, &setup.infra_dir()) {
        Ok((repo, _)) => repo,
        Err(e) => {
            unknown(&mut status, e.to_string());
            return status;
        }
    };
    let releases = match proxy_source::releases(&repo) {
        Ok(releases) => releases,
        Err(e) => {
            unknown(&mut status, e.to_string());
            return status;
        }
    };
    status.newest = releases.last().cloned();
    let Some(target) = to.or(setup.pinned(app)).map(str::to_string).or_else(|| status.newest.clone()) else {
        unknown(&mut status, format!("the recipe {recipe} ({source}) has no annotated release tag"));
        return status;
    };
    if !releases.contains(&target) {
        let list = if releases.is_empty() { "none".into() } else { releases.join(", ") };
        unknown(&mut status, format!("the recipe {recipe} has no release {target}; its releases are {list}"));
        return status;
    }
    status.notes = proxy_source::release_notes(&repo, &target);
    status.action = match &status.running {
        None => Action::Install,
        Some(running) if *running == target => Action::UpToDate,
        Some(running) => match gate(running, &target, status.notes.as_deref()) {
            Some(reason) => Action::Held { reason },
            None => Action::Update,
        },
    };
    status.target = Some(target);
    status
}

/// Why the update from `running` to `target` is held, if it is.
fn gate(running: &str, target: &str, notes: Option<&str>) -> Option<String> {
    let Ok(current) = Version::parse(running) else {
        return Some(format!("the running version {running} is not a release tag, so the update cannot be judged"));
    };
    let Ok(next) = Version::parse(target) else {
        return Some(format!("{target} is not a release tag"));
    };
    recipe::update_gate::hold_reason(&current, &next, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_holds_what_it_cannot_judge() {
        assert_eq!(gate("1.0.0+v3.6.15", "1.1.0+v3.7.15", Some("Traefik 3.7")), None);
        let r = gate("1.1.0+1.36", "2.0.0+1.36", None).unwrap();
        assert!(r.contains("major version"), "{r}");
        let r = gate("1.1.0+1.36", "1.3.0+1.36", Some("A manual migration of the store is needed.")).unwrap();
        assert!(r.contains("manual migration"), "{r}");
        let r = gate("a1b2c3d4", "1.1.0+1.36", None).unwrap();
        assert!(r.contains("not a release tag"), "{r}");
    }

    #[test]
    fn a_status_line_says_what_an_update_would_do() {
        let status = AppStatus {
            app: "proxy".into(),
            kind: "proxy",
            recipe: "traefik".into(),
            stack: "traefik_ci_example_org".into(),
            running: Some("1.0.0+v3.6.15".into()),
            last_good: Some("1.0.0+v3.6.15".into()),
            newest: Some("2.0.0+v4.0.0".into()),
            target: Some("2.0.0+v4.0.0".into()),
            action: Action::Held { reason: "the recipe's major version changes".into() },
            notes: None,
            last_update: None,
        };
        assert_eq!(
            status.line(),
            "proxy (proxy): running 1.0.0+v3.6.15, last-good 1.0.0+v3.6.15, newest 2.0.0+v4.0.0; held at \
             1.0.0+v3.6.15: the recipe's major version changes"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["action"], "held");
        assert_eq!(json["reason"], "the recipe's major version changes");
    }
}
