//! Screenshots of the per-recipe config's `screenshots` pages (SPEC T4/T5), taken in the custom
//! tier with Playwright for Python driving Debian's chromium through the proxy; each page is a
//! case (pass on 2xx/3xx), each picture an artifact (`artifacts/custom/screenshots/`). The
//! browser opens pages the pull request serves, so it always runs sandboxed (SPEC V9).

use crate::context::RunContext;
use crate::events::Step;
use crate::exec::{self, HostCommand};
use crate::result::{Case, Outcome, Tier};

/// The Playwright script: one JSON line per page (`{"path", "status"}` or `{"path", "error"}`).
const SCREENSHOT_PY: &str = r#"
import json, os, sys
from playwright.sync_api import sync_playwright
a = json.loads(sys.argv[1])
for _, out in a["pages"]:
    os.makedirs(os.path.dirname(out), exist_ok=True)
args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
if a["map"]:
    args.append("--host-resolver-rules=MAP " + a["map"])
def visit(page, url):
    for attempt in range(3):
        try:
            return page.goto(url, timeout=30000)
        except Exception as e:
            # The host's interfaces changed under Chromium (Docker adds and removes them for other
            # containers all the time): a network error, not the page's, or the error page it
            # then shows cutting this navigation short. Again, twice at most.
            changed = "ERR_NETWORK_CHANGED" in str(e) or "chrome-error://" in str(e)
            if not changed or attempt == 2:
                raise
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=a["chromium"], args=args)
    page = browser.new_page()
    for path, out in a["pages"]:
        try:
            resp = visit(page, a["base"] + path)
            page.screenshot(path=out, full_page=True)
            print(json.dumps({"path": path, "status": resp.status if resp else 0}), flush=True)
        except Exception as e:
            print(json.dumps({"path": path, "error": str(e).splitlines()[0] if str(e) else repr(e)}), flush=True)
    browser.close()
"#;

/// Screenshot each of `pages`; one case per page.
pub async fn take(ctx: &RunContext<'_>, pages: &[String]) -> Vec<Case> {
    let sandbox = ctx.sandbox;
    // Where the script writes them, taken out with the rest of `CCCI_ARTIFACTS` after it.
    let dir = sandbox.dir().join("artifacts/screenshots");
    let case = |path: &str, outcome, message: Option<String>| Case {
        name: format!("screenshot {path}"),
        outcome,
        message,
        duration_ms: 0,
    };
    let all_error = |why: String| pages.iter().map(|p| case(p, Outcome::Error, Some(why.clone()))).collect();
    let listed: Vec<(String, String)> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let file = dir.join(format!("{i:02}{}.png", slug(p)));
            (p.clone(), sandbox.seen(&file, false).to_string_lossy().into_owned())
        })
        .collect();
    // The browser runs sandboxed: its proxy is on its own loopback when the sandbox has a network.
    let proxy = ctx.sandbox.proxy_seen(false).or(ctx.options.proxy);
    let map = proxy.map(|a| format!("{} {}", ctx.app.domain, a.ip())).unwrap_or_default();
    let spec = serde_json::json!({
        "base": crate::test_env::app_url(ctx),
        "map": map,
        "chromium": crate::test_env::CHROMIUM,
        "pages": listed,
    });
    let script = match sandbox.put("screenshots.py", SCREENSHOT_PY) {
        Ok(script) => script,
        Err(e) => return all_error(format!("cannot write the screenshot script: {e}")),
    };
    ctx.events.step(Some(Tier::Custom), Step::Note { text: format!("screenshots of {} page(s)", pages.len()) });
    let cmd = HostCommand {
        program: crate::recipe_tests::python(),
        args: vec![sandbox.seen(&script, false).to_string_lossy().into_owned(), spec.to_string()],
        dir: sandbox.seen(sandbox.dir(), false),
        env: crate::test_env::test_env(ctx, false),
        trusted: false,
    };
    let ran = match exec::on_host(ctx, Tier::Custom, &cmd, "the screenshot script").await {
        Ok(ran) => ran,
        Err(e) => return all_error(e),
    };
    let answers: Vec<serde_json::Value> = ran.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    pages
        .iter()
        .map(|p| match answers.iter().find(|v| v["path"] == p.as_str()) {
            Some(v) if v["status"].as_u64().is_some_and(|s| (200..400).contains(&s)) => case(p, Outcome::Pass, None),
            Some(v) if v.get("status").is_some() => case(p, Outcome::Fail, Some(format!("answered {}", v["status"]))),
            Some(v) => case(p, Outcome::Fail, Some(v["error"].as_str().unwrap_or("failed").to_string())),
            None => case(p, Outcome::Error, Some(format!("the screenshot script exited {}", ran.exit_code))),
        })
        .collect()
}

fn slug(path: &str) -> String {
    let s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        String::new()
    } else {
        format!("-{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_become_file_name_slugs() {
        assert_eq!(slug("/"), "");
        assert_eq!(slug("/login?x=1"), "-login-x-1");
    }
}
