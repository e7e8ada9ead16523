//! One test run of a recipe: its app instance, the tiers carried through one deployment, the checks,
//! redaction of secrets, and what it leaves behind (result.json, JUnit, log.txt, events.jsonl,
//! artifacts). `ccci test` and the server's runs both go through [`run::run`].
//!
//! # Layers
//!
//! Each module uses only modules of the layers above it (and leaf helpers: [`redact`],
//! [`secrets`], [`run_id`], [`liveness`], [`locks`], [`infra_lock`], [`flock`], [`durable`], [`workspace`],
//! [`checkout`], [`artifacts`], [`serving`], [`browser_home`], [`error`]):
//!
//! 1. **Data**, no context: [`outcome`] (how a tier ends, fail vs error), [`result`], [`app`],
//!    [`backupbot`], [`marker`], [`events`]; the event consumers in [`report`]; the [`engine`]
//!    seam (a trait over what the tiers ask of Docker).
//! 2. **The run context**: [`context`] — immutable facts and the little a run accumulates.
//! 3. **Primitives**: [`exec`] (in a service, on the host in the [`sandbox`], one failure
//!    wording), [`capability`] (what the sandbox may ask of its run), [`test_env`],
//!    [`secrets_file`], [`archive`].
//! 4. **Building blocks**: [`deploy`] (the install path: pull, secrets, deploy, converge, serve),
//!    [`pull`], [`teardown`] (or keeping a failed run),
//!    [`marker_steps`], [`dependencies`], [`shared`] (warm dependencies and their tenants),
//!    [`hooks`], [`recipe_tests`], [`screenshots`],
//!    [`diagnostics`].
//! 5. **The tiers**: [`tiers`], each returning what it proved and its cases; and [`warm`]:
//!    canonical copies, their snapshots, seeding them, quick runs on them.
//! 6. **The run**: [`run`] (order of tiers, hooks around them, cold, quick or seed, teardown,
//!    results) and [`janitor`].

pub mod app;
pub mod archive;
pub mod artifacts;
pub mod backupbot;
pub mod browser_home;
pub mod capability;
pub mod checkout;
pub mod context;
pub mod dependencies;
pub mod deploy;
pub mod diagnostics;
pub mod durable;
pub mod engine;
pub mod error;
pub mod events;
pub mod exec;
pub mod flock;
pub mod hooks;
pub mod infra_lock;
pub mod janitor;
pub mod liveness;
pub mod locks;
pub mod marker;
pub mod marker_steps;
pub mod outcome;
pub mod pull;
pub mod recipe_tests;
pub mod redact;
pub mod report;
pub mod result;
pub mod run;
pub mod run_id;
pub mod sandbox;
pub mod screenshots;
pub mod secrets;
pub mod secrets_file;
pub mod serving;
pub mod shared;
pub mod teardown;
pub mod test_env;
pub mod tiers;
pub mod warm;
pub mod workspace;

#[cfg(test)]
mod testing;
