//! Dev-only test support: local images, fixture recipes as git repositories, the stand-in proxy,
//! loopback image registries ([`registry`]).
//!
//! The machine is prepared by `scripts/testbed-setup` (engine, swarm, `proxy` network, images, the
//! stand-in proxy service); [`ensure_ready`] runs it once per test process. Fixture recipes are
//! built from `testbed/fixtures/` into fresh git repositories by [`fixture`]. See docs/testbed.md.

mod error;
#[cfg(feature = "fake-forge")]
pub mod fake_forge;
mod fixture;
pub mod http;
pub mod registry;
mod setup;

pub use error::Error;
pub use fixture::{fixture, fixture_names, fixtures_dir, FixtureRepo};
pub use http::{proxy_get, Response};
pub use setup::{
    ensure_images, ensure_ready, proxy_addr, repo_root, BUSYBOX_IMAGE, BUSYBOX_IMAGE_NEXT, MISSING_IMAGE, PROXY_IMAGE,
    PROXY_SERVICE,
};
