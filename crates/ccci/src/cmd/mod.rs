//! One module per `ccci` subcommand: its arguments and a `run` that returns the exit code.

pub mod completions;
pub mod config;
pub mod doctor;
pub mod infra;
pub mod janitor;
pub mod lint;
pub mod plan;
pub mod render;
pub mod run_exec;
pub mod run_secret;
pub mod serve;
pub mod server;
pub mod sweep;
pub mod test;
pub mod warm;
