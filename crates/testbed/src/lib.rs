//! Dev-only test support: local images, fixture recipes as git repositories, the real proxy's
//! address and CA with a small HTTPS client through it ([`http`]), loopback image registries
//! ([`registry`]).
//!
//! The machine is prepared by `scripts/testbed-setup` (engine, images, registry, then
//! `ccci server init`: swarm, `proxy` network, a local CA's wildcard certificate, Traefik);
//! [`ensure_ready`] runs it once per test process. Fixture recipes are built from
//! `testbed/fixtures/` into fresh git repositories by [`fixture`]. See docs/testbed.md.

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
    ca_bundle, ensure_images, ensure_ready, proxy_addr, repo_root, testbed_dir, tls_dir, BASE_DOMAIN, BUSYBOX_IMAGE,
    BUSYBOX_IMAGE_NEXT, MISSING_IMAGE,
};
