//! The environment of recipe tests and host hooks (the contract in docs/recipe-maintainers.md):
//! `CCCI_APP_URL`, `CCCI_APP_DOMAIN`, `CCCI_PROXY_ADDR`, `CCCI_STACK_NAME`, `CCCI_RECIPE`,
//! `CCCI_RUN_ID`, `CCCI_ARTIFACTS`, `CCCI_RUN_DIR`, `CCCI_BIN` (and its directory first on
//! `PATH`), `CCCI_CHROMIUM` when Debian's chromium is installed, with a CA bundle
//! `CCCI_CA_BUNDLE`, the variables ordinary clients read (`SSL_CERT_FILE`,
//! `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) and a per-run `HOME` whose NSS database trusts it
//! (Chromium's trust store, [`crate::browser_home`]), plus the env the run's dependencies give.

use std::collections::BTreeMap;
use std::path::Path;

use crate::context::RunContext;
use crate::secrets_file::RUN_DIR_ENV;
use crate::serving;

/// Where Debian installs chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The URL tests reach the app at: `<scheme>://<domain>[:<proxy port>]` (no trailing slash).
pub fn app_url(ctx: &RunContext<'_>) -> String {
    serving::Target::root(&ctx.app.domain, &ctx.options.scheme, ctx.options.proxy).url()
}

/// `host:port` where the proxy answers for the app's domain.
pub fn proxy_addr(ctx: &RunContext<'_>) -> String {
    match ctx.options.proxy {
        Some(a) => a.to_string(),
        None => format!("{}:{}", ctx.app.domain, if ctx.options.scheme == "https" { 443 } else { 80 }),
    }
}

/// The environment of recipe tests and host hooks.
pub fn test_env(ctx: &RunContext<'_>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for dep in ctx.dependencies {
        env.extend(dep.env.clone());
    }
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("CCCI_APP_URL", app_url(ctx));
    set("CCCI_APP_DOMAIN", ctx.app.domain.clone());
    set("CCCI_PROXY_ADDR", proxy_addr(ctx));
    set("CCCI_STACK_NAME", ctx.app.stack.clone());
    set("CCCI_RECIPE", ctx.recipe.to_string());
    set("CCCI_RUN_ID", ctx.run_id.to_string());
    set("CCCI_ARTIFACTS", ctx.dirs.test_artifacts().to_string_lossy().into_owned());
    set(RUN_DIR_ENV, ctx.dirs.work.to_string_lossy().into_owned());
    if let Some(ca) = &ctx.options.ca_bundle {
        let ca = ca.to_string_lossy().into_owned();
        // So ordinary clients (curl, Python's ssl and requests, OpenSSL) verify without flags.
        for key in ["CCCI_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
            set(key, ca.clone());
        }
        // Chromium reads none of those: it trusts what the NSS database in $HOME holds.
        match crate::browser_home::ensure(&ctx.dirs.work, Path::new(&ca)) {
            Ok(home) => set("HOME", home.to_string_lossy().into_owned()),
            Err(e) => ctx.events.note(None, format!("browsers will not trust the CA: {e}")),
        }
    }
    if !ctx.options.node_hosts.is_empty() {
        // So `ccci run-exec` reaches a task on any node of a multi-node swarm.
        set("CCCI_NODE_HOSTS", ctx.options.node_hosts.join(","));
    }
    if Path::new(CHROMIUM).exists() {
        set("CCCI_CHROMIUM", CHROMIUM.into());
    }
    if let Ok(exe) = std::env::current_exe() {
        let mut path = exe.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        if let Ok(p) = std::env::var("PATH") {
            path = format!("{path}:{p}");
        }
        set("PATH", path);
        set("CCCI_BIN", exe.to_string_lossy().into_owned());
    }
    env
}
