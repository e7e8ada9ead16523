//! Reads Co-op Cloud recipes exactly as abra and Docker would: env files with modifiers, abra.sh
//! exports, compose interpolation and overlay merge, versions from annotated tags, release notes,
//! README metadata, lint rules and the pure run plan. Knows nothing of Docker engines, tokio or HTTP.

pub mod app_env;
pub mod compose;
pub mod config;
pub mod env;
pub mod error;
pub mod interpolate;
pub mod secrets;

pub mod files;
pub mod git;
pub mod instance;
pub mod labels;
pub mod lint;
pub mod metadata;
pub mod naming;
pub mod plan;
pub mod recipe;
pub mod release_notes;
pub mod tier;
pub mod update_gate;
pub mod versions;

pub use error::{RecipeError, Result};
