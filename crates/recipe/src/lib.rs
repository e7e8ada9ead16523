//! Reads Co-op Cloud recipes exactly as abra and Docker would: env files with modifiers, abra.sh
//! exports, compose interpolation and overlay merge, versions from annotated tags, release notes,
//! README metadata, lint rules and the pure run plan. Knows nothing of Docker engines, tokio or HTTP.

pub mod compose;
pub mod env;
pub mod error;
pub mod interpolate;

pub use error::{RecipeError, Result};
