//! The environment of recipe tests and host hooks (the contract in docs/recipe-maintainers.md):
//! what the run's sandbox gives every host command (`crate::sandbox::Sandbox::base_env`: `PATH`,
//! `HOME`, `TMPDIR`, `CCCI_BIN`, `CCCI_RUN_SOCKET`, `CCCI_ARTIFACTS`, the CA variables...), and
//! the app's coordinates: `CCCI_APP_URL`, `CCCI_APP_DOMAIN`, `CCCI_PROXY_ADDR` (where the command
//! itself reaches the proxy), `CCCI_STACK_NAME`, `CCCI_RECIPE`, `CCCI_RUN_ID`, `CCCI_CHROMIUM`
//! when Debian's chromium is installed, plus the env the run's dependencies give. An untrusted command gets nothing else; a trusted one gets this
//! on top of ccci's own environment.

use std::collections::BTreeMap;
use std::path::Path;

use crate::context::{RunContext, RunOptions};
use crate::serving;

/// Where Debian installs chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The URL tests reach the app at: `<scheme>://<domain>[:<proxy port>]` (no trailing slash).
pub fn app_url(ctx: &RunContext<'_>) -> String {
    serving::Target::root(&ctx.app.domain, &ctx.options.scheme, ctx.options.proxy).url()
}

/// The port of the app's URL: the proxy's, else the scheme's default.
pub fn proxy_port(options: &RunOptions) -> u16 {
    options.proxy.map_or(serving::default_port(&options.scheme).unwrap_or(80), |a| a.port())
}

/// `host:port` where the proxy answers for `domain`, as the host sees it.
pub fn proxy_addr(options: &RunOptions, domain: &str) -> String {
    match options.proxy {
        Some(a) => a.to_string(),
        None => format!("{domain}:{}", proxy_port(options)),
    }
}

/// `host:port` where a command of this trust reaches the proxy (a sandboxed one: its own
/// loopback, carried to the proxy by the sandbox's network).
pub fn proxy_seen(ctx: &RunContext<'_>, trusted: bool) -> String {
    ctx.sandbox.proxy_seen(trusted).map_or_else(|| proxy_addr(ctx.options, &ctx.app.domain), |a| a.to_string())
}

/// The environment of a recipe test or host hook of this trust.
pub fn test_env(ctx: &RunContext<'_>, trusted: bool) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for dep in ctx.dependencies {
        env.extend(dep.env.clone());
    }
    env.extend(ctx.sandbox.base_env(trusted));
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("CCCI_APP_URL", app_url(ctx));
    set("CCCI_APP_DOMAIN", ctx.app.domain.clone());
    set("CCCI_PROXY_ADDR", proxy_seen(ctx, trusted));
    set("CCCI_STACK_NAME", ctx.app.stack.clone());
    set("CCCI_RECIPE", ctx.recipe.to_string());
    set("CCCI_RUN_ID", ctx.run_id.to_string());
    if Path::new(CHROMIUM).exists() {
        set("CCCI_CHROMIUM", CHROMIUM.into());
    }
    env
}
