//! Warm canonical copies (SPEC W1–W5): per enrolled recipe a long-lived known-good copy at a
//! release tag ([`canonical`]), its last-known-good data as snapshots ([`snapshot`]), seeding and
//! re-seeding it from a green cold run of a release tag ([`promote`]), and quick runs that
//! upgrade it to a pull request's head and always leave it as it was ([`quick`]). Runs touching
//! one copy are serialised by its lock ([`crate::locks`]).

pub mod canonical;
pub mod promote;
pub mod quick;
pub mod snapshot;
