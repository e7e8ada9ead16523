//! One test run of a recipe: its app instance, the tiers carried through one deployment, the checks,
//! redaction of secrets, and the results it leaves behind (result.json, JUnit, log, artifacts).

pub mod app;
pub mod artifacts;
pub mod backupbot;
pub mod checkout;
pub mod context;
pub mod dependencies;
pub mod diagnostics;
pub mod error;
pub mod hooks;
pub mod janitor;
pub mod liveness;
pub mod log;
pub mod markers;
pub mod progress;
pub mod recipe_tests;
pub mod redact;
pub mod result;
pub mod run;
pub mod run_id;
pub mod secrets;
pub mod serving;
pub mod tiers;
pub mod workspace;
